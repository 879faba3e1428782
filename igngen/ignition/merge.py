"""Ignition's config merge, driven by the spec data (pure, linear in config size).

``merge(parent, child)`` follows Ignition's ``config/merge`` rules:
- a field the child sets wins, even ``""``/``false``; a field it leaves unset
  (absent or null) inherits the parent's; objects merge recursively;
- keyed lists merge entry by entry (the child's entry is merged into the
  parent's at the parent's position; child-only entries are appended);
  ``storage.files``/``directories``/``links`` share one path namespace, and a
  child entry at a path the parent holds as another type replaces it;
- lists of plain values keyed by themselves (user groups, SSH keys, RAID
  devices, noProxy) are a union in parent-then-child order;
- lists Ignition marks "ignore duplicates" (``append``, fs/raid/luks options,
  mountOptions) are concatenated;
- ``kernelArguments.shouldExist``/``shouldNotExist`` share one namespace;
- an HTTP header with a null value deletes the parent's header of that name.
"""

from __future__ import annotations

from typing import Any

from igngen.ignition import spec

_LATEST = spec.tree(spec.VERSIONS[-1])


def merge(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    result = _merge_obj(_LATEST, parent, child)
    pv = _version(parent)
    cv = _version(child)
    if pv and cv and pv in spec.ORDER and cv in spec.ORDER:
        result.setdefault("ignition", {})["version"] = (
            cv if spec.ORDER[cv] >= spec.ORDER[pv] else pv
        )
    return result


def _version(config: dict[str, Any]) -> str | None:
    ign = config.get("ignition")
    version = ign.get("version") if isinstance(ign, dict) else None
    return version if isinstance(version, str) else None


def _merge_value(node: spec.Node | None, parent: Any, child: Any) -> Any:
    if child is None:
        return parent
    if parent is None:
        return child
    if isinstance(node, spec.Obj) and isinstance(parent, dict) and isinstance(child, dict):
        return _merge_obj(node, parent, child)
    if isinstance(node, spec.List) and isinstance(parent, list) and isinstance(child, list):
        return _merge_list(node, parent, child)
    return child


def _merge_obj(node: spec.Obj, parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    result = dict(parent)
    if (
        node.fields.get("files") is not None
        and "directories" in node.fields
        and "links" in node.fields
    ):
        _merge_nodes(node, result, parent, child)
        handled: tuple[str, ...] = ("files", "directories", "links")
    elif "shouldExist" in node.fields and "shouldNotExist" in node.fields:
        _merge_kargs(result, parent, child)
        handled = ("shouldExist", "shouldNotExist")
    else:
        handled = ()
    for key, value in child.items():
        if key in handled:
            continue
        result[key] = _merge_value(node.fields.get(key), parent.get(key), value)
    return result


def _key_of(lst: spec.List, entry: Any) -> Any:
    if lst.key == ".":
        return entry
    if callable(lst.key):
        return lst.key(entry)
    if isinstance(entry, dict):
        return entry.get(lst.key) if isinstance(lst.key, str) else None
    return None


def _merge_list(node: spec.List, parent: list[Any], child: list[Any]) -> list[Any]:
    if node.key is None:
        return parent + child
    result = list(parent)
    index: dict[Any, int] = {}
    for i, entry in enumerate(result):
        k = _freeze(_key_of(node, entry))
        if k is not None and k != ("", ""):
            index.setdefault(k, i)
    is_headers = isinstance(node.item, spec.Obj) and set(node.item.fields) == {"name", "value"}
    deleted: set[int] = set()
    for entry in child:
        k = _freeze(_key_of(node, entry))
        if k is not None and k != ("", "") and k in index:
            pos = index[k]
            if (
                is_headers
                and isinstance(entry, dict)
                and "value" in entry
                and entry["value"] is None
            ):
                deleted.add(pos)
                continue
            result[pos] = _merge_value(node.item, result[pos], entry)
        else:
            if (
                is_headers
                and isinstance(entry, dict)
                and "value" in entry
                and entry["value"] is None
            ):
                continue
            if k is not None and k != ("", ""):
                index[k] = len(result)
            result.append(entry)
    return [e for i, e in enumerate(result) if i not in deleted]


def _freeze(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return None
    return value


def _merge_nodes(
    node: spec.Obj, result: dict[str, Any], parent: dict[str, Any], child: dict[str, Any]
) -> None:
    kinds = ("files", "directories", "links")
    lists = {k: list(parent.get(k) or []) for k in kinds}
    where: dict[str, tuple[str, int]] = {}
    for kind in kinds:
        for i, entry in enumerate(lists[kind]):
            if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                where.setdefault(entry["path"], (kind, i))
    removed: dict[str, set[int]] = {k: set() for k in kinds}
    for kind in kinds:
        item = node.fields[kind]
        assert isinstance(item, spec.List)
        for entry in child.get(kind) or []:
            path = entry.get("path") if isinstance(entry, dict) else None
            hit = where.get(path) if isinstance(path, str) else None
            if hit is not None and hit[0] == kind:
                lists[kind][hit[1]] = _merge_value(item.item, lists[kind][hit[1]], entry)
                continue
            if hit is not None:
                removed[hit[0]].add(hit[1])  # a child of another type replaces the parent entry
            if isinstance(path, str):
                where[path] = (kind, len(lists[kind]))
            lists[kind].append(entry)
    for kind in kinds:
        merged = [e for i, e in enumerate(lists[kind]) if i not in removed[kind]]
        if merged or kind in parent or kind in child:
            result[kind] = merged


def _merge_kargs(result: dict[str, Any], parent: dict[str, Any], child: dict[str, Any]) -> None:
    exist = list(parent.get("shouldExist") or [])
    not_exist = list(parent.get("shouldNotExist") or [])
    for arg in child.get("shouldExist") or []:
        if arg in not_exist:
            not_exist.remove(arg)
        if arg not in exist:
            exist.append(arg)
    for arg in child.get("shouldNotExist") or []:
        if arg in exist:
            exist.remove(arg)
        if arg not in not_exist:
            not_exist.append(arg)
    for key, value in (("shouldExist", exist), ("shouldNotExist", not_exist)):
        if value or key in parent or key in child:
            result[key] = value
