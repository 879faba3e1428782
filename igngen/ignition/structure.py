"""The fast structural walk: a config against its version's field tree (no jsonschema).

One walk over the config and the spec tree, linear in the config's size: wrong
types, missing required fields, unknown fields (warnings, as in Ignition) and
fields newer than the declared version (``NEWER_FIELD``). The JSON Schema in
``igngen.ignition.schema`` gives the same answers for ``igngen validate``.
"""

from __future__ import annotations

from igngen.ignition import nodes, spec
from igngen.ignition.reports import NEWER_FIELD, Reports, escape, newer_field_message

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _type_error(kind: str, value: Any) -> str | None:
    if kind == "string":
        ok = isinstance(value, str)
    elif kind == "boolean":
        ok = isinstance(value, bool)
    else:
        ok = isinstance(value, int) and not isinstance(value, bool)
    if ok:
        return None
    if kind == "integer" and isinstance(value, float):
        return f"expected an integer, not {value!r} (Ignition refuses numbers written as floats)"
    return f"expected {'an' if kind == 'integer' else 'a'} {kind}"


def structure(
    out: Reports, version: str, node: nodes.Node, value: Any, pointer: str, fields_path: str
) -> None:
    # Pointers are built only for containers and errors: this runs on every render.
    if value is None:
        return
    if isinstance(node, nodes.Scalar):
        problem = _type_error(node.kind, value)
        if problem:
            out.error(pointer, problem)
        return
    if isinstance(node, nodes.List):
        if not isinstance(value, list):
            out.error(pointer, "expected an array")
            return
        item = node.item
        if isinstance(item, nodes.Scalar):
            for i, entry in enumerate(value):
                if entry is not None:
                    problem = _type_error(item.kind, entry)
                    if problem:
                        out.error(f"{pointer}/{i}", problem)
            return
        sub_path = f"{fields_path}[]"
        for i, entry in enumerate(value):
            structure(out, version, item, entry, f"{pointer}/{i}", sub_path)
        return
    if not isinstance(value, dict):
        out.error(pointer, "expected an object")
        return
    fields = node.fields
    for key, entry in value.items():
        child = fields.get(key)
        if child is None:
            child_path = f"{fields_path}/{key}" if fields_path else key
            newer = spec.added_in(child_path)
            where = f"{pointer}/{escape(key)}"
            if newer and spec.ORDER[newer] > spec.ORDER[version]:
                out.error(where, newer_field_message(key, newer, version), NEWER_FIELD)
            else:
                out.warn(where, f"unknown field {key!r} (Ignition ignores it)")
            continue
        if entry is None:
            continue
        if isinstance(child, nodes.Scalar):
            problem = _type_error(child.kind, entry)
            if problem:
                out.error(f"{pointer}/{escape(key)}", problem)
            continue
        child_path = f"{fields_path}/{key}" if fields_path else key
        structure(out, version, child, entry, f"{pointer}/{escape(key)}", child_path)
    for key in node.required_fields:
        if value.get(key) is None:
            out.error(f"{pointer}/{escape(key)}", "required field is missing")
