#!/usr/bin/env python3
"""Fail on every checkov failure that checkov-skips.txt does not explain.

Skip file lines: `CHECK_ID RESOURCE_GLOB # reason`. RESOURCE_GLOB matches checkov's resource id
(`Kind.namespace.name`, fnmatch syntax, `*` for every resource). A skip must carry a reason and must
still match something: a stale skip fails too, so the list cannot rot into blanket exemptions.

Usage: checkov_gate.py CHECKOV_JSON SKIP_FILE
"""

from __future__ import annotations

import fnmatch
import json
import sys


def load_skips(path: str) -> list[tuple[str, str, str]]:
    skips = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            rule, _, reason = line.partition("#")
            fields = rule.split()
            if len(fields) != 2 or not reason.strip():
                raise SystemExit(f"{path}:{number}: expected `CHECK_ID RESOURCE_GLOB # reason`, got {line!r}")
            skips.append((fields[0], fields[1], reason.strip()))
    return skips


def main() -> int:
    report_path, skip_path = sys.argv[1], sys.argv[2]
    with open(report_path, encoding="utf-8") as fh:
        report = json.load(fh)
    reports = report if isinstance(report, list) else [report]
    failed = [c for r in reports for c in r.get("results", {}).get("failed_checks", [])]
    passed = sum(r.get("summary", {}).get("passed", 0) for r in reports)
    resources = sum(r.get("summary", {}).get("resource_count", 0) for r in reports)
    skips = load_skips(skip_path)
    used = [0] * len(skips)
    unexplained = []
    for check in failed:
        for i, (check_id, glob, _) in enumerate(skips):
            if check["check_id"] == check_id and fnmatch.fnmatchcase(check["resource"], glob):
                used[i] += 1
                break
        else:
            unexplained.append(check)
    for check in unexplained:
        print(f"  FAIL {check['check_id']} {check.get('check_name', '')}: {check['resource']} "
              f"({check.get('file_path', '')}:{'-'.join(str(n) for n in check.get('file_line_range', []))})")
    stale = [s for s, n in zip(skips, used) if n == 0]
    for check_id, glob, _ in stale:
        print(f"  FAIL stale skip {check_id} {glob}: matches no failed check any more; remove it")
    for (check_id, glob, reason), n in zip(skips, used):
        if n:
            print(f"  skip {check_id} {glob} ({n}x): {reason}")
    print(f"checkov: {resources} resources, {passed} passed, {len(failed) - len(unexplained)} failed but skipped with a reason, "
          f"{len(unexplained)} failed, {len(stale)} stale skips")
    return 1 if unexplained or stale else 0


if __name__ == "__main__":
    sys.exit(main())
