"""Security items decided from Terraform: encryption, WAF, exposure, secrets and IAM.

Secret values are never shown: a finding names the attribute that holds a
literal secret and where, not what it holds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

from prr.checks.infrastructure.terraform import (
    BUCKETS,
    DATABASES,
    LISTENERS,
    WORLD,
    Finding,
    as_list,
    bucket_encryption,
    computed,
    db_encrypted,
    decide,
    dig,
    flag,
    found,
    ingress_rules,
    is_public_lb,
    is_replica,
    linked,
    new_block,
    number,
    overlaps,
    parameter_group,
    parameters,
    patch,
    public_entry_points,
    shown,
    text,
    truth,
)
from prr.checks.registry import CheckContext, check
from prr.collectors.secrets import looks_like_placeholder
from prr.collectors.terraform import (
    TerraformFacts,
    TerraformResource,
    UnparsedFile,
    Unresolved,
)
from prr.model.evidence import Result, Status

# --- encryption at rest ---------------------------------------------------------------


def _ebs_default_on(facts: TerraformFacts) -> bool:
    return any(
        truth(r.get("enabled")) is not False for r in facts.of_type("aws_ebs_encryption_by_default")
    )


def _at_rest(facts: TerraformFacts, r: TerraformResource, ebs_default: bool) -> Finding | None:
    if r.type in DATABASES:
        # a read replica inherits the encryption of its source, which is judged itself
        return None if is_replica(r) else db_encrypted(r)
    if r.type in BUCKETS:
        return bucket_encryption(facts, r)
    if r.type == "aws_dynamodb_table":
        return found(Status.PASS, r, "is encrypted at rest by DynamoDB (always on)")
    if r.type in ("aws_ebs_volume", "aws_efs_file_system"):
        if r.type == "aws_ebs_volume" and ebs_default and not r.has("encrypted"):
            return found(Status.PASS, r, "is encrypted by aws_ebs_encryption_by_default")
        return flag(
            r,
            "encrypted",
            good="is encrypted",
            bad="is not encrypted",
            default=False,
            fix="encrypted = true",
        )
    if r.type == "aws_instance":
        if not r.blocks("root_block_device") or ebs_default:
            return None
        return flag(
            r,
            "root_block_device.encrypted",
            good="encrypts its root volume",
            bad="has an unencrypted root volume",
            default=False,
            fix="root_block_device {\n  encrypted = true\n}",
        )
    return None


_AT_REST = (
    *DATABASES,
    *BUCKETS,
    "aws_dynamodb_table",
    "aws_ebs_volume",
    "aws_efs_file_system",
    "aws_instance",
)


@check(
    "security.terraform.encryption-at-rest",
    items=["security.data-security.data-encrypted-at-rest"],
    needs=[TerraformFacts],
)
def encryption_at_rest(ctx: CheckContext) -> Iterator[Result]:
    """Databases, buckets and volumes are encrypted at rest."""
    facts = ctx.get(TerraformFacts)
    ebs_default = _ebs_default_on(facts)
    findings = [
        f for r in facts.of_type(*_AT_REST) if (f := _at_rest(facts, r, ebs_default)) is not None
    ]
    yield from decide(
        ctx,
        "security.data-security.data-encrypted-at-rest",
        findings,
        facts.unparsed_for(*_AT_REST, "aws_s3_bucket_*"),
        passed="Production data stores are encrypted at rest",
        failed="Unencrypted production data stores",
    )


# --- encryption in transit and HTTPS --------------------------------------------------


def _redirects_to_https(listener: TerraformResource) -> bool | None:
    for action in listener.blocks("default_action"):
        kind = text(action.get("type"))
        if kind is None:
            return None
        if kind == "redirect":
            proto = dig(action, "redirect", "protocol")
            literal = text(proto)
            if proto is not None and literal is None:
                return None
            return (literal or "").upper() == "HTTPS"
    return False


def _http_listener(listener: TerraformResource) -> Finding | None:
    proto = text(listener.get("protocol"))
    if proto is None and listener.get("protocol") is not None:
        return found(Status.UNKNOWN, listener, "has a computed protocol", "protocol")
    port = number(listener.get("port"))
    if (proto or ("HTTPS" if port == 443 else "HTTP")).upper() != "HTTP":
        return None
    redirect = _redirects_to_https(listener)
    if redirect is None:
        return found(Status.UNKNOWN, listener, "has a computed default action", "default_action")
    if redirect:
        return found(Status.PASS, listener, "redirects HTTP to HTTPS", "default_action")
    return found(
        Status.FAIL,
        listener,
        "serves plain HTTP without redirecting to HTTPS",
        "default_action",
        patch(
            listener,
            'default_action {\n  type = "redirect"\n  redirect {\n'
            '    protocol    = "HTTPS"\n    port        = "443"\n'
            '    status_code = "HTTP_301"\n  }\n}',
        ),
    )


def _cloudfront_viewer(cdn: TerraformResource) -> Finding:
    behaviors = cdn.blocks("default_cache_behavior") + cdn.blocks("ordered_cache_behavior")
    policies = [text(b.get("viewer_protocol_policy")) for b in behaviors]
    if any(p is None for p in policies):
        return found(Status.UNKNOWN, cdn, "has a computed viewer_protocol_policy")
    if "allow-all" in policies:
        return found(
            Status.FAIL,
            cdn,
            'serves plain HTTP (viewer_protocol_policy = "allow-all")',
            "default_cache_behavior",
            patch(
                cdn, 'default_cache_behavior {\n  viewer_protocol_policy = "redirect-to-https"\n}'
            ),
        )
    return found(Status.PASS, cdn, "accepts only HTTPS from viewers", "default_cache_behavior")


def _cloudfront_origin(cdn: TerraformResource) -> Finding | None:
    for origin in cdn.blocks("origin"):
        custom = origin.get("custom_origin_config")
        body = custom[0] if isinstance(custom, list) and custom else custom
        if not isinstance(body, dict):
            continue
        policy = text(body.get("origin_protocol_policy"))
        if policy in ("http-only", "match-viewer"):
            return found(
                Status.FAIL,
                cdn,
                f'reaches its origin over HTTP (origin_protocol_policy = "{policy}")',
                "origin",
                patch(
                    cdn,
                    "origin {\n  custom_origin_config {\n"
                    '    origin_protocol_policy = "https-only"\n'
                    '    origin_ssl_protocols   = ["TLSv1.2"]\n  }\n}',
                ),
            )
    return None


def _cache_transit(r: TerraformResource) -> Finding | None:
    if r.type == "aws_elasticache_replication_group":
        return flag(
            r,
            "transit_encryption_enabled",
            good="encrypts client connections",
            bad="accepts plaintext connections",
            default=False,
            fix="transit_encryption_enabled = true",
        )
    if r.type == "aws_memorydb_cluster":
        return flag(
            r,
            "tls_enabled",
            good="requires TLS",
            bad="accepts plaintext connections",
            default=True,
            fix="tls_enabled = true",
        )
    if r.type == "google_redis_instance":
        if unknown := computed(r, "transit_encryption_mode"):
            return unknown
        mode = text(r.get("transit_encryption_mode")) or "DISABLED"
        if mode == "SERVER_AUTHENTICATION":
            return found(
                Status.PASS, r, "uses TLS (SERVER_AUTHENTICATION)", "transit_encryption_mode"
            )
        return found(
            Status.FAIL,
            r,
            f'accepts plaintext connections (transit_encryption_mode "{mode}")',
            "transit_encryption_mode" if r.has("transit_encryption_mode") else None,
            patch(r, 'transit_encryption_mode = "SERVER_AUTHENTICATION"'),
        )
    if r.type == "azurerm_redis_cache":
        non_ssl = r.get("non_ssl_port_enabled")
        if non_ssl is None:
            non_ssl = r.get("enable_non_ssl_port")
        if unknown := computed(r, "minimum_tls_version") or computed(r, "non_ssl_port_enabled"):
            return unknown
        tls = text(r.get("minimum_tls_version")) or "1.2"
        if truth(non_ssl):
            return found(
                Status.FAIL,
                r,
                "opens the non-TLS port 6379",
                "non_ssl_port_enabled" if r.has("non_ssl_port_enabled") else "enable_non_ssl_port",
                patch(r, "non_ssl_port_enabled = false"),
            )
        if tls in ("1.0", "1.1"):
            return found(
                Status.FAIL,
                r,
                f'allows TLS {tls} (minimum_tls_version = "{tls}")',
                "minimum_tls_version",
                patch(r, 'minimum_tls_version = "1.2"'),
            )
        return found(Status.PASS, r, f"accepts only TLS {tls}+ connections")
    return None


_PG_FORCE_SSL_DEFAULT = 15


def _major(version: Any) -> int | None:
    literal = text(version)
    match = re.match(r"(\d+)", literal or "")
    return int(match.group(1)) if match else None


def _replica_source(facts: TerraformFacts, r: TerraformResource) -> TerraformResource:
    """The primary a read replica copies (engine and version come from it), else ``r``."""
    if r.get("replicate_source_db") is None:
        return r
    for primary in facts.of_type("aws_db_instance", production=False):
        if primary is not r and r.refers_to(primary):
            return primary
    return r


def _db_transit(facts: TerraformFacts, r: TerraformResource) -> Finding | None:
    if r.type in ("aws_db_instance", "aws_rds_cluster"):
        source = _replica_source(facts, r)
        engine = (text(r.get("engine")) or text(source.get("engine")) or "").lower()
        if not engine:
            return found(Status.UNKNOWN, r, "has a computed engine", "engine")
        if "postgres" in engine or "sqlserver" in engine:
            param = "rds.force_ssl"
        elif "mysql" in engine or "mariadb" in engine:
            param = "require_secure_transport"
        else:
            return None
        types = (
            ("aws_rds_cluster_parameter_group",)
            if r.type == "aws_rds_cluster"
            else ("aws_db_parameter_group",)
        )
        group = parameter_group(facts, r, *types)
        if isinstance(group, Unresolved):
            return found(
                Status.UNKNOWN,
                r,
                f"uses parameter group {shown(group)} defined elsewhere",
                "parameter_group_name",
            )
        value = parameters(group).get(param) if group is not None else None
        literal = (text(value) or "").lower()
        if value is not None:
            if literal in ("1", "on", "true"):
                return found(Status.PASS, group or r, f"sets {param} = {shown(value)}", "parameter")
            if not literal:
                return found(Status.UNKNOWN, group or r, f"sets {param} to a computed value")
            return found(
                Status.FAIL,
                group or r,
                f"sets {param} = {shown(value)}: clients may connect without TLS",
                "parameter",
                patch(group or r, f'parameter {{\n  name  = "{param}"\n  value = "1"\n}}'),
            )
        major = _major(r.get("engine_version") or source.get("engine_version"))
        if engine == "postgres" and major is not None and major >= _PG_FORCE_SSL_DEFAULT:
            return found(
                Status.PASS,
                r,
                f"runs PostgreSQL {major}, where RDS forces SSL by default",
                "engine_version",
            )
        target = group or r
        fix = (
            patch(group, f'parameter {{\n  name  = "{param}"\n  value = "1"\n}}')
            if group is not None
            else new_block(
                r.path,
                types[0],
                r.name,
                f'name   = "{r.name}"\nfamily = "<engine family>"\n'
                f'parameter {{\n  name  = "{param}"\n  value = "1"\n}}',
            )
        )
        return found(
            Status.FAIL,
            target,
            f"does not set {param}, so clients may connect without TLS",
            None,
            fix,
        )
    if r.type == "google_sql_database_instance":
        if unknown := computed(r, "settings", "ip_configuration", "ssl_mode") or computed(
            r, "settings", "ip_configuration", "require_ssl"
        ):
            return unknown
        mode = text(r.get("settings", "ip_configuration", "ssl_mode"))
        require = truth(r.get("settings", "ip_configuration", "require_ssl"))
        if mode in ("ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED") or require:
            return found(Status.PASS, r, "requires SSL from clients", "settings")
        return found(
            Status.FAIL,
            r,
            "accepts unencrypted connections (no ssl_mode ENCRYPTED_ONLY)",
            "settings",
            patch(r, 'settings {\n  ip_configuration {\n    ssl_mode = "ENCRYPTED_ONLY"\n  }\n}'),
        )
    if r.type in ("azurerm_postgresql_flexible_server", "azurerm_mysql_flexible_server"):
        config_type = f"{r.type}_configuration"
        for config in linked(facts, r, config_type):
            if text(config.get("name")) == "require_secure_transport":
                value = (text(config.get("value")) or "").lower()
                if value == "off":
                    return found(
                        Status.FAIL,
                        config,
                        "turns require_secure_transport off",
                        "value",
                        patch(config, 'value = "on"'),
                    )
        return found(Status.PASS, r, "requires TLS (require_secure_transport is on by default)")
    return None


@check(
    "security.terraform.encryption-in-transit",
    items=[
        "security.data-security.data-encrypted-in-transit",
        "security.network-security.https-enforced",
    ],
    needs=[TerraformFacts],
)
def encryption_in_transit(ctx: CheckContext) -> Iterator[Result]:
    """Listeners redirect to HTTPS, load balancers reach targets over TLS, and databases
    and caches require TLS."""
    facts = ctx.get(TerraformFacts)
    findings: list[Finding] = []
    https: list[Finding] = []
    for listener in facts.of_type(*LISTENERS):
        finding = _http_listener(listener)
        if finding is not None:
            findings.append(finding)
            https.append(finding)
    for group in facts.of_type("aws_lb_target_group", "aws_alb_target_group"):
        proto = text(group.get("protocol"))
        if (proto or "").upper() == "HTTP":
            findings.append(
                found(
                    Status.FAIL,
                    group,
                    "forwards from the load balancer to targets in plain HTTP",
                    "protocol",
                    patch(group, 'protocol = "HTTPS"  # targets serve TLS on this port'),
                )
            )
        elif (proto or "").upper() == "HTTPS":
            findings.append(found(Status.PASS, group, "reaches targets over HTTPS", "protocol"))
    for cdn in facts.of_type("aws_cloudfront_distribution"):
        viewer = _cloudfront_viewer(cdn)
        findings.append(viewer)
        https.append(viewer)
        origin = _cloudfront_origin(cdn)
        if origin is not None:
            findings.append(origin)
    for r in facts.of_type(*DATABASES):
        finding = _db_transit(facts, r)
        if finding is not None:
            findings.append(finding)
    for r in facts.of_type(
        "aws_elasticache_replication_group",
        "aws_memorydb_cluster",
        "google_redis_instance",
        "azurerm_redis_cache",
    ):
        finding = _cache_transit(r)
        if finding is not None:
            findings.append(finding)
    unparsed = facts.unparsed_for(
        *LISTENERS, *DATABASES, "aws_*parameter_group", "aws_elasticache_*", "*redis*"
    )
    yield from decide(
        ctx,
        "security.data-security.data-encrypted-in-transit",
        findings,
        unparsed if findings else [],
        passed="Connections to production endpoints and data stores use TLS",
        failed="Plaintext hops in production",
    )
    yield from _https_enforced(ctx, facts, https, unparsed)


def _https_enforced(
    ctx: CheckContext,
    facts: TerraformFacts,
    findings: list[Finding],
    unparsed: Sequence[UnparsedFile],
) -> Iterator[Result]:
    """Fail on plain HTTP; pass only with HSTS visible too (CloudFront or ALB headers)."""
    if not findings:
        return
    if any(f.status is not Status.PASS for f in findings):
        yield from decide(
            ctx,
            "security.network-security.https-enforced",
            [f for f in findings if f.status is not Status.PASS],
            passed="",
            failed="HTTP is not redirected to HTTPS",
        )
        return
    hsts = [
        found(Status.PASS, p, "sends Strict-Transport-Security", "security_headers_config")
        for p in facts.of_type("aws_cloudfront_response_headers_policy")
        if p.get("security_headers_config", "strict_transport_security") is not None
    ]
    hsts += [
        found(Status.PASS, x, "adds a Strict-Transport-Security header")
        for x in facts.of_type(*LISTENERS)
        if x.get("routing_http_response_strict_transport_security_header_value") is not None
    ]
    if hsts:
        yield from decide(
            ctx,
            "security.network-security.https-enforced",
            [*findings, *hsts],
            unparsed,
            passed="HTTP redirects to HTTPS and HSTS is sent",
            failed="",
        )


# --- WAF ------------------------------------------------------------------------------


def _acl_mode(acl: TerraformResource) -> Finding:
    rules = acl.blocks("rule")
    if not rules:
        return found(
            Status.FAIL,
            acl,
            "has no rules",
            None,
            patch(
                acl,
                'rule {\n  name     = "aws-common"\n  priority = 1\n'
                "  override_action {\n    none {}\n  }\n  statement {\n"
                "    managed_rule_group_statement {\n"
                '      name        = "AWSManagedRulesCommonRuleSet"\n'
                '      vendor_name = "AWS"\n    }\n  }\n'
                "  visibility_config {\n    cloudwatch_metrics_enabled = true\n"
                '    metric_name                = "aws-common"\n'
                "    sampled_requests_enabled   = true\n  }\n}",
            ),
        )
    counting = [
        r
        for r in rules
        if isinstance(r.get("override_action"), list)
        and r["override_action"]
        and isinstance(r["override_action"][0], dict)
        and "count" in r["override_action"][0]
    ]
    if len(counting) == len(rules):
        return found(
            Status.FAIL,
            acl,
            "only counts matches (every rule has override_action count)",
            "rule",
            patch(acl, "rule {\n  override_action {\n    none {}\n  }\n}"),
        )
    return found(Status.PASS, acl, f"blocks with {len(rules)} rule(s)", "rule")


def _waf_findings(facts: TerraformFacts) -> list[Finding]:
    findings: list[Finding] = []
    acls = facts.of_type("aws_wafv2_web_acl", "aws_waf_web_acl", "aws_wafregional_web_acl")
    associations = facts.of_type(
        "aws_wafv2_web_acl_association", "aws_wafregional_web_acl_association"
    )
    covered: set[str] = set()
    for entry in public_entry_points(facts):
        if entry.type == "aws_cloudfront_distribution":
            acl_id = entry.get("web_acl_id")
            chosen = [
                a
                for a in acls
                if isinstance(acl_id, Unresolved) and re.search(re.escape(a.ref), acl_id.text)
            ]
            if acl_id is None:
                findings.append(_no_waf(entry))
            elif chosen:
                findings.append(_acl_mode(chosen[0]))
                covered.add(chosen[0].address)
            else:
                findings.append(
                    found(Status.PASS, entry, "has a web ACL (web_acl_id)", "web_acl_id")
                )
            continue
        if entry.type in ("aws_lb", "aws_alb", "aws_elb"):
            if is_public_lb(entry) is None:
                findings.append(
                    found(Status.UNKNOWN, entry, "may be internet-facing (computed internal)")
                )
                continue
            mine = [a for a in associations if a.refers_to(entry)]
            if mine:
                chosen = [acl for acl in acls if mine[0].refers_to(acl)]
                if chosen:
                    findings.append(_acl_mode(chosen[0]))
                    covered.add(chosen[0].address)
                else:
                    findings.append(
                        found(Status.PASS, mine[0], f"attaches a web ACL to {entry.address}")
                    )
            elif any(
                isinstance(a.get("resource_arn"), Unresolved)
                and not any(a.refers_to(x) for x in public_entry_points(facts))
                for a in associations
            ):
                findings.append(
                    found(
                        Status.UNKNOWN,
                        entry,
                        "may be covered by a web ACL association whose target is computed",
                    )
                )
            else:
                findings.append(_no_waf(entry))
        elif entry.type == "azurerm_application_gateway":
            findings.append(_azure_waf(facts, entry))
    for backend in facts.of_type("google_compute_backend_service"):
        scheme = (text(backend.get("load_balancing_scheme")) or "EXTERNAL").upper()
        if not scheme.startswith("EXTERNAL"):
            continue
        policy = backend.get("security_policy")
        if policy is None:
            findings.append(
                found(
                    Status.FAIL,
                    backend,
                    "is internet-facing without a Cloud Armor security_policy",
                    None,
                    patch(backend, "security_policy = google_compute_security_policy.waf.id"),
                )
            )
        else:
            findings.append(
                found(Status.PASS, backend, "has a Cloud Armor security_policy", "security_policy")
            )
    for policy in facts.of_type("google_compute_security_policy"):
        previews = [r for r in policy.blocks("rule") if truth(r.get("preview"))]
        if previews and len(previews) == len(policy.blocks("rule")):
            findings.append(
                found(
                    Status.FAIL,
                    policy,
                    "has every rule in preview mode, so nothing is blocked",
                    "rule",
                    patch(policy, "rule {\n  preview = false\n}"),
                )
            )
    if not findings:
        findings = [_acl_mode(a) for a in acls if a.address not in covered]
    return findings


def _no_waf(entry: TerraformResource) -> Finding:
    if entry.type == "aws_cloudfront_distribution":
        fix = patch(entry, 'web_acl_id = aws_wafv2_web_acl.edge.arn  # scope = "CLOUDFRONT"')
    else:
        fix = new_block(
            entry.path,
            "aws_wafv2_web_acl_association",
            entry.name,
            f"resource_arn = {entry.type}.{entry.name}.arn\n"
            "web_acl_arn  = aws_wafv2_web_acl.main.arn",
        )
    return found(
        Status.FAIL, entry, "is internet-facing with no web application firewall", None, fix
    )


def _azure_waf(facts: TerraformFacts, gateway: TerraformResource) -> Finding:
    tier = (text(gateway.get("sku", "tier")) or "").upper()
    if gateway.get("firewall_policy_id") is not None:
        for policy in facts.of_type("azurerm_web_application_firewall_policy"):
            if gateway.refers_to(policy):
                if unknown := computed(policy, "policy_settings", "mode"):
                    return unknown
                mode = text(policy.get("policy_settings", "mode")) or "Prevention"
                if mode.lower() == "detection":
                    return found(
                        Status.FAIL,
                        policy,
                        'runs in "Detection" mode, so nothing is blocked',
                        "policy_settings",
                        patch(policy, 'policy_settings {\n  mode = "Prevention"\n}'),
                    )
                return found(
                    Status.PASS,
                    policy,
                    f'protects {gateway.address} in "{mode}" mode',
                    "policy_settings",
                )
        return found(
            Status.PASS, gateway, "has a WAF policy (firewall_policy_id)", "firewall_policy_id"
        )
    if tier.startswith("WAF"):
        firewall_mode = text(gateway.get("waf_configuration", "firewall_mode"))
        enabled = truth(gateway.get("waf_configuration", "enabled"))
        if enabled and (firewall_mode or "").lower() == "prevention":
            return found(
                Status.PASS, gateway, "runs its WAF in Prevention mode", "waf_configuration"
            )
        return found(
            Status.FAIL,
            gateway,
            f"has a WAF sku but firewall_mode {shown(firewall_mode) if firewall_mode else 'unset'}",
            "waf_configuration",
            patch(
                gateway,
                "waf_configuration {\n  enabled          = true\n"
                '  firewall_mode    = "Prevention"\n  rule_set_version = "3.2"\n}',
            ),
        )
    return found(
        Status.FAIL,
        gateway,
        f"has sku tier {tier or 'Standard'} without a WAF",
        "sku",
        patch(
            gateway,
            'sku {\n  name = "WAF_v2"\n  tier = "WAF_v2"\n}\n'
            "firewall_policy_id = azurerm_web_application_firewall_policy.main.id",
        ),
    )


@check(
    "security.terraform.waf",
    items=["security.network-security.waf-enabled"],
    needs=[TerraformFacts],
)
def waf(ctx: CheckContext) -> Iterator[Result]:
    """Public load balancers and CDNs pass through a WAF that blocks."""
    facts = ctx.get(TerraformFacts)
    findings = _waf_findings(facts)
    yield from decide(
        ctx,
        "security.network-security.waf-enabled",
        findings,
        facts.unparsed_for(
            "aws_waf*",
            "aws_lb",
            "aws_alb",
            "aws_cloudfront_distribution",
            "google_compute_backend_service",
            "google_compute_security_policy",
            "azurerm_application_gateway",
            "azurerm_web_application_firewall_policy",
        )
        if findings
        else [],
        passed="Public entry points are behind a blocking WAF",
        failed="Public entry points without a blocking WAF",
    )


# --- exposure -------------------------------------------------------------------------

SENSITIVE_PORTS = {
    22: "SSH",
    3389: "RDP",
    3306: "MySQL",
    5432: "PostgreSQL",
    1433: "SQL Server",
    1521: "Oracle",
    6379: "Redis",
    11211: "memcached",
    27017: "MongoDB",
    9200: "Elasticsearch",
    5601: "Kibana",
    2379: "etcd",
    5672: "AMQP",
    15672: "RabbitMQ admin",
    9092: "Kafka",
    9090: "Prometheus",
    10250: "kubelet",
}


def _exposed_database(facts: TerraformFacts, r: TerraformResource) -> Finding | None:
    if r.type in ("aws_db_instance", "aws_rds_cluster_instance", "aws_mq_broker"):
        value = r.get("publicly_accessible")
        state = truth(value)
        if value is not None and state is None:
            return found(
                Status.UNKNOWN,
                r,
                f"sets publicly_accessible = {shown(value)}",
                "publicly_accessible",
            )
        if state:
            return found(
                Status.FAIL,
                r,
                "has a public endpoint (publicly_accessible = true)",
                "publicly_accessible",
                patch(r, "publicly_accessible = false"),
            )
        return found(Status.PASS, r, "has no public endpoint", "publicly_accessible")
    if r.type == "google_sql_database_instance":
        ip = r.get("settings", "ip_configuration")
        if unknown := computed(r, "settings", "ip_configuration", "ipv4_enabled"):
            return unknown
        ipv4 = truth(r.get("settings", "ip_configuration", "ipv4_enabled"))
        if ipv4 is False:
            return found(Status.PASS, r, "has no public IP (ipv4_enabled = false)", "settings")
        networks = []
        body = ip[0] if isinstance(ip, list) and ip else ip if isinstance(ip, dict) else {}
        for net in as_list(body.get("authorized_networks")):
            if isinstance(net, dict):
                networks.append(net.get("value"))
        if any(isinstance(n, Unresolved) for n in networks):
            return found(Status.UNKNOWN, r, "has computed authorized networks", "settings")
        if networks:
            shown_nets = ", ".join(str(n) for n in networks)
            return found(
                Status.FAIL,
                r,
                f"has a public IP reachable from {shown_nets}",
                "settings",
                patch(
                    r,
                    "settings {\n  ip_configuration {\n    ipv4_enabled    = false\n"
                    "    private_network = google_compute_network.main.id\n  }\n}",
                ),
            )
        return found(
            Status.PASS,
            r,
            "has a public IP with no authorized networks (connectors and the Auth Proxy only)",
            "settings",
        )
    if r.type in ("azurerm_postgresql_flexible_server", "azurerm_mysql_flexible_server"):
        if (
            r.get("delegated_subnet_id") is not None
            or truth(r.get("public_network_access_enabled")) is False
        ):
            return found(Status.PASS, r, "is reachable only from its virtual network")
        rules = linked(facts, r, f"{r.type}_firewall_rule")
        for rule in rules:
            start, end = text(rule.get("start_ip_address")), text(rule.get("end_ip_address"))
            if start == "0.0.0.0" and end in ("255.255.255.255", "0.0.0.0"):
                who = (
                    "the internet"
                    if end == "255.255.255.255"
                    else "every Azure customer's resources"
                )
                return found(
                    Status.FAIL,
                    rule,
                    f"opens {r.address} to {who}",
                    "start_ip_address",
                    patch(
                        rule, "# delete this rule; use delegated_subnet_id or a private endpoint"
                    ),
                )
        return found(Status.PASS, r, "has a public endpoint but no firewall rule opens it widely")
    if r.type in ("aws_opensearch_domain", "aws_elasticsearch_domain"):
        if r.blocks("vpc_options"):
            return found(Status.PASS, r, "runs inside a VPC", "vpc_options")
        return found(
            Status.FAIL,
            r,
            "has a public endpoint (no vpc_options)",
            None,
            patch(
                r,
                "vpc_options {\n  subnet_ids         = var.private_subnet_ids\n"
                "  security_group_ids = [aws_security_group.search.id]\n}",
            ),
        )
    if r.type == "azurerm_redis_cache":
        if unknown := computed(r, "public_network_access_enabled"):
            return unknown
        if r.get("subnet_id") is not None or truth(r.get("public_network_access_enabled")) is False:
            return found(Status.PASS, r, "is reachable only privately")
        return found(
            Status.FAIL,
            r,
            "accepts connections from the internet (public_network_access_enabled)",
            "public_network_access_enabled" if r.has("public_network_access_enabled") else None,
            patch(r, "public_network_access_enabled = false"),
        )
    if r.type in (
        "aws_elasticache_replication_group",
        "aws_elasticache_cluster",
        "google_redis_instance",
        "aws_memorydb_cluster",
    ):
        return found(Status.PASS, r, "is reachable only inside its network")
    return None


_EXPOSABLE = (
    "aws_db_instance",
    "aws_rds_cluster_instance",
    "aws_mq_broker",
    "google_sql_database_instance",
    "azurerm_postgresql_flexible_server",
    "azurerm_mysql_flexible_server",
    "aws_opensearch_domain",
    "aws_elasticsearch_domain",
    "azurerm_redis_cache",
    "aws_elasticache_replication_group",
    "aws_elasticache_cluster",
    "google_redis_instance",
    "aws_memorydb_cluster",
)


@check(
    "security.terraform.exposure",
    items=["security.network-security.internal-services-not-exposed"],
    needs=[TerraformFacts],
)
def exposure(ctx: CheckContext) -> Iterator[Result]:
    """Databases, caches and admin ports have no public route."""
    facts = ctx.get(TerraformFacts)
    findings = [
        f for r in facts.of_type(*_EXPOSABLE) if (f := _exposed_database(facts, r)) is not None
    ]
    for rule in ingress_rules(facts):
        if rule.ports is None or not rule.open_to_world:
            continue
        hit = overlaps(rule.ports, SENSITIVE_PORTS)
        if hit:
            names = ", ".join(f"{p} ({SENSITIVE_PORTS[p]})" for p in hit[:5])
            world = ", ".join(s for s in rule.sources if s.lower() in WORLD)
            findings.append(
                found(
                    Status.FAIL,
                    rule.resource,
                    f"exposes {names} to {world}",
                    rule.key,
                    patch(
                        rule.resource,
                        "# allow only the private network or a bastion/SSM, e.g.\n"
                        'cidr_blocks = ["10.0.0.0/8"]',
                    ),
                    index=rule.index,
                )
            )
    yield from decide(
        ctx,
        "security.network-security.internal-services-not-exposed",
        findings,
        facts.unparsed_for(
            *_EXPOSABLE,
            "aws_security_group*",
            "aws_vpc_security_group_ingress_rule",
            "google_compute_firewall",
            "azurerm_network_security_*",
        )
        if findings
        else [],
        passed="Data stores have no public route",
        failed="Internal services reachable from the internet",
    )


# --- secrets --------------------------------------------------------------------------

_SECRET_WORD = re.compile(
    r"(?:^|[_.-])(password|passwd|pwd|secret|token|api_?key|private_?key|access_?key|"
    r"secret_?key|client_?secret|auth_?token|credentials?)(?:$|[_.-])",
    re.IGNORECASE,
)
_NOT_SECRET = re.compile(
    r"[_.-](arn|id|ids|name|names|version|length|ttl|type|file|path|url|uri|endpoint|"
    r"enabled|rotation|policy|expiry|expires|expiration|wo_version|header|count)$",
    re.IGNORECASE,
)


def is_secret_name(name: str) -> bool:
    """Whether a variable or attribute name says it holds a credential (``DB_PASSWORD``,
    ``auth_token``), not a pointer to one (``PASSWORD_FILE``, ``secret_arn``)."""
    return bool(_SECRET_WORD.search(name)) and not _NOT_SECRET.search(name)


def _literal_secret(value: Any) -> bool:
    """A written-out value, not an expression or an obvious placeholder (the secrets
    scanner's test, so that every check agrees on what ``changeme`` is)."""
    return (
        isinstance(value, str) and bool(value.strip()) and not looks_like_placeholder(value.strip())
    )


def literal_secrets(facts: TerraformFacts) -> list[Finding]:
    """Credentials written into Terraform files (all environments): attributes,
    variable defaults, tfvars values, Lambda and ECS environments."""
    findings: list[Finding] = []
    seen: set[tuple[str, int]] = set()

    def add(path: str, line: int, what: str, fix: str) -> None:
        if (path, line) in seen:
            return
        seen.add((path, line))
        findings.append(Finding(Status.FAIL, what, path, line, fix))

    for r in facts.resources:
        for key, value in r.attributes.items():
            if is_secret_name(key) and _literal_secret(value):
                if r.type == "aws_ssm_parameter":
                    continue
                add(
                    r.path,
                    r.line_of(key),
                    f"{r.address} sets {key} to a literal value",
                    patch(r, _secret_fix(r, key)),
                )
        if r.type in ("aws_secretsmanager_secret_version", "aws_ssm_parameter"):
            key = "secret_string" if r.type.startswith("aws_secrets") else "value"
            kind = text(r.get("type")) or ""
            if _literal_secret(r.get(key)) and (
                r.type.startswith("aws_secrets") or kind == "SecureString"
            ):
                add(
                    r.path,
                    r.line_of(key),
                    f"{r.address} stores a secret value written in the code",
                    patch(
                        r, f"{key} = random_password.{r.name}.result  # or set it outside Terraform"
                    ),
                )
        for name, value in _environment_variables(r):
            if is_secret_name(name) and _literal_secret(value):
                add(
                    r.path,
                    r.line_of("environment")
                    if r.type == "aws_lambda_function"
                    else r.line_of("container_definitions"),
                    f"{r.address} puts {name} into the environment as a literal",
                    _env_fix(r, name),
                )
    for variable in facts.variables:
        if (
            variable.has_default
            and is_secret_name(variable.name)
            and _literal_secret(variable.default)
        ):
            add(
                variable.path,
                variable.line,
                f"variable {variable.name} has a literal default",
                f'# {variable.path}:{variable.line}\nvariable "{variable.name}" {{\n'
                "  type      = string\n  sensitive = true\n"
                "  # no default: read it from the secret manager\n}",
            )
    for var_file in facts.var_files:
        for name, value in var_file.values.items():
            if is_secret_name(name) and _literal_secret(value):
                add(
                    var_file.path,
                    var_file.lines.get(name, 1),
                    f"{var_file.path} sets {name}",
                    f"# remove {name} from {var_file.path}; read it from the secret manager\n"
                    'data "aws_secretsmanager_secret_version" "current" {\n'
                    "  secret_id = aws_secretsmanager_secret.app.id\n}",
                )
    return findings


def _environment_variables(r: TerraformResource) -> Iterator[tuple[str, Any]]:
    if r.type == "aws_lambda_function":
        variables = r.get("environment", "variables")
        if isinstance(variables, dict):
            yield from variables.items()
    if r.type == "aws_ecs_task_definition":
        definitions = r.get("container_definitions")
        if isinstance(definitions, str):
            try:
                definitions = json.loads(definitions)
            except ValueError:
                return
        for container in as_list(definitions):
            if not isinstance(container, dict):
                continue
            for env in as_list(container.get("environment")):
                if isinstance(env, dict) and isinstance(env.get("name"), str):
                    yield env["name"], env.get("value")


def _secret_fix(r: TerraformResource, key: str) -> str:
    if r.type in ("aws_db_instance", "aws_rds_cluster") and "password" in key:
        return (
            f"# remove {key}\nmanage_master_user_password = true  # RDS keeps it in Secrets Manager"
        )
    return f"{key} = random_password.{r.name}.result  # or read from the secret manager"


def _env_fix(r: TerraformResource, name: str) -> str:
    if r.type == "aws_ecs_task_definition":
        return patch(
            r,
            f'# in container_definitions: move {name} from "environment" to\n'
            f'secrets = [{{ name = "{name}", '
            f"valueFrom = aws_secretsmanager_secret.{name.lower()}.arn }}]",
        )
    return patch(r, f"# read {name} at runtime from Secrets Manager instead of the environment")


_VAULTS = (
    "aws_secretsmanager_secret",
    "google_secret_manager_secret",
    "azurerm_key_vault",
    "azurerm_key_vault_secret",
    "vault_mount",
)


@check(
    "security.terraform.secrets",
    items=[
        "security.secrets-management.secrets-in-secure-vault",
        "security.secrets-management.secrets-rotation-plan",
        "security.secrets-management.no-hardcoded-secrets-in-code",
    ],
    needs=[TerraformFacts],
)
def secrets(ctx: CheckContext) -> Iterator[Result]:
    """Secrets live in a secret manager, rotate, and are never written into Terraform."""
    facts = ctx.get(TerraformFacts)
    literals = literal_secrets(facts)
    unparsed = facts.unparsed_for(
        *_VAULTS, "aws_ssm_parameter", "aws_kms_key", "google_kms_crypto_key"
    )
    vault = [
        found(Status.PASS, r, "keeps secrets in a secret manager") for r in facts.of_type(*_VAULTS)
    ]
    vault += [
        found(
            Status.PASS,
            r,
            "keeps its master password in Secrets Manager",
            "manage_master_user_password",
        )
        for r in facts.of_type("aws_db_instance", "aws_rds_cluster")
        if truth(r.get("manage_master_user_password"))
    ]
    for param in facts.of_type("aws_ssm_parameter"):
        name = text(param.get("name")) or param.name
        kind = text(param.get("type")) or "String"
        if kind != "SecureString" and is_secret_name(name.rsplit("/", 1)[-1]):
            vault.append(
                found(
                    Status.FAIL,
                    param,
                    f'stores a secret as a plain "{kind}" parameter',
                    "type",
                    patch(param, 'type = "SecureString"'),
                )
            )
        elif kind == "SecureString":
            vault.append(
                found(Status.PASS, param, "is an encrypted SecureString parameter", "type")
            )
    if vault or literals:
        yield from decide(
            ctx,
            "security.secrets-management.secrets-in-secure-vault",
            [*literals, *vault],
            unparsed,
            passed="Secrets are kept in a secret manager",
            failed="Secrets kept outside a secret manager",
        )
    if literals:
        yield from decide(
            ctx,
            "security.secrets-management.no-hardcoded-secrets-in-code",
            literals,
            failed="Credentials written into Terraform files",
            passed="",
        )
    rotation, intervals = _rotation(facts)
    fields = {"rotation_interval": f"{max(intervals)}d"} if intervals else None
    yield from decide(
        ctx,
        "security.secrets-management.secrets-rotation-plan",
        rotation,
        unparsed if rotation else [],
        passed="Secrets and keys rotate automatically",
        failed="Secrets or keys without automated rotation",
        fields=fields,
    )


def _seconds(value: Any) -> float | None:
    literal = text(value)
    match = re.fullmatch(r"(\d+(?:\.\d+)?)s", literal or "")
    return float(match.group(1)) if match else None


def _rotation(facts: TerraformFacts) -> tuple[list[Finding], list[int]]:
    findings: list[Finding] = []
    days: list[int] = []
    for secret in facts.of_type("aws_secretsmanager_secret"):
        rotations = linked(facts, secret, "aws_secretsmanager_secret_rotation")
        source = rotations[0] if rotations else secret if secret.blocks("rotation_rules") else None
        if source is None:
            findings.append(
                found(
                    Status.FAIL,
                    secret,
                    "has no automated rotation",
                    None,
                    new_block(
                        secret.path,
                        "aws_secretsmanager_secret_rotation",
                        secret.name,
                        f"secret_id           = aws_secretsmanager_secret.{secret.name}.id\n"
                        "rotation_lambda_arn = aws_lambda_function.rotate.arn\n"
                        "rotation_rules {\n  automatically_after_days = 30\n}",
                    ),
                )
            )
            continue
        after = number(source.get("rotation_rules", "automatically_after_days"))
        if after is not None:
            days.append(int(after))
        every = f"every {int(after)} days" if after is not None else "on a schedule"
        findings.append(
            found(Status.PASS, source, f"rotates {secret.address} {every}", "rotation_rules")
        )
    for db in facts.of_type("aws_db_instance", "aws_rds_cluster"):
        if truth(db.get("manage_master_user_password")):
            days.append(7)
            findings.append(
                found(
                    Status.PASS,
                    db,
                    "has its master password rotated by RDS every 7 days",
                    "manage_master_user_password",
                )
            )
    for secret in facts.of_type("google_secret_manager_secret"):
        period = _seconds(secret.get("rotation", "rotation_period"))
        if secret.blocks("rotation"):
            if period is not None:
                days.append(max(1, int(period // 86400)))
            findings.append(found(Status.PASS, secret, "has a rotation schedule", "rotation"))
        else:
            findings.append(
                found(
                    Status.FAIL,
                    secret,
                    "has no rotation schedule",
                    None,
                    patch(
                        secret,
                        'rotation {\n  rotation_period    = "2592000s"\n'
                        '  next_rotation_time = "2030-01-01T00:00:00Z"\n}\n'
                        "topics {\n  name = google_pubsub_topic.secret_rotation.id\n}",
                    ),
                )
            )
    for key in facts.of_type("aws_kms_key"):
        spec = text(key.get("customer_master_key_spec")) or "SYMMETRIC_DEFAULT"
        if spec != "SYMMETRIC_DEFAULT":
            continue
        finding = flag(
            key,
            "enable_key_rotation",
            good="rotates its key material",
            bad="never rotates its key material",
            default=False,
            fix="enable_key_rotation     = true\nrotation_period_in_days = 365",
        )
        if finding.status is Status.PASS:
            days.append(int(number(key.get("rotation_period_in_days")) or 365))
        findings.append(finding)
    for key in facts.of_type("google_kms_crypto_key"):
        period = _seconds(key.get("rotation_period"))
        if key.get("rotation_period") is None:
            findings.append(
                found(
                    Status.FAIL,
                    key,
                    "has no rotation_period",
                    None,
                    patch(key, 'rotation_period = "7776000s"  # 90 days'),
                )
            )
        else:
            if period is not None:
                days.append(max(1, int(period // 86400)))
            findings.append(
                found(
                    Status.PASS,
                    key,
                    f"rotates every {shown(key.get('rotation_period'))}",
                    "rotation_period",
                )
            )
    for key in facts.of_type("azurerm_key_vault_key"):
        if key.blocks("rotation_policy"):
            findings.append(found(Status.PASS, key, "has a rotation_policy", "rotation_policy"))
        else:
            findings.append(
                found(
                    Status.FAIL,
                    key,
                    "has no rotation_policy",
                    None,
                    patch(
                        key,
                        'rotation_policy {\n  automatic {\n    time_before_expiry = "P30D"\n'
                        '  }\n  expire_after         = "P90D"\n'
                        '  notify_before_expiry = "P29D"\n}',
                    ),
                )
            )
    return findings, days


# --- IAM ------------------------------------------------------------------------------

_STAR_ONLY_ACTIONS = {
    "ecr:getauthorizationtoken",
    "sts:getcalleridentity",
    "cloudwatch:putmetricdata",
    "xray:puttracesegments",
    "xray:puttelemetryrecords",
    "xray:getsamplingrules",
    "xray:getsamplingtargets",
    "logs:describeloggroups",
    "ssm:describeparameters",
    "kms:listaliases",
    "s3:listallmybuckets",
    "secretsmanager:getrandompassword",
    "secretsmanager:listsecrets",
    "ec2:createnetworkinterface",
    "ec2:deletenetworkinterface",
    "ec2:assignprivateipaddresses",
    "ec2:unassignprivateipaddresses",
}
_READ_ONLY = re.compile(r"^[\w-]+:(describe|list|get)[\w*]*$", re.IGNORECASE)
_BROAD_MANAGED = re.compile(
    r"arn:aws:iam::aws:policy/(AdministratorAccess|PowerUserAccess|IAMFullAccess|\w*FullAccess)$"
)
_BROAD_ROLES = {"roles/owner", "roles/editor"}
_BROAD_AZURE = {"owner", "contributor", "user access administrator"}


def _policy_document(value: Any) -> dict[str, Any] | Unresolved | None:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return Unresolved("invalid JSON")
        return parsed if isinstance(parsed, dict) else None
    if isinstance(value, Unresolved):
        return value
    return None


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    raw = document.get("Statement") or document.get("statement") or []
    return [s for s in as_list(raw) if isinstance(s, dict)]


def _broad_statement(statement: dict[str, Any]) -> str | None:
    """Why an Allow statement is too broad, or None."""
    effect = str(statement.get("Effect") or statement.get("effect") or "Allow")
    if effect.lower() != "allow":
        return None
    if "NotAction" in statement or "not_actions" in statement:
        return "allows everything except NotAction"
    actions = [str(a) for a in as_list(statement.get("Action") or statement.get("actions"))]
    resources = [str(r) for r in as_list(statement.get("Resource") or statement.get("resources"))]
    wild = [a for a in actions if a == "*" or a.endswith(":*")]
    if wild:
        return f"allows wildcard actions {', '.join(sorted(set(wild))[:4])}"
    if "*" in resources:
        broad = [
            a for a in actions if a.lower() not in _STAR_ONLY_ACTIONS and not _READ_ONLY.match(a)
        ]
        if broad:
            return f'allows {", ".join(broad[:4])} on every resource (Resource "*")'
    return None


def _iam_findings(facts: TerraformFacts) -> list[Finding]:
    findings: list[Finding] = []
    policy_types = (
        "aws_iam_policy",
        "aws_iam_role_policy",
        "aws_iam_user_policy",
        "aws_iam_group_policy",
    )
    for r in facts.of_type(*policy_types):
        document = _policy_document(r.get("policy"))
        if isinstance(document, Unresolved):
            if "data.aws_iam_policy_document." in document.text:
                continue
            findings.append(
                found(Status.UNKNOWN, r, f"takes its policy from {shown(document)}", "policy")
            )
            continue
        if document is None:
            continue
        findings.append(_judge_statements(r, "policy", _statements(document)))
    for role in facts.of_type("aws_iam_role"):
        for inline in role.blocks("inline_policy"):
            document = _policy_document(inline.get("policy"))
            if isinstance(document, dict):
                findings.append(_judge_statements(role, "inline_policy", _statements(document)))
        for arn in as_list(role.get("managed_policy_arns")):
            if isinstance(arn, str) and _BROAD_MANAGED.search(arn):
                findings.append(
                    found(
                        Status.FAIL,
                        role,
                        f"attaches {arn.rsplit('/', 1)[-1]}",
                        "managed_policy_arns",
                        patch(
                            role,
                            "# replace the broad managed policy with a policy that lists\n"
                            "# the actions the service uses",
                        ),
                    )
                )
    for source in facts.data_of_type("aws_iam_policy_document"):
        statements = [
            {
                "Effect": s.get("effect", "Allow"),
                "Action": s.get("actions", []),
                "Resource": s.get("resources", []),
                **({"NotAction": True} if s.get("not_actions") else {}),
            }
            for s in source.blocks("statement")
        ]
        findings.append(_judge_statements(source, "statement", statements))
    for attachment in facts.of_type(
        "aws_iam_role_policy_attachment",
        "aws_iam_user_policy_attachment",
        "aws_iam_group_policy_attachment",
        "aws_iam_policy_attachment",
    ):
        arn = text(attachment.get("policy_arn"))
        if arn and _BROAD_MANAGED.search(arn):
            findings.append(
                found(
                    Status.FAIL,
                    attachment,
                    f"attaches {arn.rsplit('/', 1)[-1]}",
                    "policy_arn",
                    patch(
                        attachment,
                        "policy_arn = aws_iam_policy.app.arn  # only the actions the service uses",
                    ),
                )
            )
        elif arn or attachment.get("policy_arn") is not None:
            findings.append(
                found(Status.PASS, attachment, "attaches a scoped policy", "policy_arn")
            )
    for key in facts.of_type("aws_iam_access_key", "google_service_account_key"):
        findings.append(
            found(
                Status.FAIL,
                key,
                "creates a long-lived static access key",
                None,
                f"# {key.path}:{key.line}\n# delete {key.address}; use an IAM role "
                "(IRSA, OIDC federation) or Workload Identity",
            )
        )
    for binding in facts.of_type(
        "google_project_iam_member",
        "google_project_iam_binding",
        "google_folder_iam_member",
        "google_folder_iam_binding",
        "google_organization_iam_member",
        "google_organization_iam_binding",
    ):
        granted = text(binding.get("role"))
        if granted in _BROAD_ROLES:
            findings.append(
                found(
                    Status.FAIL,
                    binding,
                    f'grants the primitive role "{granted}"',
                    "role",
                    patch(
                        binding,
                        'role = "roles/cloudsql.client"  # the predefined role the service needs',
                    ),
                )
            )
        elif granted:
            findings.append(found(Status.PASS, binding, f'grants "{granted}"', "role"))
    for assignment in facts.of_type("azurerm_role_assignment"):
        assigned = text(assignment.get("role_definition_name"))
        if assigned and assigned.lower() in _BROAD_AZURE:
            findings.append(
                found(
                    Status.FAIL,
                    assignment,
                    f'assigns the "{assigned}" role',
                    "role_definition_name",
                    patch(
                        assignment,
                        'role_definition_name = "Storage Blob Data Contributor"'
                        "  # the narrow role needed",
                    ),
                )
            )
        elif assigned:
            findings.append(
                found(Status.PASS, assignment, f'assigns "{assigned}"', "role_definition_name")
            )
    return findings


def _may_be_anything(value: Unresolved) -> bool:
    """A computed resource ARN from a variable or local could be ``*``; one taken from a
    resource or module output names that one thing."""
    return bool(re.search(r"(?<![\w.])(var|local|each|count)\.", value.text))


def _judge_statements(r: TerraformResource, key: str, statements: list[dict[str, Any]]) -> Finding:
    computed = False
    for statement in statements:
        actions = as_list(statement.get("Action"))
        resources = as_list(statement.get("Resource"))
        if any(isinstance(a, Unresolved) for a in actions) or any(
            isinstance(r, Unresolved) and _may_be_anything(r) for r in resources
        ):
            computed = True
            continue
        statement = {
            **statement,
            "Resource": [r for r in resources if not isinstance(r, Unresolved)],
        }
        reason = _broad_statement(statement)
        if reason:
            return found(
                Status.FAIL,
                r,
                reason,
                key,
                patch(
                    r,
                    f"# {key}: list the actions the service calls and the ARNs it touches:\n"
                    '# actions   = ["s3:GetObject", "s3:PutObject"]\n'
                    '# resources = ["${aws_s3_bucket.uploads.arn}/*"]',
                ),
            )
    if computed:
        return found(Status.UNKNOWN, r, "has statements with computed actions or resources", key)
    return found(Status.PASS, r, "grants only listed actions on listed resources", key)


@check(
    "security.terraform.iam",
    items=["security.secrets-management.service-accounts-minimal-permissions"],
    needs=[TerraformFacts],
)
def iam(ctx: CheckContext) -> Iterator[Result]:
    """IAM policies and role bindings grant no wildcard actions, admin roles or static keys."""
    facts = ctx.get(TerraformFacts)
    findings = _iam_findings(facts)
    yield from decide(
        ctx,
        "security.secrets-management.service-accounts-minimal-permissions",
        findings,
        facts.unparsed_for(
            "aws_iam_*", "google_*_iam_*", "google_service_account_key", "azurerm_role_assignment"
        )
        if findings
        else [],
        passed="Cloud identities have scoped permissions",
        failed="Over-broad cloud permissions",
    )
