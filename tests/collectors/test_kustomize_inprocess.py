"""Kustomize overlays rendered in process, compared object by object with ``kubectl kustomize``.

Each tree is a realistic base with staging and production overlays. The
collector renders every overlay it can in process (``Kustomization.renderer ==
"prr"``) with no renderer on PATH; the same overlay rendered by ``kubectl
kustomize`` and read the way the collector reads renderer output must give the
same objects (keys sorted, order of objects ignored). Overlays using what is
not rendered in process go to the binary, or are reported unrendered without one.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from prr.collectors.kubernetes import (
    KubernetesCollector,
    KubernetesFacts,
    _kustomize_reads_alike,
    _redact,
)
from prr.model.yamlsource import load_yaml_documents
from tests.helpers import collect

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="needs kubectl")

Files = Mapping[str, str]


def write(root: Path, files: Files) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content), encoding="utf-8")


def scan(root: Path, monkeypatch: pytest.MonkeyPatch, *, binaries: bool) -> KubernetesFacts:
    if not binaries:
        empty = root.parent / "empty-path"
        empty.mkdir(exist_ok=True)
        monkeypatch.setenv("PATH", str(empty))
    facts = collect(root, KubernetesCollector).get(KubernetesFacts)
    monkeypatch.undo()
    return facts


def canonical(bodies: list[Any]) -> list[str]:
    return sorted(json.dumps(body, sort_keys=True) for body in bodies)


def kubectl_objects(root: Path, overlay: str) -> list[Any]:
    assert KUBECTL is not None
    done = subprocess.run(
        [KUBECTL, "kustomize", overlay], cwd=root, capture_output=True, text=True, check=True
    )
    docs = load_yaml_documents(done.stdout, "kubectl")
    return [_redact(d.data) for d in docs if isinstance(d.data, dict)]


def rendered_in_process(facts: KubernetesFacts, overlay: str) -> list[Any]:
    (kustomization,) = [k for k in facts.kustomizations if k.directory == overlay]
    assert kustomization.rendered, kustomization.render_error
    assert kustomization.renderer == "prr"
    objects = [o for o in facts.objects if o.environment == overlay]
    assert all(o.origin == "kustomize" for o in objects)
    return [o.body for o in objects]


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  labels: {app: api}
  annotations: {team: payments}
spec:
  replicas: 2
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
      annotations: {prometheus.io/scrape: "true", prometheus.io/port: "9090"}
    spec:
      serviceAccountName: api
      initContainers:
        - name: migrate
          image: ghcr.io/acme/api:1.4.2
          args: [migrate, --up]
      containers:
        - name: app
          image: ghcr.io/acme/api:1.4.2
          args: [serve, --port=8080]
          ports:
            - containerPort: 8080
              name: http
            - containerPort: 9090
              name: metrics
          env:
            - name: LOG_LEVEL
              value: info
            - name: DB_HOST
              valueFrom:
                configMapKeyRef: {name: api-config, key: db_host}
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef: {name: api-db, key: password}
          envFrom:
            - configMapRef: {name: api-config}
          resources:
            requests: {cpu: 250m, memory: 256Mi}
            limits: {memory: 512Mi}
          readinessProbe:
            httpGet: {path: /readyz, port: http}
          volumeMounts:
            - name: config
              mountPath: /etc/api
        - name: proxy
          image: envoyproxy/envoy:v1.30.1
      volumes:
        - name: config
          configMap: {name: api-config}
        - name: data
          persistentVolumeClaim: {claimName: api-data}
      tolerations:
        - {key: dedicated, operator: Equal, value: api, effect: NoSchedule}
"""

SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: api
  labels: {app: api}
spec:
  selector: {app: api}
  ports:
    - name: http
      port: 80
      targetPort: http
"""

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: api-config
data:
  db_host: db.internal
  feature_flags: "a,b"
"""

SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: api-db
type: Opaque
stringData:
  password: not-a-real-password
"""

RBAC = """\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: api
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: api-reader
rules:
  - apiGroups: [""]
    resources: [configmaps, secrets]
    resourceNames: [api-config, api-db]
    verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: api-reader
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: api-reader}
subjects:
  - {kind: ServiceAccount, name: api}
  - {kind: ServiceAccount, name: default}
