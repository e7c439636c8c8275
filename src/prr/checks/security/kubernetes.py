"""Security items decided from Kubernetes manifests: the edge (Ingress annotations and
controller objects), exposed Services, RBAC, service accounts and how Secrets get in.

Ingress behaviour depends on the controller; defaults are those of the
controller named by the ingress class (ingress-nginx, AWS ALB, GKE, Traefik).
Where the controller is unknown the check says so instead of guessing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence

from prr.checks.infrastructure.kubernetes import (
    Finding,
    charts_to_judge,
    conclude,
    edit_header,
    found,
    found_at,
    internal_lb,
    label,
)
from prr.checks.registry import CheckContext, check
from prr.collectors.kubernetes import (
    NOT_DEPLOYED_STAGES,
    RBAC_KINDS,
    ROUTE_KINDS,
    WORKLOAD_KINDS,
    K8sObject,
    KubernetesFacts,
    as_list,
    as_map,
    dig,
    values_ingress,
)
from prr.model.evidence import Result

HTTPS = "security.network-security.https-enforced"
INTERNAL = "security.network-security.internal-services-not-exposed"
RATE_LIMIT = "security.authorization.api-rate-limiting-enabled"
CORS = "security.network-security.cors-properly-configured"
HEADERS = "security.network-security.security-headers-configured"
SERVICE_ACCOUNTS = "security.secrets-management.service-accounts-minimal-permissions"
VAULT = "security.secrets-management.secrets-in-secure-vault"
PROD_ACCESS = "operations.access-control.production-access-restricted"

NGINX = "nginx.ingress.kubernetes.io/"
EDGE_KINDS = ROUTE_KINDS | {"Gateway", "Middleware", "ConfigMap", "FrontendConfig"}
INTERNAL_WORDS = re.compile(
    r"(?:^|[-_./])(postgres(?:ql)?|pg|mysql|mariadb|mongo(?:db)?|redis|memcached?|valkey|"
    r"rabbitmq|kafka|zookeeper|elasticsearch|opensearch|etcd|cassandra|nats|clickhouse|"
    r"db|database|cache|admin|pgadmin|adminer|phpmyadmin|metrics|prometheus|debug|pprof|"
    r"actuator|kibana|consul|vault|minio)(?:$|[-_.:/\d])",
    re.I,
)
INTERNAL_PORTS = {
    5432: "PostgreSQL",
    3306: "MySQL",
    27017: "MongoDB",
    6379: "Redis",
    11211: "Memcached",
    5672: "AMQP",
    15672: "RabbitMQ admin",
    9092: "Kafka",
    2181: "ZooKeeper",
    9200: "Elasticsearch",
    9300: "Elasticsearch transport",
    2379: "etcd",
    9042: "Cassandra",
    4222: "NATS",
    9090: "Prometheus",
    9100: "node exporter",
    8500: "Consul",
    6060: "pprof",
}
INTERNAL_PATHS = re.compile(
    r"^/(admin|metrics|debug|actuator|_debug|internal|pgadmin|phpmyadmin|adminer|prometheus"
    r"|_status|pprof)(/|$)",
    re.I,
)
AUTH_ANNOTATIONS = (
    f"{NGINX}auth-url",
    f"{NGINX}auth-type",
    f"{NGINX}whitelist-source-range",
    f"{NGINX}allowlist-source-range",
    f"{NGINX}auth-tls-verify-client",
    "alb.ingress.kubernetes.io/auth-type",
    "alb.ingress.kubernetes.io/inbound-cidrs",
)
SAFE_CLUSTER_ROLES = {"system:basic-user", "system:discovery", "system:public-info-viewer"}
BROAD_ROLES = {"cluster-admin", "admin", "edit"}
BROAD_GROUPS = {
    "system:authenticated",
    "system:unauthenticated",
    "system:serviceaccounts",
    "system:anonymous",
}
VAULT_KINDS = {
    "ExternalSecret": "External Secrets",
    "ClusterExternalSecret": "External Secrets",
    "SealedSecret": "Sealed Secrets",
    "SecretProviderClass": "Secrets Store CSI driver",
    "VaultStaticSecret": "Vault Secrets Operator",
    "VaultDynamicSecret": "Vault Secrets Operator",
    "OnePasswordItem": "1Password operator",
    "DopplerSecret": "Doppler operator",
}
BASELINE_HEADERS = {
    "x-content-type-options": "X-Content-Type-Options",
    "x-frame-options": "X-Frame-Options",
    "referrer-policy": "Referrer-Policy",
}


# --------------------------------------------------------------------------- the edge


def controller(ingress: K8sObject) -> str:
    """nginx, alb, gce, traefik, or "" when the ingress controller cannot be told."""
    cls = str(
        ingress.get("spec", "ingressClassName")
        or ingress.annotations.get("kubernetes.io/ingress.class")
        or ""
    ).lower()
    keys = " ".join(ingress.annotations)
    if "nginx" in cls or NGINX in keys:
        return "nginx"
    if cls == "alb" or "alb.ingress.kubernetes.io/" in keys:
        return "alb"
    if (
        cls.startswith("gce")
        or "networking.gke.io" in keys
        or "kubernetes.io/ingress.allow-http" in keys
    ):
        return "gce"
    if "traefik" in cls or "traefik.ingress.kubernetes.io/" in keys:
        return "traefik"
    return ""


def ingresses(facts: KubernetesFacts, scope: Sequence[K8sObject]) -> list[K8sObject]:
    """Ingress objects of the scope; for unrendered charts, the one their values describe."""
    found_ = [o for o in scope if o.kind == "Ingress"]
    if found_ or any(o.kind in ROUTE_KINDS for o in scope):
        return found_
    out = []
    for chart, values in charts_to_judge(facts):
        if chart.emitted(values, "Ingress").state == "set":
            ingress = values_ingress(chart, values)
            if ingress is not None:
                out.append(ingress)
    return out


def middlewares(facts: KubernetesFacts, obj: K8sObject) -> list[K8sObject]:
    """Traefik Middlewares an Ingress or IngressRoute uses."""
    names: set[str] = set()
    for ref in obj.annotations.get("traefik.ingress.kubernetes.io/router.middlewares", "").split(
        ","
    ):
        ref = ref.strip().split("@", 1)[0]
        if ref:
            names.add(ref)
            names.add(ref.split("-", 1)[-1])
    for route in as_list(obj.get("spec", "routes")):
        for mw in as_list(as_map(route).get("middlewares")):
            names.add(str(as_map(mw).get("name")))
    return [m for m in facts.related(obj, ["Middleware"]) if m.name in names]


def nginx_controller_config(facts: KubernetesFacts, scope: Sequence[K8sObject]) -> K8sObject | None:
    """The ingress-nginx controller ConfigMap, if the manifests hold it."""
    for obj in scope:
        if obj.kind == "ConfigMap" and (
            obj.name
            in ("ingress-nginx-controller", "nginx-configuration", "nginx-ingress-controller")
            or obj.labels.get("app.kubernetes.io/name") == "ingress-nginx"
        ):
            return obj
    return None


def snippets(ingress: K8sObject) -> str:
    return "\n".join(
        v
        for k, v in ingress.annotations.items()
        if k in (f"{NGINX}configuration-snippet", f"{NGINX}server-snippet")
    )


@check("security.kubernetes.https", items=[HTTPS], needs=[KubernetesFacts])
def https(ctx: CheckContext) -> Iterator[Result]:
    """Ingresses redirect HTTP to HTTPS (or refuse it) and send HSTS.

    Where the manifests show the redirect but not HSTS (or neither, for an
    unknown controller) the check keeps silent: the live endpoint decides.
    """
    facts = ctx.get(KubernetesFacts)
    scope = facts.scope()
    failures: list[Finding] = []
    passes: list[Finding] = []
    skipped: list[Finding] = []
    remediation = None
    controller_config = nginx_controller_config(facts, scope)
    hsts_off = (
        controller_config is not None
        and str(controller_config.get("data", "hsts")).lower() == "false"
    )
    for ingress in ingresses(facts, scope):
        name = label(ingress)
        notes = ingress.annotations
        tls = bool(as_list(ingress.get("spec", "tls")))
        kind = controller(ingress)
        if kind == "nginx":
            if (
                notes.get(f"{NGINX}ssl-redirect", "").lower() == "false"
                and notes.get(f"{NGINX}force-ssl-redirect", "").lower() != "true"
            ):
                failures.append(
                    found(
                        ingress,
                        f'{name} turns the HTTPS redirect off (ssl-redirect: "false")',
                        "metadata",
                        "annotations",
                    )
                )
            elif not tls and notes.get(f"{NGINX}force-ssl-redirect", "").lower() != "true":
                failures.append(
                    found(
                        ingress,
                        f"{name} has no TLS, so ingress-nginx serves it over plain HTTP",
                        "spec",
                    )
                )
            elif hsts_off and controller_config is not None:
                hsts_off = False  # reported once, for the controller
                failures.append(
                    found(
                        controller_config,
                        f'ConfigMap {controller_config.name} turns HSTS off (hsts: "false")',
                        "data",
                        "hsts",
                    )
                )
            elif not tls:
                skipped.append(
                    found(
                        ingress,
                        f"{name} forces a redirect but TLS ends before ingress-nginx; HSTS is not "
                        "visible",
                        "metadata",
                        "annotations",
                    )
                )
            else:
                passes.append(
                    found(
                        ingress,
                        f"{name}: ingress-nginx redirects HTTP to HTTPS and sends HSTS for its "
                        "TLS hosts (its defaults)",
                        "spec",
                        "tls",
                    )
                )
            if failures and remediation is None:
                remediation = (
                    f"{edit_header(ingress)}\nmetadata:\n  annotations:\n"
                    f'    {NGINX}ssl-redirect: "true"\n    {NGINX}force-ssl-redirect: "true"\n'
                    "spec:\n  tls:\n    - hosts: [<host>]\n      secretName: <host>-tls"
                )
        elif kind == "alb":
            listen = notes.get("alb.ingress.kubernetes.io/listen-ports", '[{"HTTP": 80}]')
            if "alb.ingress.kubernetes.io/ssl-redirect" in notes:
                skipped.append(
                    found(
                        ingress,
                        f"{name}: the ALB redirects to HTTPS; HSTS must come from the application",
                        "metadata",
                        "annotations",
                    )
                )
            elif 'HTTP"' in listen.replace(" ", "") or '"HTTP":' in listen.replace(" ", ""):
                failures.append(
                    found(
                        ingress,
                        f"{name}: the ALB listens on HTTP without "
                        "alb.ingress.kubernetes.io/ssl-redirect",
                        "metadata",
                        "annotations",
                    )
                )
                remediation = remediation or (
                    f"{edit_header(ingress)}\nmetadata:\n  annotations:\n"
                    '    alb.ingress.kubernetes.io/listen-ports: \'[{"HTTP": 80}, '
                    '{"HTTPS": 443}]\'\n'
                    "    alb.ingress.kubernetes.io/ssl-redirect: '443'"
                )
            else:
                skipped.append(
                    found(
                        ingress,
                        f"{name}: the ALB listens on HTTPS only; HSTS must come from the "
                        "application",
                        "metadata",
                        "annotations",
                    )
                )
        elif kind == "gce":
            frontend = notes.get("networking.gke.io/v1beta1.FrontendConfig")
            redirect = any(
                o.kind == "FrontendConfig"
                and o.name == frontend
                and dig(o.body, "spec", "redirectToHttps", "enabled")
                for o in facts.related(ingress, ["FrontendConfig"])
            )
            if notes.get("kubernetes.io/ingress.allow-http", "").lower() == "false" or redirect:
                skipped.append(
                    found(
                        ingress,
                        f"{name}: the GCE load balancer refuses or redirects HTTP; HSTS must come "
                        "from the application",
                        "metadata",
                        "annotations",
                    )
                )
            else:
                failures.append(
                    found(
                        ingress,
                        f'{name}: the GCE load balancer serves HTTP (no allow-http: "false" or '
                        "redirecting FrontendConfig)",
                        "metadata",
                        "annotations",
                    )
                )
                remediation = remediation or (
                    f"{edit_header(ingress)}\nmetadata:\n  annotations:\n"
                    '    kubernetes.io/ingress.allow-http: "false"'
                )
        elif kind == "traefik":
            mws = middlewares(facts, ingress)
            redirect = any(dig(m.body, "spec", "redirectScheme", "scheme") == "https" for m in mws)
            secure_only = (
                notes.get("traefik.ingress.kubernetes.io/router.entrypoints", "") == "websecure"
            )
            hsts = any(dig(m.body, "spec", "headers", "stsSeconds") for m in mws)
            if (redirect or secure_only) and hsts:
                passes.append(
                    found(
                        ingress,
                        f"{name}: Traefik redirects to HTTPS and sends HSTS (Middleware)",
                        "metadata",
                        "annotations",
                    )
                )
            elif redirect or secure_only:
                skipped.append(
                    found(
                        ingress,
                        f"{name}: Traefik redirects to HTTPS; no HSTS Middleware",
                        "metadata",
                        "annotations",
                    )
                )
            else:
                skipped.append(
                    found(
                        ingress,
                        f"{name}: no redirect Middleware; a redirect may be set on Traefik's "
                        "entrypoint",
                        "metadata",
                    )
                )
        else:
            skipped.append(
                found(
                    ingress,
                    f"{name}: the ingress controller is not known, nor its HTTPS behaviour",
                    "spec",
                )
            )
    for gateway in [o for o in scope if o.kind == "Gateway"]:
        servers = [
            as_map(s)
            for s in as_list(gateway.get("spec", "servers") or gateway.get("spec", "listeners"))
        ]
        plain = [
            s
            for s in servers
            if str(s.get("protocol") or dig(s, "port", "protocol") or "").upper() == "HTTP"
            and not dig(s, "tls", "httpsRedirect")
        ]
        redirect_routes = [
            r
            for r in facts.related(gateway, ["HTTPRoute"])
            if any(
                dig(f, "requestRedirect", "scheme") == "https"
                for rule in as_list(r.get("spec", "rules"))
                for f in as_list(as_map(rule).get("filters"))
            )
        ]
        if plain and not redirect_routes:
            failures.append(
                found(
                    gateway,
                    f"{label(gateway)} has an HTTP listener that does not redirect to HTTPS",
                    "spec",
                )
            )
        else:
            skipped.append(
                found(
                    gateway,
                    f"{label(gateway)} redirects or refuses HTTP; HSTS is not visible",
                    "spec",
                )
            )
    result = conclude(
        ctx,
        HTTPS,
        facts,
        kinds=EDGE_KINDS,
        objects=scope,
        failures=failures,
        passes=[] if skipped else passes,
        fail_lead="HTTPS is not enforced",
        pass_lead="HTTPS is enforced at the ingress",
        remediation=remediation,
    )
    if result:
        yield result


# --------------------------------------------------------------------------- exposure


def _looks_internal(facts: KubernetesFacts, service: K8sObject) -> str | None:
    """Why a Service looks like a database, cache, queue or admin endpoint, or None."""
    for port in as_list(service.get("spec", "ports")):
        port = as_map(port)
        number = port.get("port")
        if isinstance(number, int) and number in INTERNAL_PORTS:
            return f"port {number} ({INTERNAL_PORTS[number]})"
        name = str(port.get("name") or "")
        if name and INTERNAL_WORDS.search(name):
            return f"port named {name}"
    if INTERNAL_WORDS.search(service.name):
        return f"its name {service.name}"
    for workload in facts.workloads(facts.related(service, WORKLOAD_KINDS)):
        if service in facts.services_for(workload):
            owner = facts.pod_template_owner(workload)
            for container in owner.containers():
                image = str(container.get("image") or "").rsplit("/", 1)[-1]
                if INTERNAL_WORDS.search(image):
                    return f"image {container.get('image')}"
    return None


def _restricted_sources(service: K8sObject) -> bool:
    ranges = [str(r) for r in as_list(service.get("spec", "loadBalancerSourceRanges"))]
    return bool(ranges) and not any(r in ("0.0.0.0/0", "::/0") for r in ranges)


@check("security.kubernetes.exposure", items=[INTERNAL], needs=[KubernetesFacts])
def exposure(ctx: CheckContext) -> Iterator[Result]:
    """Databases, caches and admin endpoints get no public LoadBalancer, NodePort or route."""
    facts = ctx.get(KubernetesFacts)
    scope = facts.scope()
    services = [o for o in scope if o.kind == "Service"]
    failures: list[Finding] = []
    passes: list[Finding] = []
    remediation = None
    for service in services:
        kind = str(service.get("spec", "type") or "ClusterIP")
        why = _looks_internal(facts, service)
        public = kind in ("LoadBalancer", "NodePort") and not (
            kind == "LoadBalancer" and (internal_lb(service) or _restricted_sources(service))
        )
        if public and why:
            failures.append(
                found(
                    service,
                    f"{label(service)} looks internal ({why}) but is a {kind} Service",
                    "spec",
                    "type",
                )
            )
            remediation = remediation or (
                f"{edit_header(service, 'spec', 'type')}\nspec:\n  type: ClusterIP"
                "   # or keep LoadBalancer with an internal-LB annotation and "
                "loadBalancerSourceRanges"
            )
        elif why:
            passes.append(
                found(
                    service,
                    f"{label(service)} ({why}) is {kind}"
                    + (" on a private load balancer" if kind == "LoadBalancer" else " only"),
                    "spec",
                )
            )
        elif public:
            passes.append(
                found(
                    service,
                    f"{label(service)} is a public {kind} for an application port",
                    "spec",
                    "type",
                )
            )
    for ingress in [o for o in scope if o.kind == "Ingress"]:
        protected = any(k in ingress.annotations for k in AUTH_ANNOTATIONS)
        for rule in as_list(ingress.get("spec", "rules")):
            for item in as_list(dig(rule, "http", "paths")):
                path = str(as_map(item).get("path") or "/")
                backend = str(
                    dig(item, "backend", "service", "name")
                    or dig(item, "backend", "serviceName")
                    or ""
                )
                risky = INTERNAL_PATHS.match(path) or (backend and INTERNAL_WORDS.search(backend))
                if risky and not protected:
                    failures.append(
                        found(
                            ingress,
                            f"{label(ingress)} publishes {path} → {backend} without "
                            "authentication or a source allowlist",
                            "spec",
                            "rules",
                        )
                    )
                    remediation = remediation or (
                        f"{edit_header(ingress)}\nmetadata:\n  annotations:\n"
                        f'    {NGINX}whitelist-source-range: "10.0.0.0/8"\n'
                        f"    # or {NGINX}auth-url: https://auth.example.com/oauth2/auth"
                    )
                elif risky:
                    passes.append(
                        found(
                            ingress,
                            f"{label(ingress)} publishes {path} behind authentication or an "
                            "allowlist",
                            "metadata",
                            "annotations",
                        )
                    )
    if (services or any(o.kind == "Ingress" for o in scope)) and not failures and not passes:
        passes.append(
            found(
                (services or [o for o in scope if o.kind == "Ingress"])[0],
                "no database, cache or admin endpoint is published",
                "spec",
            )
        )
    result = conclude(
        ctx,
        INTERNAL,
        facts,
        kinds={"Service", "Ingress"},
        objects=scope,
        failures=failures,
        passes=passes,
        fail_lead="Internal services are reachable from outside the cluster",
        pass_lead="Internal services stay inside the cluster",
        remediation=remediation,
    )
    if result:
        yield result


# --------------------------------------------------------------------------- rate limiting


def _global_rate_limits(scope: Sequence[K8sObject]) -> list[K8sObject]:
    """Mesh- or gateway-wide rate limits (Istio/Envoy, Envoy Gateway, Kuma, Emissary, Gloo)."""
    out = []
    for obj in scope:
        if (
            (
                obj.kind == "EnvoyFilter"
                and re.search(r"ratelimit", json.dumps(obj.body, default=str), re.I)
            )
            or (obj.kind == "BackendTrafficPolicy" and obj.get("spec", "rateLimit"))
            or obj.kind in ("MeshRateLimit", "RateLimit", "RateLimitConfig", "RateLimitPolicy")
        ):
            out.append(obj)
    return out


def _limit_of(facts: KubernetesFacts, entry: K8sObject) -> tuple[str, int | None] | None:
    """How an entry point is rate limited and its limit per minute, or None."""
    notes = entry.annotations
    for key, factor in (("limit-rpm", 1), ("limit-rps", 60)):
        value = notes.get(f"{NGINX}{key}")
        if value and value.strip().isdigit():
            return f"{key}: {value}", int(value) * factor
    if f"{NGINX}limit-connections" in notes:
        return f"limit-connections: {notes[f'{NGINX}limit-connections']}", None
    for mw in middlewares(facts, entry):
        limit = as_map(mw.get("spec", "rateLimit"))
        if limit:
            average = limit.get("average")
            period = str(limit.get("period", "1s"))
            per_minute = None
            match = re.fullmatch(r"(\d+)([sm])", period)
            if isinstance(average, int) and match:
                seconds = int(match.group(1)) * (60 if match.group(2) == "m" else 1)
                per_minute = average * 60 // max(seconds, 1)
            return f"Traefik Middleware {mw.name}", per_minute
    plugins = {p.strip() for p in notes.get("konghq.com/plugins", "").split(",") if p.strip()}
    for plugin in facts.related(entry, ["KongPlugin", "KongClusterPlugin"]):
        if plugin.name in plugins and str(plugin.get("plugin") or "").startswith("rate-limiting"):
            minute = dig(plugin.body, "config", "minute")
            return f"KongPlugin {plugin.name}", minute if isinstance(minute, int) else None
    if entry.kind == "HTTPProxy" and (
        dig(entry.body, "spec", "virtualhost", "rateLimitPolicy")
        or any(as_map(r).get("rateLimitPolicy") for r in as_list(entry.get("spec", "routes")))
    ):
        return "Contour rateLimitPolicy", None
    return None


@check("security.kubernetes.rate-limiting", items=[RATE_LIMIT], needs=[KubernetesFacts])
def rate_limiting(ctx: CheckContext) -> Iterator[Result]:
    """Every public route is rate limited at the ingress or gateway."""
    facts = ctx.get(KubernetesFacts)
    scope = facts.scope()
    entries = [
        *ingresses(facts, scope),
        *[o for o in scope if o.kind in ("IngressRoute", "HTTPProxy")],
    ]
    mesh = _global_rate_limits(scope)
    failures: list[Finding] = []
    passes: list[Finding] = []
    limits: list[int] = []
    remediation = None
    for obj in mesh:
        passes.append(found(obj, f"{obj.kind} {obj.name} rate-limits traffic", "spec"))
    for entry in entries:
        limit = _limit_of(facts, entry)
        if limit:
            how, per_minute = limit
            if per_minute:
                limits.append(per_minute)
            passes.append(
                found(entry, f"{label(entry)} is limited ({how})", "metadata", "annotations")
            )
        elif not mesh:
            failures.append(found(entry, f"{label(entry)} has no rate limit", "metadata"))
            if controller(entry) == "nginx" or remediation is None:
                remediation = (
                    f"{edit_header(entry)}\nmetadata:\n  annotations:\n"
                    f'    {NGINX}limit-rpm: "600"\n    {NGINX}limit-burst-multiplier: "3"\n'
                    '# ingress-nginx answers 503 by default; set limit-req-status-code: "429" in'
                    " the controller ConfigMap"
                )
    fields: dict[str, object] = {}
    if limits and not failures:
        fields["default_limit_per_minute"] = min(limits)
    result = conclude(
        ctx,
        RATE_LIMIT,
        facts,
        kinds=EDGE_KINDS | {"EnvoyFilter", "BackendTrafficPolicy", "KongPlugin"},
        objects=scope,
        failures=failures,
        passes=passes,
        fail_lead="Public routes without a rate limit at the edge"
        " (an application-level limiter is not visible here)",
        pass_lead="Requests are rate limited at the edge",
        remediation=remediation,
        fields=fields,
    )
    if result:
        yield result


# --------------------------------------------------------------------------- CORS


@check("security.kubernetes.cors", items=[CORS], needs=[KubernetesFacts])
def cors(ctx: CheckContext) -> Iterator[Result]:
    """CORS at the edge allows a list of origins, never ``*`` (least of all with credentials)."""
    facts = ctx.get(KubernetesFacts)
    scope = facts.scope()
    failures: list[Finding] = []
    passes: list[Finding] = []
    remediation = None
    for ingress in ingresses(facts, scope):
        notes = ingress.annotations
        snippet = snippets(ingress)
        if notes.get(f"{NGINX}enable-cors", "").lower() == "true":
            origin = notes.get(f"{NGINX}cors-allow-origin", "*")
            credentials = notes.get(f"{NGINX}cors-allow-credentials", "true").lower() == "true"
            origins = [o.strip() for o in origin.split(",")]
            if "*" in origins:
                unset = (
                    ""
                    if f"{NGINX}cors-allow-origin" in notes
                    else " (the default when cors-allow-origin is unset)"
                )
                what = " together with credentials" if credentials else ""
                failures.append(
                    found(
                        ingress,
                        f"{label(ingress)} allows any origin{unset}{what}",
                        "metadata",
                        "annotations",
                    )
                )
                remediation = remediation or (
                    f"{edit_header(ingress)}\nmetadata:\n  annotations:\n"
                    f'    {NGINX}enable-cors: "true"\n'
                    f'    {NGINX}cors-allow-origin: "https://app.example.com, '
                    'https://admin.example.com"\n'
                    f'    {NGINX}cors-allow-credentials: "true"'
                )
            else:
                passes.append(
                    found(
                        ingress,
                        f"{label(ingress)} allows {len(origins)} listed origin(s)",
                        "metadata",
                        "annotations",
                    )
                )
        if re.search(r"access-control-allow-origin", snippet, re.I):
            reflects = "$http_origin" in snippet and not re.search(
                r"if\s*\(\s*\$http_origin\s*~", snippet
            )
            wildcard = re.search(r"access-control-allow-origin[\"':\s]+\*", snippet, re.I)
            if reflects or wildcard:
                what = "reflects any Origin" if reflects else "sends Access-Control-Allow-Origin: *"
                failures.append(
                    found(
                        ingress,
                        f"{label(ingress)} {what} in a configuration snippet",
                        "metadata",
                        "annotations",
                    )
                )
            else:
                passes.append(
                    found(
                        ingress,
                        f"{label(ingress)} sets CORS headers for checked origins in a snippet",
                        "metadata",
                        "annotations",
                    )
                )
    for mw in [o for o in scope if o.kind == "Middleware"]:
        headers = as_map(mw.get("spec", "headers"))
        origins = [str(o) for o in as_list(headers.get("accessControlAllowOriginList"))]
        regex = [str(o) for o in as_list(headers.get("accessControlAllowOriginListRegex"))]
        if not origins and not regex:
            continue
        if "*" in origins or any(r in (".*", "^.*$", ".+") for r in regex):
            creds = " with credentials" if headers.get("accessControlAllowCredentials") else ""
            failures.append(
                found(mw, f"Middleware {mw.name} allows any origin{creds}", "spec", "headers")
            )
        else:
            passes.append(
                found(
                    mw,
                    f"Middleware {mw.name} allows {len(origins) + len(regex)} listed origin(s)",
                    "spec",
                    "headers",
                )
            )
    for vs in [o for o in scope if o.kind == "VirtualService"]:
        for route in as_list(vs.get("spec", "http")):
            policy = as_map(as_map(route).get("corsPolicy"))
            if not policy:
                continue
            allowed = [as_map(o) for o in as_list(policy.get("allowOrigins"))]
            wild = any(o.get("exact") == "*" or o.get("regex") in (".*", ".+") for o in allowed)
            wild = wild or "*" in [str(o) for o in as_list(policy.get("allowOrigin"))]
            if wild:
                failures.append(
                    found(
                        vs, f"VirtualService {vs.name} corsPolicy allows any origin", "spec", "http"
                    )
                )
            else:
                passes.append(
                    found(
                        vs, f"VirtualService {vs.name} corsPolicy lists its origins", "spec", "http"
                    )
                )
    result = conclude(
        ctx,
        CORS,
        facts,
        kinds=EDGE_KINDS | {"VirtualService"},
        objects=scope,
        failures=failures,
        passes=passes,
        fail_lead="CORS allows any origin",
        pass_lead="CORS at the edge allows listed origins only",
        remediation=remediation,
    )
    if result:
        yield result


# --------------------------------------------------------------------------- security headers


def _header_names(text: str) -> set[str]:
    """Baseline headers a snippet or header map sets (CSP frame-ancestors counts as framing)."""
    lowered = text.lower()
    names = {key for key in BASELINE_HEADERS if key in lowered}
    if "frame-ancestors" in lowered:
        names.add("x-frame-options")
    return names


def _header_text(configmap: K8sObject) -> str:
    """A header ConfigMap's ``name: value`` lines."""
    return "\n".join(f"{k}: {v}" for k, v in as_map(configmap.get("data")).items())


