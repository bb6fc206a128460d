#!/usr/bin/env python3
"""Run the health checks of deploy/bootstrap/argocd-cm.yaml in a real Lua 5.1 (Argo CD's
gopher-lua speaks 5.1) on the states that decide whether sync waves order anything: a child
Application or an ApplicationSet that is not Healthy yet must hold the next wave back.

Usage: argocd_health.py ARGOCD_CM LUA
"""

from __future__ import annotations

import json
import subprocess
import sys

import yaml


def to_lua(v: object) -> str:
    if isinstance(v, dict):
        return "{" + ",".join(f"[{json.dumps(k)}]={to_lua(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "{" + ",".join(to_lua(x) for x in v) + "}"
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(v) if isinstance(v, str) else str(v)


def health(lua: str, script: str, obj: dict) -> str:
    prog = f"obj = {to_lua(obj)}\nlocal function check()\n{script}\nend\nprint(check().status)\n"
    r = subprocess.run([lua, "-"], input=prog, capture_output=True, text=True, check=False)
    return r.stdout.strip() or f"error: {r.stderr.strip()}"


def res(*states: str) -> list[dict]:
    return [{"name": f"app-{i}", "health": {"status": s}} for i, s in enumerate(states)]


CASES = {
    "argoproj.io_Application": [
        ("just created, no status", {}, "Progressing"),
        ("child Progressing", {"status": {"health": {"status": "Progressing"}}}, "Progressing"),
        ("child Degraded", {"status": {"health": {"status": "Degraded", "message": "x"}}}, "Degraded"),
        ("child Healthy", {"status": {"health": {"status": "Healthy"}}}, "Healthy"),
    ],
    "argoproj.io_ApplicationSet": [
        ("just created, no status", {}, "Progressing"),
        ("no Application generated yet", {"status": {"conditions": []}}, "Progressing"),
        ("generator error", {"status": {"conditions": [{"type": "ErrorOccurred", "status": "True", "message": "m"}]}}, "Degraded"),
        ("one of two Progressing", {"status": {"resourcesCount": 2, "resources": res("Healthy", "Progressing")}}, "Progressing"),
        ("list cut short by the controller", {"status": {"resourcesCount": 3, "resources": res("Healthy")}}, "Progressing"),
        ("one Degraded", {"status": {"resources": res("Healthy", "Degraded")}}, "Degraded"),
        ("all Healthy", {"status": {"resourcesCount": 2, "resources": res("Healthy", "Healthy")}}, "Healthy"),
    ],
}


def main() -> int:
    cm_path, lua = sys.argv[1:3]
    with open(cm_path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)["data"]
    failed = 0
    for kind, cases in CASES.items():
        script = data.get(f"resource.customizations.health.{kind}")
        if script is None:
            print(f"  FAIL no health check for {kind}")
            failed += 1
            continue
        for name, obj, want in cases:
            got = health(lua, script, obj)
            ok = got == want
            failed += 0 if ok else 1
            print(f"  {'ok  ' if ok else 'FAIL'} {kind}: {name} -> {got}" + ("" if ok else f" (want {want})"))
    print(f"argocd health checks: {'ok' if not failed else f'{failed} failed'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
