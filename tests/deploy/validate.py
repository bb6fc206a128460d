#!/usr/bin/env python3
"""Validate the rendered deploy/ manifests.

Built-in kinds go through kubernetes-validate (schemas shipped in the package, strict mode);
our Instrumentation objects through the openAPIV3Schema of the generated CRD; CRD-typed objects of
other projects (Argo CD, Argo Workflows/Events, cert-manager) only for shape. On top of the
schemas come the deploy invariants that a schema cannot see (webhook settings, sync-wave order,
pinned images, bound addresses), each reported by name.

Usage: validate.py --rendered DIR --crd FILE --k8s-version 1.33.0 --repo ROOT
DIR holds one <name>.yaml per rendered kustomization (as written by run.sh).
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import sys
import traceback
from typing import Any, Callable, Iterator

import jsonschema
import kubernetes_validate
import yaml

import install_checks

# API groups whose schemas kubernetes-validate ships (everything served by kube-apiserver itself).
BUILTIN_GROUPS = {
    "", "apps", "batch", "policy", "autoscaling", "rbac.authorization.k8s.io",
    "admissionregistration.k8s.io", "apiextensions.k8s.io", "networking.k8s.io",
    "storage.k8s.io", "scheduling.k8s.io", "coordination.k8s.io", "discovery.k8s.io",
    "node.k8s.io", "certificates.k8s.io",
}
OUR_GROUP = "opentelemetry.io"
# Groups of other projects whose CRDs we do not have here: checked for shape only.
FOREIGN_GROUPS = {"argoproj.io", "cert-manager.io"}


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"  FAIL {name}: {detail}")

    def section(self, title: str) -> None:
        print(f"-- {title}")


def group_of(api_version: str) -> str:
    return api_version.split("/")[0] if "/" in api_version else ""


def docs_of(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [d for d in yaml.safe_load_all(fh) if d is not None]


def ident(doc: dict) -> str:
    meta = doc.get("metadata") or {}
    ns = meta.get("namespace")
    name = meta.get("name") or meta.get("generateName", "?")
    return f"{doc.get('kind')}/{ns + '/' if ns else ''}{name}"


# ---------------------------------------------------------------------------------------------
# CRD structural schema -> JSON Schema

def structural_to_jsonschema(node: Any, strict: bool = True) -> Any:
    """Turn a CRD's structural openAPIV3Schema into JSON Schema that rejects unknown fields.

    The API server silently prunes unknown fields, so a typo in a manifest is lost without an
    error; here it fails instead (additionalProperties: false wherever the CRD does not preserve
    unknown fields).
    """
    if isinstance(node, list):
        return [structural_to_jsonschema(n, strict) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    preserve = bool(node.get("x-kubernetes-preserve-unknown-fields"))
    for key, value in node.items():
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {k: structural_to_jsonschema(v, strict) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            out[key] = structural_to_jsonschema(value, strict) if isinstance(value, dict) else value
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [structural_to_jsonschema(v, strict) for v in value]
        elif key.startswith("x-kubernetes-") or key in ("nullable",):
            continue
        else:
            out[key] = value
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else out["type"] + ["null"]
    if (strict and not preserve and out.get("type") == "object" and "properties" in out
            and "additionalProperties" not in out):
        out["additionalProperties"] = False
    return out


def crd_validators(crd_path: str, report: Report) -> dict[tuple[str, str], jsonschema.protocols.Validator]:
    validators = {}
    for crd in docs_of(crd_path):
        ok = crd.get("kind") == "CustomResourceDefinition"
        report.check(f"{crd_path} is a CRD", ok, f"found kind {crd.get('kind')}")
        if not ok:
            continue
        spec = crd["spec"]
        for version in spec.get("versions", []):
            schema = (version.get("schema") or {}).get("openAPIV3Schema")
            report.check(f"CRD {crd['metadata']['name']} {version.get('name')} has openAPIV3Schema",
                         schema is not None, "missing")
            if schema is None:
                continue
            js = structural_to_jsonschema(schema)
            # apiVersion, kind and metadata are the API server's, implicit in a CRD schema.
            props = js.setdefault("properties", {})
            props["apiVersion"] = {"type": "string"}
            props["kind"] = {"type": "string"}
            props["metadata"] = {"type": "object"}
            jsonschema.Draft7Validator.check_schema(js)
            validators[(f"{spec['group']}/{version['name']}", spec["names"]["kind"])] = \
                jsonschema.Draft7Validator(js)
    return validators


# ---------------------------------------------------------------------------------------------
# Per-object validation

def validate_objects(rendered: dict[str, list[dict]], crd_path: str, k8s_version: str,
                     report: Report) -> None:
    report.section(f"schemas: built-in kinds against Kubernetes {k8s_version} (strict), "
                   f"Instrumentation against {os.path.relpath(crd_path)}")
    validators = crd_validators(crd_path, report)
    counts = {"builtin": 0, "ours": 0, "foreign": 0}
    for source, docs in rendered.items():
        for doc in docs:
            where = f"{source}: {ident(doc)}"
            meta = doc.get("metadata") or {}
            shape_ok = (isinstance(doc.get("apiVersion"), str) and isinstance(doc.get("kind"), str)
                        and isinstance(meta, dict) and bool(meta.get("name") or meta.get("generateName")))
            report.check(f"{where} has apiVersion/kind/metadata.name", shape_ok, repr(doc)[:200])
            if not shape_ok:
                continue
            group = group_of(doc["apiVersion"])
            if group in BUILTIN_GROUPS:
                counts["builtin"] += 1
                try:
                    kubernetes_validate.validate(doc, k8s_version, strict=True)
                    report.check(where, True)
                except kubernetes_validate.ValidationError as err:
                    path = "/".join(str(p) for p in err.path)
                    report.check(where, False, f"{err.message} at {path or '(root)'}")
                except kubernetes_validate.SchemaNotFoundError as err:
                    report.check(where, False, f"no schema: {err}")
            elif group == OUR_GROUP:
                counts["ours"] += 1
                validator = validators.get((doc["apiVersion"], doc["kind"]))
                if validator is None:
                    report.check(where, False, f"no CRD in {crd_path} serves {doc['apiVersion']} {doc['kind']}")
                    continue
                errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
                report.check(where, not errors, "; ".join(
                    f"{e.message} at {'/'.join(str(p) for p in e.path) or '(root)'}" for e in errors))
            elif group in FOREIGN_GROUPS:
                counts["foreign"] += 1
                report.check(f"{where} has a spec", isinstance(doc.get("spec"), dict), "no spec")
            else:
                report.check(where, False, f"unknown API group {group!r}: add its schema or shape check")
    print(f"   {counts['builtin']} built-in objects, {counts['ours']} Instrumentations, "
          f"{counts['foreign']} other CRD-typed objects")


# ---------------------------------------------------------------------------------------------
# Deploy invariants

def walk(node: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield path, k, v
            yield from walk(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{path}/{i}")


def find(rendered: dict[str, list[dict]], source: str, kind: str, name: str) -> dict | None:
    for doc in rendered.get(source, []):
        if doc.get("kind") == kind and (doc.get("metadata") or {}).get("name") == name:
            return doc
    return None


def wave(doc: dict) -> int:
    return int(((doc.get("metadata") or {}).get("annotations") or {}).get("argocd.argoproj.io/sync-wave", "0"))


def check_images(rendered: dict[str, list[dict]], report: Report) -> None:
    report.section("every container image is pinned (a tag or digest, never latest)")
    seen = 0
    for source, docs in rendered.items():
        for doc in docs:
            for path, key, value in walk(doc):
                if key == "image" and isinstance(value, str):
                    seen += 1
                    ok = bool(re.search(r"(@sha256:[0-9a-f]{64}|:[\w][\w.-]*)$", value.split("/")[-1])) \
                        and not value.endswith(":latest")
                    report.check(f"{source}: {ident(doc)}{path}/image={value}", ok, "not pinned")
    print(f"   {seen} images")


def check_webhook(rendered: dict[str, list[dict]], report: Report) -> None:
    report.section("otel-inject MutatingWebhookConfiguration, Deployment and RBAC")
    for source in [s for s in rendered if s.startswith("otel-inject.")]:
        mwc = find(rendered, source, "MutatingWebhookConfiguration", "otel-inject")
        report.check(f"{source}: has the MWC", mwc is not None, "missing")
        if mwc is None:
            continue
        (hook,) = mwc["webhooks"]
        expect = {"failurePolicy": "Ignore", "sideEffects": "None", "timeoutSeconds": 5,
                  "reinvocationPolicy": "IfNeeded", "matchPolicy": "Equivalent",
                  "admissionReviewVersions": ["v1"]}
        for key, value in expect.items():
            report.check(f"{source}: webhook {key}", hook.get(key) == value, f"{hook.get(key)!r} != {value!r}")
        rules = hook.get("rules", [])
        report.check(f"{source}: CREATE on pods only",
                     rules == [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                                "resources": ["pods"], "scope": "Namespaced"}], repr(rules))
        exprs = {e["key"]: e for e in hook["namespaceSelector"]["matchExpressions"]}
        excluded = set(exprs.get("kubernetes.io/metadata.name", {}).get("values", []))
        need = {"kube-system", "kube-node-lease", "otel-inject-system", "cert-manager", "argocd"}
        report.check(f"{source}: namespaceSelector leaves out system namespaces", need <= excluded,
                     f"missing {sorted(need - excluded)}")
        optout = exprs.get("otel-inject.dev/admission-webhooks", {})
        report.check(f"{source}: opt-out label", optout.get("operator") == "NotIn"
                     and optout.get("values") == ["disabled"], repr(optout))
        obj = hook["objectSelector"]["matchExpressions"]
        report.check(f"{source}: objectSelector excludes our pods",
                     {"key": "app.kubernetes.io/part-of", "operator": "NotIn", "values": ["otel-inject"]} in obj, repr(obj))
        svc = hook["clientConfig"].get("service", {})
        report.check(f"{source}: clientConfig service", svc.get("name") == "otel-inject"
                     and svc.get("namespace") == "otel-inject-system" and svc.get("port") == 443
                     and svc.get("path") in ("/mutate", "/mutate-v1-pod"), repr(svc))
        report.check(f"{source}: no caBundle in git", "caBundle" not in hook["clientConfig"], "caBundle set")
        self_signed = "self-signed" in source
        annotations = mwc["metadata"].get("annotations", {})
        report.check(f"{source}: cert-manager CA injection iff mode A",
                     ("cert-manager.io/inject-ca-from" in annotations) != self_signed, repr(annotations))

        dep = find(rendered, source, "Deployment", "otel-inject")
        report.check(f"{source}: has the Deployment", dep is not None, "missing")
        if dep is None:
            continue
        pod = dep["spec"]["template"]
        labels = pod["metadata"].get("labels", {})
        report.check(f"{source}: own pods carry part-of=otel-inject (objectSelector)",
                     labels.get("app.kubernetes.io/part-of") == "otel-inject", repr(labels))
        (ctr,) = pod["spec"]["containers"]
        args = ctr.get("args", [])
        report.check(f"{source}: TLS flags match the mode",
                     ("--self-signed" in args) == self_signed and ("--tls-cert=/certs/tls.crt" in args) != self_signed,
                     repr(args))
        ports = {p["name"]: p["containerPort"] for p in ctr["ports"]}
        report.check(f"{source}: ports", ports == {"webhook": 8443, "metrics": 9090}, repr(ports))
        def seconds(flag: str, default: float) -> float:
            for a in args:
                if a.startswith(flag + "="):
                    v = a.split("=", 1)[1]
                    return float(v[:-2]) / 1000 if v.endswith("ms") else float(v.rstrip("s"))
            return default
        grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
        need = seconds("--shutdown-delay", 5) + seconds("--drain-timeout", 20)
        report.check(f"{source}: terminationGracePeriodSeconds ({grace}) covers shutdown delay + drain ({need:g}s)",
                     grace > need, repr(args))
        report.check(f"{source}: probes on the metrics port",
                     ctr["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
                     and ctr["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}, "")
        sc = ctr.get("securityContext", {})
        psc = pod["spec"].get("securityContext", {})
        report.check(f"{source}: restricted securityContext",
                     sc.get("allowPrivilegeEscalation") is False and sc.get("readOnlyRootFilesystem") is True
                     and sc.get("capabilities", {}).get("drop") == ["ALL"] and psc.get("runAsNonRoot") is True
                     and psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", repr(sc))
        res = ctr.get("resources", {})
        report.check(f"{source}: requests and limits", {"cpu", "memory"} <= set(res.get("requests", {}))
                     and {"cpu", "memory"} <= set(res.get("limits", {})), repr(res))
        replicas = dep["spec"].get("replicas", 1)
        ha = any(s in source for s in ("staging", "prod"))
        pdb = find(rendered, source, "PodDisruptionBudget", "otel-inject")
        report.check(f"{source}: replicas", replicas == (2 if ha else 1), f"replicas={replicas}")
        report.check(f"{source}: PDB and anti-affinity iff HA",
                     (pdb is not None) == ha and ("podAntiAffinity" in pod["spec"].get("affinity", {})) == ha, "")
        svc_obj = find(rendered, source, "Service", "otel-inject")
        report.check(f"{source}: Service 443 -> webhook port", svc_obj is not None and any(
            p["port"] == 443 and p["targetPort"] in ("webhook", 8443) for p in svc_obj["spec"]["ports"]), "")

        # Least privilege: read-only watches, plus get/patch on our own MWC in self-signed mode.
        allowed = {("opentelemetry.io", "instrumentations"), ("", "namespaces"), ("apps", "replicasets"),
                   ("batch", "jobs")}
        for doc in rendered[source]:
            if doc["kind"] not in ("ClusterRole", "Role"):
                continue
            if doc["metadata"]["name"].startswith("otel-inject-controller"):
                continue  # the rollout controller's own ServiceAccount: check_controller
            for rule in doc.get("rules", []):
                pairs = {(g, r) for g in rule["apiGroups"] for r in rule["resources"]}
                verbs = set(rule["verbs"])
                if pairs <= allowed:
                    report.check(f"{source}: {ident(doc)} read-only", verbs <= {"get", "list", "watch"}, repr(rule))
                else:
                    report.check(f"{source}: {ident(doc)} only its own MWC, get/list/watch/patch",
                                 self_signed and pairs == {("admissionregistration.k8s.io", "mutatingwebhookconfigurations")}
                                 and rule.get("resourceNames") == ["otel-inject"]
                                 and verbs == {"get", "list", "watch", "patch"},
                                 repr(rule))
        kinds = {d["kind"] for d in rendered[source]}
        report.check(f"{source}: cert-manager objects iff mode A",
                     ({"Certificate", "Issuer"} <= kinds) != self_signed and not ({"Certificate", "Issuer"} & kinds and self_signed),
                     repr(sorted(kinds)))

        # Sync waves: install_checks.check_webhook_waves (by dependency, per mode).


# The rollout controller's RBAC, exactly: watches of what `otel-inject status` reads, patch on the
# kinds it restarts, Events, and its Lease by name (create cannot be limited by name).
CONTROLLER_CLUSTER_RULES = {
    ("opentelemetry.io", "instrumentations"): {"list", "watch"},
    ("", "namespaces"): {"list", "watch"},
    ("", "pods"): {"list", "watch"},
    ("apps", "replicasets"): {"list", "watch"},
    ("apps", "deployments"): {"list", "watch", "patch"},
    ("apps", "statefulsets"): {"list", "watch", "patch"},
    ("apps", "daemonsets"): {"list", "watch", "patch"},
    ("events.k8s.io", "events"): {"create", "patch"},
}


def check_controller(rendered: dict[str, list[dict]], report: Report) -> None:
    report.section("the opt-in rollout controller: its own least-privilege ServiceAccount, present iff enabled")
    for source in [s for s in rendered if s.startswith("otel-inject.") or s.startswith("chart.")]:
        dep = find(rendered, source, "Deployment", "otel-inject-controller")
        wanted = "rollout-controller" in source
        report.check(f"{source}: controller present iff opted in", (dep is not None) == wanted, "")
        if dep is None:
            continue
        pod = dep["spec"]["template"]["spec"]
        (ctr,) = pod["containers"]
        report.check(f"{source}: controller runs `controller` as its own ServiceAccount",
                     ctr["args"][0] == "controller" and pod["serviceAccountName"] == "otel-inject-controller",
                     repr(ctr["args"]))
        report.check(f"{source}: controller pods carry part-of=otel-inject (never injected)",
                     dep["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/part-of") == "otel-inject", "")
        sc = ctr.get("securityContext", {})
        report.check(f"{source}: controller restricted securityContext",
                     sc.get("allowPrivilegeEscalation") is False and sc.get("readOnlyRootFilesystem") is True
                     and sc.get("capabilities", {}).get("drop") == ["ALL"]
                     and pod.get("securityContext", {}).get("runAsNonRoot") is True, repr(sc))
        role = find(rendered, source, "ClusterRole", "otel-inject-controller")
        got: dict[tuple[str, str], set[str]] = {}
        for rule in (role or {}).get("rules", []):
            report.check(f"{source}: ClusterRole/otel-inject-controller names no resource", "resourceNames" not in rule, repr(rule))
            for g in rule["apiGroups"]:
                for r in rule["resources"]:
                    got.setdefault((g, r), set()).update(rule["verbs"])
        report.check(f"{source}: ClusterRole/otel-inject-controller is exactly what it needs",
                     got == CONTROLLER_CLUSTER_RULES, repr(got))
        lease = find(rendered, source, "Role", "otel-inject-controller-lease")
        rules = (lease or {}).get("rules", [])
        by_name = [r for r in rules if r.get("resourceNames") == ["otel-inject-controller"]]
        report.check(f"{source}: Role/otel-inject-controller-lease: create leases, get/update its own by name",
                     len(rules) == 2 and all(r["apiGroups"] == ["coordination.k8s.io"] and r["resources"] == ["leases"] for r in rules)
                     and len(by_name) == 1 and set(by_name[0]["verbs"]) == {"get", "update"}
                     and any(r.get("resourceNames") is None and r["verbs"] == ["create"] for r in rules), repr(rules))
        args = ctr["args"]
        report.check(f"{source}: --lease-name names the Role's Lease", "--lease-name=otel-inject-controller" in args, repr(args))
        for kind, name in (("ClusterRoleBinding", "otel-inject-controller"), ("RoleBinding", "otel-inject-controller-lease")):
            b = find(rendered, source, kind, name)
            report.check(f"{source}: {kind}/{name} binds the controller's ServiceAccount",
                         b is not None and [s["name"] for s in b["subjects"]] == ["otel-inject-controller"], "")


def check_instrumentations(rendered: dict[str, list[dict]], report: Report) -> None:
    report.section("per-environment default Instrumentation")
    ratios = {"dev": "1.0", "staging": "0.25", "prod": "0.1"}
    for env, ratio in ratios.items():
        source = f"otel-inject.overlays.{env}"
        inst = find(rendered, source, "Instrumentation", "default")
        report.check(f"{source}: has Instrumentation default", inst is not None, "missing")
        if inst is None:
            continue
        spec = inst["spec"]
        report.check(f"{source}: sampler", spec.get("sampler") == {"type": "parentbased_traceidratio", "argument": ratio},
                     repr(spec.get("sampler")))
        report.check(f"{source}: exporter to the Jaeger collector",
                     spec["exporter"]["endpoint"].startswith("http://jaeger-collector.monitoring"), spec["exporter"]["endpoint"])
        report.check(f"{source}: propagators", spec.get("propagators") == ["tracecontext", "baggage"], repr(spec.get("propagators")))
        report.check(f"{source}: pinned dotnet image", spec["dotnet"]["image"] ==
                     "ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation-dotnet:1.16.0", spec["dotnet"]["image"])


def check_jaeger(rendered: dict[str, list[dict]], report: Report) -> None:
    report.section("Jaeger v2 config and storage per environment")
    storage = {"base": "memory", "overlays.dev": "memory", "overlays.staging": "badger", "overlays.prod": "elasticsearch"}
    for suffix, backend in storage.items():
        source = f"jaeger.{suffix}"
        docs = rendered.get(source, [])
        cms = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("jaeger-config")]
        report.check(f"{source}: one jaeger-config ConfigMap", len(cms) == 1, f"{len(cms)}")
        if not cms:
            continue
        config = yaml.safe_load(cms[0]["data"]["config.yaml"])
        endpoints = [v for _, k, v in walk(config) if k == "endpoint"]
        report.check(f"{source}: every endpoint bound to 0.0.0.0",
                     endpoints and all(str(e).startswith("0.0.0.0:") for e in endpoints), repr(endpoints))
        protocols = config["receivers"]["otlp"]["protocols"]
        report.check(f"{source}: OTLP gRPC 4317 and HTTP 4318",
                     protocols["grpc"]["endpoint"].endswith(":4317") and protocols["http"]["endpoint"].endswith(":4318"), "")
        ext = config["extensions"]
        report.check(f"{source}: jaeger_storage, jaeger_query, healthcheckv2 on 13133",
                     {"jaeger_storage", "jaeger_query", "healthcheckv2"} <= set(config["service"]["extensions"])
                     and ext["healthcheckv2"]["http"]["endpoint"] == "0.0.0.0:13133", "")
        report.check(f"{source}: batch processor", config["service"]["pipelines"]["traces"]["processors"] == ["batch"], "")
        backends = ext["jaeger_storage"]["backends"]
        main = backends[ext["jaeger_query"]["storage"]["traces"]]
        report.check(f"{source}: {backend} storage", list(main) == [backend], repr(list(main)))
        dep = find(rendered, source, "Deployment", "jaeger")
        if dep is None:
            report.check(f"{source}: Deployment", False, "missing")
            continue
        (ctr,) = dep["spec"]["template"]["spec"]["containers"]
        report.check(f"{source}: image pinned jaegertracing/jaeger:2.x",
                     re.fullmatch(r"jaegertracing/jaeger:2\.\d+\.\d+", ctr["image"]) is not None, ctr["image"])
        report.check(f"{source}: probes /status on 13133", ctr["readinessProbe"]["httpGet"]["path"] == "/status"
                     and ctr["livenessProbe"]["httpGet"]["path"] == "/status", "")
        report.check(f"{source}: runs as 10001", dep["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 10001, "")
        replicas = dep["spec"].get("replicas", 1)
        check_jaeger_sampling(rendered, source, config, dep, report)
        if backend == "badger":
            report.check(f"{source}: one replica, Recreate, on a PVC", replicas == 1
                         and dep["spec"]["strategy"]["type"] == "Recreate"
                         and any("persistentVolumeClaim" in v for v in dep["spec"]["template"]["spec"]["volumes"]), "")
        if backend == "elasticsearch":
            report.check(f"{source}: >= 2 replicas", replicas >= 2, f"{replicas}")


def check_jaeger_sampling(rendered: dict[str, list[dict]], source: str, config: dict, dep: dict, report: Report) -> None:
    """Issue 17: remote_sampling serves the overlay's strategies file, mounted whole (kubelet
    refreshes it; a subPath mount never would) from its ConfigMap, on 5778/5779 of the pod, the
    jaeger-collector Service and the NetworkPolicy."""
    import json
    rs = config["extensions"].get("remote_sampling") or {}
    path = (rs.get("file") or {}).get("path", "")
    report.check(f"{source}: remote_sampling on, from a file, HTTP 5778 and gRPC 5779",
                 "remote_sampling" in config["service"]["extensions"] and path.startswith("/")
                 and (rs.get("http") or {}).get("endpoint") == "0.0.0.0:5778"
                 and (rs.get("grpc") or {}).get("endpoint") == "0.0.0.0:5779", repr(rs))
    cm = find(rendered, source, "ConfigMap", "jaeger-sampling-strategies")
    key = os.path.basename(path)
    data = (cm or {}).get("data", {})
    try:
        strategies = json.loads(data.get(key, ""))
    except ValueError:
        strategies = None
    report.check(f"{source}: ConfigMap jaeger-sampling-strategies holds {key} as JSON with a default_strategy",
                 isinstance(strategies, dict) and "default_strategy" in strategies, repr(sorted(data)))
    pod = dep["spec"]["template"]["spec"]
    (ctr,) = pod["containers"]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = [m for m in ctr.get("volumeMounts", []) if m["mountPath"] == os.path.dirname(path)]
    report.check(f"{source}: {os.path.dirname(path)} mounted read-only, whole, from that ConfigMap",
                 len(mounts) == 1 and mounts[0].get("readOnly") is True and "subPath" not in mounts[0]
                 and (volumes.get(mounts[0]["name"], {}).get("configMap") or {}).get("name") == "jaeger-sampling-strategies",
                 repr(mounts))
    want = {5778, 5779}
    ports = {p["containerPort"] for p in ctr.get("ports", [])}
    svc = find(rendered, source, "Service", "jaeger-collector") or {}
    svc_ports = {p["port"] for p in svc.get("spec", {}).get("ports", [])}
    netpol = find(rendered, source, "NetworkPolicy", "jaeger") or {}
    np_ports = {p["port"] for rule in netpol.get("spec", {}).get("ingress", []) for p in rule.get("ports", [])}
    report.check(f"{source}: 5778 and 5779 on the container, Service jaeger-collector and NetworkPolicy jaeger",
                 want <= ports and want <= svc_ports and want <= np_ports, f"{ports} {svc_ports} {np_ports}")


def check_argocd(rendered: dict[str, list[dict]], repo: str, report: Report) -> None:
    report.section("Argo CD: waves that order, retries, sync options, bootstrap")
    apps = {d["metadata"]["name"]: d for d in rendered.get("argocd.apps", [])
            if d["kind"] in ("Application", "ApplicationSet")}
    expected = {"cert-manager": -3, "otel-inject": -2, "jaeger": -1, "argo-workflows-crds": -1,
                "argo-workflows": 0, "argo-events": 0, "workloads": 1}
    for name, w in expected.items():
        report.check(f"argocd.apps: {name} wave {w}", name in apps and wave(apps[name]) == w,
                     f"{wave(apps[name]) if name in apps else 'missing'}")
    for name, app in apps.items():
        spec = app["spec"]["template"]["spec"] if app["kind"] == "ApplicationSet" else app["spec"]
        sync = spec.get("syncPolicy", {})
        report.check(f"argocd.apps: {name} retries", sync.get("retry", {}).get("limit", 0) >= 5 or
                     sync.get("retry", {}).get("limit") == -1, repr(sync.get("retry")))
        report.check(f"argocd.apps: {name} ServerSideApply", "ServerSideApply=true" in sync.get("syncOptions", []), "")
        src = spec["source"]
        if "chart" in src:
            report.check(f"argocd.apps: {name} chart version pinned",
                         re.fullmatch(r"v?\d+\.\d+\.\d+", str(src.get("targetRevision", ""))) is not None, repr(src.get("targetRevision")))
        elif app["kind"] == "Application" and src["repoURL"] == "https://github.com/otel-inject/otel-inject.git":
            path = os.path.join(repo, src["path"])
            report.check(f"argocd.apps: {name} path {src['path']} exists", os.path.isfile(os.path.join(path, "kustomization.yaml")), "")
    for name in ("otel-inject",):
        opts = apps[name]["spec"]["syncPolicy"]["syncOptions"]
        report.check(f"argocd.apps: {name} SkipDryRunOnMissingResource (cert-manager CRDs)",
                     "SkipDryRunOnMissingResource=true" in opts, repr(opts))
    wf = apps.get("argo-workflows", {}).get("spec", {}).get("source", {}).get("helm", {}).get("valuesObject", {})
    tag = str(wf.get("images", {}).get("tag", ""))
    m = re.fullmatch(r"v(\d+)\.(\d+)\.(\d+)", tag)
    report.check("argocd.apps: argo-workflows image >= v4.1", m is not None and (int(m[1]), int(m[2])) >= (4, 1), tag)
    # The controller's and executor's OTLP env: install_checks.check_argo_platform (traces only).

    appset = apps.get("workloads")
    if appset is not None:
        tmpl = appset["spec"]["template"]["spec"]
        report.check("argocd.apps: workloads AppSet skips dry-run (CRDs from other apps)",
                     "SkipDryRunOnMissingResource=true" in tmpl["syncPolicy"]["syncOptions"], "")
        gens = appset["spec"]["generators"][0]["matrix"]["generators"]
        envs = [e["env"] for e in gens[0]["list"]["elements"]]
        report.check("argocd.apps: workloads for dev, staging, prod", envs == ["dev", "staging", "prod"], repr(envs))
        pattern = gens[1]["git"]["directories"][0]["path"]
        dirs = sorted(d for d in glob.glob(os.path.join(repo, pattern)) if os.path.isdir(d))
        report.check("argocd.apps: workloads directories found", len(dirs) >= 3, repr(dirs))
        for d in dirs:
            base = os.path.basename(d)
            for e in envs:
                source = f"workloads.{base}.overlays.{e}"
                report.check(f"{source} rendered", source in rendered, "overlay missing")
                namespaces = {(doc.get("metadata") or {}).get("namespace") for doc in rendered.get(source, [])}
                report.check(f"{source}: namespace is the AppSet's {e}-{base}", namespaces == {f"{e}-{base}"}, repr(namespaces))

    root = rendered.get("argocd.root", [])
    report.check("argocd.root: one Application over deploy/argocd/apps",
                 len(root) == 1 and root[0]["spec"]["source"]["path"] == "deploy/argocd/apps", "")
    cm = find(rendered, "bootstrap", "ConfigMap", "argocd-cm")
    data = (cm or {}).get("data", {})
    report.check("bootstrap: Application health Lua (waves between Applications)",
                 "obj.status.health" in data.get("resource.customizations.health.argoproj.io_Application", ""), "")
    report.check("bootstrap: ignore the MWC caBundle",
                 "caBundle" in data.get("resource.customizations.ignoreDifferences.admissionregistration.k8s.io_MutatingWebhookConfiguration", ""), "")


def check_workloads(rendered: dict[str, list[dict]], report: Report) -> None:
    report.section("workloads: injection annotations and the ML pipeline")
    for env in ("dev", "staging", "prod"):
        src = f"workloads.demo-dotnet.overlays.{env}"
        dep = find(rendered, src, "Deployment", "demo-dotnet")
        ann = dep["spec"]["template"]["metadata"].get("annotations", {}) if dep else {}
        report.check(f"{src}: inject-dotnet on the pod template",
                     ann.get("instrumentation.opentelemetry.io/inject-dotnet") == "true", repr(ann))
        insts = [d for d in rendered.get(src, []) if d["kind"] == "Instrumentation"]
        report.check(f"{src}: exactly one Instrumentation, OTLP/HTTP 4318", len(insts) == 1
                     and insts[0]["spec"]["exporter"]["endpoint"].endswith(":4318"), "")
        src = f"workloads.shop.overlays.{env}"
        for name in ("orders-api", "inventory-api"):
            dep = find(rendered, src, "Deployment", name)
            ann = dep["spec"]["template"]["metadata"].get("annotations", {}) if dep else {}
            report.check(f"{src}: {name} inject-sdk", "instrumentation.opentelemetry.io/inject-sdk" in ann, repr(ann))
        src = f"workloads.ml-pipeline.overlays.{env}"
        wt = find(rendered, src, "WorkflowTemplate", "ml-pipeline")
        if wt is None:
            report.check(f"{src}: WorkflowTemplate", False, "missing")
            continue
        pm = wt["spec"].get("podMetadata", {})
        report.check(f"{src}: podMetadata opt-in", "instrumentation.opentelemetry.io/inject-sdk" in pm.get("annotations", {})
                     and pm.get("labels", {}).get("app.kubernetes.io/name") == "ml-pipeline", repr(pm))
        tasks = {t["name"]: t for t in next(t for t in wt["spec"]["templates"] if t["name"] == wt["spec"]["entrypoint"])["dag"]["tasks"]}
        report.check(f"{src}: DAG train -> evaluate", set(tasks) == {"train", "evaluate"}
                     and tasks["evaluate"].get("dependencies") == ["train"], repr(list(tasks)))
        sensor = find(rendered, src, "Sensor", "ml-pipeline")
        keys = [p["src"].get("dataKey") for t in (sensor or {}).get("spec", {}).get("triggers", [])
                for p in t["template"]["argoWorkflow"].get("parameters", [])]
        report.check(f"{src}: Sensor takes model and dataset from the event body", keys == ["body.model", "body.dataset"], repr(keys))
        bus = find(rendered, src, "EventBus", "default")
        report.check(f"{src}: EventBus jetstream pinned", bus is not None and
                     re.fullmatch(r"\d+\.\d+\.\d+", str(bus["spec"]["jetstream"].get("version", ""))) is not None, "")
        roles = {d["metadata"]["name"]: d for d in rendered.get(src, []) if d["kind"] == "Role"}
        rules = [(r["resources"], r["verbs"]) for role in roles.values() for r in role["rules"]]
        report.check(f"{src}: sensor may create workflows", any("workflows" in res and "create" in v for res, v in rules), repr(rules))
        report.check(f"{src}: executor may write workflowtaskresults",
                     any("workflowtaskresults" in res and {"create", "patch"} <= set(v) for res, v in rules), repr(rules))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rendered", required=True)
    parser.add_argument("--crd", required=True)
    parser.add_argument("--k8s-version", required=True)
    parser.add_argument("--repo", required=True)
    args = parser.parse_args()

    rendered = {os.path.basename(p)[:-len(".yaml")]: docs_of(p)
                for p in sorted(glob.glob(os.path.join(args.rendered, "*.yaml")))}
    report = Report()
    steps: list[tuple[str, Callable[[], None]]] = [
        ("schemas", lambda: validate_objects(rendered, args.crd, args.k8s_version, report)),
        ("images", lambda: check_images(rendered, report)),
        ("webhook", lambda: check_webhook(rendered, report)),
        ("controller", lambda: check_controller(rendered, report)),
        ("instrumentations", lambda: check_instrumentations(rendered, report)),
        ("jaeger", lambda: check_jaeger(rendered, report)),
        ("argocd", lambda: check_argocd(rendered, args.repo, report)),
        ("workloads", lambda: check_workloads(rendered, report)),
        # What a real install would hit (issue 14).
        ("webhook waves", lambda: install_checks.check_webhook_waves(rendered, report)),
        ("rollouts", lambda: install_checks.check_rollouts(rendered, args.repo, report)),
        ("cert chain", lambda: install_checks.check_cert_chain(rendered, report)),
        ("priority", lambda: install_checks.check_priority(rendered, report)),
        ("argo platform", lambda: install_checks.check_argo_platform(rendered, report)),
        ("event sources", lambda: install_checks.check_event_sources(rendered, report)),
        ("webhook network policy", lambda: install_checks.check_webhook_network_policy(rendered, report)),
        ("jaeger storage auth", lambda: install_checks.check_jaeger_storage_auth(rendered, report)),
        ("multi-cluster", lambda: install_checks.check_multi_cluster(rendered, report)),
    ]
    for name, step in steps:
        try:
            step()
        except Exception as err:  # a missing key in a manifest is a failed check, not a crash
            where = traceback.extract_tb(err.__traceback__)[-1]
            report.check(name, False, f"{type(err).__name__}: {err} (validate.py:{where.lineno})")
    print(f"validate: {report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
