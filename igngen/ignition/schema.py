"""JSON Schema (draft 2020-12) for each Ignition spec version, generated from ``spec``.

The schemas are generated at import from the same field trees the fast
validator walks, so they cannot drift from it (nothing is committed to keep
in sync). They describe structure: types, required fields, the nullability
Ignition's Go pointers give every optional field, and, as ``false``
sub-schemas, the fields later versions add (a newer field is an error for
igngen, see ``validate``). Unknown fields are allowed: Ignition only warns.
Value rules (paths, URLs, duplicates by key, …) are the shared semantic pass
(``semantics``). ``python -m igngen.ignition.schema VERSION`` prints one schema.

This module imports jsonschema lazily, only in ``structural_reports``; it is
not on the ``render`` path.
"""

from __future__ import annotations

import json
import sys

from igngen.ignition import nodes, spec
from igngen.ignition.reports import NEWER_FIELD, Report, escape, newer_field_message

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_TYPES = {"string": "string", "integer": "integer", "boolean": "boolean"}


def _node_schema(
    node: nodes.Node, newest: nodes.Node | None, nullable: bool, path: str = ""
) -> dict[str, Any]:
    if isinstance(node, nodes.Scalar):
        kind = _TYPES[node.kind]
        return {"type": [kind, "null"] if nullable else kind}
    if isinstance(node, nodes.List):
        item_newest = newest.item if isinstance(newest, nodes.List) else None
        return {
            "type": ["array", "null"] if nullable else "array",
            "items": _node_schema(node.item, item_newest, False, f"{path}[]"),
        }
    props: dict[str, Any] = {}
    newest_fields = newest.fields if isinstance(newest, nodes.Obj) else {}
    for name, child in node.fields.items():
        sub = f"{path}/{name}" if path else name
        props[name] = _node_schema(child, newest_fields.get(name), not child.required, sub)
    for name in newest_fields:
        if name not in node.fields:
            # Not ``false``: jsonschema reports false-schema errors without the key's path.
            added = spec.added_in(f"{path}/{name}" if path else name) or "a newer version"
            props[name] = {"not": {}, "x-added-in": added}
    schema: dict[str, Any] = {
        "type": ["object", "null"] if nullable else "object",
        "properties": props,
    }
    required = [n for n, c in node.fields.items() if c.required]
    if required:
        schema["required"] = required
    return schema


def schema_for(version: str) -> dict[str, Any]:
    """The JSON Schema of spec ``version``."""
    tree = spec.tree(version)
    newest = spec.tree(spec.VERSIONS[-1])
    schema = _node_schema(tree, newest, False)
    return {
        "$schema": DIALECT,
        "$id": f"https://igngen.invalid/schemas/ignition-{version}.json",
        "title": f"Ignition config spec {version}",
        **schema,
    }


def _pointer(path: Any) -> str:
    return "".join(f"/{escape(str(p))}" for p in path)


_VALIDATORS: dict[str, Any] = {}


def _strict_integers() -> Any:
    """Draft 2020-12 whose ``integer`` excludes ``420.0``/``4.2e2``.

    JSON Schema counts a float with no fraction as an integer; Ignition's Go
    decoder refuses any number written with a fraction or exponent for an
    ``int`` field, and so must igngen.
    """
    import jsonschema

    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine(
        "integer", lambda _checker, v: isinstance(v, int) and not isinstance(v, bool)
    )
    return jsonschema.validators.extend(base, type_checker=checker)


def structural_reports(config: Any, version: str) -> list[Any]:
    """jsonschema's verdict on ``config`` as reports.Report entries (errors + unknown-key warnings)."""

    validator = _VALIDATORS.get(version)
    if validator is None:
        validator = _strict_integers()(schema_for(version))
        _VALIDATORS[version] = validator
    reports: list[Report] = []
    for err in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.path))):
        pointer = _pointer(err.absolute_path)
        if err.validator == "not" and isinstance(err.schema, dict) and "x-added-in" in err.schema:
            key = str(err.absolute_path[-1]) if err.absolute_path else ""
            newer = err.schema["x-added-in"]
            reports.append(
                Report("error", pointer, newer_field_message(key, newer, version), NEWER_FIELD)
            )
        elif (
            err.validator == "type"
            and isinstance(err.instance, float)
            and "integer" in err.validator_value
        ):
            reports.append(
                Report(
                    "error",
                    pointer,
                    f"expected an integer, not {err.instance!r} (Ignition refuses numbers "
                    "written as floats)",
                )
            )
        elif err.validator == "required":
            missing = err.message.split("'")[1] if "'" in err.message else ""
            reports.append(Report("error", f"{pointer}/{missing}", "required field is missing"))
        else:
            reports.append(Report("error", pointer, err.message))
    reports.extend(_unknown_fields(config, spec.tree(version), spec.tree(spec.VERSIONS[-1]), ""))
    return reports


def _unknown_fields(
    value: Any, node: nodes.Node, newest: nodes.Node | None, pointer: str
) -> list[Any]:

    out: list[Report] = []
    if isinstance(node, nodes.List) and isinstance(value, list):
        nxt = newest.item if isinstance(newest, nodes.List) else None
        for i, entry in enumerate(value):
            out += _unknown_fields(entry, node.item, nxt, f"{pointer}/{i}")
    elif isinstance(node, nodes.Obj) and isinstance(value, dict):
        newest_fields = newest.fields if isinstance(newest, nodes.Obj) else {}
        for key, entry in value.items():
            child = node.fields.get(key)
            if child is not None:
                out += _unknown_fields(
                    entry, child, newest_fields.get(key), f"{pointer}/{escape(key)}"
                )
            elif key not in newest_fields:
                out.append(
                    Report(
                        "warning",
                        f"{pointer}/{escape(key)}",
                        f"unknown field {key!r} (Ignition ignores it)",
                    )
                )
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in spec.VERSIONS:
        sys.stderr.write(f"usage: python -m igngen.ignition.schema {{{','.join(spec.VERSIONS)}}}\n")
        return 2
    sys.stdout.write(json.dumps(schema_for(argv[0]), indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