def _configmap(facts: KubernetesFacts, near: K8sObject, ref: str) -> K8sObject | None:
    namespace, _, name = ref.rpartition("/")
    for cm in facts.related(near, ["ConfigMap"]) + [
        o for o in facts.objects if o.kind == "ConfigMap"
    ]:
        if cm.name == name and (not namespace or cm.namespace in (None, namespace)):
            return cm
    return None


@check("security.kubernetes.security-headers", items=[HEADERS], needs=[KubernetesFacts])
def security_headers(ctx: CheckContext) -> Iterator[Result]:
    """The ingress adds X-Content-Type-Options, X-Frame-Options and Referrer-Policy.

    Controllers that cannot be seen adding headers (ALB, GCE, unknown) leave
    the item to the live endpoint check.
    """
    facts = ctx.get(KubernetesFacts)
    scope = facts.scope()
    failures: list[Finding] = []
    passes: list[Finding] = []
    skipped: list[Finding] = []
    remediation = None
    config = nginx_controller_config(facts, scope)
    global_headers: set[str] = set()
    server_tokens = False
    if config is not None:
        data = as_map(config.get("data"))
        ref = str(data.get("add-headers") or "")
        if ref:
            cm = _configmap(facts, config, ref)
            if cm is not None:
                global_headers = _header_names(_header_text(cm))
        server_tokens = str(data.get("server-tokens", "false")).lower() == "true"
    for ingress in ingresses(facts, scope):
        kind = controller(ingress)
        name = label(ingress)
        headers = set(global_headers)
        if kind == "nginx":
            headers |= _header_names(snippets(ingress))
            custom = ingress.annotations.get(f"{NGINX}custom-headers")
            if custom:
                cm = _configmap(facts, ingress, custom)
                if cm is not None:
                    headers |= _header_names(_header_text(cm))
        elif kind == "traefik":
            for mw in middlewares(facts, ingress):
                h = as_map(mw.get("spec", "headers"))
                if h.get("contentTypeNosniff"):
                    headers.add("x-content-type-options")
                if h.get("frameDeny") or h.get("customFrameOptionsValue"):
                    headers.add("x-frame-options")
                if h.get("referrerPolicy"):
                    headers.add("referrer-policy")
                headers |= _header_names(" ".join(as_map(h.get("customResponseHeaders"))))
                headers |= _header_names(str(h.get("contentSecurityPolicy") or ""))
        else:
            skipped.append(
                found(
                    ingress,
                    f"{name}: this ingress controller ({kind or 'unknown'}) cannot be seen adding "
                    "headers; the application or CDN may",
                    "metadata",
                )
            )
            continue
        missing = [BASELINE_HEADERS[h] for h in BASELINE_HEADERS if h not in headers]
        if missing:
            failures.append(
                found(
                    ingress, f"{name} does not add {', '.join(missing)}", "metadata", "annotations"
                )
            )
            if kind == "nginx":
                remediation = remediation or (
                    "# a ConfigMap with the headers, and the controller ConfigMap pointing at it\n"
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: security-headers\n"
                    "  namespace: ingress-nginx\ndata:\n  X-Content-Type-Options: nosniff\n"
                    "  X-Frame-Options: DENY\n  Referrer-Policy: strict-origin-when-cross-origin\n"
                    "---\n# ingress-nginx controller ConfigMap\ndata:\n"
                    '  add-headers: ingress-nginx/security-headers\n  server-tokens: "false"'
                )
        else:
            passes.append(
                found(
                    ingress, f"{name} adds the baseline security headers", "metadata", "annotations"
                )
            )
    if server_tokens and config is not None:
        failures.append(
            found(
                config,
                f'ConfigMap {config.name} reveals the nginx version (server-tokens: "true")',
                "data",
                "server-tokens",
            )
        )
    result = conclude(
        ctx,
        HEADERS,
        facts,
        kinds=EDGE_KINDS,
        objects=scope,
        failures=failures,
        passes=[] if skipped else passes,
        fail_lead="Security headers missing at the edge",
        pass_lead="The edge adds the baseline security headers",
        remediation=remediation,
    )
    if result:
        yield result


