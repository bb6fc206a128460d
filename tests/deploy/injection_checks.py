#!/usr/bin/env python3
"""Helpers for check_injection.sh.

  injection_checks.py argo-fixture ML_PIPELINE_RENDERED.yaml
      Print an Argo Workflows step pod for the WorkflowTemplate's `train` task, shaped as the
      workflow-controller creates it: initContainers [init], containers [wait, main] (wait first),
      the workflow label and owner, the template's podMetadata, TRACEPARENT on every container.
  injection_checks.py check DOTNET_IN DOTNET_OUT SHOP_IN SHOP_OUT ARGO_IN ARGO_OUT
      Assert what `otel-inject inject` made of them.
"""

from __future__ import annotations

import copy
import sys
from typing import Any

import yaml

DOTNET_INIT = "opentelemetry-auto-instrumentation-dotnet"
SDK_ENV = ("OTEL_SERVICE_NAME", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_RESOURCE_ATTRIBUTES")
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
ARGOEXEC = "quay.io/argoproj/argoexec:v4.1.2"


def load(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [d for d in yaml.safe_load_all(fh) if d]


def argo_fixture(rendered: str) -> None:
    template = next(d for d in load(rendered) if d["kind"] == "WorkflowTemplate")
    spec = template["spec"]
    train = next(t for t in spec["templates"] if t["name"] == "train")
    workflow = f"{template['metadata']['name']}-x7k2p"
    argo_env = [
        {"name": "ARGO_POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
        {"name": "ARGO_WORKFLOW_NAME", "value": workflow},
        {"name": "TRACEPARENT", "value": TRACEPARENT},
    ]
    argo_mounts = [{"name": "var-run-argo", "mountPath": "/var/run/argo"}]
    main = copy.deepcopy(train["container"])
    main.update({
        "name": "main",
        "command": ["/var/run/argo/argoexec", "emissary", "--", "ml-train"],
        "env": [{"name": "ARGO_CONTAINER_NAME", "value": "main"}, {"name": "TRACEPARENT", "value": TRACEPARENT}],
        "volumeMounts": argo_mounts,
    })
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{workflow}-train-1340600742",
            "namespace": template["metadata"]["namespace"],
            "labels": {**spec["podMetadata"].get("labels", {}),
                       "workflows.argoproj.io/workflow": workflow,
                       "workflows.argoproj.io/completed": "false"},
            "annotations": {**spec["podMetadata"].get("annotations", {}),
                            "workflows.argoproj.io/node-name": f"{workflow}.train",
                            "workflows.argoproj.io/node-id": f"{workflow}-1340600742",
                            "kubectl.kubernetes.io/default-container": "main"},
            "ownerReferences": [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "name": workflow,
                                 "uid": "6f3c1b9e-1f0a-4c55-9d6b-0c4c3c1a2b7d", "controller": True,
                                 "blockOwnerDeletion": True}],
        },
        "spec": {
            "serviceAccountName": spec["serviceAccountName"],
            "securityContext": spec.get("securityContext", {}),
            "restartPolicy": "Never",
            "initContainers": [{"name": "init", "image": ARGOEXEC, "command": ["argoexec", "init"],
                                "env": copy.deepcopy(argo_env), "volumeMounts": copy.deepcopy(argo_mounts)}],
            "containers": [
                {"name": "wait", "image": ARGOEXEC, "command": ["argoexec", "wait"],
                 "env": copy.deepcopy(argo_env), "volumeMounts": copy.deepcopy(argo_mounts)},
                main,
            ],
            "volumes": [{"name": "var-run-argo", "emptyDir": {}}],
        },
    }
    yaml.safe_dump(pod, sys.stdout, sort_keys=False)


class Checks:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def __call__(self, name: str, ok: bool, detail: Any = "") -> None:
        if ok:
            self.passed += 1
            print(f"  ok   {name}")
        else:
            self.failed += 1
            print(f"  FAIL {name}: {detail}")


def pod_spec(doc: dict) -> dict:
    return doc["spec"] if doc["kind"] == "Pod" else doc["spec"]["template"]["spec"]


def find(docs: list[dict], kind: str, name: str) -> dict:
    for doc in docs:
        if doc.get("kind") == kind and doc["metadata"]["name"] == name:
            return doc
    raise SystemExit(f"injection_checks: {kind}/{name} missing from the inject output")


def env_of(container: dict) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def containers(spec: dict) -> dict[str, dict]:
    return {c["name"]: c for c in spec.get("containers", [])}


