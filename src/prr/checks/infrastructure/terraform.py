"""Infrastructure items decided from Terraform: compute, networking, databases, storage, caches.

Only production resources count (resources of an unnamed environment may be
production; ``envs/staging`` ones are not). A value Terraform computes at
apply time (a reference, a function call) makes the resource ``unknown``, never
a pass; an unparsable Terraform file that may declare the resources in question
turns a pass into ``unknown``. This module also holds the helpers the security
and reliability Terraform checks share.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from prr.checks.registry import CheckContext, check
from prr.collectors.terraform import (
    TerraformFacts,
    TerraformResource,
    UnparsedFile,
    Unresolved,
)
from prr.model.evidence import Evidence, Result, Status

# --- shared helpers -------------------------------------------------------------------

_MAX_DETAILS = 6


@dataclass(frozen=True)
class Finding:
    """What one resource shows for one item: a status, a sentence, where, and a fix."""

    status: Status
    text: str
    path: str | None = None
    line: int | None = None
    remediation: str | None = None
    value: Any = None

    @property
    def located(self) -> str:
        if self.path:
            where = f"{self.path}:{self.line}" if self.line else self.path
            return f"{self.text} ({where})"
        return self.text


def label(resource: TerraformResource) -> str:
    """``module.db.aws_db_instance.main [staging]``."""
    env = f" [{resource.environment}]" if resource.environment else ""
    return f"{resource.address}{env}"


def found(
    status: Status,
    resource: TerraformResource,
    text: str,
    key: str | None = None,
    remediation: str | None = None,
    value: Any = None,
    index: int = 0,
) -> Finding:
    """A finding about ``resource``; ``key`` (and ``index`` among blocks of that name)
    points the line at that attribute or block."""
    line = resource.line_of(key, index) if key else resource.line
    return Finding(status, f"{label(resource)} {text}", resource.path, line, remediation, value)


def patch(resource: TerraformResource, body: str) -> str:
    """An HCL snippet that sets ``body`` inside ``resource``'s block."""
    inner = "\n".join(f"  {line}" if line else "" for line in body.strip("\n").splitlines())
    return (
        f"# {resource.path}:{resource.line}\n"
        f'{resource.kind} "{resource.type}" "{resource.name}" {{\n{inner}\n}}'
    )


def new_block(path: str, kind: str, name: str, body: str) -> str:
    """An HCL snippet for a new resource block to add next to ``path``."""
    inner = "\n".join(f"  {line}" if line else "" for line in body.strip("\n").splitlines())
    return f'# add to {path}\nresource "{kind}" "{name}" {{\n{inner}\n}}'


def _details(findings: Sequence[Finding]) -> str:
    shown = [f.located for f in findings[:_MAX_DETAILS]]
    more = len(findings) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


def decide(
    ctx: CheckContext,
    item: str,
    findings: Sequence[Finding],
    unparsed: Sequence[UnparsedFile] = (),
    *,
    passed: str,
    failed: str,
    fields: dict[str, Any] | None = None,
    unsettled: str = "Terraform does not settle it",
) -> Iterator[Result]:
    """One result for ``item``: fail if any finding fails, unknown if any is unknown or a
    relevant file could not be parsed, pass otherwise; nothing when there is no evidence."""
    if not findings and not unparsed:
        return
    fails = [f for f in findings if f.status is Status.FAIL]
    unknowns = [f for f in findings if f.status is Status.UNKNOWN]
    evidence = [
        Evidence(f.text, f.path, f.line, value=f.value)
        for f in (fails or unknowns or findings)[:20]
    ]
    unread = [Evidence(f"could not be parsed: {u.reason}", u.path, u.line) for u in unparsed[:5]]
    if fails:
        fixes = list(dict.fromkeys(f.remediation for f in fails if f.remediation))
        yield ctx.failed(
            item,
            f"{failed}: {_details(fails)}",
            *evidence,
            remediation="\n\n".join(fixes[:3]) or None,
            fields=fields,
        )
        return
    if unknowns or unparsed:
        parts = [f.located for f in unknowns[:_MAX_DETAILS]]
        parts += [f"{u.path}{f':{u.line}' if u.line else ''} could not be parsed" for u in unparsed]
        yield ctx.unknown(
            item,
            f"{unsettled}: " + "; ".join(parts),
            *(evidence if unknowns else []),
            *unread,
            fields=fields,
        )
        return
    yield ctx.passed(item, f"{passed}: {_details(findings)}", *evidence, fields=fields)