# --------------------------------------------------------------------------- RBAC


def _rules_of(
    facts: KubernetesFacts, binding: K8sObject
) -> tuple[str, list[dict[str, object]] | None]:
    """(role name, its rules or None when the role is not in the manifests)."""
    ref = as_map(binding.get("roleRef"))
    kind, name = str(ref.get("kind") or "ClusterRole"), str(ref.get("name") or "")
    for role in facts.objects:
        if (
            role.kind == kind
            and role.name == name
            and (
                kind == "ClusterRole"
                or role.namespace in (None, binding.namespace)
                or binding.namespace is None
            )
        ):
            return name, [as_map(r) for r in as_list(role.get("rules"))]
    return name, None


def broad_grant(facts: KubernetesFacts, binding: K8sObject) -> str | None:
    """Why a binding grants too much (admin roles, wildcards, cluster-wide secrets), or None."""
    name, rules = _rules_of(facts, binding)
    if name in BROAD_ROLES:
        scope = "cluster-wide" if binding.kind == "ClusterRoleBinding" else "in its namespace"
        return f"binds {name} {scope}"
    for rule in rules or []:
        verbs = {str(v) for v in as_list(rule.get("verbs"))}
        resources = {str(r) for r in as_list(rule.get("resources"))}
        groups = {str(g) for g in as_list(rule.get("apiGroups"))}
        if "*" in verbs and ("*" in resources or "*" in groups):
            return f"role {name} allows every verb on every resource"
        if "*" in resources:
            return f"role {name} covers every resource"
        if "*" in verbs:
            return f"role {name} allows every verb on {', '.join(sorted(resources))}"
        if (
            binding.kind == "ClusterRoleBinding"
            and "secrets" in resources
            and verbs & {"get", "list", "watch"}
        ):
            return f"role {name} reads Secrets cluster-wide"
    return None


