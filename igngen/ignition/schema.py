"""JSON Schema for each Ignition spec version, generated from the spec data (pure).

The same trees drive the fast validator, so the two cannot drift apart;
``tests/test_ignition_schema.py`` holds them to agreement on a corpus.
Unknown fields are allowed (Ignition only warns about them).
"""

from __future__ import annotations

from typing import Any

from igngen.ignition import spec

_TYPES = {"string": "string", "integer": "integer", "boolean": "boolean"}


def _node(node: spec.Node) -> dict[str, Any]:
    if isinstance(node, spec.Scalar):
        return {"type": [_TYPES[node.kind], "null"]}
    if isinstance(node, spec.List):
        return {"type": ["array", "null"], "items": _node(node.item)}
    required = sorted(k for k, v in node.fields.items() if getattr(v, "required", False))
    out: dict[str, Any] = {
        "type": ["object", "null"],
        "properties": {k: _node(v) for k, v in sorted(node.fields.items())},
    }
    if required:
        # Required fields must be present and non-null (Go's unmarshal turns null into "unset").
        out["required"] = required
        for key in required:
            out["properties"][key] = {
                **out["properties"][key],
                "type": [t for t in out["properties"][key]["type"] if t != "null"],
            }
    return out


def schema(version: str) -> dict[str, Any]:
    root = _node(spec.tree(version))
    root["type"] = "object"
    root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    root["title"] = f"Ignition config spec {version}"
    root["properties"]["ignition"]["properties"]["version"] = {"const": version}
    return root


def validate_with_jsonschema(config: Any, version: str) -> list[tuple[str, str]]:
    """(JSON pointer, message) for every structural error jsonschema finds."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema(version))
    errors = []
    for err in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path))):
        pointer = "".join(
            f"/{str(p).replace('~', '~0').replace('/', '~1')}" for p in err.absolute_path
        )
        errors.append((pointer, err.message))
    return errors
