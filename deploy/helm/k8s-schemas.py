#!/usr/bin/env python3
"""Generate kubeconform JSON schemas for the built-in Kubernetes kinds, offline.

kubeconform normally downloads its schemas from the internet. Where that is
not reachable, this script builds equivalent schemas from the
structured-merge-diff type schema that k8s.io/client-go ships in
applyconfigurations/internal/internal.go (the field names and types of every
built-in kind of that client-go's Kubernetes release).

Usage: k8s-schemas.py CLIENT_GO_DIR OUT_DIR

Writes OUT_DIR/<kind>[-<group>]-<version>.json, named as kubeconform's
"{{ .ResourceKind }}{{ .KindSuffix }}.json" expects; pass
-schema-location 'OUT_DIR/{{ .ResourceKind }}{{ .KindSuffix }}.json'.

What the schemas check: every field name (unknown fields are refused, like
kubeconform -strict), nesting, and scalar types (string / number / boolean,
int-or-string, quantities). What they cannot check: required fields and enum
values, which the structured-merge-diff schema does not record.
"""

import json
import os
import re
import sys

import yaml

INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"


def load_types(client_go_dir):
    path = os.path.join(client_go_dir, "applyconfigurations", "internal", "internal.go")
    with open(path, encoding="utf-8") as f:
        src = f.read()
    m = re.search(r"typed\.YAMLObject\(`(.*?)`\)", src, re.S)
    if not m:
        sys.exit(f"{path}: no schemaYAML found")
    doc = yaml.safe_load(m.group(1))
    return {t["name"]: t for t in doc["types"]}


def nullable(schema):
    """Kubernetes accepts null for any field (it means unset)."""
    t = schema.get("type")
    if t is None:
        return schema
    if isinstance(t, str):
        t = [t]
    if "null" not in t:
        schema["type"] = list(t) + ["null"]
    return schema


def atom(spec, refs):
    """JSON schema of one structured-merge-diff type reference or inline type."""
    if "namedType" in spec:
        name = spec["namedType"]
        if name in ("__untyped_atomic_", "__untyped_deduced_"):
            return {}
        if name == INT_OR_STRING:
            return {"type": ["string", "integer", "null"]}
        if name == QUANTITY:
            return {"type": ["string", "number", "null"]}
        refs.add(name)
        return {"$ref": "#/definitions/" + name}
    if "scalar" in spec:
        return nullable({
            "string": {"type": "string"},
            "numeric": {"type": "number"},
            "boolean": {"type": "boolean"},
            "untyped": {"type": ["string", "number", "boolean"]},
        }[spec["scalar"]])
    if "list" in spec:
        return nullable({"type": "array", "items": atom(spec["list"]["elementType"], refs)})
    if "map" in spec:
        return map_schema(spec["map"], refs)
    return {}


def map_schema(m, refs):
    fields = m.get("fields")
    if fields:
        props = {f["name"]: atom(f["type"], refs) for f in fields}
        return nullable({"type": "object", "properties": props, "additionalProperties": False})
    if "elementType" in m:
        return nullable({"type": "object", "additionalProperties": atom(m["elementType"], refs)})
    return nullable({"type": "object"})


def definition(t, refs):
    t = {k: v for k, v in t.items() if k != "name"}
    return atom(t, refs)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    types = load_types(sys.argv[1])
    out = sys.argv[2]
    os.makedirs(out, exist_ok=True)

    defs = {}
    deps = {}
    for name, t in types.items():
        refs = set()
        defs[name] = definition(t, refs)
        deps[name] = refs

    written = 0
    for name, t in types.items():
        parts = name.split(".")
        if not name.startswith("io.k8s.api.") or len(parts) != 6:
            continue
        fields = {f["name"] for f in (t.get("map") or {}).get("fields") or []}
        if not {"apiVersion", "kind", "metadata"} <= fields:
            continue
        group, version, kind = parts[3], parts[4], parts[5]
        suffix = f"-{version}" if group == "core" else f"-{group}-{version}"

        # Inline the definitions this kind reaches.
        seen, todo = set(), [name]
        while todo:
            n = todo.pop()
            if n in seen or n not in defs:
                continue
            seen.add(n)
            todo.extend(deps[n])
        schema = dict(defs[name])
        schema["type"] = "object"  # a document is never null
        schema["$schema"] = "http://json-schema.org/draft-07/schema#"
        schema["definitions"] = {n: defs[n] for n in sorted(seen) if n != name}
        # Self-references (rare) resolve through definitions too.
        if name in seen and any(name in deps[n] for n in seen):
            schema["definitions"][name] = defs[name]
        with open(os.path.join(out, f"{kind.lower()}{suffix}.json"), "w", encoding="utf-8") as f:
            json.dump(schema, f)
        written += 1
    print(f"k8s-schemas: wrote {written} schemas to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