def _subjects(binding: K8sObject) -> list[dict[str, object]]:
    return [as_map(s) for s in as_list(binding.get("subjects"))]


def _binds(binding: K8sObject, account: str, namespace: str | None) -> bool:
    """Whether a (Cluster)RoleBinding names ServiceAccount ``account`` of ``namespace``."""
    for subject in _subjects(binding):
        if subject.get("kind") != "ServiceAccount" or subject.get("name") != account:
            continue
        their = subject.get("namespace") or binding.namespace
        if namespace is None or their is None or their == namespace:
            return True
    return False


@check("security.kubernetes.service-accounts", items=[SERVICE_ACCOUNTS], needs=[KubernetesFacts])
def service_accounts(ctx: CheckContext) -> Iterator[Result]:
    """Each workload has its own ServiceAccount, no broad RBAC, and no API token it does not use."""
    facts = ctx.get(KubernetesFacts)
    scope = facts.scope()
    workloads = facts.workloads(scope, WORKLOAD_KINDS)
    failures: list[Finding] = []
    passes: list[Finding] = []
    remediation = None
    for workload in workloads:
        owner = facts.pod_template_owner(workload)
        spec = owner.pod_spec
        keys = owner.pod_spec_keys or ()
        account = str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "default")
        sa = next(
            (s for s in facts.related(workload, ["ServiceAccount"]) if s.name == account), None
        )
        bindings = [
            b
            for b in facts.related(workload, ["RoleBinding", "ClusterRoleBinding"])
            if _binds(b, account, workload.namespace)
        ]
        automount = spec.get("automountServiceAccountToken")
        if automount is None and sa is not None:
            automount = sa.get("automountServiceAccountToken")
        automount = automount is not False
        problems = []
        if account == "default":
            problems.append("runs as the namespace's default ServiceAccount")
        for binding in bindings:
            why = broad_grant(facts, binding)
            if why:
                problems.append(f"{binding.kind} {binding.name} {why}")
        if automount and not bindings:
            problems.append("mounts an API token although no Role is bound to its account")
        if problems:
            failures.append(found(owner, f"{label(workload)} {'; '.join(problems)}", *keys))
            remediation = remediation or (
                f"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {owner.source_name}\n"
                "automountServiceAccountToken: false\n---\n"
                f"{edit_header(owner)}\nspec:\n  template:\n    spec:\n"
                f"      serviceAccountName: {owner.source_name}\n      "
                "automountServiceAccountToken: false"
            )
        else:
            identity = ""
            if sa is not None:
                identity = next(
                    (
                        f", workload identity {k}"
                        for k in sa.annotations
                        if k
                        in (
                            "eks.amazonaws.com/role-arn",
                            "iam.gke.io/gcp-service-account",
                            "azure.workload.identity/client-id",
                        )
                    ),
                    "",
                )
            how = (
                f"bound to {', '.join(b.name for b in bindings)}"
                if bindings
                else "no API token mounted"
            )
            passes.append(
                found(
                    owner,
                    f"{label(workload)} runs as ServiceAccount {account} ({how}{identity})",
                    *keys,
                )
            )
    result = conclude(
        ctx,
        SERVICE_ACCOUNTS,
        facts,
        kinds=WORKLOAD_KINDS | RBAC_KINDS | {"ServiceAccount"},
        objects=workloads,
        failures=failures,
        passes=passes,
        fail_lead="Workload identities with more access than they need",
        pass_lead="Workloads run under dedicated, minimal service accounts",
        remediation=remediation,
    )
    if result:
        yield result