def truth(value: Any) -> bool | None:
    """A Terraform boolean (``true``, ``"true"``), or None when not a literal boolean."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def number(value: Any) -> float | None:
    """A Terraform number (``3``, ``"3"``), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def text(value: Any) -> str | None:
    """A literal string (numbers as text), or None when unresolved or absent."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def shown(value: Any) -> str:
    """A non-secret value as Terraform would write it."""
    if isinstance(value, Unresolved):
        return value.text if not value.template else f'"{value.text}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(shown(v) for v in value) + "]"
    return str(value)


def flag(
    resource: TerraformResource,
    key: str,
    *,
    good: str,
    bad: str,
    default: bool | None,
    fix: str,
) -> Finding:
    """Judge one boolean attribute: true → pass, false → fail, computed → unknown.

    ``key`` may be a dotted path into nested blocks; ``default`` is the provider's
    value when the attribute is not set (None: unknown).
    """
    raw = resource.get(*key.split("."))
    present = key_present(resource, key)
    value = truth(raw) if present else default
    where = key.split(".")[0]
    if present and value is None:
        return found(
            Status.UNKNOWN, resource, f"sets {key} = {shown(raw)}, computed at apply time", where
        )
    setting = f"{key} = {shown(value)}" if present else f"{key} is not set"
    if value:
        return found(Status.PASS, resource, f"{good} ({setting})", where, value=True)
    if value is None:
        return found(Status.UNKNOWN, resource, f"does not say ({setting})")
    return found(
        Status.FAIL,
        resource,
        f"{bad} ({setting})",
        where if present else None,
        patch(resource, fix),
        False,
    )


def computed(resource: TerraformResource, *keys: str) -> Finding | None:
    """An unknown finding when the attribute at ``keys`` is computed at apply time."""
    value = resource.get(*keys)
    if isinstance(value, Unresolved):
        name = ".".join(keys)
        what = f"sets {name} = {shown(value)}, computed at apply time"
        return found(Status.UNKNOWN, resource, what, keys[0])
    return None


def key_present(resource: TerraformResource, key: str) -> bool:
    return resource.get(*key.split("."), default=_ABSENT) is not _ABSENT


_ABSENT: Any = object()


def linked(
    facts: TerraformFacts, target: TerraformResource, *types: str
) -> list[TerraformResource]:
    """Resources of ``types`` in the same module instance that name ``target``."""
    return facts.referencing(target, *types)


def dig(value: Any, *keys: str) -> Any:
    """Walk nested blocks and objects of a plain value (the first block of a list)."""
    for key in keys:
        if isinstance(value, list):
            value = value[0] if value and isinstance(value[0], dict) else None
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# --- resource families ----------------------------------------------------------------

DATABASES = (
    "aws_db_instance",
    "aws_rds_cluster",
    "google_sql_database_instance",
    "azurerm_postgresql_flexible_server",
    "azurerm_mysql_flexible_server",
    "azurerm_mssql_database",
    "azurerm_cosmosdb_account",
)
CACHES = (
    "aws_elasticache_replication_group",
    "aws_elasticache_cluster",
    "aws_elasticache_serverless_cache",
    "aws_memorydb_cluster",
    "google_redis_instance",
    "google_memcache_instance",
    "azurerm_redis_cache",
)
BUCKETS = ("aws_s3_bucket", "google_storage_bucket", "azurerm_storage_account")
LOAD_BALANCERS = (
    "aws_lb",
    "aws_alb",
    "aws_elb",
    "google_compute_forwarding_rule",
    "google_compute_global_forwarding_rule",
    "google_compute_url_map",
    "azurerm_application_gateway",
    "azurerm_lb",
    "azurerm_cdn_frontdoor_profile",
)
LISTENERS = ("aws_lb_listener", "aws_alb_listener")


def is_replica(resource: TerraformResource) -> bool:
    """A read replica or secondary rather than a primary database."""
    if resource.type == "aws_db_instance":
        return resource.get("replicate_source_db") is not None
    if resource.type == "google_sql_database_instance":
        return resource.get("master_instance_name") is not None
    if resource.type.startswith("azurerm_"):
        mode = text(resource.get("create_mode"))
        return (mode or "").lower() in ("replica", "geo_replica", "secondary")
    return False


def primary_databases(facts: TerraformFacts) -> list[TerraformResource]:
    return [r for r in facts.of_type(*DATABASES) if not is_replica(r)]


def is_public_lb(resource: TerraformResource) -> bool | None:
    """Whether a load balancer faces the internet (None when computed)."""
    if resource.type in ("aws_lb", "aws_alb", "aws_elb"):
        internal = resource.get("internal")
        return (
            True if internal is None else (None if truth(internal) is None else not truth(internal))
        )
    if resource.type in ("google_compute_forwarding_rule", "google_compute_global_forwarding_rule"):
        scheme = text(resource.get("load_balancing_scheme")) or "EXTERNAL"
        return scheme.upper().startswith("EXTERNAL")
    if resource.type in ("azurerm_application_gateway", "azurerm_cdn_frontdoor_profile"):
        return True
    return None


def public_entry_points(facts: TerraformFacts) -> list[TerraformResource]:
    """Internet-facing load balancers and CDN distributions in production."""
    entries = [
        r
        for r in facts.of_type(
            "aws_lb",
            "aws_alb",
            "aws_elb",
            "google_compute_global_forwarding_rule",
            "google_compute_forwarding_rule",
            "azurerm_application_gateway",
            "azurerm_cdn_frontdoor_profile",
        )
        if is_public_lb(r) is not False
    ]
    return [*entries, *facts.of_type("aws_cloudfront_distribution")]


# --- firewall rules (shared with the exposure check) -----------------------------------

WORLD = {"0.0.0.0/0", "::/0", "*", "internet", "any", "0.0.0.0"}
WEB_PORTS = {80, 443}


@dataclass(frozen=True)
class IngressRule:
    """One inbound allow rule: the ports it opens and to which sources."""

    resource: TerraformResource
    key: str | None
    ports: tuple[int, int] | None
    """Inclusive port range; None when computed at apply time."""
    sources: tuple[str, ...]
    computed_sources: bool
    index: int = 0
    """Which block of that name (the second ``ingress`` block is 1)."""

    @property
    def open_to_world(self) -> bool:
        return any(s.lower() in WORLD for s in self.sources)

    def describe(self) -> str:
        if self.ports is None:
            ports = "computed ports"
        elif self.ports == (0, 65535):
            ports = "all ports"
        elif self.ports[0] == self.ports[1]:
            ports = f"port {self.ports[0]}"
        else:
            ports = f"ports {self.ports[0]}-{self.ports[1]}"
        world = ", ".join(s for s in self.sources if s.lower() in WORLD) or "computed sources"
        return f"{ports} from {world}"


def _port_range(low: Any, high: Any, protocol: Any) -> tuple[int, int] | None:
    proto = text(protocol)
    if proto is not None and proto.lower() in ("-1", "all", "*"):
        return (0, 65535)
    lo, hi = number(low), number(high)
    if lo is None or hi is None:
        return None
    if lo <= 0 and hi in (0, 65535) and (proto is None or proto.lower() in ("-1", "all")):
        return (0, 65535)
    return (int(lo), int(hi))


def _port_spec(spec: Any) -> tuple[int, int] | None:
    value = text(spec)
    if value is None:
        return None
    value = value.strip()
    if value in ("*", ""):
        return (0, 65535)
    match = re.fullmatch(r"(\d+)(?:-(\d+))?", value)
    if not match:
        return None
    return (int(match.group(1)), int(match.group(2) or match.group(1)))


def _sources(*values: Any) -> tuple[tuple[str, ...], bool]:
    out: list[str] = []
    computed = False
    for value in values:
        for item in as_list(value):
            literal = text(item)
            if literal is None:
                computed = True
            else:
                out.append(literal)
    return tuple(out), computed


def ingress_rules(facts: TerraformFacts) -> list[IngressRule]:
    """Every inbound allow rule of production security groups and firewalls."""
    rules: list[IngressRule] = []
    for sg in facts.of_type("aws_security_group"):
        for index, block in enumerate(sg.blocks("ingress")):
            src, computed = _sources(block.get("cidr_blocks"), block.get("ipv6_cidr_blocks"))
            ports = _port_range(block.get("from_port"), block.get("to_port"), block.get("protocol"))
            rules.append(IngressRule(sg, "ingress", ports, src, computed, index))
    for rule in facts.of_type("aws_security_group_rule"):
        if (text(rule.get("type")) or "").lower() != "ingress":
            continue
        src, computed = _sources(rule.get("cidr_blocks"), rule.get("ipv6_cidr_blocks"))
        ports = _port_range(rule.get("from_port"), rule.get("to_port"), rule.get("protocol"))
        rules.append(IngressRule(rule, None, ports, src, computed))
    for rule in facts.of_type("aws_vpc_security_group_ingress_rule"):
        src, computed = _sources(rule.get("cidr_ipv4"), rule.get("cidr_ipv6"))
        ports = _port_range(rule.get("from_port"), rule.get("to_port"), rule.get("ip_protocol"))
        rules.append(IngressRule(rule, None, ports, src, computed))
    for fw in facts.of_type("google_compute_firewall"):
        if (text(fw.get("direction")) or "INGRESS").upper() != "INGRESS":
            continue
        if truth(fw.get("disabled")):
            continue
        src, computed = _sources(fw.get("source_ranges"))
        for index, block in enumerate(fw.blocks("allow")):
            ports_list = as_list(block.get("ports"))
            proto = text(block.get("protocol")) or ""
            if not ports_list:
                every = (0, 65535) if proto != "icmp" else (0, 0)
                rules.append(IngressRule(fw, "allow", every, src, computed, index))
            for spec in ports_list:
                rules.append(IngressRule(fw, "allow", _port_spec(spec), src, computed, index))
    nsg_rules: list[tuple[TerraformResource, str | None, int, dict[str, Any]]] = [
        (r, None, 0, r.attributes) for r in facts.of_type("azurerm_network_security_rule")
    ]
    for nsg in facts.of_type("azurerm_network_security_group"):
        nsg_rules.extend(
            (nsg, "security_rule", i, b) for i, b in enumerate(nsg.blocks("security_rule"))
        )
    for resource, key, index, body in nsg_rules:
        direction = (text(body.get("direction")) or "").lower()
        access = (text(body.get("access")) or "").lower()
        if direction != "inbound" or access != "allow":
            continue
        src, computed = _sources(
            body.get("source_address_prefix"), body.get("source_address_prefixes")
        )
        specs = as_list(body.get("destination_port_range")) + as_list(
            body.get("destination_port_ranges")
        )
        for spec in specs or ["*"]:
            rules.append(IngressRule(resource, key, _port_spec(spec), src, computed, index))
    return rules


def overlaps(ports: tuple[int, int], wanted: Iterable[int]) -> list[int]:
    return sorted(p for p in wanted if ports[0] <= p <= ports[1])


# --- compute --------------------------------------------------------------------------

_AUTOSCALERS = (
    "aws_autoscaling_group",
    "aws_appautoscaling_target",
    "google_compute_autoscaler",
    "google_compute_region_autoscaler",
    "azurerm_monitor_autoscale_setting",
)


def _bounds(r: TerraformResource) -> tuple[Any, Any, str]:
    if r.type == "aws_autoscaling_group":
        return r.get("min_size"), r.get("max_size"), "min_size"
    if r.type == "aws_appautoscaling_target":
        return r.get("min_capacity"), r.get("max_capacity"), "min_capacity"
    if r.type.startswith("google_compute"):
        return (
            r.get("autoscaling_policy", "min_replicas"),
            r.get("autoscaling_policy", "max_replicas"),
            "autoscaling_policy",
        )
    return (
        r.get("profile", "capacity", "minimum"),
        r.get("profile", "capacity", "maximum"),
        "profile",
    )


def _scaling_triggers(facts: TerraformFacts, r: TerraformResource) -> list[str] | None:
    """Descriptions of the load metrics that drive an autoscaler; None if computed."""
    if r.type == "aws_autoscaling_group":
        policies = linked(facts, r, "aws_autoscaling_policy")
        return [_aws_policy_metric(p) for p in policies]
    if r.type == "aws_appautoscaling_target":
        policies = linked(facts, r, "aws_appautoscaling_policy")
        return [_aws_policy_metric(p) for p in policies]
    if r.type.startswith("google_compute"):
        policy = r.blocks("autoscaling_policy")
        body = policy[0] if policy else {}
        metrics: list[str] = [
            k for k in ("cpu_utilization", "metric", "load_balancing_utilization") if k in body
        ]
        return list(metrics) or ["cpu_utilization (default target 0.6)"]
    rules = [b for p in r.blocks("profile") for b in as_list(p.get("rule")) if isinstance(b, dict)]
    out = []
    for rule in rules:
        trigger = rule.get("metric_trigger")
        trigger = trigger[0] if isinstance(trigger, list) and trigger else trigger
        name = text(trigger.get("metric_name")) if isinstance(trigger, dict) else None
        out.append(name or "metric rule")
    return out


def _aws_policy_metric(policy: TerraformResource) -> str:
    metric = policy.get(
        "target_tracking_configuration",
        "predefined_metric_specification",
        "predefined_metric_type",
    ) or policy.get(
        "target_tracking_scaling_policy_configuration",
        "predefined_metric_specification",
        "predefined_metric_type",
    )
    if metric is not None:
        return f"{policy.address} tracks {text(metric) or shown(metric)}"
    kind = text(policy.get("policy_type")) or "SimpleScaling"
    return f"{policy.address} ({kind})"


@check(
    "infrastructure.terraform.autoscaling",
    items=[
        "infrastructure.compute.auto-scaling-configured",
        "performance.capacity-planning.scaling-triggers-defined",
    ],
    needs=[TerraformFacts],
)
def autoscaling(ctx: CheckContext) -> Iterator[Result]:
    """Autoscaling groups, targets and settings scale between bounds on a load metric."""
    facts = ctx.get(TerraformFacts)
    scaling: list[Finding] = []
    triggers: list[Finding] = []
    bounds: list[tuple[int, int]] = []
    for r in facts.of_type(*_AUTOSCALERS):
        low, high, key = _bounds(r)
        lo, hi = number(low), number(high)
        metrics = _scaling_triggers(facts, r)
        if lo is None or hi is None:
            scaling.append(
                found(
                    Status.UNKNOWN,
                    r,
                    f"has bounds {shown(low)}..{shown(high)} computed at apply time",
                    key,
                )
            )
            continue
        bounds.append((int(lo), int(hi)))
        if hi <= lo:
            scaling.append(
                found(
                    Status.FAIL,
                    r,
                    f"has a fixed size: min {int(lo)} = max {int(hi)}, so it never scales",
                    key,
                    patch(r, _bounds_fix(r, int(lo))),
                )
            )
        elif not metrics:
            policy_type = (
                "aws_autoscaling_policy"
                if r.type == "aws_autoscaling_group"
                else "aws_appautoscaling_policy"
            )
            scaling.append(
                found(
                    Status.FAIL,
                    r,
                    f"scales {int(lo)}..{int(hi)} but no {policy_type} drives it, "
                    "so it never reacts to load",
                    key,
                    new_block(r.path, policy_type, f"{r.name}_cpu", _policy_fix(r)),
                )
            )
        else:
            scaling.append(
                found(Status.PASS, r, f"scales {int(lo)}..{int(hi)} on {', '.join(metrics)}", key)
            )
        if metrics:
            triggers.append(found(Status.PASS, r, f"scales on {', '.join(metrics)}", key))
        elif hi > lo:
            triggers.append(
                found(
                    Status.FAIL,
                    r,
                    "has no scaling policy, so no metric or threshold adds capacity",
                    key,
                    new_block(r.path, "aws_autoscaling_policy", f"{r.name}_cpu", _policy_fix(r))
                    if r.type == "aws_autoscaling_group"
                    else new_block(
                        r.path, "aws_appautoscaling_policy", f"{r.name}_cpu", _policy_fix(r)
                    ),
                )
            )
    autoscaled = facts.of_type("aws_appautoscaling_target")
    for service in facts.of_type("aws_ecs_service"):
        if any(t.refers_to(service) for t in autoscaled):
            continue
        desired = service.get("desired_count")
        scaling.append(
            found(
                Status.FAIL,
                service,
                f"runs a fixed desired_count = {shown(desired) if desired is not None else 1} "
                "with no aws_appautoscaling_target",
                "desired_count" if desired is not None else None,
                new_block(
                    service.path,
                    "aws_appautoscaling_target",
                    service.name,
                    'service_namespace  = "ecs"\n'
                    'scalable_dimension = "ecs:service:DesiredCount"\n'
                    f'resource_id        = "service/${{aws_ecs_cluster.main.name}}/'
                    f'${{aws_ecs_service.{service.name}.name}}"\n'
                    "min_capacity       = 2\nmax_capacity       = 10",
                ),
            )
        )
    fields: dict[str, Any] = {}
    if bounds and len(set(bounds)) == 1:
        fields = {"min_instances": bounds[0][0], "max_instances": bounds[0][1]}
    unparsed = facts.unparsed_for(*_AUTOSCALERS, "aws_ecs_service", "aws_*autoscaling_policy")
    yield from decide(
        ctx,
        "infrastructure.compute.auto-scaling-configured",
        scaling,
        unparsed,
        passed="Production workloads autoscale on load",
        failed="Not every production workload autoscales",
        fields=fields,
    )
    yield from decide(
        ctx,
        "performance.capacity-planning.scaling-triggers-defined",
        triggers,
        unparsed if triggers else [],
        passed="Scaling triggers are defined as code",
        failed="Autoscalers without a scaling trigger",
    )


def _bounds_fix(r: TerraformResource, low: int) -> str:
    high = max(low * 3, low + 2)
    if r.type == "aws_autoscaling_group":
        return f"min_size = {low}\nmax_size = {high}"
    if r.type == "aws_appautoscaling_target":
        return f"min_capacity = {low}\nmax_capacity = {high}"
    if r.type.startswith("google_compute"):
        return f"autoscaling_policy {{\n  min_replicas = {low}\n  max_replicas = {high}\n}}"
    return f"profile {{\n  capacity {{\n    minimum = {low}\n    maximum = {high}\n  }}\n}}"


def _policy_fix(r: TerraformResource) -> str:
    if r.type == "aws_autoscaling_group":
        return (
            f"autoscaling_group_name = aws_autoscaling_group.{r.name}.name\n"
            'policy_type            = "TargetTrackingScaling"\n'
            "target_tracking_configuration {\n"
            "  predefined_metric_specification {\n"
            '    predefined_metric_type = "ASGAverageCPUUtilization"\n'
            "  }\n  target_value = 60\n}"
        )
    return (
        'policy_type        = "TargetTrackingScaling"\n'
        f"resource_id        = aws_appautoscaling_target.{r.name}.resource_id\n"
        f"scalable_dimension = aws_appautoscaling_target.{r.name}.scalable_dimension\n"
        f"service_namespace  = aws_appautoscaling_target.{r.name}.service_namespace\n"
        "target_tracking_scaling_policy_configuration {\n"
        "  predefined_metric_specification {\n"
        '    predefined_metric_type = "ECSServiceAverageCPUUtilization"\n'
        "  }\n  target_value = 60\n}"
    )


def _zone_count(value: Any) -> int | None:
    """How many subnets or zones a list names; None when computed."""
    if isinstance(value, list):
        if any(isinstance(v, Unresolved) for v in value):
            return None
        return len(value)
    return None


def _multi_zone(facts: TerraformFacts, r: TerraformResource) -> Finding | None:
    kind = r.type
    count: int | None
    if kind == "aws_db_instance":
        if is_replica(r):
            return None
        return flag(
            r,
            "multi_az",
            good="has a standby in another zone",
            bad="runs in a single availability zone",
            default=False,
            fix="multi_az = true",
        )
    if kind == "aws_rds_cluster":
        instances = [i for i in linked(facts, r, "aws_rds_cluster_instance")]
        if not instances:
            return found(
                Status.UNKNOWN, r, "has no aws_rds_cluster_instance in the same configuration"
            )
        total = 0
        for instance in instances:
            value = instance.get("count")
            n = 1 if value is None else number(value)
            if n is None:
                return found(
                    Status.UNKNOWN, instance, f"has count = {shown(value)}, computed", "count"
                )
            total += int(n)
        if total >= 2:
            return found(Status.PASS, r, f"has {total} instances to fail over between")
        return found(
            Status.FAIL,
            r,
            "has a single instance: a zone outage stops the database until it is replaced",
            None,
            patch(instances[0], "count = 2"),
        )
    if kind == "google_sql_database_instance":
        if is_replica(r):
            return None
        value = r.get("settings", "availability_type")
        literal = text(value)
        if value is not None and literal is None:
            return found(Status.UNKNOWN, r, f"sets availability_type = {shown(value)}", "settings")
        if (literal or "ZONAL").upper() == "REGIONAL":
            return found(Status.PASS, r, 'has availability_type = "REGIONAL"', "settings")
        return found(
            Status.FAIL,
            r,
            f"is zonal (availability_type = {shown(literal or 'ZONAL')})",
            "settings",
            patch(r, 'settings {\n  availability_type = "REGIONAL"\n}'),
        )
    if kind in ("azurerm_postgresql_flexible_server", "azurerm_mysql_flexible_server"):
        if is_replica(r):
            return None
        mode = r.get("high_availability", "mode")
        if mode is None:
            return found(
                Status.FAIL,
                r,
                "has no high_availability block",
                None,
                patch(r, 'high_availability {\n  mode = "ZoneRedundant"\n}'),
            )
        literal = text(mode)
        if literal is None:
            return found(Status.UNKNOWN, r, f"sets high_availability.mode = {shown(mode)}")
        status = Status.PASS if literal == "ZoneRedundant" else Status.FAIL
        return found(
            status,
            r,
            f'has high_availability mode "{literal}"',
            "high_availability",
            patch(r, 'high_availability {\n  mode = "ZoneRedundant"\n}'),
        )
    if kind == "azurerm_mssql_database":
        return flag(
            r,
            "zone_redundant",
            good="is zone redundant",
            bad="is not zone redundant",
            default=False,
            fix="zone_redundant = true",
        )
    if kind == "aws_elasticache_replication_group":
        return flag(
            r,
            "multi_az_enabled",
            good="places replicas in several zones",
            bad="keeps its nodes in one zone",
            default=False,
            fix="multi_az_enabled           = true\nautomatic_failover_enabled = true",
        )
    if kind == "google_redis_instance":
        if unknown := computed(r, "tier"):
            return unknown
        tier = text(r.get("tier")) or "BASIC"
        status = Status.PASS if tier.upper() == "STANDARD_HA" else Status.FAIL
        return found(status, r, f'has tier "{tier}"', "tier", patch(r, 'tier = "STANDARD_HA"'))
    if kind == "aws_autoscaling_group":
        for key in ("vpc_zone_identifier", "availability_zones"):
            if r.has(key):
                count = _zone_count(r.get(key))
                if count is None:
                    return found(
                        Status.UNKNOWN, r, f"takes {key} = {shown(r.get(key))} at apply time", key
                    )
                status = Status.PASS if count >= 2 else Status.FAIL
                return found(
                    status,
                    r,
                    f"spans {count} {'subnets' if key.startswith('vpc') else 'zones'}",
                    key,
                    patch(r, f"{key} = [<subnet in zone a>, <subnet in zone b>]"),
                )
        return found(Status.UNKNOWN, r, "names no subnets or zones (launch template decides)")
    if kind in ("aws_lb", "aws_alb"):
        subnets = r.get("subnets")
        if subnets is None:
            mappings = r.blocks("subnet_mapping")
            if not mappings:
                return None
            count = len(mappings)
        else:
            count = _zone_count(subnets)
        if count is None:
            return found(
                Status.UNKNOWN, r, f"takes subnets = {shown(subnets)} at apply time", "subnets"
            )
        status = Status.PASS if count >= 2 else Status.FAIL
        return found(status, r, f"spans {count} subnets", "subnets")
    if kind == "aws_eks_node_group":
        count = _zone_count(r.get("subnet_ids"))
        if count is None:
            return found(Status.UNKNOWN, r, "takes subnet_ids at apply time", "subnet_ids")
        status = Status.PASS if count >= 2 else Status.FAIL
        return found(status, r, f"spans {count} subnets", "subnet_ids")
    if kind == "google_container_cluster":
        location = text(r.get("location"))
        if location is None:
            return found(Status.UNKNOWN, r, "has a computed location", "location")
        nodes = r.get("node_locations")
        if re.search(r"-[a-z]$", location) and not (isinstance(nodes, list) and len(nodes) >= 2):
            return found(
                Status.FAIL,
                r,
                f'is a zonal cluster in "{location}"',
                "location",
                patch(r, f'location = "{location[:-2]}"  # regional: nodes in every zone'),
            )
        return found(Status.PASS, r, f'is regional or multi-zone ("{location}")', "location")
    if kind == "azurerm_kubernetes_cluster":
        zones = r.get("default_node_pool", "zones")
        count = _zone_count(zones)
        if zones is None:
            return found(
                Status.FAIL,
                r,
                "has a default_node_pool without zones",
                "default_node_pool",
                patch(r, 'default_node_pool {\n  zones = ["1", "2", "3"]\n}'),
            )
        if count is None:
            return found(Status.UNKNOWN, r, "takes default_node_pool.zones at apply time")
        status = Status.PASS if count >= 2 else Status.FAIL
        return found(
            status, r, f"spreads its default node pool over {count} zones", "default_node_pool"
        )
    return None


_ZONED = (
    "aws_db_instance",
    "aws_rds_cluster",
    "google_sql_database_instance",
    "azurerm_postgresql_flexible_server",
    "azurerm_mysql_flexible_server",
    "azurerm_mssql_database",
    "aws_elasticache_replication_group",
    "google_redis_instance",
    "aws_autoscaling_group",
    "aws_lb",
    "aws_alb",
    "aws_eks_node_group",
    "google_container_cluster",
    "azurerm_kubernetes_cluster",
)


@check(
    "infrastructure.terraform.zones",
    items=["infrastructure.compute.multiple-availability-zones"],
    needs=[TerraformFacts],
)
def availability_zones(ctx: CheckContext) -> Iterator[Result]:
    """Instances, load balancers and stateful dependencies span two or more zones."""
    facts = ctx.get(TerraformFacts)
    findings = [f for r in facts.of_type(*_ZONED) if (f := _multi_zone(facts, r)) is not None]
    yield from decide(
        ctx,
        "infrastructure.compute.multiple-availability-zones",
        findings,
        facts.unparsed_for(*_ZONED),
        passed="Production resources span several availability zones",
        failed="Single-zone production resources",
    )


# --- networking -----------------------------------------------------------------------


@check(
    "infrastructure.terraform.load-balancer",
    items=["infrastructure.networking.load-balancer-configured"],
    needs=[TerraformFacts],
)
def load_balancer(ctx: CheckContext) -> Iterator[Result]:
    """A load balancer fronts the service; its target groups check health and drain."""
    facts = ctx.get(TerraformFacts)
    findings: list[Finding] = []
    for lb in facts.of_type(*LOAD_BALANCERS):
        findings.append(found(Status.PASS, lb, "is defined"))
    for group in facts.of_type("aws_lb_target_group", "aws_alb_target_group"):
        enabled = truth(group.get("health_check", "enabled"))
        if enabled is False:
            findings.append(
                found(
                    Status.FAIL,
                    group,
                    "has health checks disabled, so traffic goes to unhealthy targets",
                    "health_check",
                    patch(group, 'health_check {\n  enabled = true\n  path    = "/healthz"\n}'),
                )
            )
        delay = number(group.get("deregistration_delay"))
        if delay is not None and delay == 0:
            findings.append(
                found(
                    Status.FAIL,
                    group,
                    "has deregistration_delay = 0: in-flight requests are cut on every deploy",
                    "deregistration_delay",
                    patch(group, "deregistration_delay = 30"),
                )
            )
    if not facts.of_type(*LOAD_BALANCERS) and not findings:
        return
    yield from decide(
        ctx,
        "infrastructure.networking.load-balancer-configured",
        findings,
        facts.unparsed_for(*LOAD_BALANCERS, "aws_lb_target_group", "aws_alb_target_group"),
        passed="A load balancer is defined in Terraform",
        failed="Load balancer settings that drop traffic",
    )


_WEAK_AWS_POLICIES = re.compile(
    r"^ELBSecurityPolicy-(2015-05|2016-08|TLS-1-0-2015-04|TLS-1-1-2017-01|TLS13-1-0-2021-06|"
    r"TLS13-1-1-2021-06|FS-2018-06|FS-1-1-2019-08)$"
)


def _listener_protocol(listener: TerraformResource) -> str | None:
    proto = text(listener.get("protocol"))
    if proto is None and listener.get("protocol") is None:
        port = number(listener.get("port"))
        return "HTTPS" if port == 443 else "HTTP"
    return proto.upper() if proto else None


def tls_findings(facts: TerraformFacts) -> list[Finding]:
    """HTTPS endpoints: listeners, CloudFront, HTTPS proxies, application gateways."""
    findings: list[Finding] = []
    listeners = facts.of_type(*LISTENERS)
    for listener in listeners:
        proto = _listener_protocol(listener)
        if proto is None:
            findings.append(found(Status.UNKNOWN, listener, "has a computed protocol", "protocol"))
            continue
        if proto not in ("HTTPS", "TLS"):
            continue
        if unknown := computed(listener, "ssl_policy"):
            findings.append(unknown)
            continue
        policy = text(listener.get("ssl_policy"))
        cert = listener.get("certificate_arn")
        if cert is None:
            findings.append(
                found(
                    Status.FAIL,
                    listener,
                    f"is {proto} without certificate_arn",
                    "certificate_arn",
                    patch(listener, "certificate_arn = aws_acm_certificate.main.arn"),
                )
            )
        elif policy and _WEAK_AWS_POLICIES.match(policy):
            findings.append(
                found(
                    Status.FAIL,
                    listener,
                    f'allows TLS below 1.2 (ssl_policy = "{policy}")',
                    "ssl_policy",
                    patch(listener, 'ssl_policy = "ELBSecurityPolicy-TLS13-1-2-2021-06"'),
                )
            )
        else:
            shown_policy = f'ssl_policy "{policy}"' if policy else "the default TLS 1.2 policy"
            findings.append(
                found(
                    Status.PASS,
                    listener,
                    f"serves {proto} with a certificate and {shown_policy}",
                    "certificate_arn",
                )
            )
    for lb in facts.of_type("aws_lb", "aws_alb"):
        if (
            is_public_lb(lb) is not True
            or (text(lb.get("load_balancer_type")) or "application") != "application"
        ):
            continue
        mine = [x for x in listeners if x.refers_to(lb)]
        if mine and all(_listener_protocol(x) == "HTTP" for x in mine):
            findings.append(
                found(
                    Status.FAIL,
                    lb,
                    "is internet-facing with only HTTP listeners",
                    None,
                    new_block(
                        lb.path,
                        "aws_lb_listener",
                        f"{lb.name}_https",
                        f"load_balancer_arn = aws_lb.{lb.name}.arn\nport              = 443\n"
                        'protocol          = "HTTPS"\n'
                        'ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"\n'
                        "certificate_arn   = aws_acm_certificate.main.arn\n"
                        'default_action {\n  type             = "forward"\n'
                        "  target_group_arn = aws_lb_target_group.app.arn\n}",
                    ),
                )
            )
    for cdn in facts.of_type("aws_cloudfront_distribution"):
        cert = cdn.blocks("viewer_certificate")
        body = cert[0] if cert else {}
        if isinstance(body.get("minimum_protocol_version"), Unresolved):
            what = "has a computed minimum_protocol_version"
            findings.append(found(Status.UNKNOWN, cdn, what, "viewer_certificate"))
            continue
        minimum = text(body.get("minimum_protocol_version")) or "TLSv1"
        if truth(body.get("cloudfront_default_certificate")):
            findings.append(
                found(Status.PASS, cdn, "uses the CloudFront certificate", "viewer_certificate")
            )
        elif (
            body.get("acm_certificate_arn") is not None
            or body.get("iam_certificate_id") is not None
        ):
            if minimum.startswith("TLSv1.2"):
                findings.append(
                    found(
                        Status.PASS,
                        cdn,
                        f"serves its certificate with {minimum}",
                        "viewer_certificate",
                    )
                )
            else:
                findings.append(
                    found(
                        Status.FAIL,
                        cdn,
                        f"allows TLS below 1.2 (minimum_protocol_version = {shown(minimum)})",
                        "viewer_certificate",
                        patch(
                            cdn,
                            'viewer_certificate {\n  minimum_protocol_version = "TLSv1.2_2021"\n}',
                        ),
                    )
                )
    for proxy in facts.of_type("google_compute_target_https_proxy"):
        certs = proxy.get("ssl_certificates") or proxy.get("certificate_map")
        status = Status.PASS if certs is not None else Status.FAIL
        findings.append(
            found(
                status,
                proxy,
                "serves HTTPS with certificates" if certs is not None else "has no certificate",
                "ssl_certificates",
            )
        )
    for ssl in facts.of_type("google_compute_ssl_policy"):
        if unknown := computed(ssl, "min_tls_version"):
            findings.append(unknown)
            continue
        version = text(ssl.get("min_tls_version")) or "TLS_1_0"
        if version in ("TLS_1_0", "TLS_1_1"):
            findings.append(
                found(
                    Status.FAIL,
                    ssl,
                    f"allows TLS below 1.2 (min_tls_version = {shown(version)})",
                    "min_tls_version",
                    patch(ssl, 'min_tls_version = "TLS_1_2"'),
                )
            )
    for gateway in facts.of_type("azurerm_application_gateway"):
        https = [
            b
            for b in gateway.blocks("http_listener")
            if (text(b.get("protocol")) or "").lower() == "https"
        ]
        if https:
            findings.append(
                found(Status.PASS, gateway, f"has {len(https)} HTTPS listener(s)", "http_listener")
            )
        elif gateway.blocks("http_listener"):
            findings.append(
                found(
                    Status.FAIL,
                    gateway,
                    "has only HTTP listeners",
                    "http_listener",
                    patch(
                        gateway,
                        'http_listener {\n  protocol             = "Https"\n'
                        '  ssl_certificate_name = "main"\n}',
                    ),
                )
            )
    return findings


@check(
    "infrastructure.terraform.tls",
    items=["infrastructure.networking.ssl-tls-certificates-installed"],
    needs=[TerraformFacts],
)
def tls_certificates(ctx: CheckContext) -> Iterator[Result]:
    """HTTPS endpoints present certificates with TLS 1.2 or newer."""
    facts = ctx.get(TerraformFacts)
    findings = tls_findings(facts)
    for cert in facts.of_type("aws_acm_certificate", "google_compute_managed_ssl_certificate"):
        method = text(cert.get("validation_method"))
        if cert.type == "aws_acm_certificate" and method and method.upper() == "EMAIL":
            findings.append(
                found(
                    Status.FAIL,
                    cert,
                    "is validated by email, so renewal waits for a person to click a link",
                    "validation_method",
                    patch(cert, 'validation_method = "DNS"'),
                )
            )
    yield from decide(
        ctx,
        "infrastructure.networking.ssl-tls-certificates-installed",
        findings,
        facts.unparsed_for(
            *LISTENERS, "aws_cloudfront_distribution", "google_compute_target_https_proxy"
        )
        if findings
        else [],
        passed="HTTPS endpoints serve certificates with TLS 1.2+",
        failed="TLS problems on production endpoints",
    )


_DNS = (
    "aws_route53_record",
    "google_dns_record_set",
    "azurerm_dns_a_record",
    "azurerm_dns_aaaa_record",
    "azurerm_dns_cname_record",
)
_MAX_TTL = 3600


@check(
    "infrastructure.terraform.dns",
    items=["infrastructure.networking.dns-configured"],
    needs=[TerraformFacts],
)
def dns(ctx: CheckContext) -> Iterator[Result]:
    """Service hostnames are DNS records in code, with TTLs short enough to cut over."""
    facts = ctx.get(TerraformFacts)
    findings: list[Finding] = []
    ttls: list[int] = []
    for record in facts.of_type(*_DNS):
        kind = text(record.get("type")) or record.type.rsplit("_", 2)[-2].upper()
        if kind.upper() not in ("A", "AAAA", "CNAME"):
            continue
        if record.blocks("alias"):
            findings.append(
                found(
                    Status.PASS, record, f"is an alias {kind} record (TTL of its target)", "alias"
                )
            )
            continue
        ttl = record.get("ttl")
        seconds = number(ttl)
        if ttl is not None and seconds is None:
            findings.append(
                found(Status.UNKNOWN, record, f"has ttl = {shown(ttl)}, computed", "ttl")
            )
            continue
        if seconds is None:
            # google_dns_record_set without ttl uses 300 s; Route 53 requires one for non-alias.
            seconds = 300 if record.type.startswith("google") else None
        if seconds is None:
            findings.append(found(Status.UNKNOWN, record, "has no ttl", None))
            continue
        ttls.append(int(seconds))
        if seconds > _MAX_TTL:
            findings.append(
                found(
                    Status.FAIL,
                    record,
                    f"has TTL {int(seconds)}s: a cutover or failover waits up to that long",
                    "ttl",
                    patch(record, "ttl = 300"),
                    int(seconds),
                )
            )
        else:
            findings.append(
                found(
                    Status.PASS,
                    record,
                    f"{kind} record has TTL {int(seconds)}s",
                    "ttl",
                    value=int(seconds),
                )
            )
    fields = {"dns_ttl": f"{max(ttls)}s"} if ttls else None
    yield from decide(
        ctx,
        "infrastructure.networking.dns-configured",
        findings,
        facts.unparsed_for(*_DNS) if findings else [],
        passed="DNS records are managed in Terraform",
        failed="DNS records with TTLs too long for cutover",
        fields=fields,
    )


_CDN = (
    "aws_cloudfront_distribution",
    "azurerm_cdn_profile",
    "azurerm_cdn_endpoint",
    "azurerm_cdn_frontdoor_profile",
    "azurerm_frontdoor",
)


@check(
    "infrastructure.terraform.cdn",
    items=["infrastructure.networking.cdn-configured"],
    needs=[TerraformFacts],
)
def cdn(ctx: CheckContext) -> Iterator[Result]:
    """Cacheable content goes through a CDN defined in Terraform."""
    facts = ctx.get(TerraformFacts)
    findings = [
        found(Status.PASS, r, "is a CDN in front of the origin") for r in facts.of_type(*_CDN)
    ]
    for backend in facts.of_type("google_compute_backend_bucket", "google_compute_backend_service"):
        enabled = truth(backend.get("enable_cdn"))
        if enabled:
            findings.append(found(Status.PASS, backend, "has enable_cdn = true", "enable_cdn"))
        elif backend.type == "google_compute_backend_bucket":
            findings.append(
                found(
                    Status.FAIL,
                    backend,
                    "serves a bucket without Cloud CDN",
                    "enable_cdn" if backend.has("enable_cdn") else None,
                    patch(backend, "enable_cdn = true"),
                )
            )
    yield from decide(
        ctx,
        "infrastructure.networking.cdn-configured",
        findings,
        facts.unparsed_for(*_CDN) if findings else [],
        passed="A CDN is defined in Terraform",
        failed="Static content served without a CDN",
    )


@check(
    "infrastructure.terraform.firewall",
    items=["infrastructure.networking.firewall-rules-reviewed"],
    needs=[TerraformFacts],
)
def firewall(ctx: CheckContext) -> Iterator[Result]:
    """Security groups and firewalls open only web ports to the internet."""
    facts = ctx.get(TerraformFacts)
    per_resource: dict[tuple[str, str | None], list[Finding]] = {}
    groups = facts.of_type(
        "aws_security_group", "google_compute_firewall", "azurerm_network_security_group"
    )
    for group in groups:
        per_resource[(group.address, group.environment)] = []
    for rule in ingress_rules(facts):
        key = (rule.resource.address, rule.resource.environment)
        bucket = per_resource.setdefault(key, [])
        if rule.ports is None or (rule.computed_sources and not rule.open_to_world):
            bucket.append(
                found(
                    Status.UNKNOWN,
                    rule.resource,
                    "has an ingress rule with computed ports or sources",
                    rule.key,
                    index=rule.index,
                )
            )
        elif rule.open_to_world and not (
            rule.ports[0] == rule.ports[1] and rule.ports[0] in WEB_PORTS
        ):
            bucket.append(
                found(
                    Status.FAIL,
                    rule.resource,
                    f"allows {rule.describe()}",
                    rule.key,
                    _firewall_fix(rule),
                    index=rule.index,
                )
            )
    by_address = {(r.address, r.environment): r for r in groups}
    for rule in ingress_rules(facts):
        by_address.setdefault((rule.resource.address, rule.resource.environment), rule.resource)
    findings: list[Finding] = []
    for key, listed in per_resource.items():
        if listed:
            findings.extend(listed)
        else:
            findings.append(
                found(Status.PASS, by_address[key], "opens no port but 80/443 to the internet")
            )
    yield from decide(
        ctx,
        "infrastructure.networking.firewall-rules-reviewed",
        findings,
        facts.unparsed_for(
            "aws_security_group*",
            "aws_vpc_security_group_ingress_rule",
            "google_compute_firewall",
            "azurerm_network_security_*",
        )
        if findings
        else [],
        passed="Firewall rules expose only web ports to the internet",
        failed="Firewall rules open to the internet beyond 80/443",
    )


def _firewall_fix(rule: IngressRule) -> str:
    r = rule.resource
    if r.type.startswith("aws_"):
        if r.type == "aws_vpc_security_group_ingress_rule":
            return patch(r, 'cidr_ipv4 = "10.0.0.0/8"  # the private range that needs this port')
        return patch(
            r,
            ("ingress {\n" if rule.key else "")
            + '  cidr_blocks = ["10.0.0.0/8"]  # only the network that needs this port\n'
            + ("}" if rule.key else ""),
        )
    if r.type == "google_compute_firewall":
        return patch(r, 'source_ranges = ["10.0.0.0/8"]  # or IAP: 35.235.240.0/20 for SSH')
    return patch(r, 'source_address_prefix = "VirtualNetwork"')


_DDOS = (
    "aws_shield_protection",
    "aws_shield_protection_group",
    "aws_shield_subscription",
    "google_compute_security_policy",
    "azurerm_network_ddos_protection_plan",
)


def _rate_based(acl: TerraformResource) -> bool:
    for rule in acl.blocks("rule"):
        statement = rule.get("statement")
        body = statement[0] if isinstance(statement, list) and statement else statement
        if isinstance(body, dict) and "rate_based_statement" in body:
            return True
    return False


@check(
    "infrastructure.terraform.ddos",
    items=["infrastructure.networking.ddos-protection-enabled"],
    needs=[TerraformFacts],
)
def ddos(ctx: CheckContext) -> Iterator[Result]:
    """Public entry points sit behind DDoS mitigation: Shield, Cloud Armor, a DDoS plan,
    or a CDN with a rate-limiting WAF."""
    facts = ctx.get(TerraformFacts)
    entries = public_entry_points(facts)
    protections = [found(Status.PASS, r, "provides DDoS protection") for r in facts.of_type(*_DDOS)]
    rate_limits = [
        found(Status.PASS, acl, "has a rate-based rule", "rule")
        for acl in facts.of_type("aws_wafv2_web_acl")
        if _rate_based(acl)
    ]
    cdns = facts.of_type("aws_cloudfront_distribution", "azurerm_cdn_frontdoor_profile")
    findings: list[Finding] = []
    if protections:
        findings = protections
    elif rate_limits and cdns:
        findings = [
            *rate_limits,
            *(found(Status.PASS, c, "absorbs volumetric traffic") for c in cdns),
        ]
    elif entries:
        findings = [
            found(
                Status.FAIL,
                entry,
                (
                    "is internet-facing with only AWS Shield Standard (network layer): "
                    "no Shield Advanced protection or rate-limiting WAF"
                    if entry.type.startswith("aws_")
                    else "is internet-facing with no Cloud Armor policy, DDoS protection plan "
                    "or rate-limiting WAF"
                ),
                None,
                _ddos_fix(entry),
            )
            if is_public_lb(entry) is not None or entry.type == "aws_cloudfront_distribution"
            else found(Status.UNKNOWN, entry, "may be internet-facing (computed internal)")
            for entry in entries
        ]
    yield from decide(
        ctx,
        "infrastructure.networking.ddos-protection-enabled",
        findings,
        facts.unparsed_for(*_DDOS, "aws_wafv2_web_acl") if findings else [],
        passed="Public endpoints have DDoS mitigation",
        failed="Public endpoints without DDoS mitigation",
    )


def _ddos_fix(entry: TerraformResource) -> str:
    if entry.type.startswith("aws_"):
        return new_block(
            entry.path,
            "aws_shield_protection",
            entry.name,
            f'name         = "{entry.name}"\nresource_arn = {entry.type}.{entry.name}.arn',
        )
    if entry.type.startswith("google_"):
        return new_block(
            entry.path,
            "google_compute_security_policy",
            "edge",
            'name = "edge"\nadaptive_protection_config {\n'
            "  layer_7_ddos_defense_config {\n    enable = true\n  }\n}",
        )
    return new_block(
        entry.path, "azurerm_network_ddos_protection_plan", "main", 'name = "ddos"\n# ...'
    )


# --- databases ------------------------------------------------------------------------


def db_encrypted(r: TerraformResource) -> Finding:
    """Storage encryption of a database (Google and Azure always encrypt)."""
    if r.type in ("aws_db_instance", "aws_rds_cluster"):
        if r.type == "aws_rds_cluster" and (text(r.get("engine_mode")) or "") == "serverless":
            return found(Status.PASS, r, "is Aurora Serverless v1, always encrypted", "engine_mode")
        return flag(
            r,
            "storage_encrypted",
            good="encrypts its storage",
            bad="stores data unencrypted",
            default=False,
            fix="storage_encrypted = true\nkms_key_id        = aws_kms_key.db.arn",
        )
    return found(Status.PASS, r, "is encrypted at rest by the provider (not configurable off)")


def db_backups(r: TerraformResource) -> tuple[Finding, int | None]:
    """Whether automated backups run, and their retention in days."""
    if r.type in ("aws_db_instance", "aws_rds_cluster"):
        value = r.get("backup_retention_period")
        days = number(value)
        if value is not None and days is None:
            return found(
                Status.UNKNOWN,
                r,
                f"sets backup_retention_period = {shown(value)}",
                "backup_retention_period",
            ), None
        if value is None:
            return found(
                Status.PASS,
                r,
                "takes automated daily backups (backup_retention_period not set: AWS keeps 1 day)",
            ), 1
        if days == 0:
            return found(
                Status.FAIL,
                r,
                "has automated backups off (backup_retention_period = 0)",
                "backup_retention_period",
                patch(r, "backup_retention_period = 14"),
            ), 0
        return found(
            Status.PASS,
            r,
            f"takes automated daily backups kept {int(days or 0)} days",
            "backup_retention_period",
        ), int(days or 0)
    if r.type == "google_sql_database_instance":
        enabled = r.get("settings", "backup_configuration", "enabled")
        state = truth(enabled)
        if enabled is not None and state is None:
            return found(
                Status.UNKNOWN,
                r,
                f"sets backup_configuration.enabled = {shown(enabled)}",
                "settings",
            ), None
        if not state:
            return found(
                Status.FAIL,
                r,
                "has no automated backups (settings.backup_configuration.enabled is not true)",
                "settings",
                patch(r, "settings {\n  backup_configuration {\n    enabled = true\n  }\n}"),
            ), 0
        kept = r.get(
            "settings", "backup_configuration", "backup_retention_settings", "retained_backups"
        )
        days = number(kept) if kept is not None else 7.0
        what = f"takes automated daily backups, keeps the last {int(days or 0)}"
        return found(Status.PASS, r, what, "settings"), (int(days) if days is not None else None)
    if r.type.startswith("azurerm_") and r.type != "azurerm_cosmosdb_account":
        key = "backup_retention_days"
        if r.type == "azurerm_mssql_database":
            kept = r.get("short_term_retention_policy", "retention_days")
            key = "short_term_retention_policy"
        else:
            kept = r.get(key)
        days = number(kept) if kept is not None else 7.0
        if days is None:
            return found(Status.UNKNOWN, r, f"sets {key} to a computed value", key), None
        return found(
            Status.PASS,
            r,
            f"is backed up automatically, kept {int(days)} days",
            key if kept is not None else None,
        ), int(days)
    return found(Status.PASS, r, "is backed up automatically by the provider"), None


def db_high_availability(facts: TerraformFacts, r: TerraformResource) -> Finding:
    zoned = _multi_zone(facts, r)
    if zoned is not None:
        return zoned
    if r.type == "azurerm_cosmosdb_account":
        return found(Status.PASS, r, "keeps four replicas of every partition (Cosmos DB)")
    return found(Status.UNKNOWN, r, "has no high-availability setting Terraform shows")


@check(
    "infrastructure.terraform.database",
    items=[
        "infrastructure.database.production-database-provisioned",
        "infrastructure.database.read-replicas",
        "infrastructure.database.connection-limits-set",
    ],
    needs=[TerraformFacts],
)
def database(ctx: CheckContext) -> Iterator[Result]:
    """Production databases exist as code with encryption, backups and HA; replicas; limits."""
    facts = ctx.get(TerraformFacts)
    primaries = primary_databases(facts)
    unparsed = facts.unparsed_for(*DATABASES, "aws_*parameter_group", "azurerm_*configuration")
    provisioned: list[Finding] = []
    for r in primaries:
        parts = [db_encrypted(r), db_backups(r)[0], db_high_availability(facts, r)]
        fails = [p for p in parts if p.status is Status.FAIL]
        unknown = [p for p in parts if p.status is Status.UNKNOWN]
        if fails:
            provisioned.append(
                Finding(
                    Status.FAIL,
                    "; ".join(p.text for p in fails),
                    fails[0].path,
                    fails[0].line,
                    "\n\n".join(dict.fromkeys(p.remediation or "" for p in fails)).strip() or None,
                )
            )
        elif unknown:
            provisioned.append(unknown[0])
        else:
            provisioned.append(
                found(Status.PASS, r, "is defined with encryption, automated backups and HA")
            )
    yield from decide(
        ctx,
        "infrastructure.database.production-database-provisioned",
        provisioned,
        unparsed,
        passed="Production databases are provisioned as code",
        failed="Production databases lack encryption, backups or HA",
    )
    yield from _replicas(ctx, facts, primaries, unparsed)
    yield from _connection_limits(ctx, facts, primaries, unparsed)


def _replicas(
    ctx: CheckContext,
    facts: TerraformFacts,
    primaries: list[TerraformResource],
    unparsed: Sequence[UnparsedFile],
) -> Iterator[Result]:
    replicas = [r for r in facts.of_type(*DATABASES) if is_replica(r)]
    findings = [found(Status.PASS, r, "is a read replica") for r in replicas]
    for cluster in facts.of_type("aws_rds_cluster"):
        zone = _multi_zone(facts, cluster)
        if zone is not None and zone.status is Status.PASS:
            findings.append(found(Status.PASS, cluster, "has reader instances besides the writer"))
    if not findings:
        findings = [
            found(
                Status.FAIL,
                r,
                "has no read replica",
                None,
                _replica_fix(r),
            )
            for r in primaries
            if r.type in ("aws_db_instance", "google_sql_database_instance", "aws_rds_cluster")
        ]
    yield from decide(
        ctx,
        "infrastructure.database.read-replicas",
        findings,
        unparsed if findings else [],
        passed="Read replicas are provisioned",
        failed="No read replica for the production database",
    )


def _replica_fix(r: TerraformResource) -> str:
    if r.type == "aws_db_instance":
        return new_block(
            r.path,
            "aws_db_instance",
            f"{r.name}_replica",
            f"replicate_source_db = aws_db_instance.{r.name}.identifier\n"
            f"instance_class      = aws_db_instance.{r.name}.instance_class",
        )
    if r.type == "aws_rds_cluster":
        return new_block(
            r.path,
            "aws_rds_cluster_instance",
            f"{r.name}_reader",
            f"cluster_identifier = aws_rds_cluster.{r.name}.id\n"
            f"engine             = aws_rds_cluster.{r.name}.engine\n"
            'instance_class     = "db.r6g.large"',
        )
    return new_block(
        r.path,
        "google_sql_database_instance",
        f"{r.name}_replica",
        f"master_instance_name = google_sql_database_instance.{r.name}.name\n"
        f"database_version     = google_sql_database_instance.{r.name}.database_version\n"
        'settings {\n  tier = "db-custom-2-7680"\n}',
    )


def parameter_group(
    facts: TerraformFacts, r: TerraformResource, *types: str
) -> TerraformResource | Unresolved | None:
    """The parameter group a database or cache uses: a resource, None (the default group),
    or Unresolved when the name is computed elsewhere."""
    key = (
        "db_cluster_parameter_group_name" if r.type == "aws_rds_cluster" else "parameter_group_name"
    )
    value = r.get(key)
    if value is None:
        return None
    for group in facts.of_type(*types, production=False):
        if group.scope != r.scope:
            continue
        if isinstance(value, Unresolved) and re.search(
            rf"(?<![\w.]){re.escape(group.ref)}\b", value.text
        ):
            return group
        if isinstance(value, str) and text(group.get("name")) == value:
            return group
    if isinstance(value, str):
        return None if value.startswith("default.") else Unresolved(value)
    return value if isinstance(value, Unresolved) else None


def parameters(group: TerraformResource) -> dict[str, Any]:
    """``parameter { name value }`` blocks of a parameter group, by name."""
    return {
        str(text(b.get("name"))).lower(): b.get("value")
        for b in group.blocks("parameter")
        if text(b.get("name"))
    }


def _connection_limits(
    ctx: CheckContext,
    facts: TerraformFacts,
    primaries: list[TerraformResource],
    unparsed: Sequence[UnparsedFile],
) -> Iterator[Result]:
    findings: list[Finding] = []
    for r in primaries:
        if r.type in ("aws_db_instance", "aws_rds_cluster"):
            types = (
                ("aws_rds_cluster_parameter_group",)
                if r.type == "aws_rds_cluster"
                else ("aws_db_parameter_group",)
            )
            group = parameter_group(facts, r, *types)
            if isinstance(group, Unresolved):
                findings.append(
                    found(
                        Status.UNKNOWN,
                        r,
                        f"uses parameter group {shown(group)} defined elsewhere",
                        "parameter_group_name",
                    )
                )
            elif group is None:
                findings.append(
                    found(
                        Status.FAIL,
                        r,
                        "uses the default parameter group: max_connections follows instance memory",
                        None,
                        new_block(
                            r.path,
                            types[0],
                            r.name,
                            f'name   = "{r.name}"\nfamily = "postgres16"\nparameter {{\n'
                            '  name  = "max_connections"\n  value = "400"\n'
                            '  apply_method = "pending-reboot"\n}',
                        ),
                    )
                )
            else:
                value = parameters(group).get("max_connections")
                if value is None:
                    findings.append(
                        found(
                            Status.FAIL,
                            group,
                            "does not set max_connections",
                            None,
                            patch(
                                group,
                                'parameter {\n  name  = "max_connections"\n  value = "400"\n}',
                            ),
                        )
                    )
                else:
                    findings.append(
                        found(
                            Status.PASS,
                            group,
                            f"sets max_connections = {shown(value)}",
                            "parameter",
                        )
                    )
        elif r.type == "google_sql_database_instance":
            flags = {
                str(text(b.get("name"))): b.get("value")
                for b in r.blocks("settings", "database_flags")
                if text(b.get("name"))
            }
            if "max_connections" in flags:
                findings.append(
                    found(
                        Status.PASS,
                        r,
                        f"sets database flag max_connections = {shown(flags['max_connections'])}",
                        "settings",
                    )
                )
            else:
                findings.append(
                    found(
                        Status.FAIL,
                        r,
                        "does not set the max_connections database flag",
                        "settings",
                        patch(
                            r,
                            'settings {\n  database_flags {\n    name  = "max_connections"\n'
                            '    value = "400"\n  }\n}',
                        ),
                    )
                )
        elif r.type in ("azurerm_postgresql_flexible_server", "azurerm_mysql_flexible_server"):
            config_type = r.type.replace("_server", "_server_configuration")
            configs = [
                c for c in linked(facts, r, config_type) if text(c.get("name")) == "max_connections"
            ]
            if configs:
                findings.append(
                    found(
                        Status.PASS,
                        configs[0],
                        f"sets max_connections = {shown(configs[0].get('value'))}",
                        "value",
                    )
                )
            else:
                findings.append(
                    found(
                        Status.FAIL,
                        r,
                        "has no max_connections server configuration",
                        None,
                        new_block(
                            r.path,
                            config_type,
                            "max_connections",
                            f'name      = "max_connections"\n'
                            f"server_id = {r.type}.{r.name}.id\n"
                            'value     = "400"',
                        ),
                    )
                )
    yield from decide(
        ctx,
        "infrastructure.database.connection-limits-set",
        findings,
        unparsed if findings else [],
        passed="Database connection limits are set explicitly",
        failed="Database connection limits left to defaults",
    )


# --- storage --------------------------------------------------------------------------


def aws_bucket_part(
    facts: TerraformFacts, bucket: TerraformResource, kind: str
) -> list[TerraformResource]:
    """The split ``aws_s3_bucket_<kind>`` resources that configure ``bucket``."""
    return linked(facts, bucket, f"aws_s3_bucket_{kind}")


def _lifecycle(facts: TerraformFacts, bucket: TerraformResource) -> Finding:
    if bucket.type == "aws_s3_bucket":
        parts = aws_bucket_part(facts, bucket, "lifecycle_configuration")
        if parts:
            return found(
                Status.PASS, parts[0], f"sets lifecycle rules for {bucket.address}", "rule"
            )
        if bucket.blocks("lifecycle_rule"):
            return found(Status.PASS, bucket, "has lifecycle_rule blocks", "lifecycle_rule")
        return found(
            Status.FAIL,
            bucket,
            "has no lifecycle rules",
            None,
            new_block(
                bucket.path,
                "aws_s3_bucket_lifecycle_configuration",
                bucket.name,
                f"bucket = aws_s3_bucket.{bucket.name}.id\nrule {{\n"
                '  id     = "expire-old-versions"\n  status = "Enabled"\n  filter {}\n'
                "  noncurrent_version_expiration {\n    noncurrent_days = 30\n  }\n"
                "  abort_incomplete_multipart_upload {\n    days_after_initiation = 7\n  }\n}",
            ),
        )
    if bucket.type == "google_storage_bucket":
        if bucket.blocks("lifecycle_rule"):
            return found(Status.PASS, bucket, "has lifecycle_rule blocks", "lifecycle_rule")
        return found(
            Status.FAIL,
            bucket,
            "has no lifecycle_rule",
            None,
            patch(
                bucket,
                "lifecycle_rule {\n  condition {\n    days_since_noncurrent_time = 30\n  }\n"
                '  action {\n    type = "Delete"\n  }\n}',
            ),
        )
    policies = linked(facts, bucket, "azurerm_storage_management_policy")
    if policies:
        return found(Status.PASS, policies[0], f"manages the lifecycle of {bucket.address}", "rule")
    return found(
        Status.FAIL,
        bucket,
        "has no azurerm_storage_management_policy",
        None,
        new_block(
            bucket.path,
            "azurerm_storage_management_policy",
            bucket.name,
            f"storage_account_id = azurerm_storage_account.{bucket.name}.id\nrule {{\n"
            '  name    = "expire"\n  enabled = true\n'
            '  filters {\n    blob_types = ["blockBlob"]\n  }\n'
            "  actions {\n    version {\n"
            "      delete_after_days_since_creation = 30\n    }\n  }\n}",
        ),
    )


_PUBLIC_ACLS = {"public-read", "public-read-write", "authenticated-read", "website"}


def _access(facts: TerraformFacts, bucket: TerraformResource) -> Finding:
    if bucket.type == "aws_s3_bucket":
        acl = text(bucket.get("acl"))
        acl_parts = aws_bucket_part(facts, bucket, "acl")
        acl = acl or next((text(a.get("acl")) for a in acl_parts if text(a.get("acl"))), None)
        if acl in _PUBLIC_ACLS:
            return found(
                Status.FAIL,
                bucket,
                f'has a public ACL ("{acl}")',
                "acl",
                patch(bucket, "# remove the public ACL; serve public files through CloudFront"),
            )
        blocks = aws_bucket_part(facts, bucket, "public_access_block")
        account = facts.of_type("aws_s3_account_public_access_block")
        source = blocks[0] if blocks else account[0] if account else None
        if source is None:
            return found(
                Status.FAIL,
                bucket,
                "has no public access block",
                None,
                new_block(
                    bucket.path,
                    "aws_s3_bucket_public_access_block",
                    bucket.name,
                    f"bucket                  = aws_s3_bucket.{bucket.name}.id\n"
                    "block_public_acls       = true\nblock_public_policy     = true\n"
                    "ignore_public_acls      = true\nrestrict_public_buckets = true",
                ),
            )
        keys = (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        )
        values = {k: source.get(k) for k in keys}
        if any(v is not None and truth(v) is None for v in values.values()):
            return found(Status.UNKNOWN, source, "sets public access flags to computed values")
        off = [k for k, v in values.items() if truth(v) is not True]
        if off:
            return found(
                Status.FAIL,
                source,
                f"leaves {', '.join(off)} off for {bucket.address}",
                off[0] if source.has(off[0]) else None,
                patch(source, "\n".join(f"{k} = true" for k in off)),
            )
        return found(Status.PASS, source, f"blocks all public access to {bucket.address}")
    if bucket.type == "google_storage_bucket":
        public = [
            m
            for m in linked(
                facts,
                bucket,
                "google_storage_bucket_iam_member",
                "google_storage_bucket_iam_binding",
            )
            if any(
                str(x) in ("allUsers", "allAuthenticatedUsers")
                for x in as_list(m.get("member")) + as_list(m.get("members"))
            )
        ]
        if public:
            return found(
                Status.FAIL,
                public[0],
                f"grants {bucket.address} to allUsers/allAuthenticatedUsers",
                "member",
                patch(
                    public[0],
                    "# remove; grant the service account instead\n"
                    'member = "serviceAccount:app@PROJECT.iam.gserviceaccount.com"',
                ),
            )
        uniform = truth(bucket.get("uniform_bucket_level_access"))
        if unknown := computed(bucket, "public_access_prevention"):
            return unknown
        prevention = text(bucket.get("public_access_prevention"))
        if uniform and prevention == "enforced":
            return found(
                Status.PASS,
                bucket,
                "has uniform bucket-level access and enforced public access prevention",
                "uniform_bucket_level_access",
            )
        if bucket.get("uniform_bucket_level_access") is not None and uniform is None:
            return found(
                Status.UNKNOWN,
                bucket,
                "sets uniform_bucket_level_access to a computed value",
                "uniform_bucket_level_access",
            )
        missing = []
        if not uniform:
            missing.append("uniform_bucket_level_access = true")
        if prevention != "enforced":
            missing.append('public_access_prevention    = "enforced"')
        return found(
            Status.FAIL,
            bucket,
            "does not enforce private access ("
            + ", ".join(m.split("=")[0].strip() for m in missing)
            + ")",
            "uniform_bucket_level_access" if bucket.has("uniform_bucket_level_access") else None,
            patch(bucket, "\n".join(missing)),
        )
    containers = [
        c
        for c in facts.of_type("azurerm_storage_container", production=False)
        if c.scope == bucket.scope and (c.refers_to(bucket))
    ]
    public_containers = [
        c for c in containers if (text(c.get("container_access_type")) or "private") != "private"
    ]
    if public_containers:
        c = public_containers[0]
        return found(
            Status.FAIL,
            c,
            f'is public (container_access_type = "{text(c.get("container_access_type"))}")',
            "container_access_type",
            patch(c, 'container_access_type = "private"'),
        )
    nested = bucket.get("allow_nested_items_to_be_public")
    if nested is None:
        nested = bucket.get("allow_blob_public_access")
    state = truth(nested)
    if nested is not None and state is None:
        return found(Status.UNKNOWN, bucket, "sets public blob access to a computed value")
    if state is False:
        return found(
            Status.PASS, bucket, "forbids public blob access", "allow_nested_items_to_be_public"
        )
    return found(
        Status.FAIL,
        bucket,
        "allows containers to be made public (allow_nested_items_to_be_public is not false)",
        "allow_nested_items_to_be_public"
        if bucket.has("allow_nested_items_to_be_public")
        else None,
        patch(bucket, "allow_nested_items_to_be_public = false"),
    )


def bucket_encryption(facts: TerraformFacts, bucket: TerraformResource) -> Finding:
    """Server-side encryption of a bucket (every provider now encrypts by default)."""
    if bucket.type == "aws_s3_bucket":
        parts = aws_bucket_part(facts, bucket, "server_side_encryption_configuration")
        source = (
            parts[0]
            if parts
            else bucket
            if bucket.blocks("server_side_encryption_configuration")
            else None
        )
        if source is not None:
            algo = None
            for rule in source.blocks("rule"):
                algo = dig(rule, "apply_server_side_encryption_by_default", "sse_algorithm")
            if algo is None:
                algo = source.get(
                    "server_side_encryption_configuration",
                    "rule",
                    "apply_server_side_encryption_by_default",
                    "sse_algorithm",
                )
            return found(
                Status.PASS,
                source,
                f"encrypts {bucket.address} with {shown(algo) if algo is not None else 'SSE'}",
                "rule",
            )
        return found(
            Status.PASS,
            bucket,
            "is encrypted with SSE-S3, which S3 applies to every new object (since 2023)",
        )
    if bucket.type == "google_storage_bucket":
        key = bucket.get("encryption", "default_kms_key_name")
        how = "a customer-managed KMS key" if key is not None else "Google-managed keys"
        return found(
            Status.PASS,
            bucket,
            f"is encrypted with {how}",
            "encryption" if key is not None else None,
        )
    return found(
        Status.PASS, bucket, "is encrypted by Azure Storage Service Encryption (always on)"
    )


def _volume_encryption(r: TerraformResource) -> Finding | None:
    if r.type == "aws_ebs_volume":
        return flag(
            r,
            "encrypted",
            good="is encrypted",
            bad="is an unencrypted EBS volume",
            default=False,
            fix="encrypted  = true\nkms_key_id = aws_kms_key.ebs.arn",
        )
    if r.type == "aws_efs_file_system":
        return flag(
            r,
            "encrypted",
            good="is encrypted",
            bad="is an unencrypted EFS file system",
            default=False,
            fix="encrypted = true",
        )
    return None


@check(
    "infrastructure.terraform.storage",
    items=[
        "infrastructure.storage.storage-provisioned",
        "infrastructure.storage.lifecycle-policies-set",
        "infrastructure.storage.access-controls-configured",
        "infrastructure.storage.encryption-enabled",
    ],
    needs=[TerraformFacts],
)
def storage(ctx: CheckContext) -> Iterator[Result]:
    """Buckets and volumes are defined as code, private, encrypted, with lifecycle rules."""
    facts = ctx.get(TerraformFacts)
    buckets = facts.of_type(*BUCKETS)
    volumes = facts.of_type("aws_ebs_volume", "aws_efs_file_system")
    unparsed = facts.unparsed_for(
        *BUCKETS, "aws_s3_*", "azurerm_storage_*", "aws_ebs_volume", "aws_efs_file_system"
    )
    yield from decide(
        ctx,
        "infrastructure.storage.storage-provisioned",
        [found(Status.PASS, r, "is defined") for r in (*buckets, *volumes)],
        unparsed,
        passed="Production storage is defined in Terraform",
        failed="",
    )
    yield from decide(
        ctx,
        "infrastructure.storage.lifecycle-policies-set",
        [_lifecycle(facts, b) for b in buckets],
        unparsed if buckets else [],
        passed="Every production bucket has lifecycle rules",
        failed="Buckets without lifecycle rules",
    )
    yield from decide(
        ctx,
        "infrastructure.storage.access-controls-configured",
        [_access(facts, b) for b in buckets],
        unparsed if buckets else [],
        passed="Production buckets block public access",
        failed="Buckets open to public access",
    )
    encryption = [bucket_encryption(facts, b) for b in buckets]
    encryption += [f for v in volumes if (f := _volume_encryption(v)) is not None]
    yield from decide(
        ctx,
        "infrastructure.storage.encryption-enabled",
        encryption,
        unparsed if encryption else [],
        passed="Production buckets and volumes are encrypted",
        failed="Unencrypted production storage",
    )


# --- caches ---------------------------------------------------------------------------


def cache_engine(r: TerraformResource) -> str:
    if r.type in ("google_memcache_instance",):
        return "memcached"
    engine = text(r.get("engine")) or "redis"
    return engine.lower()


def _eviction(facts: TerraformFacts, r: TerraformResource) -> Finding | None:
    if cache_engine(r) == "memcached":
        return found(Status.PASS, r, "is memcached, which evicts least recently used items")
    if r.type in (
        "aws_elasticache_replication_group",
        "aws_elasticache_cluster",
        "aws_memorydb_cluster",
    ):
        if r.type == "aws_elasticache_cluster" and r.get("replication_group_id") is not None:
            return None
        kind = (
            "aws_memorydb_parameter_group"
            if r.type == "aws_memorydb_cluster"
            else "aws_elasticache_parameter_group"
        )
        group = parameter_group(facts, r, kind)
        if isinstance(group, Unresolved):
            return found(
                Status.UNKNOWN,
                r,
                f"uses parameter group {shown(group)} defined elsewhere",
                "parameter_group_name",
            )
        if group is None:
            return found(
                Status.FAIL,
                r,
                "uses the default parameter group (maxmemory-policy volatile-lru: "
                "keys without TTL are never evicted)",
                None,
                new_block(
                    r.path,
                    kind,
                    r.name,
                    f'name   = "{r.name}"\nfamily = "redis7"\nparameter {{\n'
                    '  name  = "maxmemory-policy"\n  value = "allkeys-lru"\n}',
                ),
            )
        policy = parameters(group).get("maxmemory-policy")
        if policy is None:
            return found(
                Status.FAIL,
                group,
                "does not set maxmemory-policy",
                None,
                patch(
                    group, 'parameter {\n  name  = "maxmemory-policy"\n  value = "allkeys-lru"\n}'
                ),
            )
        return found(Status.PASS, group, f"sets maxmemory-policy = {shown(policy)}", "parameter")
    if r.type == "google_redis_instance":
        configs = r.get("redis_configs")
        if isinstance(configs, dict) and "maxmemory-policy" in configs:
            return found(
                Status.PASS,
                r,
                f"sets maxmemory-policy = {shown(configs['maxmemory-policy'])}",
                "redis_configs",
            )
        if isinstance(configs, Unresolved):
            return found(Status.UNKNOWN, r, "takes redis_configs at apply time", "redis_configs")
        return found(
            Status.FAIL,
            r,
            "does not set maxmemory-policy (default volatile-lru)",
            "redis_configs" if configs is not None else None,
            patch(r, 'redis_configs = {\n  "maxmemory-policy" = "allkeys-lru"\n}'),
        )
    if r.type == "azurerm_redis_cache":
        policy = r.get("redis_configuration", "maxmemory_policy")
        if policy is not None:
            return found(
                Status.PASS, r, f"sets maxmemory_policy = {shown(policy)}", "redis_configuration"
            )
        return found(
            Status.FAIL,
            r,
            "does not set maxmemory_policy (default volatile-lru)",
            "redis_configuration" if r.has("redis_configuration") else None,
            patch(r, 'redis_configuration {\n  maxmemory_policy = "allkeys-lru"\n}'),
        )
    return None


def _failover(r: TerraformResource) -> Finding | None:
    if r.type == "aws_elasticache_replication_group":
        auto = truth(r.get("automatic_failover_enabled"))
        if r.get("automatic_failover_enabled") is not None and auto is None:
            return found(
                Status.UNKNOWN,
                r,
                "sets automatic_failover_enabled to a computed value",
                "automatic_failover_enabled",
            )
        nodes = r.get("num_cache_clusters")
        replicas = r.get("replicas_per_node_group")
        replica_count = number(replicas)
        count = (
            number(nodes)
            if nodes is not None
            else (replica_count + 1 if replica_count is not None else None)
        )
        if count is None and (nodes is not None or replicas is not None):
            return found(Status.UNKNOWN, r, "has a computed node count", "num_cache_clusters")
        count = count if count is not None else 1
        if auto and count >= 2:
            return found(
                Status.PASS,
                r,
                f"fails over automatically to one of {int(count) - 1} replica(s)",
                "automatic_failover_enabled",
            )
        return found(
            Status.FAIL,
            r,
            f"has automatic_failover_enabled = {shown(bool(auto))} with {int(count)} node(s)",
            "automatic_failover_enabled" if r.has("automatic_failover_enabled") else None,
            patch(
                r,
                "num_cache_clusters         = 2\nautomatic_failover_enabled = true\n"
                "multi_az_enabled           = true",
            ),
        )
    if r.type == "aws_elasticache_cluster":
        if r.get("replication_group_id") is not None or cache_engine(r) == "memcached":
            return None
        return found(
            Status.FAIL,
            r,
            "is a single Redis node with no replica to fail over to",
            None,
            f"# replace {r.address} ({r.path}:{r.line}) with a replication group\n"
            f'resource "aws_elasticache_replication_group" "{r.name}" {{\n'
            f'  replication_group_id       = "{r.name}"\n'
            f'  description                = "{r.name}"\n'
            "  num_cache_clusters         = 2\n  automatic_failover_enabled = true\n"
            "  multi_az_enabled           = true\n}",
        )
    if r.type == "aws_memorydb_cluster":
        replicas = r.get("num_replicas_per_shard")
        count = 1.0 if replicas is None else number(replicas)
        if count is None:
            return found(
                Status.UNKNOWN, r, "has a computed replica count", "num_replicas_per_shard"
            )
        if count >= 1:
            return found(
                Status.PASS, r, f"has {int(count)} replica(s) per shard", "num_replicas_per_shard"
            )
        return found(
            Status.FAIL,
            r,
            "has no replicas",
            "num_replicas_per_shard",
            patch(r, "num_replicas_per_shard = 1"),
        )
    if r.type == "aws_elasticache_serverless_cache":
        return found(Status.PASS, r, "is serverless, replicated across zones by AWS")
    if r.type == "google_redis_instance":
        if unknown := computed(r, "tier"):
            return unknown
        tier = text(r.get("tier")) or "BASIC"
        if tier.upper() == "STANDARD_HA":
            return found(Status.PASS, r, 'has tier "STANDARD_HA" with a replica', "tier")
        return found(
            Status.FAIL,
            r,
            f'has tier "{tier}" with no replica',
            "tier" if r.has("tier") else None,
            patch(r, 'tier = "STANDARD_HA"'),
        )
    if r.type == "azurerm_redis_cache":
        sku = text(r.get("sku_name"))
        if sku is None:
            return found(Status.UNKNOWN, r, "has a computed sku_name", "sku_name")
        if sku.lower() in ("standard", "premium"):
            return found(Status.PASS, r, f'has sku "{sku}" with a replica', "sku_name")
        return found(
            Status.FAIL,
            r,
            f'has sku "{sku}" with no replica',
            "sku_name",
            patch(r, 'sku_name = "Standard"'),
        )
    return None


@check(
    "infrastructure.terraform.cache",
    items=[
        "infrastructure.caching.cache-layer-provisioned",
        "infrastructure.caching.eviction-policies-set",
        "infrastructure.caching.failover-configured",
    ],
    needs=[TerraformFacts],
)
def cache(ctx: CheckContext) -> Iterator[Result]:
    """Production caches exist as code, with an eviction policy and automatic failover."""
    facts = ctx.get(TerraformFacts)
    caches = facts.of_type(*CACHES)
    unparsed = facts.unparsed_for(
        *CACHES, "aws_elasticache_parameter_group", "aws_memorydb_parameter_group"
    )
    yield from decide(
        ctx,
        "infrastructure.caching.cache-layer-provisioned",
        [found(Status.PASS, r, f"is a {cache_engine(r)} cache") for r in caches],
        unparsed,
        passed="A production cache is provisioned as code",
        failed="",
    )
    yield from decide(
        ctx,
        "infrastructure.caching.eviction-policies-set",
        [f for r in caches if (f := _eviction(facts, r)) is not None],
        unparsed if caches else [],
        passed="Caches set an explicit eviction policy",
        failed="Caches without an explicit eviction policy",
    )
    yield from decide(
        ctx,
        "infrastructure.caching.failover-configured",
        [f for r in caches if (f := _failover(r)) is not None],
        unparsed if caches else [],
        passed="Caches fail over automatically",
        failed="Caches without automatic failover",
    )
