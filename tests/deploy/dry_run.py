#!/usr/bin/env python3
"""Server-side dry run of every rendered deploy/ object against a real API server (k8s-local).

The CRDs the objects need are installed first, from files kept in tests/deploy/upstream/crds/
(cert-manager 1.18.6, Argo CD 3.4.4, Argo Events 1.9.10, Argo Workflows 4.1.2) and our own
generated one. Then each rendering is applied as Argo CD applies it (server-side apply) with
--dry-run=server: the API server's own validation, defaulting and admission run, nothing is
stored. What comes back is compared with what was sent: a field the API server dropped (a CRD
schema that does not know it prunes it silently) fails, like a refusal. Objects whose API
version this server does not serve are listed and skipped with the reason. Namespaces the
objects need and that do not exist are created for the run and deleted after it.

Usage: dry_run.py --rendered DIR --crds DIR --our-crd FILE [--keep-namespaces]
KUBECONFIG must point at the throwaway cluster.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any, Iterator

import yaml

MANAGER = "otel-inject-deploy-dry-run"
# Why an API version may be missing here (k8s-local runs Kubernetes 1.20).
WHY_UNSERVED = {
    "policy/v1": "PodDisruptionBudget policy/v1 is served from Kubernetes 1.21; 1.20 has only policy/v1beta1",
}


def core_group_in_project(doc: dict) -> bool:
    spec = doc.get("spec") or {}
    return doc["kind"] == "AppProject" and any(
        item.get("group") == "" for key in ("clusterResourceWhitelist", "clusterResourceBlacklist",
                                            "namespaceResourceWhitelist", "namespaceResourceBlacklist")
        for item in spec.get(key) or [])


# Objects this API server cannot judge, with why (checked: the same object is refused by
# `kubectl create --dry-run=server` on k8s-local's 1.20 and is Argo CD's documented form).
SKIP_OBJECTS = [
    (core_group_in_project,
     'AppProject naming the core group ("group: \'\'"): Kubernetes 1.20 validates an empty string in a '
     'required CRD string field as null and refuses it'),
]


def kubectl(*args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["kubectl", *args], input=stdin, capture_output=True, text=True, check=check)


def leaves(node: Any, path: tuple = ()) -> Iterator[tuple]:
    if isinstance(node, dict) and node:
        for k, v in node.items():
            yield from leaves(v, path + (k,))
    elif isinstance(node, list) and node:
        for i, v in enumerate(node):
            yield from leaves(v, path + (i,))
    else:
        yield path


def has(node: Any, path: tuple) -> bool:
    for p in path:
        if isinstance(node, dict) and p in node:
            node = node[p]
        elif isinstance(node, list) and isinstance(p, int) and p < len(node):
            node = node[p]
        else:
            return False
    return True


def for_old_server(node: Any, adjusted: dict[str, int]) -> Any:
    """Drops from a CRD schema what Kubernetes 1.20 refuses: CEL rules (x-kubernetes-validations,
    1.25+; so they are not enforced here) and empty-string defaults (1.20 reads them as null and
    rejects the CRD: cert-manager's Issuer). Neither changes which fields exist."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "x-kubernetes-validations":
                adjusted["x-kubernetes-validations dropped (CEL needs 1.25; not enforced here)"] = \
                    adjusted.get("x-kubernetes-validations dropped (CEL needs 1.25; not enforced here)", 0) + 1
                continue
            if k == "default" and v == "":
                adjusted['default: "" dropped (1.20 rejects empty-string defaults)'] = \
                    adjusted.get('default: "" dropped (1.20 rejects empty-string defaults)', 0) + 1
                continue
            out[k] = for_old_server(v, adjusted)
        return out
    if isinstance(node, list):
        return [for_old_server(v, adjusted) for v in node]
    return node


def value_at(node: Any, path: tuple) -> Any:
    for p in path:
        node = node[p]
    return node


def ident(doc: dict) -> str:
    m = doc.get("metadata") or {}
    return f"{doc['kind']}/{m.get('namespace') + '/' if m.get('namespace') else ''}{m.get('name')}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rendered", required=True)
    ap.add_argument("--crds", required=True)
    ap.add_argument("--our-crd", required=True)
    ap.add_argument("--keep-namespaces", action="store_true")
    args = ap.parse_args()
    start = time.time()
    failed = 0

    def check(name: str, ok: bool, detail: str = "") -> None:
        nonlocal failed
        failed += 0 if ok else 1
        if not ok:
            print(f"  FAIL {name}: {detail}")

    # 1. The CRDs, for real (they are what the objects are checked against), made acceptable to
    #    this API server where it is older than they are; every change is counted and printed.
    crds = []
    adjusted: dict[str, int] = {}
    for path in sorted(glob.glob(os.path.join(args.crds, "*.yaml.gz"))):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            crd = yaml.safe_load(fh)
        crds.append(yaml.safe_dump(for_old_server(crd, adjusted)))
    with open(args.our_crd, encoding="utf-8") as fh:
        crds.append(fh.read())
    for why, n in sorted(adjusted.items()):
        print(f"   upstream CRDs adjusted for this API server: {n}x {why}")
    # Installed once per content: Argo Workflows' CRD alone is 2.7 MB to send and validate.
    installed = {}
    listing = kubectl("get", "crd", "-o", "json", check=False)
    if listing.returncode == 0:
        for item in json.loads(listing.stdout)["items"]:
            installed[item["metadata"]["name"]] = (item["metadata"].get("annotations") or {}).get(f"{MANAGER}/sha256")
    names = []
    for text in crds:
        crd = yaml.safe_load(text)
        name = crd["metadata"]["name"]
        names.append(name)
        digest = hashlib.sha256(text.encode()).hexdigest()
        if installed.get(name) == digest:
            continue
        crd["metadata"].setdefault("annotations", {})[f"{MANAGER}/sha256"] = digest
        r = kubectl("apply", "--server-side", "--force-conflicts", f"--field-manager={MANAGER}", "-f", "-",
                    stdin=yaml.safe_dump(crd), check=False)
        check(f"install CRD {name}", r.returncode == 0, r.stderr.strip())
    r = kubectl("wait", "--for=condition=Established", "--timeout=60s", *[f"crd/{n}" for n in names], check=False)
    check("CRDs Established", r.returncode == 0, r.stderr.strip())
    print(f"   {len(names)} CRDs installed ({time.time() - start:.1f}s)")
    served = set(kubectl("api-versions").stdout.split())

    # 2. The objects, per rendering; the namespaces they need.
    renderings = {}
    for path in sorted(glob.glob(os.path.join(args.rendered, "*.yaml"))):
        with open(path, encoding="utf-8") as fh:
            renderings[os.path.basename(path)[:-5]] = [d for d in yaml.safe_load_all(fh) if d]
    # A previous run's namespaces may still be terminating.
    kubectl("wait", "--for=delete", "namespace", "-l", f"{MANAGER}=true", "--timeout=120s", check=False)
    existing = set(kubectl("get", "namespaces", "-o", "jsonpath={.items[*].metadata.name}").stdout.split())
    wanted = {(d.get("metadata") or {}).get("namespace") for docs in renderings.values() for d in docs} - {None}
    created = sorted(wanted - existing)
    for ns in created:
        kubectl("create", "namespace", ns)
        kubectl("label", "namespace", ns, f"{MANAGER}=true")
    skipped: dict[str, int] = {}
    checked = 0
    try:
        for source, docs in renderings.items():
            sent = []
            for d in docs:
                if d["apiVersion"] not in served:
                    why = WHY_UNSERVED.get(d["apiVersion"], f"{d['apiVersion']} is not served by this API server")
                    skipped[f"{d['apiVersion']} {d['kind']}: {why}"] = skipped.get(f"{d['apiVersion']} {d['kind']}: {why}", 0) + 1
                    continue
                why = next((w for pred, w in SKIP_OBJECTS if pred(d)), None)
                if why:
                    skipped[f"{ident(d)}: {why}"] = skipped.get(f"{ident(d)}: {why}", 0) + 1
                    continue
                sent.append(d)
            if not sent:
                continue
            with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as fh:
                yaml.safe_dump_all(sent, fh)
            r = kubectl("apply", "--server-side", "--force-conflicts", "--dry-run=server",
                        f"--field-manager={MANAGER}", "-o", "json", "-f", fh.name, check=False)
            os.unlink(fh.name)
            check(f"{source}: the API server accepts every object", r.returncode == 0, r.stderr.strip()[:3000])
            if not r.stdout.strip():
                continue
            out = json.loads(r.stdout)
            got = {ident(o): o for o in (out.get("items", [out]) if out.get("kind") == "List" else [out])}
            for d in sent:
                back = got.get(ident(d))
                if back is None:
                    continue  # its refusal is in the stderr above
                checked += 1
                # A zero value the server does not echo (omitempty: globalDefault: false) is not lost.
                lost = ["/".join(map(str, p)) for p in leaves(d) if p and not has(back, p)
                        and p[:2] != ("metadata", "creationTimestamp") and value_at(d, p) not in (False, 0, "", None, {}, [])]
                check(f"{source}: {ident(d)} stored as sent (nothing pruned)", not lost, ", ".join(lost[:10]))
    finally:
        if not args.keep_namespaces:
            for ns in created:
                kubectl("delete", "namespace", ns, "--wait=false", check=False)
    for why, n in sorted(skipped.items()):
        print(f"   skipped {n}x {why}")
    print(f"dry run: {checked} objects accepted and stored as sent, in {time.time() - start:.1f}s; "
          f"{'ok' if not failed else f'{failed} failed'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