@check("security.kubernetes.human-access", items=[PROD_ACCESS], needs=[KubernetesFacts])
def human_access(ctx: CheckContext) -> Iterator[Result]:
    """RBAC bindings for people and groups in production are scoped, with no broad groups."""
    facts = ctx.get(KubernetesFacts)
    scope = facts.scope()
    failures: list[Finding] = []
    passes: list[Finding] = []
    remediation = None
    for binding in [o for o in scope if o.kind in ("RoleBinding", "ClusterRoleBinding")]:
        humans = [s for s in _subjects(binding) if s.get("kind") in ("User", "Group")]
        if not humans:
            continue
        role, _ = _rules_of(facts, binding)
        names = ", ".join(f"{s.get('kind')} {s.get('name')}" for s in humans)
        broad = [s for s in humans if s.get("name") in BROAD_GROUPS]
        why = broad_grant(facts, binding)
        if broad and role not in SAFE_CLUSTER_ROLES:
            failures.append(
                found(
                    binding,
                    f"{binding.kind} {binding.name} gives {role} to "
                    f"{', '.join(str(s.get('name')) for s in broad)}",
                    "subjects",
                )
            )
        elif why and (binding.kind == "ClusterRoleBinding" or role == "cluster-admin"):
            failures.append(
                found(binding, f"{binding.kind} {binding.name} {why} to {names}", "roleRef")
            )
        else:
            passes.append(
                found(
                    binding,
                    f"{binding.kind} {binding.name} gives {role} to {names}"
                    + (f" in namespace {binding.namespace}" if binding.namespace else ""),
                    "roleRef",
                )
            )
        if failures and remediation is None:
            remediation = (
                f"{edit_header(binding)}\n# bind a namespaced Role with the verbs people need, to "
                "a named group\n"
                "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n"
                f"  name: {binding.source_name}\n  namespace: <production namespace>\n"
                "roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: "
                "view\n"
                "subjects:\n  - kind: Group\n    name: <team>-oncall\n    apiGroup: "
                "rbac.authorization.k8s.io"
            )
    result = conclude(
        ctx,
        PROD_ACCESS,
        facts,
        kinds=RBAC_KINDS,
        objects=scope,
        failures=failures,
        passes=passes,
        fail_lead="Broad access to production",
        pass_lead="RBAC bindings for people are scoped",
        remediation=remediation,
        note="Individual identities and MFA belong to the identity provider, not visible here.",
    )
    if result:
        yield result