def check(dotnet_in: str, dotnet_out: str, shop_in: str, shop_out: str, argo_in: str, argo_out: str) -> int:
    ok = Checks()

    print("-- demo-dotnet (inject-dotnet)")
    before = find(load(dotnet_in), "Deployment", "demo-dotnet")
    after = find(load(dotnet_out), "Deployment", "demo-dotnet")
    spec = pod_spec(after)
    inits = [c["name"] for c in spec.get("initContainers", [])]
    ok("init container opentelemetry-auto-instrumentation-dotnet", DOTNET_INIT in inits, inits)
    init = next((c for c in spec.get("initContainers", []) if c["name"] == DOTNET_INIT), {})
    ok("agent image from the demo's Instrumentation",
       init.get("image") == "ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation-dotnet:1.16.0", init.get("image"))
    app = containers(spec)["demo-dotnet"]
    env = env_of(app)
    ok("CORECLR_ENABLE_PROFILING=1", env.get("CORECLR_ENABLE_PROFILING") == "1", env.get("CORECLR_ENABLE_PROFILING"))
    ok("CORECLR_PROFILER_PATH under the agent volume",
       str(env.get("CORECLR_PROFILER_PATH", "")).startswith("/otel-auto-instrumentation-dotnet/"), env.get("CORECLR_PROFILER_PATH"))
    ok("exports OTLP/HTTP to the Jaeger collector",
       env.get("OTEL_EXPORTER_OTLP_ENDPOINT") == "http://jaeger-collector.monitoring.svc.cluster.local:4318",
       env.get("OTEL_EXPORTER_OTLP_ENDPOINT"))
    own = containers(pod_spec(before))["demo-dotnet"]["env"]
    kept = [e for e in app["env"] if e["name"] in {o["name"] for o in own}]
    ok("the app's own env kept, unchanged and in order (OTEL_NODE_IP/OTEL_POD_IP may precede it)",
       kept == own, [e["name"] for e in app["env"]])
    ok("the Deployment's other fields untouched",
       {k: v for k, v in after["spec"].items() if k != "template"} == {k: v for k, v in before["spec"].items() if k != "template"}, "")

    print("-- orders-api, inventory-api (inject-sdk)")
    shop_before = load(shop_in)
    shop_after = load(shop_out)
    for name in ("orders-api", "inventory-api"):
        spec = pod_spec(find(shop_after, "Deployment", name))
        env = env_of(containers(spec)[name])
        for var in SDK_ENV:
            ok(f"{name}: {var}", var in env, sorted(env))
        ok(f"{name}: OTEL_SERVICE_NAME={name}", env.get("OTEL_SERVICE_NAME") == name, env.get("OTEL_SERVICE_NAME"))
        # The shop sets its own sampler (strategies from Jaeger); the Instrumentation's must not
        # be added beside it or replace it: the container's own pair comes out as it went in.
        own = env_of(containers(pod_spec(find(shop_before, "Deployment", name)))[name])
        ok(f"{name}: its own sampler kept", env.get("OTEL_TRACES_SAMPLER") == own.get("OTEL_TRACES_SAMPLER") == "parentbased_jaeger_remote",
           env.get("OTEL_TRACES_SAMPLER"))
        ok(f"{name}: its own sampler argument kept", env.get("OTEL_TRACES_SAMPLER_ARG") == own.get("OTEL_TRACES_SAMPLER_ARG")
           and str(own.get("OTEL_TRACES_SAMPLER_ARG")).startswith("endpoint=http://jaeger-collector.monitoring.svc.cluster.local:5778/sampling,"),
           env.get("OTEL_TRACES_SAMPLER_ARG"))
        names = [e["name"] for e in containers(spec)[name].get("env", [])]
        ok(f"{name}: one of each sampler variable", names.count("OTEL_TRACES_SAMPLER") == names.count("OTEL_TRACES_SAMPLER_ARG") == 1, names)
        ok(f"{name}: no init container", not spec.get("initContainers"), spec.get("initContainers"))
        before_spec = pod_spec(find(shop_before, "Deployment", name))
        ok(f"{name}: no volume added", spec.get("volumes") == before_spec.get("volumes"), spec.get("volumes"))
    for doc in shop_before:
        if doc["kind"] != "Deployment":
            ok(f"{doc['kind']}/{doc['metadata']['name']} passed through unchanged", doc in shop_after, "changed or dropped")

    print("-- Argo Workflows step pod (podMetadata inject-sdk): only `main`")
    before = load(argo_in)[0]
    after = load(argo_out)[0]
    spec, spec_before = pod_spec(after), pod_spec(before)
    ctrs, ctrs_before = containers(spec), containers(spec_before)
    ok("containers still [wait, main] in that order", [c["name"] for c in spec["containers"]] == ["wait", "main"],
       [c["name"] for c in spec["containers"]])
    env = env_of(ctrs["main"])
    for var in SDK_ENV:
        ok(f"main: {var}", var in env, sorted(env))
    ok("main: service name from app.kubernetes.io/name, not the pod name",
       env.get("OTEL_SERVICE_NAME") == "ml-pipeline", env.get("OTEL_SERVICE_NAME"))
    ok("main: Argo's TRACEPARENT kept", env.get("TRACEPARENT") == TRACEPARENT, env.get("TRACEPARENT"))
    ok("wait: untouched", ctrs["wait"] == ctrs_before["wait"], env_of(ctrs["wait"]))
    ok("init: untouched, and no init container added (SDK only)",
       spec.get("initContainers") == spec_before.get("initContainers"), [c["name"] for c in spec.get("initContainers", [])])
    ok("volumes unchanged", spec.get("volumes") == spec_before.get("volumes"), spec.get("volumes"))

    print(f"check_injection: {ok.passed} passed, {ok.failed} failed")
    return 1 if ok.failed else 0


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "argo-fixture":
        argo_fixture(sys.argv[2])
        return 0
    if len(sys.argv) == 8 and sys.argv[1] == "check":
        return check(*sys.argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
