"""Ignition's config merge, driven by the spec data (pure, linear in config size).

``merge(parent, child)`` reproduces Ignition's ``config/merge`` (v2.14, unchanged
since) on JSON values, using the list keys and namespaces in ``spec``:

- a field the child sets (non-null) wins, even ``""``/``false``; a field it
  leaves unset (absent or null) inherits the parent's; objects merge
  recursively;
- keyed lists: every parent entry is kept in order; one whose key the child
  also has *in the same list* is merged with that child entry (child wins);
  one whose key the child has in *another list of the same namespace*
  (files/directories/links; kernel argument lists) is dropped, which is how a
  child directory replaces a parent file. Child entries whose key the parent
  list does not hold are appended in order;
- an HTTP header in the child with a null value deletes the parent's header of
  that name (a child-only null header is appended like any other entry);
- lists without a key ("ignore duplicates": ``append``, fs/raid/luks options,
  mountOptions) are concatenated, parent first;
- lists of plain strings are keyed by the value itself (a set union).

Keys are compared as Ignition's ``Key()`` strings: a missing key field is
``""``; a partition is ``number:N`` when its number is non-zero, else
``label:L``, else ``""``.
"""

from __future__ import annotations

from igngen.ignition import nodes, spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def merge(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """``child`` merged over ``parent`` (new dicts/lists; inputs are not modified).

    The result declares the newer of the two versions: Ignition translates both
    to its newest spec before merging, so mixing 3.x versions is allowed.
    """
    result = _merge_obj(spec.tree(spec.VERSIONS[-1]), parent, child)
    pv, cv = _version(parent), _version(child)
    if pv in spec.ORDER and cv in spec.ORDER:
        assert pv is not None and cv is not None
        result["ignition"]["version"] = cv if spec.ORDER[cv] >= spec.ORDER[pv] else pv
    return result


def _version(config: dict[str, Any]) -> str | None:
    ign = config.get("ignition")
    version = ign.get("version") if isinstance(ign, dict) else None
    return version if isinstance(version, str) else None


def key_of(lst: nodes.List, entry: Any) -> str:
    """Ignition's ``Key()`` of a list entry, as a string."""
    key = lst.key
    if key == ".":
        return entry if isinstance(entry, str) else repr(entry)
    if callable(key):
        return str(key(entry))
    if isinstance(entry, dict) and isinstance(key, str):
        value = entry.get(key)
        return value if isinstance(value, str) else "" if value is None else repr(value)
    return ""


def _merge_value(node: nodes.Node | None, parent: Any, child: Any) -> Any:
    if child is None:
        return parent
    if parent is None:
        return child
    if isinstance(node, nodes.Obj) and isinstance(parent, dict) and isinstance(child, dict):
        return _merge_obj(node, parent, child)
    if isinstance(node, nodes.List) and isinstance(parent, list) and isinstance(child, list):
        return _merge_list(node, parent, child, {}, "")
    return child


def _child_index(node: nodes.Obj, child: dict[str, Any]) -> dict[tuple[str, str], tuple[str, Any]]:
    """(namespace, key) → (list name, entry) over the child's keyed lists; last entry wins."""
    index: dict[tuple[str, str], tuple[str, Any]] = {}
    for name, sub in node.fields.items():
        if not isinstance(sub, nodes.List) or sub.key is None or sub.namespace is None:
            continue
        entries = child.get(name)
        if isinstance(entries, list):
            for entry in entries:
                index[(sub.namespace, key_of(sub, entry))] = (name, entry)
    return index


def _merge_obj(node: nodes.Obj, parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    shared = _child_index(node, child) if node.namespaced else {}
    result = dict(parent)
    for name, sub in node.fields.items():
        if (
            isinstance(sub, nodes.List)
            and sub.namespace is not None
            and isinstance(parent.get(name), list)
        ):
            # Parent entries may be dropped by a child entry in a sibling list.
            c = child.get(name)
            result[name] = _merge_list(
                sub, parent[name], c if isinstance(c, list) else [], shared, name
            )
    for name, value in child.items():
        field = node.fields.get(name)
        if (
            isinstance(field, nodes.List)
            and field.namespace is not None
            and isinstance(parent.get(name), list)
        ):
            continue
        result[name] = _merge_value(field, parent.get(name), value)
    return result


def _merge_list(
    node: nodes.List,
    parent: list[Any],
    child: list[Any],
    shared: dict[tuple[str, str], tuple[str, Any]],
    name: str,
) -> list[Any]:
    if node.key is None:
        return parent + child
    ns = node.namespace or ""
    own: dict[str, Any] = {}
    if node.namespace is None:
        for entry in child:
            own[key_of(node, entry)] = entry
    is_headers = node.headers
    result: list[Any] = []
    parent_keys: set[str] = set()
    for entry in parent:
        k = key_of(node, entry)
        parent_keys.add(k)
        if node.namespace is not None:
            hit = shared.get((ns, k))
            if hit is None:
                result.append(entry)
                continue
            if hit[0] != name:
                continue  # a child entry of another type replaces this one
            match = hit[1]
        else:
            if k not in own:
                result.append(entry)
                continue
            match = own[k]
        if is_headers and isinstance(match, dict) and match.get("value") is None:
            continue  # a null header value deletes the parent's header
        result.append(_merge_value(node.item, entry, match))
    for entry in child:
        if key_of(node, entry) not in parent_keys:
            result.append(entry)
    return result
