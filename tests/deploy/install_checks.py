"""What a real install of deploy/ would hit, checked on the rendered manifests (issue 14).

Each check here failed on the deploy/ of before the fix it guards: the sync-wave dependencies
of the webhook (and, in self-signed mode, the RBAC its caBundle watch needs), a rolling update
that cannot finish on the documented cluster, cert-manager renewals that replace the trust
anchor, Argo Workflows' CRDs and OTLP environment, its server's auth mode, the AppProjects, the
pipeline's unauthenticated webhook, the webhook's priority, and Elasticsearch without auth/TLS.
validate.py calls them with its Report; `rendered` maps a kustomization's name to its objects.
"""

from __future__ import annotations

import fnmatch
import math
import os
import re
from typing import Any

import yaml

OUR_REPO = "https://github.com/otel-inject/otel-inject.git"


def _find(docs: list[dict], kind: str, name: str | None = None) -> list[dict]:
    return [d for d in docs if d.get("kind") == kind
            and (name is None or (d.get("metadata") or {}).get("name") == name)]


def _one(docs: list[dict], kind: str, name: str) -> dict | None:
    found = _find(docs, kind, name)
    return found[0] if found else None


def _wave(doc: dict) -> int:
    return int(((doc.get("metadata") or {}).get("annotations") or {}).get("argocd.argoproj.io/sync-wave", "0"))


def _arg(args: list[str], flag: str) -> str | None:
    for a in args:
        if a.startswith(flag + "="):
            return a.split("=", 1)[1]
    return None


# ---------------------------------------------------------------------------------------------
# 1. the webhook's sync waves follow its dependencies; self-signed mode can publish late

def check_webhook_waves(rendered: dict[str, list[dict]], report: Any) -> None:
    report.section("otel-inject: each object's wave after what it needs (Argo CD waits for Healthy per wave)")
    for source in sorted(s for s in rendered if s.startswith("otel-inject.")):
        docs = rendered[source]
        dep = _one(docs, "Deployment", "otel-inject")
        mwc = _one(docs, "MutatingWebhookConfiguration", "otel-inject")
        if dep is None or mwc is None:
            report.check(f"{source}: Deployment and MWC", False, "missing")
            continue
        # A component's resources miss the base's namespace transformer; kubectl apply -k would put
        # them in `default` (the HA PodDisruptionBudget did).
        cluster_scoped = {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding",
                          "PriorityClass", "MutatingWebhookConfiguration"}
        stray = [f"{d['kind']}/{d['metadata']['name']}" for d in docs if d["kind"] not in cluster_scoped
                 and d["metadata"].get("namespace") != dep["metadata"].get("namespace")]
        report.check(f"{source}: every namespaced object is in the webhook's namespace", not stray, ", ".join(stray))
        dw, mw = _wave(dep), _wave(mwc)
        # What the pod needs to be created and to start: its namespace, the CRD it watches, its
        # ServiceAccount and RBAC, its PriorityClass, and in mode A the Secret cert-manager writes.
        needs = [d for d in docs if d["kind"] in (
            "Namespace", "CustomResourceDefinition", "ServiceAccount", "ClusterRole", "ClusterRoleBinding",
            "PriorityClass", "Issuer", "Certificate")]
        late = [f"{d['kind']}/{d['metadata']['name']}={_wave(d)}" for d in needs if _wave(d) >= dw]
        report.check(f"{source}: everything the Deployment needs is in an earlier wave than it ({dw})",
                     not late, ", ".join(late))
        svc = _one(docs, "Service", "otel-inject")
        report.check(f"{source}: MWC (wave {mw}) after the Deployment and Service it sends requests to",
                     mw > dw and svc is not None and mw > _wave(svc), f"deployment {dw}, service {_wave(svc) if svc else None}")
        for inst in _find(docs, "Instrumentation"):
            crd = _one(docs, "CustomResourceDefinition", "instrumentations.opentelemetry.io")
            # Without a CRD of its own only where the operator's release keeps owning it.
            report.check(f"{source}: Instrumentation {inst['metadata']['name']} after the CRD",
                         _wave(inst) > _wave(crd) if crd is not None else source.endswith("operator-crd"), "")
        args = dep["spec"]["template"]["spec"]["containers"][0].get("args", [])
        if "--self-signed" in args:
            # The server starts before its MWC exists (wave order above) and writes the caBundle
            # when it appears: a watch on that one object, which RBAC must allow by name.
            name = _arg(args, "--webhook-config")
            report.check(f"{source}: --webhook-config names the MWC", name == mwc["metadata"]["name"], repr(name))
            verbs: set[str] = set()
            for role in _find(docs, "ClusterRole"):
                for rule in role.get("rules", []):
                    if "mutatingwebhookconfigurations" in rule.get("resources", []) \
                            and rule.get("resourceNames") == [name]:
                        verbs |= set(rule.get("verbs", []))
            report.check(f"{source}: self-signed RBAC lets the server watch its MWC (get, list, watch, patch by name)",
                         verbs == {"get", "list", "watch", "patch"}, repr(sorted(verbs)))
            report.check(f"{source}: self-signed mode runs one replica (each generates its own CA)",
                         dep["spec"].get("replicas", 1) == 1, repr(dep["spec"].get("replicas")))


