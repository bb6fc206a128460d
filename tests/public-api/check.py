#!/usr/bin/env python3
"""The public API of a crate, from rustdoc's JSON, compared with its checked-in snapshot.

    check.py CRATE_JSON SNAPSHOT [--bless]

One line per public item reachable from the crate root: modules, functions and methods with
their signatures, types with their public fields and variants, constants, traits and the trait
implementations a caller can name. A difference fails with a diff; `--bless` rewrites the
snapshot (review it like code: every line is a promise to the crate's users).
"""
import difflib
import json
import sys

doc = json.load(open(sys.argv[1]))
index, paths = doc["index"], doc["paths"]


def item(i):
    return index.get(str(i))


def ty(t):
    """A type as source text (close enough to read; exact enough to change when it does)."""
    if t is None:
        return "()"
    k, v = next(iter(t.items()))
    if k == "primitive":
        return v
    if k == "generic":
        return v
    if k == "resolved_path":
        args = v.get("args") or {}
        a = args.get("angle_bracketed") if isinstance(args, dict) else None
        inner = ""
        if a and a.get("args"):
            parts = []
            for x in a["args"]:
                if "type" in x:
                    parts.append(ty(x["type"]))
                elif "lifetime" in x:
                    parts.append(x["lifetime"])
                else:
                    parts.append("_")
            inner = "<" + ", ".join(parts) + ">"
        return v["path"] + inner
    if k == "borrowed_ref":
        lt = (v["lifetime"] + " ") if v.get("lifetime") else ""
        return "&" + lt + ("mut " if v["is_mutable"] else "") + ty(v["type"])
    if k == "slice":
        return "[" + ty(v) + "]"
    if k == "array":
        return "[" + ty(v["type"]) + "; " + v["len"] + "]"
    if k == "tuple":
        return "(" + ", ".join(ty(x) for x in v) + ")"
    if k == "impl_trait":
        return "impl " + " + ".join(b["trait_bound"]["trait"]["path"] for b in v if "trait_bound" in b)
    if k == "dyn_trait":
        return "dyn " + " + ".join(t["trait"]["path"] for t in v["traits"])
    if k == "qualified_path":
        return ty(v["self_type"]) + "::" + v["name"]
    if k == "raw_pointer":
        return "*" + ("mut " if v["is_mutable"] else "const ") + ty(v["type"])
    if k == "function_pointer":
        return "fn(..)"
    return "_"


def sig(f):
    s = f["sig"]
    ins = ", ".join(n if n == "self" else f"{n}: {ty(t)}" for n, t in s["inputs"])
    out = f" -> {ty(s['output'])}" if s.get("output") else ""
    return f"({ins}){out}"


lines = set()


def walk_impls(owner, impls):
    for i in impls:
        im = item(i)
        if not im:
            continue
        inner = im["inner"]["impl"]
        if inner.get("is_synthetic") or inner.get("blanket_impl"):
            continue
        trait = inner.get("trait")
        if trait:
            lines.add(f"impl {trait['path']} for {owner}")
            continue
        for m in inner["items"]:
            mi = item(m)
            if not mi or mi.get("visibility") != "public":
                continue
            kind = next(iter(mi["inner"]))
            if kind == "function":
                lines.add(f"method {owner}::{mi['name']}{sig(mi['inner']['function'])}")
            elif kind == "assoc_const":
                lines.add(f"const {owner}::{mi['name']}: {ty(mi['inner']['assoc_const']['type'])}")


def walk(i, prefix, seen):
    it = item(i)
    if it is None or i in seen:
        return
    seen.add(i)
    kind, inner = next(iter(it["inner"].items()))
    name = it.get("name")
    path = f"{prefix}::{name}" if name and prefix else (name or prefix)
    if kind == "module":
        lines.add(f"mod {path}")
        for c in inner["items"]:
            ci = item(c)
            if ci and ci.get("visibility") == "public":
                walk(c, path, seen)
    elif kind == "use":
        target = inner.get("id")
        if target is not None and item(target) is not None and not inner["is_glob"]:
            # A re-export of our own item: listed under its new name.
            t = item(target)
            t = dict(t, name=inner["name"])
            index[str(target) + "#" + path] = t
            walk(str(target) + "#" + path, prefix, seen)
        else:
            lines.add(f"use {path} = {inner['source']}")
    elif kind == "function":
        lines.add(f"fn {path}{sig(inner)}")
    elif kind == "struct":
        lines.add(f"struct {path}")
        k = inner["kind"]
        fields = []
        if isinstance(k, dict) and "plain" in k:
            fields = k["plain"]["fields"]
        elif isinstance(k, dict) and "tuple" in k:
            fields = [f for f in k["tuple"] if f is not None]
        for f in fields:
            fi = item(f)
            if fi and fi.get("visibility") == "public":
                lines.add(f"field {path}.{fi['name']}: {ty(fi['inner']['struct_field'])}")
        walk_impls(path, inner["impls"])
    elif kind == "enum":
        attrs = " ".join(str(a) for a in it.get("attrs", []))
        lines.add(f"enum {path}" + (" #[non_exhaustive]" if "non_exhaustive" in attrs else ""))
        for v in inner["variants"]:
            vi = item(v)
            if vi:
                lines.add(f"variant {path}::{vi['name']}")
        walk_impls(path, inner["impls"])
    elif kind == "constant":
        lines.add(f"const {path}: {ty(inner['type'])}")
    elif kind == "static":
        lines.add(f"static {path}: {ty(inner['type'])}")
    elif kind == "trait":
        lines.add(f"trait {path}")
    elif kind == "type_alias":
        lines.add(f"type {path} = {ty(inner['type'])}")
    elif kind == "macro":
        lines.add(f"macro {path}!")
    else:
        lines.add(f"{kind} {path}")


walk(doc["root"], "", set())
current = "\n".join(sorted(lines)) + "\n"
snapshot = sys.argv[2]
if "--bless" in sys.argv:
    open(snapshot, "w").write(current)
    print(f"{snapshot}: {len(lines)} items written")
    sys.exit(0)
try:
    recorded = open(snapshot).read()
except FileNotFoundError:
    recorded = ""
if recorded != current:
    sys.stdout.writelines(difflib.unified_diff(recorded.splitlines(True), current.splitlines(True), snapshot, "built crate"))
    print(f"\nThe public API differs from {snapshot}. If the change is meant, run "
          f"tests/public-api/run.sh --bless and commit the snapshot.", file=sys.stderr)
    sys.exit(1)
print(f"{snapshot}: {len(lines)} public items, as recorded")