# --------------------------------------------------------------------------- secrets


def committed_values(secret: K8sObject) -> list[str]:
    """Keys of a Secret manifest that hold a value (not empty, not a ``${VAR}`` placeholder)."""
    keys = []
    for field in ("data", "stringData"):
        for key, value in as_map(secret.get(field)).items():
            if value == "<value>":
                keys.append(str(key))
    return keys


def _referenced_secrets(facts: KubernetesFacts, workload: K8sObject) -> dict[str, str]:
    """Secret names a workload reads, with how (env, envFrom, volume)."""
    owner = facts.pod_template_owner(workload)
    out: dict[str, str] = {}
    for container in owner.containers() + owner.containers(init=True):
        for env in as_list(container.get("env")):
            name = dig(env, "valueFrom", "secretKeyRef", "name")
            if name:
                out[str(name)] = "env"
        for source in as_list(container.get("envFrom")):
            name = dig(source, "secretRef", "name")
            if name:
                out[str(name)] = "envFrom"
    for volume in as_list(owner.pod_spec.get("volumes")):
        name = dig(volume, "secret", "secretName")
        if name:
            out[str(name)] = "volume"
        for item in as_list(dig(volume, "projected", "sources")):
            name = dig(item, "secret", "name")
            if name:
                out[str(name)] = "volume"
    return out


