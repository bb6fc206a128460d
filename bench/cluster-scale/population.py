#!/usr/bin/env python3
"""Writes the cluster-scale population as Kubernetes `List` files of CHUNK objects each.

    population.py namespaces OUT_DIR
    population.py deployments OUT_DIR
    population.py owned OUT_DIR < "namespace uid" lines of the Deployments

Per namespace `cs-NNNN`: one paused Deployment with `replicas: 0`, four ReplicaSets owned by it
(its revision history: replicas 0, one template per image tag) and one Job with `parallelism: 0`
(Kubernetes 1.20 has no `spec.suspend`; zero parallelism is its way to run no pod). Owner
references point at a Deployment that exists, or the garbage collector would delete the
objects; the Deployment is paused so that its controller creates no ReplicaSet of its own.
Names have the shapes and lengths of real ones (`<deployment>-<10-char hash>`).

Sizes come from the environment: NAMESPACES (5000), RS_PER_NAMESPACE (4), JOBS_PER_NAMESPACE (1),
CHUNK (500).
"""

import json
import os
import sys

LABEL = "otel-inject.dev/bench"
VALUE = "cluster-scale"
NAMESPACES = int(os.environ.get("NAMESPACES", "5000"))
RS_PER_NS = int(os.environ.get("RS_PER_NAMESPACE", "4"))
JOBS_PER_NS = int(os.environ.get("JOBS_PER_NAMESPACE", "1"))
CHUNK = int(os.environ.get("CHUNK", "500"))
APPS = ["checkout", "billing-api", "catalog", "frontend", "payments-worker", "search", "inventory", "notifications"]


def ns_name(i):
    return f"cs-{i:04d}"


def app_name(i):
    return f"{APPS[i % len(APPS)]}-{i:04d}"


def pod_hash(i, rev):
    # Deterministic, the 10 characters of the alphabet the controller uses.
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    n = (i * 7919 + rev * 104729) * 2654435761 % (27**10)
    out = ""
    for _ in range(10):
        n, r = divmod(n, 27)
        out += alphabet[r]
    return out


def template(app, tag, extra_labels=None):
    labels = {"app": app}
    labels.update(extra_labels or {})
    return {
        "metadata": {"labels": labels},
        "spec": {
            "containers": [{"name": "app", "image": f"registry.example/{app.rsplit('-', 1)[0]}:{tag}"}],
        },
    }


def namespace(i):
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": ns_name(i),
            "labels": {LABEL: VALUE, "team": f"team-{i % 50:02d}", "env": ["dev", "staging", "prod"][i % 3]},
        },
    }


def deployment(i):
    app = app_name(i)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": app, "namespace": ns_name(i), "labels": {LABEL: VALUE, "app": app}},
        "spec": {
            "replicas": 0,
            "paused": True,
            "selector": {"matchLabels": {"app": app}},
            "template": template(app, f"v{RS_PER_NS}"),
        },
    }


def owner(kind_api, kind, name, uid, controller):
    return [{"apiVersion": kind_api, "kind": kind, "name": name, "uid": uid, "controller": controller, "blockOwnerDeletion": True}]


def replicaset(i, rev, deploy_uid):
    app = app_name(i)
    h = pod_hash(i, rev)
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{app}-{h}",
            "namespace": ns_name(i),
            "labels": {LABEL: VALUE, "app": app, "pod-template-hash": h},
            "annotations": {"deployment.kubernetes.io/revision": str(rev)},
            "ownerReferences": owner("apps/v1", "Deployment", app, deploy_uid, True),
        },
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": app, "pod-template-hash": h}},
            "template": template(app, f"v{rev}", {"pod-template-hash": h}),
        },
    }


def job(i, n, deploy_uid):
    app = app_name(i)
    name = f"{app}-migrate-{27834560 + n}"
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": ns_name(i),
            "labels": {LABEL: VALUE, "app": app},
            # Not a controller reference: the Deployment does not manage Jobs, it only keeps them.
            "ownerReferences": owner("apps/v1", "Deployment", app, deploy_uid, False),
        },
        "spec": {
            "parallelism": 0,
            "completions": 1,
            "template": {
                "metadata": {"labels": {"app": app, "job": "migrate"}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "migrate", "image": f"registry.example/{app}:migrate"}]},
            },
        },
    }


def write_chunks(out_dir, prefix, objects):
    os.makedirs(out_dir, exist_ok=True)
    chunk, n = [], 0
    for o in objects:
        chunk.append(o)
        if len(chunk) == CHUNK:
            write(out_dir, prefix, n, chunk)
            chunk, n = [], n + 1
    if chunk:
        write(out_dir, prefix, n, chunk)


def write(out_dir, prefix, n, items):
    with open(os.path.join(out_dir, f"{prefix}-{n:03d}.json"), "w") as f:
        json.dump({"apiVersion": "v1", "kind": "List", "items": items}, f)


def main():
    what, out_dir = sys.argv[1], sys.argv[2]
    if what == "namespaces":
        write_chunks(out_dir, "ns", (namespace(i) for i in range(NAMESPACES)))
    elif what == "deployments":
        write_chunks(out_dir, "deploy", (deployment(i) for i in range(NAMESPACES)))
    elif what == "owned":
        uids = {}
        for line in sys.stdin:
            parts = line.split()
            if len(parts) == 2:
                uids[parts[0]] = parts[1]
        def owned():
            for i in range(NAMESPACES):
                uid = uids.get(ns_name(i))
                if uid is None:
                    continue
                for rev in range(1, RS_PER_NS + 1):
                    yield replicaset(i, rev, uid)
                for n in range(JOBS_PER_NS):
                    yield job(i, n, uid)
        write_chunks(out_dir, "owned", owned())
    else:
        sys.exit(f"unknown part {what!r}: namespaces, deployments or owned")


if __name__ == "__main__":
    main()
