#!/usr/bin/env python3
"""The Helm chart and the kustomize overlays render the same webhook.

For each pair (a kustomize rendering, the chart rendered with the ci/ values file that stands for
it), every object both produce must be equal, apart from what only says who applied it (the
`app.kubernetes.io/managed-by` and `helm.sh/chart` labels, Helm's `helm.sh/resource-policy`), and
neither may produce an object the other lacks, except the Namespace (Helm installs into a
namespace it is given).

Usage: chart_agreement.py KUSTOMIZE.yaml CHART.yaml [KUSTOMIZE.yaml CHART.yaml ...]
"""

from __future__ import annotations

import sys
from typing import Any

import yaml

WHO_APPLIED_LABELS = {"app.kubernetes.io/managed-by", "helm.sh/chart"}
WHO_APPLIED_ANNOTATIONS = {"helm.sh/resource-policy"}
ONLY_IN_KUSTOMIZE = {("Namespace", "")}


def key(doc: dict) -> tuple[str, str, str]:
    meta = doc.get("metadata") or {}
    return (doc["kind"], meta.get("namespace") or "", meta["name"])


def normalise(node: Any, path: str = "") -> Any:
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if path.endswith("metadata") and k in ("labels", "annotations") and isinstance(v, dict):
                drop = WHO_APPLIED_LABELS if k == "labels" else WHO_APPLIED_ANNOTATIONS
                v = {lk: lv for lk, lv in v.items() if lk not in drop}
                if not v:
                    continue
            out[k] = normalise(v, f"{path}/{k}")
        return out
    if isinstance(node, list):
        return [normalise(v, f"{path}/{i}") for i, v in enumerate(node)]
    return node


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            if k not in a:
                out.append(f"{path}/{k}: only in the chart")
            elif k not in b:
                out.append(f"{path}/{k}: only in kustomize")
            else:
                out.extend(differences(a[k], b[k], f"{path}/{k}"))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}/{i}")]
    return [] if a == b else [f"{path or '/'}: kustomize {a!r} != chart {b!r}"]


def load(path: str) -> dict[tuple[str, str, str], dict]:
    with open(path, encoding="utf-8") as fh:
        return {key(d): normalise(d) for d in yaml.safe_load_all(fh) if d}


def main() -> int:
    pairs = list(zip(sys.argv[1::2], sys.argv[2::2]))
    failed = 0
    for kustomize_path, chart_path in pairs:
        ours, chart = load(kustomize_path), load(chart_path)
        name = f"{kustomize_path.rsplit('/', 1)[-1]} ~ {chart_path.rsplit('/', 1)[-1]}"
        both = sorted(set(ours) & set(chart))
        for k in both:
            diff = differences(ours[k], chart[k])
            if diff:
                failed += 1
                print(f"  FAIL {name}: {k[0]}/{k[2]} differs:\n" + "\n".join(f"         {d}" for d in diff[:20]))
        for k in sorted(set(ours) - set(chart)):
            if (k[0], k[1] if k[0] != "Namespace" else "") not in ONLY_IN_KUSTOMIZE:
                failed += 1
                print(f"  FAIL {name}: {k[0]}/{k[2]} only in kustomize")
        for k in sorted(set(chart) - set(ours)):
            failed += 1
            print(f"  FAIL {name}: {k[0]}/{k[2]} only in the chart")
        print(f"  {name}: {len(both)} objects in both compared")
    print(f"chart agreement: {'ok' if not failed else f'{failed} failed'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