def _vault_outputs(scope: Sequence[K8sObject]) -> dict[str, tuple[str, K8sObject]]:
    """Secret names produced by a secret manager integration (or cert-manager): how, and by what."""
    out: dict[str, tuple[str, K8sObject]] = {}
    for obj in scope:
        if obj.kind in VAULT_KINDS:
            target = dig(obj.body, "spec", "target", "name") or dig(
                obj.body, "spec", "destination", "name"
            )
            out[str(target or obj.name)] = (f"{obj.kind} {obj.name} ({VAULT_KINDS[obj.kind]})", obj)
            for item in as_list(obj.get("spec", "secretObjects")):
                out[str(as_map(item).get("secretName"))] = (f"SecretProviderClass {obj.name}", obj)
        elif obj.kind == "Certificate" and obj.group == "cert-manager.io":
            secret = str(obj.get("spec", "secretName"))
            out[secret] = (f"cert-manager Certificate {obj.name}", obj)
        elif obj.kind == "Secret" and obj.body.get("sops"):
            out[obj.name] = (f"SOPS-encrypted Secret {obj.name}", obj)
    return out


@check("security.kubernetes.secrets", items=[VAULT], needs=[KubernetesFacts])
def secrets(ctx: CheckContext) -> Iterator[Result]:
    """Secrets come from a secret manager (External Secrets, Sealed Secrets, CSI, Vault)."""
    facts = ctx.get(KubernetesFacts)
    scope = facts.scope()
    failures: list[Finding] = []
    passes: list[Finding] = []
    unknowns: list[Finding] = []
    remediation = None
    stages = {e.key: e.name for e in facts.environments}
    for obj in facts.file_objects:
        if obj.kind != "Secret" or not committed_values(obj) or obj.body.get("sops"):
            continue
        if str(obj.body.get("type", "")) == "kubernetes.io/service-account-token":
            continue
        env = next((k for k in stages if obj.path.startswith(k + "/")), None)
        if env and stages[env] in NOT_DEPLOYED_STAGES:
            continue
        failures.append(
            found(
                obj,
                f"Secret {obj.name} is committed with {len(committed_values(obj))} value(s)"
                f" (keys: {', '.join(committed_values(obj)[:5])})",
                "data" if "data" in obj.body else "stringData",
            )
        )
        remediation = remediation or (
            f"# replace {obj.path} (Secret {obj.name}) with an ExternalSecret, and rotate its "
            "values\n"
            "apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\nmetadata:\n"
            f"  name: {obj.name}\nspec:\n  secretStoreRef:\n    kind: ClusterSecretStore\n    "
            "name: vault\n"
            f"  target:\n    name: {obj.name}\n  dataFrom:\n    - extract:\n        key: {obj.name}"
        )
    for kustomization in facts.kustomizations:
        for generator in kustomization.secret_generators:
            committed = [*generator.literal_keys, *generator.committed]
            if committed:
                failures.append(
                    found_at(
                        f"secretGenerator {generator.name} takes {len(committed)} value(s) from "
                        "the repository",
                        generator.path,
                        generator.line,
                    )
                )
    for chart, values in charts_to_judge(facts):
        for template in chart.templates_of("Secret"):
            for ref in re.findall(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)", template.text):
                has, value = values.lookup(ref[1:])
                if has and isinstance(value, str | int) and str(value):
                    path, line = values.locate(ref[1:])
                    failures.append(
                        found_at(
                            f"chart {chart.name} Secret takes {ref[1:]} from a committed values "
                            "file",
                            path,
                            line,
                        )
                    )
    outputs = _vault_outputs(scope)
    for name, (how, obj) in sorted(outputs.items()):
        passes.append(found(obj, f"Secret {name} comes from {how}", "spec"))
    injected = [
        w
        for w in facts.workloads(scope)
        if any(
            k.startswith("vault.hashicorp.com/agent-inject")
            for k in as_map(
                dig(facts.pod_template_owner(w).body, "spec", "template", "metadata", "annotations")
            )
        )
    ]
    for workload in injected:
        passes.append(
            found(
                workload,
                f"{label(workload)} gets secrets from the Vault agent injector",
                "spec",
                "template",
                "metadata",
            )
        )
    produced = set(outputs) | {o.name for o in scope if o.kind == "Secret"}
    for workload in facts.workloads(scope):
        if workload in injected:
            continue
        for name, how in _referenced_secrets(facts, workload).items():
            if name not in produced:
                unknowns.append(
                    found(
                        workload,
                        f"{label(workload)} reads Secret {name} ({how}), which is created outside "
                        "these manifests",
                        "spec",
                    )
                )
    result = conclude(
        ctx,
        VAULT,
        facts,
        kinds=set(VAULT_KINDS) | {"Secret"} | WORKLOAD_KINDS,
        objects=scope,
        failures=failures,
        passes=passes,
        unknowns=unknowns,
        fail_lead="Secret values are committed to the repository",
        pass_lead="Secrets are delivered from a secret manager",
        unknown_lead="Where some secrets come from is not visible",
        remediation=remediation,
    )
    if result:
        yield result