# ---------------------------------------------------------------------------------------------
# 3. a rolling update that can finish on the documented cluster

def schedulable_nodes(kind_config: str) -> int:
    """Nodes that take workload pods in the kind cluster: the workers (kind taints the control
    plane when there are workers), or the control plane alone."""
    with open(kind_config, encoding="utf-8") as fh:
        cfg = yaml.safe_load(fh)
    roles = [n.get("role", "control-plane") for n in cfg.get("nodes", [{"role": "control-plane"}])]
    workers = roles.count("worker")
    return workers if workers else roles.count("control-plane")


def _resolve(value: Any, replicas: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        x = replicas * int(value[:-1]) / 100
        return math.ceil(x) if round_up else math.floor(x)
    return int(value)


def rollout_problem(dep: dict, nodes: int) -> str | None:
    """Why a rolling update of `dep` cannot finish on `nodes` nodes, or None. Models the
    Deployment controller's first step: it either deletes an old pod (maxUnavailable >= 1) or
    creates a surge pod, which the scheduler must be able to place."""
    spec = dep["spec"]
    replicas = spec.get("replicas", 1)
    strategy = spec.get("strategy", {})
    if strategy.get("type") == "Recreate":
        return None
    ru = strategy.get("rollingUpdate", {})
    surge = _resolve(ru.get("maxSurge", "25%"), replicas, round_up=True)
    unavailable = _resolve(ru.get("maxUnavailable", "25%"), replicas, round_up=False)
    pod = spec["template"]
    labels = pod["metadata"].get("labels", {})
    required = (pod["spec"].get("affinity", {}).get("podAntiAffinity", {})
                .get("requiredDuringSchedulingIgnoredDuringExecution", []))
    per_node = any(t.get("topologyKey") == "kubernetes.io/hostname"
                   and t.get("labelSelector", {}).get("matchLabels", {}).items() <= labels.items()
                   for t in required)
    capacity = nodes if per_node else math.inf
    if replicas > capacity:
        return f"{replicas} replicas, one per node, on {nodes} nodes"
    if unavailable >= 1:
        return None
    if surge < 1:
        return "maxSurge 0 and maxUnavailable 0"
    if replicas + 1 > capacity:
        return (f"maxUnavailable 0 needs a surge pod, but {replicas} replicas already fill the {nodes} "
                f"nodes that required anti-affinity allows one pod each on")
    return None


def check_rollouts(rendered: dict[str, list[dict]], repo: str, report: Any) -> None:
    kind_config = os.path.join(repo, "deploy/kind/cluster.yaml")
    nodes = schedulable_nodes(kind_config)
    report.section(f"rolling updates finish on the documented cluster ({nodes} schedulable nodes, deploy/kind/cluster.yaml)")
    for source in sorted(s for s in rendered if ".overlays." in s or s.startswith("chart.")):
        for dep in _find(rendered[source], "Deployment"):
            problem = rollout_problem(dep, nodes)
            report.check(f"{source}: Deployment/{dep['metadata']['name']} rollout can complete",
                         problem is None, problem or "")
            for pdb in _find(rendered[source], "PodDisruptionBudget", dep["metadata"]["name"]):
                replicas = dep["spec"].get("replicas", 1)
                allowed = replicas - int(pdb["spec"].get("minAvailable", 0)) if "minAvailable" in pdb["spec"] \
                    else int(pdb["spec"].get("maxUnavailable", 1))
                report.check(f"{source}: PDB/{pdb['metadata']['name']} lets a drain evict one pod",
                             allowed >= 1, f"replicas {replicas}, {pdb['spec']}")


# ---------------------------------------------------------------------------------------------
# 7. cert-manager: renewals of the serving certificate never change the caBundle

def check_cert_chain(rendered: dict[str, list[dict]], report: Any) -> None:
    report.section("cert-manager: a CA issues the serving certificate; the caBundle is that CA")
    for source in sorted(s for s in rendered if s.startswith("otel-inject.") or s.startswith("chart.")):
        docs = rendered[source]
        mwc = next(iter(_find(docs, "MutatingWebhookConfiguration")), None)
        ann = ((mwc or {}).get("metadata") or {}).get("annotations") or {}
        if "cert-manager.io/inject-ca-from" not in ann:
            continue
        dep = _one(docs, "Deployment", "otel-inject")
        secrets = {v["secret"]["secretName"] for v in dep["spec"]["template"]["spec"].get("volumes", [])
                   if "secret" in v} if dep else set()
        serving = [c for c in _find(docs, "Certificate") if c["spec"]["secretName"] in secrets]
        if len(serving) != 1:
            report.check(f"{source}: one Certificate writes the Secret the webhook mounts", False, repr(secrets))
            continue
        (serving,) = serving
        issuer = _one(docs, serving["spec"]["issuerRef"].get("kind", "Issuer"), serving["spec"]["issuerRef"]["name"])
        report.check(f"{source}: {serving['metadata']['name']} is issued by a CA Issuer, not a SelfSigned one",
                     issuer is not None and "ca" in issuer["spec"], repr((issuer or {}).get("spec")))
        if issuer is None or "ca" not in issuer["spec"]:
            continue
        ca = [c for c in _find(docs, "Certificate") if c["spec"]["secretName"] == issuer["spec"]["ca"]["secretName"]]
        ok = len(ca) == 1 and ca[0]["spec"].get("isCA") is True
        report.check(f"{source}: the CA Issuer's Secret comes from an isCA Certificate", ok, "")
        if not ok:
            continue
        (ca,) = ca
        report.check(f"{source}: the CA is renewed with its key kept (rotationPolicy Never)",
                     ca["spec"].get("privateKey", {}).get("rotationPolicy") == "Never", repr(ca["spec"].get("privateKey")))
        ns = ca["metadata"].get("namespace") or (mwc["webhooks"][0]["clientConfig"].get("service") or {}).get("namespace")
        report.check(f"{source}: the caBundle is injected from the CA, not from the serving certificate",
                     ann["cert-manager.io/inject-ca-from"] == f"{ns}/{ca['metadata']['name']}",
                     ann["cert-manager.io/inject-ca-from"])


# ---------------------------------------------------------------------------------------------
# 8. the webhook's priority

def check_priority(rendered: dict[str, list[dict]], report: Any) -> None:
    report.section("the webhook runs with a PriorityClass that exists")
    for source in sorted(s for s in rendered if s.startswith("otel-inject.") or s.startswith("chart.")):
        # The webhook's: the rollout controller is not on the admission path, and at webhook
        # priority it would preempt the workloads it restarts.
        for dep in _find(rendered[source], "Deployment", "otel-inject"):
            name = dep["spec"]["template"]["spec"].get("priorityClassName")
            pc = _one(rendered[source], "PriorityClass", name) if name else None
            builtin = name in ("system-cluster-critical", "system-node-critical")
            report.check(f"{source}: Deployment/{dep['metadata']['name']} priorityClassName {name}",
                         builtin or (pc is not None and 0 < pc["value"] < 1_000_000_000), repr(pc))


# ---------------------------------------------------------------------------------------------
# 4-6, 8. Argo CD: the Argo Workflows CRDs and telemetry, its server's auth, the AppProjects

def check_argo_platform(rendered: dict[str, list[dict]], report: Any) -> None:
    report.section("Argo Workflows: CRDs of its image's release, traces only, authenticated server")
    docs = rendered.get("argocd.apps", [])
    apps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Application"}
    wf_app = apps.get("argo-workflows")
    if wf_app is None:
        report.check("argocd.apps: argo-workflows", False, "missing")
        return
    values = wf_app["spec"]["source"].get("helm", {}).get("valuesObject", {})
    tag = str(values.get("images", {}).get("tag", ""))
    report.check("argocd.apps: the argo-workflows chart does not install CRDs (its Job downloads them at the chart's version)",
                 values.get("crds", {}).get("install") is False, repr(values.get("crds")))
    crd_apps = [a for a in apps.values() if a["spec"]["source"].get("repoURL", "").rstrip("/").removesuffix(".git")
                == "https://github.com/argoproj/argo-workflows"]
    ok = len(crd_apps) == 1 and crd_apps[0]["spec"]["source"].get("path") == "manifests/base/crds/full"
    report.check("argocd.apps: one Application installs manifests/base/crds/full of argo-workflows", ok,
                 repr([a["metadata"]["name"] for a in crd_apps]))
    if ok:
        crd_app = crd_apps[0]
        report.check(f"argocd.apps: the CRDs' release ({crd_app['spec']['source'].get('targetRevision')}) is the images' ({tag})",
                     crd_app["spec"]["source"].get("targetRevision") == tag, "")
        report.check("argocd.apps: the CRDs sync in an earlier wave than the controller",
                     _wave(crd_app) < _wave(wf_app), f"{_wave(crd_app)} vs {_wave(wf_app)}")
        sync = crd_app["spec"].get("syncPolicy", {})
        report.check("argocd.apps: the CRDs are never pruned (that would delete every Workflow)",
                     "Prune=false" in sync.get("syncOptions", []) and not sync.get("automated", {}).get("prune", False), repr(sync))

    # Jaeger takes traces only: a generic OTLP endpoint also starts Argo's OTLP metrics exporter.
    jaeger_signals = set()
    for source, jdocs in rendered.items():
        if source.startswith("jaeger."):
            for cm in _find(jdocs, "ConfigMap"):
                if "config.yaml" in cm.get("data", {}):
                    jaeger_signals |= set(yaml.safe_load(cm["data"]["config.yaml"])["service"]["pipelines"])
    for part, env in (("controller", values.get("controller", {}).get("extraEnv", [])),
                      ("executor", values.get("executor", {}).get("env", []))):
        names = {e["name"]: e.get("value") for e in env}
        metrics_on = "OTEL_EXPORTER_OTLP_ENDPOINT" in names or "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT" in names
        report.check(f"argocd.apps: argo-workflows {part} exports no OTLP metrics (Jaeger pipelines: {sorted(jaeger_signals)})",
                     not metrics_on or "metrics" in jaeger_signals, repr(sorted(names)))
        endpoint = names.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or ""
        protocol = names.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or names.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "grpc"
        report.check(f"argocd.apps: argo-workflows {part} traces endpoint (over HTTP it is used as is: /v1/traces)",
                     bool(endpoint) and (not protocol.startswith("http/") or endpoint.endswith("/v1/traces"))
                     and endpoint.split("://")[-1].startswith("jaeger-collector.monitoring"), f"{endpoint} {protocol}")
    modes = values.get("server", {}).get("authModes", [])
    report.check("argocd.apps: argo-workflows server authenticates its users (no `server` auth mode)",
                 bool(modes) and "server" not in modes, repr(modes))

    report.section("Argo CD: every Application in a restricted AppProject that allows its source and destination")
    projects = {d["metadata"]["name"]: d for d in docs if d["kind"] == "AppProject"}
    for d in docs:
        if d["kind"] not in ("Application", "ApplicationSet"):
            continue
        spec = d["spec"]["template"]["spec"] if d["kind"] == "ApplicationSet" else d["spec"]
        name = f"{d['kind']}/{d['metadata']['name']}"
        project = projects.get(spec.get("project", "default"))
        report.check(f"argocd.apps: {name} uses an AppProject of its own (not default)",
                     project is not None, spec.get("project", "default"))
        if project is None:
            continue
        repo = spec["source"]["repoURL"]
        report.check(f"argocd.apps: {name}: project {project['metadata']['name']} allows {repo}",
                     any(fnmatch.fnmatchcase(repo, r) for r in project["spec"].get("sourceRepos", [])), "")
        ns = spec["destination"].get("namespace", "")
        # An ApplicationSet's namespace is a template: match it with every value of its generator.
        candidates = [ns]
        if "{{" in ns:
            envs = [e for g in d["spec"]["generators"] for sub in g.get("matrix", {}).get("generators", [g])
                    for e in sub.get("list", {}).get("elements", [])]
            candidates = [re.sub(r"\{\{\s*\.env\s*\}\}", e.get("env", "x"), ns).replace("{{.path.basename}}", w)
                          for e in envs or [{}] for w in ("demo-dotnet", "shop", "ml-pipeline")]
        for c in candidates:
            report.check(f"argocd.apps: {name}: project {project['metadata']['name']} allows namespace {c}",
                         any(fnmatch.fnmatchcase(c, dst.get("namespace", "")) for dst in project["spec"].get("destinations", [])), "")


# ---------------------------------------------------------------------------------------------
# Issue 12: the webhook's NetworkPolicy opens its metrics port to the monitoring namespace only

def check_webhook_network_policy(rendered: dict[str, list[dict]], report: Any) -> None:
    report.section("otel-inject NetworkPolicy: the webhook port open, the metrics port to selected peers only")
    for source in sorted(s for s in rendered if s.startswith("otel-inject.") or s.startswith("chart.")):
        for policy in _find(rendered[source], "NetworkPolicy", "otel-inject"):
            rules = policy["spec"].get("ingress", [])
            by_port = {p.get("port"): r for r in rules for p in r.get("ports", [])}
            report.check(f"{source}: NetworkPolicy/otel-inject opens 8443 (the API server)", 8443 in by_port, repr(rules))
            report.check(f"{source}: NetworkPolicy/otel-inject opens 9090 only to selected peers",
                         bool(by_port.get(9090, {}).get("from")), repr(by_port.get(9090)))
            report.check(f"{source}: NetworkPolicy/otel-inject opens no other port",
                         set(by_port) <= {8443, 9090} and all(r.get("ports") for r in rules), repr(rules))


# ---------------------------------------------------------------------------------------------
# 8. the pipeline's webhook: a token and a NetworkPolicy

def check_event_sources(rendered: dict[str, list[dict]], report: Any) -> None:
    report.section("Argo Events: every webhook EventSource needs a token and is fenced by a NetworkPolicy")
    for source in sorted(rendered):
        docs = rendered[source]
        for es in _find(docs, "EventSource"):
            name = es["metadata"]["name"]
            for hook, cfg in (es["spec"].get("webhook") or {}).items():
                secret = cfg.get("authSecret") or {}
                report.check(f"{source}: EventSource/{name} webhook {hook} requires a bearer token (authSecret)",
                             bool(secret.get("name")) and bool(secret.get("key")), repr(cfg))
            fenced = [p for p in _find(docs, "NetworkPolicy")
                      if p["spec"].get("podSelector", {}).get("matchLabels", {}).get("eventsource-name") == name
                      and "Ingress" in p["spec"].get("policyTypes", [])
                      and all(rule.get("from") for rule in p["spec"].get("ingress", []))]
            report.check(f"{source}: EventSource/{name} pods accept traffic only from selected peers", bool(fenced), "")


# ---------------------------------------------------------------------------------------------
# 8. Jaeger on an https Elasticsearch verifies it and logs in

def check_jaeger_storage_auth(rendered: dict[str, list[dict]], report: Any) -> None:
    report.section("Jaeger: an https Elasticsearch/OpenSearch is verified (CA) and logged in to")
    for source in sorted(s for s in rendered if s.startswith("jaeger.")):
        docs = rendered[source]
        env = {}
        for cm in _find(docs, "ConfigMap"):
            if cm["metadata"]["name"].startswith("jaeger-storage"):
                env.update(cm.get("data", {}))
        dep = _one(docs, "Deployment", "jaeger")
        mounts = {m["mountPath"] for c in dep["spec"]["template"]["spec"]["containers"]
                  for m in c.get("volumeMounts", [])} if dep else set()
        for cm in _find(docs, "ConfigMap"):
            if "config.yaml" not in cm.get("data", {}):
                continue
            config = yaml.safe_load(cm["data"]["config.yaml"])
            for bname, backend in config["extensions"]["jaeger_storage"]["backends"].items():
                for kind in ("elasticsearch", "opensearch"):
                    if kind not in backend:
                        continue
                    es = backend[kind]
                    urls = [re.sub(r"\$\{env:(\w+)\}", lambda m: env.get(m[1], ""), u) for u in es.get("server_urls", [])]
                    if not any(u.startswith("https://") for u in urls):
                        continue
                    auth = es.get("auth") or {}
                    report.check(f"{source}: {bname} logs in to {urls}", any(auth.get(k) for k in ("basic", "bearer_token", "api_key")), repr(auth))
                    ca = (es.get("tls") or {}).get("ca_file")
                    report.check(f"{source}: {bname} verifies the server with a CA file", bool(ca) and not (es.get("tls") or {}).get("insecure_skip_verify"), repr(es.get("tls")))
                    files = [ca, (auth.get("basic") or {}).get("password_file")]
                    missing = [f for f in files if f and not any(f.startswith(m.rstrip("/") + "/") for m in mounts)]
                    report.check(f"{source}: {bname}'s credential files are mounted", not missing, repr(missing))


# ---------------------------------------------------------------------------------------------
# More than one cluster: deploy/argocd/multi-cluster is the single-cluster apps, one per cluster

ENV_OF_CLUSTER = '{{index .metadata.labels "otel-inject.dev/env"}}'
CLUSTER_SELECTOR = {"matchExpressions": [{"key": "otel-inject.dev/env", "operator": "In",
                                          "values": ["dev", "staging", "prod"]}]}


def appset_for(app: dict) -> dict:
    """The ApplicationSet that puts `app` (a single-cluster platform Application) on every cluster
    registered with an otel-inject.dev/env label, with that environment's overlay."""
    import copy
    spec = copy.deepcopy(app["spec"])
    spec["destination"] = {"server": "{{.server}}", **{k: v for k, v in spec["destination"].items() if k != "name"}}
    src = spec["source"]
    if "path" in src:
        src["path"] = re.sub(r"/overlays/dev$", "/overlays/" + ENV_OF_CLUSTER, src["path"])
    name = app["metadata"]["name"]
    annotations = {k: v for k, v in app["metadata"].get("annotations", {}).items()}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": name, "namespace": app["metadata"]["namespace"], "annotations": annotations},
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"clusters": {"selector": CLUSTER_SELECTOR}}],
            "template": {
                "metadata": {
                    "name": "{{.nameNormalized}}-" + name,
                    "labels": {"otel-inject.dev/env": ENV_OF_CLUSTER, "otel-inject.dev/component": name},
                    **({"finalizers": app["metadata"]["finalizers"]} if "finalizers" in app["metadata"] else {}),
                },
                "spec": spec,
            },
        },
    }