"""

EXTRAS = """\
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: api
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}
  minReplicas: 2
  maxReplicas: 10
  metrics:
    - type: Resource
      resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: api
spec:
  minAvailable: 1
  selector:
    matchLabels: {app: api}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: api-data
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: api
  annotations:
    nginx.ingress.kubernetes.io/auth-secret: api-basic-auth
spec:
  ingressClassName: nginx
  tls:
    - hosts: [api.example.com]
      secretName: api-tls
  rules:
    - host: api.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service: {name: api, port: {number: 80}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: api
spec:
  podSelector:
    matchLabels: {app: api}
  ingress:
    - from:
        - podSelector:
            matchLabels: {app: web}
      ports:
        - {port: 8080}
"""

BASE = {
    "k8s/base/kustomization.yaml": """\
        apiVersion: kustomize.config.k8s.io/v1beta1
        kind: Kustomization
        resources:
          - deployment.yaml
          - service.yaml
          - configmap.yaml
          - secret.yaml
          - rbac.yaml
          - extras.yaml
        """,
    "k8s/base/deployment.yaml": DEPLOYMENT,
    "k8s/base/service.yaml": SERVICE,
    "k8s/base/configmap.yaml": CONFIGMAP,
    "k8s/base/secret.yaml": SECRET,
    "k8s/base/rbac.yaml": RBAC,
    "k8s/base/extras.yaml": EXTRAS,
}

STAGING_PLAIN = {"kustomization.yaml": "resources: [../../base]\nnamespace: shop-staging\n"}


def tree(**overlays: dict[str, str]) -> dict[str, str]:
    """The base plus overlays given as ``name={file: text}`` under ``k8s/overlays/<name>/``."""
    files = dict(BASE)
    for name, content in overlays.items():
        for path, text in content.items():
            files[f"k8s/overlays/{name}/{path}"] = text
    return files


TREES: dict[str, dict[str, str]] = {
    "namespace-prefix-labels-images": tree(
        staging={
            "kustomization.yaml": """\
                resources: [../../base]
                namespace: shop-staging
                namePrefix: staging-
                commonLabels: {env: staging}
                images:
                  - name: ghcr.io/acme/api
                    newTag: 1.5.0-rc.1
                """
        },
        production={
            "kustomization.yaml": """\
                resources: [../../base]
                namespace: shop
                namePrefix: prod-
                nameSuffix: -v2
                commonLabels: {env: production, tier: backend}
                commonAnnotations: {owner: payments-team, oncall: "#payments"}
                images:
                  - name: ghcr.io/acme/api
                    newName: registry.acme.io/api
                    newTag: "1.5.0"
                  - name: envoyproxy/envoy
                    digest: sha256:4f1f6c08e4b5a2c3d9e7f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f
                """
        },
    ),
    "strategic-merge-patches": tree(
        staging=STAGING_PLAIN,
        production={
            "kustomization.yaml": """\
                resources: [../../base]
                namespace: shop
                patchesStrategicMerge:
                  - deployment-patch.yaml
                  - service-patch.yaml
                """,
            "deployment-patch.yaml": """\
                apiVersion: apps/v1
                kind: Deployment
                metadata:
                  name: api
                  annotations: {rollout: canary}
                spec:
                  replicas: 6
                  template:
                    spec:
                      containers:
                        - name: app
                          args: [serve, --port=8080, --workers=8]
                          env:
                            - name: LOG_LEVEL
                              value: warn
                            - name: DB_PASSWORD
                              $patch: delete
                            - name: REGION
                              value: eu-west-1
                          resources:
                            limits: {memory: 2Gi, cpu: "2"}
                          volumeMounts:
                            - name: cache
                              mountPath: /var/cache/api
                          ports:
                            - containerPort: 9090
                              name: prom
                        - name: proxy
                          $patch: delete
                        - name: sidecar
                          image: ghcr.io/acme/sidecar:2.0.0
                      volumes:
                        - name: cache
                          emptyDir: {}
                      tolerations:
                        - {key: spot, operator: Exists}
                      nodeSelector: {pool: payments}
                """,
            "service-patch.yaml": """\
                apiVersion: v1
                kind: Service
                metadata: {name: api}
                spec:
                  type: LoadBalancer
                  ports:
                    - port: 80
                      targetPort: 8080
                    - name: https
                      port: 443
                      targetPort: 8443
                """,
        },
    ),
    "patches-with-targets": tree(
        staging=STAGING_PLAIN,
        production={
            "kustomization.yaml": """\
                resources: [../../base]
                namePrefix: prod-
                patches:
                  - path: replicas.yaml
                  - target: {kind: Deployment, labelSelector: "app=api"}
                    patch: |-
                      apiVersion: apps/v1
                      kind: Deployment
                      metadata:
                        name: any
                      spec:
                        revisionHistoryLimit: 3
                        template:
                          spec:
                            securityContext: {runAsNonRoot: true}
                  - target: {group: apps, version: v1, kind: Deployment, name: "ap.*"}
                    patch: |-
                      - op: add
                        path: /spec/template/spec/containers/0/env/-
                        value: {name: ADDED, value: "1"}
                      - op: replace
                        path: /spec/template/spec/containers/0/resources/limits/memory
                        value: 1Gi
                      - op: remove
                        path: /spec/template/spec/tolerations
                      - op: copy
                        from: /spec/template/spec/containers/0/image
                        path: /metadata/annotations/original-image
                      - op: move
                        from: /metadata/annotations/team
                        path: /metadata/annotations/owning-team
                      - op: test
                        path: /spec/replicas
                        value: 4
                  - path: hpa-ops.json
                    target: {kind: HorizontalPodAutoscaler}
                """,
            "replicas.yaml": """\
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: api}
                spec:
                  replicas: 4
                """,
            "hpa-ops.json": '[{"op": "replace", "path": "/spec/maxReplicas", "value": 20}]\n',
        },
    ),
    "legacy-json6902": tree(
        staging=STAGING_PLAIN,
        production={
            "kustomization.yaml": """\
                resources: [../../base]
                namespace: shop
                commonLabels: {env: production}
                patchesJson6902:
                  - target: {group: apps, version: v1, kind: Deployment, name: api}
                    path: deployment-ops.yaml
                  - target: {version: v1, kind: Service, name: api}
                    patch: |-
                      - op: add
                        path: /spec/sessionAffinity
                        value: ClientIP
                """,
            "deployment-ops.yaml": """\
                - op: replace
                  path: /spec/replicas
                  value: 5
                - op: add
                  path: /spec/template/metadata/labels/version
                  value: v2
                - op: add
                  path: /spec/template/spec/containers/1/args
                  value: [--config, /etc/envoy.yaml]
                """,
        },
    ),
    "name-references-follow-renames": tree(
        staging={
            "kustomization.yaml": """\
                resources: [../../base]
                nameSuffix: -staging
                """
        },
        production={
            "kustomization.yaml": """\
                resources: [../../base]
                namespace: shop
                namePrefix: prod-
                """
        },
    ),
    "labels-entries": tree(
        staging={
            "kustomization.yaml": """\
                resources: [../../base]
                labels:
                  - pairs: {env: staging}
                  - pairs: {app.kubernetes.io/part-of: shop}
                    includeTemplates: true
                """
        },
        production={
            "kustomization.yaml": """\
                resources: [../../base]
                labels:
                  - pairs: {env: production, release: "2026"}
                    includeSelectors: true
                  - pairs: {cost-center: "4711"}
                """
        },
    ),
    "replicas-and-images": tree(
        staging={
            "kustomization.yaml": """\
                resources: [../../base, rollout.yaml]
                replicas:
                  - name: api
                    count: 1
                images:
                  - name: ghcr.io/acme/api
                    digest: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
                  - name: busybox
                    newTag: "1.36"
                """,
            "rollout.yaml": """\
                apiVersion: argoproj.io/v1alpha1
                kind: Rollout
                metadata: {name: worker}
                spec:
                  replicas: 3
                  template:
                    spec:
                      initContainers:
                        - {name: wait, image: busybox}
                      containers:
                        - {name: worker, image: ghcr.io/acme/api:1.4.2}
                """,
        },
        production={
            "kustomization.yaml": """\
                resources: [../../base]
                replicas:
                  - name: api
                    count: 8
                images:
                  - name: ghcr.io/acme/api
                    newName: ghcr.io/acme/api-hardened
                  - name: envoyproxy/envoy
                    newTag: v1.31.0
                    digest: sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
                """
        },
    ),
    "workload-kinds": {
        "deploy/base/kustomization.yaml": "resources: [jobs.yaml, daemonset.yaml, statefulset.yaml]\n",
        "deploy/base/jobs.yaml": """\
            apiVersion: batch/v1
            kind: CronJob
            metadata: {name: report}
            spec:
              schedule: "0 3 * * *"
              jobTemplate:
                spec:
                  template:
                    spec:
                      restartPolicy: OnFailure
                      serviceAccountName: reporter
                      containers:
                        - name: report
                          image: ghcr.io/acme/report:3.1.0
                          envFrom: [{secretRef: {name: report-creds}}]
            ---
            apiVersion: batch/v1
            kind: Job
            metadata: {name: seed}
            spec:
              template:
                spec:
                  restartPolicy: Never
                  containers:
                    - {name: seed, image: ghcr.io/acme/seed:1.0.0}
            ---
            apiVersion: v1
            kind: ServiceAccount
            metadata: {name: reporter}
            ---
            apiVersion: v1
            kind: Secret
            metadata: {name: report-creds}
            data: {token: c2VjcmV0LXZhbHVl}
            """,
        "deploy/base/daemonset.yaml": """\
            apiVersion: apps/v1
            kind: DaemonSet
            metadata: {name: node-agent}
            spec:
              selector: {matchLabels: {app: node-agent}}
              template:
                metadata: {labels: {app: node-agent}}
                spec:
                  priorityClassName: node-critical
                  containers:
                    - {name: agent, image: ghcr.io/acme/agent:0.9.1}
            ---
            apiVersion: scheduling.k8s.io/v1
            kind: PriorityClass
            metadata: {name: node-critical}
            value: 1000000
            """,
        "deploy/base/statefulset.yaml": """\
            apiVersion: apps/v1
            kind: StatefulSet
            metadata: {name: cache}
            spec:
              serviceName: cache
              selector: {matchLabels: {app: cache}}
              template:
                metadata: {labels: {app: cache}}
                spec:
                  containers:
                    - name: redis
                      image: redis:7.2
                      volumeMounts: [{name: data, mountPath: /data}]
              volumeClaimTemplates:
                - metadata: {name: data}
                  spec:
                    storageClassName: fast
                    accessModes: [ReadWriteOnce]
                    resources: {requests: {storage: 5Gi}}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: cache}
            spec:
              clusterIP: None
              selector: {app: cache}
              ports: [{port: 6379}]
            ---
            apiVersion: storage.k8s.io/v1
            kind: StorageClass
            metadata: {name: fast}
            provisioner: kubernetes.io/no-provisioner
            """,
        "deploy/staging/kustomization.yaml": """\
            resources: [../base]
            namespace: batch-staging
            namePrefix: stg-
            commonLabels: {env: staging}
            commonAnnotations: {reviewed: "yes"}
            """,
        "deploy/production/kustomization.yaml": """\
            resources: [../base]
            namespace: batch
            nameSuffix: -prod
            labels:
              - pairs: {env: production}
                includeSelectors: true
            images:
              - {name: redis, newTag: "7.4"}
            """,
    },
    "layered-overlays": tree(
        staging={
            "kustomization.yaml": """\
                resources: [../../variants/hardened]
                namespace: shop-staging
                namePrefix: stg-
                """
        },
        production={
            "kustomization.yaml": """\
                resources: [../../variants/hardened, extra-config.yaml]
                namespace: shop
                namePrefix: prod-
                commonLabels: {env: production}
                patches:
                  - path: more-replicas.yaml
                """,
            "extra-config.yaml": """\
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: extra}
                data: {mode: strict}
                """,
            "more-replicas.yaml": """\
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: hardened-api}
                spec: {replicas: 9}
                """,
        },
    )
    | {
        "k8s/variants/hardened/kustomization.yaml": """\
            resources: [../../base]
            namePrefix: hardened-
            commonLabels: {hardened: "true"}
            patches:
              - path: security.yaml
            """,
        "k8s/variants/hardened/security.yaml": """\
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: api}
            spec:
              template:
                spec:
                  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
                  containers:
                    - name: app
                      securityContext: {readOnlyRootFilesystem: true}
            """,
    },
    "cluster-scoped-objects": {
        "ops/base/kustomization.yaml": "resources: [cluster.yaml, app.yaml]\n",
        "ops/base/cluster.yaml": """\
            apiVersion: v1
            kind: Namespace
            metadata: {name: monitoring}
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: ClusterRole
            metadata: {name: metrics-reader}
            rules:
              - apiGroups: [""]
                resources: [pods, nodes]
                verbs: [get, list, watch]
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: ClusterRoleBinding
            metadata: {name: metrics-reader}
            roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: metrics-reader}
            subjects:
              - {kind: ServiceAccount, name: collector, namespace: monitoring}
              - {kind: ServiceAccount, name: default}
              - {kind: Group, name: "system:monitoring"}
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: RoleBinding
            metadata: {name: read-metrics}
            roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: metrics-reader}
            subjects:
              - {kind: ServiceAccount, name: collector}
            ---
            apiVersion: admissionregistration.k8s.io/v1
            kind: ValidatingWebhookConfiguration
            metadata: {name: collector-webhook}
            webhooks:
              - name: validate.collector.example.com
                admissionReviewVersions: [v1]
                sideEffects: None
                clientConfig:
                  service: {name: collector, namespace: monitoring, path: /validate}
            """,
        "ops/base/app.yaml": """\
            apiVersion: v1
            kind: ServiceAccount
            metadata: {name: collector}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: collector}
            spec:
              selector: {app: collector}
              ports: [{port: 443, targetPort: 8443}]
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: collector}
            spec:
              selector: {matchLabels: {app: collector}}
              template:
                metadata: {labels: {app: collector}}
                spec:
                  serviceAccountName: collector
                  containers: [{name: collector, image: ghcr.io/acme/collector:2.2.0}]
            """,
        "ops/staging/kustomization.yaml": """\
            resources: [../base]
            namespace: monitoring-staging
            """,
        "ops/production/kustomization.yaml": """\
            resources: [../base]
            namespace: monitoring
            namePrefix: prod-
            commonLabels: {env: production}
            """,
    },
    "custom-resources": {
        "apps/base/kustomization.yaml": "resources: [app.yaml]\n",
        "apps/base/app.yaml": """\
            apiVersion: monitoring.coreos.com/v1
            kind: ServiceMonitor
            metadata: {name: api}
            spec:
              selector: {matchLabels: {app: api}}
              endpoints:
                - {port: metrics, interval: 30s}
                - {port: admin, interval: 60s}
            ---
            apiVersion: keda.sh/v1alpha1
            kind: ScaledObject
            metadata: {name: api}
            spec:
              scaleTargetRef: {name: api}
              triggers:
                - type: prometheus
                  metadata: {threshold: "100", query: "sum(rate(http_requests_total[1m]))"}
            ---
            apiVersion: cert-manager.io/v1
            kind: Certificate
            metadata: {name: api-tls}
            spec:
              secretName: api-tls
              dnsNames: [api.example.com, www.example.com]
              issuerRef: {name: letsencrypt, kind: ClusterIssuer}
            """,
        "apps/staging/kustomization.yaml": """\
            resources: [../base]
            namespace: apps-staging
            patches:
              - target: {group: monitoring.coreos.com, kind: ServiceMonitor}
                patch: |-
                  apiVersion: monitoring.coreos.com/v1
                  kind: ServiceMonitor
                  metadata: {name: api}
                  spec:
                    endpoints:
                      - {port: metrics, interval: 10s}
            """,
        "apps/production/kustomization.yaml": """\
            resources: [../base]
            namespace: apps
            namePrefix: prod-
            commonLabels: {env: production}
            patchesStrategicMerge: [certificate.yaml]
            """,
        "apps/production/certificate.yaml": """\
            apiVersion: cert-manager.io/v1
            kind: Certificate
            metadata: {name: api-tls}
            spec:
              dnsNames: [api.acme.io]
              duration: 2160h
            """,
    },
    "deletions-and-nulls": tree(
        staging=STAGING_PLAIN,
        production={
            "kustomization.yaml": """\
                resources: [../../base]
                patches:
                  - path: drop-hpa.yaml
                  - path: trim.yaml
                """,
            "drop-hpa.yaml": """\
                $patch: delete
                apiVersion: autoscaling/v2
                kind: HorizontalPodAutoscaler
                metadata: {name: api}
                """,
            "trim.yaml": """\
                apiVersion: apps/v1
                kind: Deployment
                metadata:
                  name: api
                  annotations: {team: null}
                spec:
                  template:
                    metadata:
                      annotations: {prometheus.io/port: null}
                    spec:
                      initContainers: null
                      containers:
                        - name: app
                          readinessProbe: null
                          envFrom: null
                """,
        },
    ),
    "diamond-of-variants": {
        "svc/base/kustomization.yaml": "resources: [app.yaml]\n",
        "svc/base/app.yaml": """\
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: settings}
            data: {color: blue}
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web}
            spec:
              selector: {matchLabels: {app: web}}
              template:
                metadata: {labels: {app: web}}
                spec:
                  containers:
                    - name: web
                      image: nginx:1.27
            """,
        "svc/blue/kustomization.yaml": "resources: [../base]\nnamePrefix: blue-\n",
        "svc/green/kustomization.yaml": """\
            resources: [../base]
            namePrefix: green-
            patches:
              - target: {kind: ConfigMap}
                patch: |-
                  - op: replace
                    path: /data/color
                    value: green
            """,
        "svc/staging/kustomization.yaml": "resources: [../blue]\nnamespace: web-staging\n",
        "svc/production/kustomization.yaml": """\
            resources: [../blue, ../green]
            namespace: web
            commonLabels: {env: production}
            """,
    },
    "selectors-and-json-resources": tree(
        staging={
            "kustomization.yaml": """\
                resources: [../../base, extra.json]
                namespace: shop-staging
                patches:
                  - target: {annotationSelector: "team=payments"}
                    patch: |-
                      - op: add
                        path: /metadata/labels/owned
                        value: "true"
                  - target: {namespace: shop-staging, name: "api-(config|db)"}
                    patch: |-
                      - op: add
                        path: /metadata/annotations
                        value: {checked: "true"}
                """,
            "extra.json": json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "from-json", "labels": {"source": "json"}},
                    "data": {"ratio": "0.25", "enabled": "true"},
                },
                indent=2,
            )
            + "\n",
        },
        production={
            "kustomization.yaml": """\
                resources: [../../base]
                namespace: shop
                patches:
                  - target: {kind: Deployment|Service, labelSelector: "app in (api, web),!legacy"}
                    patch: |-
                      - op: add
                        path: /metadata/labels/selected
                        value: "yes"
                  - target: {version: v1, kind: ConfigMap, namespace: default, name: api-config}
                    patch: |-
                      apiVersion: v1
                      kind: ConfigMap
                      metadata: {name: api-config}
                      data: {db_host: db.prod.internal}
                """
        },
    ),
    "monorepo-services": {
        f"services/{svc}/k8s/{part}": text
        for svc in ("orders", "billing")
        for part, text in {
            "base/kustomization.yaml": "resources: [deployment.yaml, service.yaml, hpa.yaml]\n",
            "base/deployment.yaml": re.sub(r"\bapi\b", svc, DEPLOYMENT),
            "base/service.yaml": re.sub(r"\bapi\b", svc, SERVICE),
            "base/hpa.yaml": re.sub(r"\bapi\b", svc, EXTRAS.split("---\n")[0]),
            "overlays/staging/kustomization.yaml": """\
                apiVersion: kustomize.config.k8s.io/v1beta1
                kind: Kustomization
                resources:
                  - ../../base
                patches:
                  - path: deployment-patch.yaml
                """,
            "overlays/staging/deployment-patch.yaml": f"""\
                apiVersion: apps/v1
                kind: Deployment
                metadata:
                  name: {svc}
                  labels: {{app: {svc}}}
                spec:
                  replicas: 1
                  template:
                    spec:
                      containers:
                        - name: app
                          image: ghcr.io/acme/{svc}:1.5.0
                          ports:
                            - containerPort: 8080
                              name: http
                            - containerPort: 9090
                              name: metrics
                          env:
                            - name: LOG_LEVEL
                              value: debug
                            - name: FEATURE_X
                              value: "true"
                """,
            "overlays/production/kustomization.yaml": """\
                resources:
                  - ../../base
                  - pdb.yaml
                patches:
                  - path: deployment-patch.yaml
                """,
            "overlays/production/pdb.yaml": re.sub(r"\bapi\b", svc, EXTRAS.split("---\n")[1]),
            "overlays/production/deployment-patch.yaml": f"""\
                apiVersion: apps/v1
                kind: Deployment
                metadata:
                  name: {svc}
                spec:
                  replicas: 4
                  template:
                    spec:
                      containers:
                        - name: app
                          resources:
                            requests: {{cpu: "1", memory: 1Gi}}
                            limits: {{memory: 2Gi}}
                """,
        }.items()
    },
}


def overlays_of(files: Files) -> list[str]:
    return sorted(
        path.rsplit("/", 1)[0]
        for path in files
        if path.endswith("kustomization.yaml") and path.split("/")[-2] in ("staging", "production")
    )


@needs_kubectl
@pytest.mark.parametrize("name", sorted(TREES))
def test_in_process_render_matches_kubectl(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = TREES[name]
    root = tmp_path / "repo"
    write(root, files)
    facts = scan(root, monkeypatch, binaries=False)
    overlays = overlays_of(files)
    assert len(overlays) >= 2
    for overlay in overlays:
        ours = canonical(rendered_in_process(facts, overlay))
        theirs = canonical(kubectl_objects(root, overlay))
        assert ours == theirs, overlay


@needs_kubectl
def test_in_process_render_keeps_kustomize_order_and_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "repo"
    write(root, TREES["strategic-merge-patches"])
    facts = scan(root, monkeypatch, binaries=False)
    overlay = "k8s/overlays/production"
    objects = [o for o in facts.objects if o.environment == overlay]
    kinds = [(o.body["kind"], o.name) for o in objects]
    assert kinds == [(d["kind"], d["metadata"]["name"]) for d in kubectl_objects(root, overlay)]
    deployment = next(o for o in objects if o.kind == "Deployment")
    assert deployment.path == "k8s/base/deployment.yaml" and deployment.line == 1
    assert deployment.locate("spec", "replicas") == (f"{overlay}/deployment-patch.yaml", 7)
    assert deployment.locate_container("app", "image") == ("k8s/base/deployment.yaml", 23)
    secret = next(o for o in objects if o.kind == "Secret")
    assert secret.secret_keys == ("password",)
    assert "not-a-real-password" not in repr(facts)


# --------------------------------------------------------------------------- fallback

UNSUPPORTED: dict[str, dict[str, str]] = {
    "configMapGenerator": {
        "kustomization.yaml": """\
            resources: [../../base]
            configMapGenerator:
              - name: api-env
                literals: [MODE=prod]
            """
    },
    "components": {
        "kustomization.yaml": "resources: [../../base]\ncomponents: [../../components/tls]\n",
    },
    "replacements": {
        "kustomization.yaml": """\
            resources: [../../base]
            replacements:
              - source: {kind: Service, name: api, fieldPath: metadata.name}
                targets:
                  - select: {kind: Deployment}
                    fieldPaths: [metadata.annotations.team]
            """
    },
    "yaml-1.1-scalars": {
        "kustomization.yaml": "resources: [../../base, flags.yaml]\n",
        "flags.yaml": """\
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: flags}
            data:
              enabled: on
              window: 1:30
            """,
    },
    "annotation-values-that-are-no-strings": {
        "kustomization.yaml": "resources: [../../base, flags.yaml]\n",
        "flags.yaml": """\
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: flags
              annotations: {revision: 3, reviewed: true}
            """,
    },
    "diamond-with-shared-references": {
        "kustomization.yaml": "resources: [blue, green]\nnamespace: shop\n",
        "blue/kustomization.yaml": "resources: [../../../base]\nnamePrefix: blue-\n",
        "green/kustomization.yaml": "resources: [../../../base]\nnamePrefix: green-\n",
    },
    "topology-spread-patch": {
        "kustomization.yaml": """\
            resources: [../../base]
            patches:
              - target: {kind: Deployment}
                patch: |-
                  apiVersion: apps/v1
                  kind: Deployment
                  metadata: {name: api}
                  spec:
                    template:
                      spec:
                        topologySpreadConstraints:
                          - {maxSkew: 1, topologyKey: zone, whenUnsatisfiable: DoNotSchedule}
            """
    },
}
COMPONENT = {
    "k8s/components/tls/kustomization.yaml": """\
        apiVersion: kustomize.config.k8s.io/v1alpha1
        kind: Component
        patches:
          - target: {kind: Ingress}
            patch: |-
              - op: add
                path: /metadata/annotations/cert-manager.io~1cluster-issuer
                value: letsencrypt
        """,
}


@needs_kubectl
@pytest.mark.parametrize("feature", sorted(UNSUPPORTED))
def test_unsupported_features_fall_back_to_kubectl(
    feature: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = tree(staging=STAGING_PLAIN, production=UNSUPPORTED[feature]) | COMPONENT
    root = tmp_path / "repo"
    write(root, files)
    facts = scan(root, monkeypatch, binaries=True)
    by_dir = {k.directory: k for k in facts.kustomizations}
    assert by_dir["k8s/overlays/staging"].renderer == "prr"
    production = by_dir["k8s/overlays/production"]
    assert production.rendered and production.renderer == "kubectl"
    overlay = "k8s/overlays/production"
    ours = canonical([o.body for o in facts.objects if o.environment == overlay])
    assert ours == canonical(kubectl_objects(root, overlay))


def test_without_binaries_supported_overlays_render_and_the_rest_are_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = "resources: [../../base]\nnamespace: shop-staging\nnamePrefix: stg-\n"
    files = tree(
        staging={"kustomization.yaml": plain}, production=UNSUPPORTED["configMapGenerator"]
    )
    root = tmp_path / "repo"
    write(root, files)
    facts = scan(root, monkeypatch, binaries=False)
    by_dir = {k.directory: k for k in facts.kustomizations}
    staging, production = by_dir["k8s/overlays/staging"], by_dir["k8s/overlays/production"]
    assert (staging.rendered, staging.renderer) == (True, "prr")
    assert (production.rendered, production.renderer) == (False, None)
    assert production.render_error == "no kustomize or kubectl on PATH"
    staged = {o.kind: o for o in facts.objects if o.environment == "k8s/overlays/staging"}
    assert staged["Deployment"].name == "stg-api"
    assert staged["Deployment"].namespace == "shop-staging"
    assert staged["HorizontalPodAutoscaler"].get("spec", "scaleTargetRef", "name") == "stg-api"
    unrendered = [o for o in facts.objects if o.environment == "k8s/overlays/production"]
    assert unrendered and {o.origin for o in unrendered} == {"kustomize-unrendered"}
    assert [u.path for u in facts.unreadable] == ["k8s/overlays/production/kustomization.yaml"]


# --------------------------------------------------------------------------- YAML 1.1 and 1.2

ALIKE = ["1.5", "0755", "0x1F", "true", "abc", "1.4.2", "~", "-5", "1_000", ".5", "nginx:1.0"]
ALIKE += ["'on'", '"1:30"', "|\n    on\n    1:30", "[0.25, x, 80]", "{port: 8080}"]
DIFFERENT = ["1e3", "08", "on", "yes", "OFF", "1:30", "0o17", "2001-12-14", "1.0", "1.5e-7"]
DIFFERENT += ["&a 1", "!!str 5", "{80: x}", "{true: x}", "[.inf]"]


@pytest.mark.parametrize("value", DIFFERENT)
def test_scalars_kustomize_reads_differently_send_the_file_to_kustomize(value: str) -> None:
    assert not _kustomize_reads_alike(f"spec:\n  value: {value}\n")


@needs_kubectl
def test_scalars_read_alike_come_out_of_kubectl_as_pyyaml_reads_them(tmp_path: Path) -> None:
    fields = "".join(f"  f{i}: {value}\n" for i, value in enumerate(ALIKE))
    text = f"apiVersion: example.com/v1\nkind: Thing\nmetadata: {{name: t}}\nspec:\n{fields}"
    assert _kustomize_reads_alike(text)
    write(tmp_path, {"kustomization.yaml": "resources: [thing.yaml]\n", "thing.yaml": text})
    (rendered,) = kubectl_objects(tmp_path, ".")
    (document,) = load_yaml_documents(text, "thing.yaml")
    assert rendered == document.data
