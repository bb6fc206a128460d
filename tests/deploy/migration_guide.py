#!/usr/bin/env python3
"""Check deploy/README.md's migration from the OpenTelemetry Operator against the operator chart.

Every operator-chart value the guide names must exist in the chart's values.schema.json (kept in
tests/deploy/upstream/), and every values block it gives (a ```yaml block right after the line
`<!-- operator-chart values -->`) must pass that schema once merged onto the chart's defaults, as
`helm upgrade` validates it. The steps must come in an order that never deletes the CRD (the
`helm.sh/resource-policy: keep` annotation on the CRDs before anything removes them from the
release) and never injects a pod twice (the operator's injection off, or the operator gone,
before otel-inject's webhook is installed, at `<!-- step: install otel-inject -->`).

Usage: migration_guide.py README SCHEMA VALUES
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
from typing import Any

import jsonschema
import yaml

# The operator 0.158.0's languages that are on unless switched off (internal/config/config.go).
DEFAULT_ON = ["java", "nodejs", "python", "dotnet", "apache-httpd"]
VALUES_MARK = "<!-- operator-chart values -->"
INSTALL_MARK = "<!-- step: install otel-inject -->"


def section(readme: str) -> str:
    m = re.search(r"^## Moving from the OpenTelemetry Operator\n(.*?)(?=^## )", readme, re.S | re.M)
    return m.group(1) if m else ""


def resolve(schema: dict, path: list[str]) -> dict | None:
    node = schema
    for key in path:
        props = node.get("properties", {})
        if key in props:
            node = props[key]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        elif node.get("additionalProperties") is False or node.get("type") not in (None, "object"):
            return None
        else:
            return {}
    return node


def split_path(dotted: str) -> list[str]:
    # a.b."c/d".e -> [a, b, c/d, e]
    return [p.strip('"') for p in re.findall(r'"[^"]+"|[^.]+', dotted)]


def merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = merge(base.get(k), v)
        return out
    return over


def get(values: dict, *path: str) -> Any:
    for p in path:
        if not isinstance(values, dict) or p not in values:
            return None
        values = values[p]
    return values


def main() -> int:
    readme_path, schema_path, values_path = sys.argv[1:4]
    with open(readme_path, encoding="utf-8") as fh:
        text = section(fh.read())
    with open(schema_path, encoding="utf-8") as fh:
        schema = json.load(fh)
    with open(values_path, encoding="utf-8") as fh:
        defaults = yaml.safe_load(fh)
    failed = 0

    def check(name: str, ok: bool, detail: str = "") -> None:
        nonlocal failed
        print(f"  {'ok  ' if ok else 'FAIL'} {name}{'' if ok or not detail else ': ' + detail}")
        failed += 0 if ok else 1

    check("deploy/README.md has the section 'Moving from the OpenTelemetry Operator'", bool(text))
    top = set(schema.get("properties", {}))

    # 1. Inline values: `admissionWebhooks.pods.failurePolicy` or `crds.create: false`.
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    for span in re.findall(r"`([^`\n]+)`", prose):
        m = re.fullmatch(r'((?:[A-Za-z]\w*|"[^"]+")(?:\.(?:[\w-]+|"[^"]+"))+)(?::\s*(.+))?', span.strip())
        if not m or m.group(1).split(".")[0] not in top:
            continue
        node = resolve(schema, split_path(m.group(1)))
        check(f"operator chart value `{m.group(1)}` exists in its values.schema.json", node is not None)
        if node is not None and m.group(2):
            errors = list(jsonschema.Draft7Validator(node).iter_errors(yaml.safe_load(m.group(2))))
            check(f"`{span}` passes the schema", not errors, "; ".join(e.message for e in errors))

    # 2. Values blocks, merged onto the chart's defaults; 3. the order of the steps.
    blocks = [(m.start(), yaml.safe_load(textwrap.dedent(m.group(1))))
              for m in re.finditer(re.escape(VALUES_MARK) + r"[ \t]*\n[ \t]*```yaml\n(.*?)^[ \t]*```", text, re.S | re.M)]
    check("the guide gives its operator-chart values as blocks", bool(blocks), f"none after {VALUES_MARK}")
    validator = jsonschema.validators.validator_for(schema)(schema)
    keep_at = None
    injection_off_at = None
    for at, block in blocks:
        errors = sorted(validator.iter_errors(merge(defaults, block)), key=lambda e: list(e.path))
        check(f"values block at offset {at} passes the chart's schema (merged onto its defaults)", not errors,
              "; ".join(f"{'.'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors))
        if get(block, "crds", "annotations", "helm.sh/resource-policy") == "keep" and keep_at is None:
            keep_at = at
        if get(block, "crds", "create") is False:
            check("crds.create: false comes after the CRDs carry helm.sh/resource-policy: keep",
                  keep_at is not None and keep_at < at, "Helm would delete the CRD and every Instrumentation")
        args = get(block, "manager", "extraArgs") or []
        if all(f"--enable-{lang}-instrumentation=false" in args for lang in DEFAULT_ON) \
                and get(block, "manager", "autoInstrumentation", "go", "enabled") is not True:
            injection_off_at = at if injection_off_at is None else injection_off_at
    check("a step puts helm.sh/resource-policy: keep on the operator's CRDs", keep_at is not None)
    # Commands are what a reader runs: those in ```sh blocks.
    commands = [(m.start(1) + c.start(), c.group(0))
                for m in re.finditer(r"```sh\n(.*?)```", text, re.S)
                for c in re.finditer(r"helm (?:uninstall|delete) \S+", m.group(1))]
    for at, command in commands:
        check(f"`{command}` comes after the CRD keep annotation",
              keep_at is not None and keep_at < at, "the uninstall would delete the CRD")
    install_at = text.find(INSTALL_MARK)
    check("the guide marks where otel-inject is installed", install_at >= 0, INSTALL_MARK)
    uninstall = next((at for at, c in commands if "opentelemetry-operator" in c), None)
    check("every default-on language of the operator is switched off in one block "
          f"(--enable-{{{','.join(DEFAULT_ON)}}}-instrumentation=false)", injection_off_at is not None)
    for what, at in (("the operator's injection switched off", injection_off_at),
                     ("the operator's uninstall", uninstall)):
        if at is not None and install_at >= 0:
            check(f"{what} comes before otel-inject is installed (never two injections)", at < install_at)
    print(f"migration guide: {'ok' if not failed else f'{failed} failed'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