def check_multi_cluster(rendered: dict[str, list[dict]], report: Any) -> None:
    report.section("more than one cluster: argocd.multi-cluster = argocd.apps, one Application per registered cluster")
    single = rendered.get("argocd.apps", [])
    multi = rendered.get("argocd.multi-cluster", [])
    report.check("argocd.multi-cluster rendered", bool(multi), "missing")
    if not multi:
        return
    by_name = {(d["kind"], d["metadata"]["name"]): d for d in multi}
    for app in _find(single, "Application"):
        want = appset_for(app)
        got = by_name.get(("ApplicationSet", app["metadata"]["name"]))
        report.check(f"argocd.multi-cluster: ApplicationSet/{app['metadata']['name']} is Application/"
                     f"{app['metadata']['name']} on every environment's cluster", got == want,
                     "regenerate it: python3 tests/deploy/install_checks.py --write-multi-cluster")
    for proj in _find(single, "AppProject"):
        report.check(f"argocd.multi-cluster: AppProject/{proj['metadata']['name']} as in argocd.apps",
                     by_name.get(("AppProject", proj["metadata"]["name"])) == proj, "")
    (wl,) = _find(single, "ApplicationSet", "workloads") or [None]
    got = by_name.get(("ApplicationSet", "workloads"))
    if wl is None or got is None:
        report.check("argocd.multi-cluster: workloads ApplicationSet", False, "missing")
        return
    gens = got["spec"]["generators"][0]["matrix"]["generators"]
    report.check("argocd.multi-cluster: workloads = clusters (by otel-inject.dev/env) x git directories",
                 gens[0] == {"clusters": {"selector": CLUSTER_SELECTOR, "values": {"env": ENV_OF_CLUSTER}}}
                 and gens[1] == wl["spec"]["generators"][0]["matrix"]["generators"][1], repr(gens))
    dest = got["spec"]["template"]["spec"]["destination"]
    report.check("argocd.multi-cluster: workloads go to their environment's cluster",
                 dest == {"server": "{{.server}}", "namespace": "{{.values.env}}-{{.path.basename}}"}, repr(dest))
    import json
    as_list_env = lambda v: json.loads(json.dumps(v).replace("{{.values.env}}", "{{.env}}"))  # noqa: E731
    rest = [k for k in ("source", "syncPolicy", "project")
            if as_list_env(got["spec"]["template"]["spec"][k]) != wl["spec"]["template"]["spec"][k]]
    report.check("argocd.multi-cluster: workloads' source, sync policy and project as in argocd.apps", not rest, repr(rest))
    kinds = sorted({d["kind"] for d in multi})
    report.check("argocd.multi-cluster: no Application bound to one cluster", "Application" not in kinds, repr(kinds))


def _write_multi_cluster(repo: str) -> None:
    """Writes deploy/argocd/multi-cluster/platform-appsets.yaml from the single-cluster apps."""
    import subprocess
    out = subprocess.run(["kubectl", "kustomize", os.path.join(repo, "deploy/argocd/apps")],
                         check=True, capture_output=True, text=True).stdout
    apps = [d for d in yaml.safe_load_all(out) if d and d["kind"] == "Application"]
    path = os.path.join(repo, "deploy/argocd/multi-cluster/platform-appsets.yaml")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("# GENERATED from deploy/argocd/apps by `python3 tests/deploy/install_checks.py "
                 "--write-multi-cluster`;\n# a test fails when it drifts. Each platform Application, "
                 "once per cluster registered with the\n# label otel-inject.dev/env (dev, staging or prod), "
                 "with that environment's overlay.\n")
        fh.write(yaml.safe_dump_all([appset_for(a) for a in apps], sort_keys=False, width=120))


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["--write-multi-cluster"]:
        _write_multi_cluster(os.path.abspath(os.path.join(os.path.dirname(__file__), "../..")))
