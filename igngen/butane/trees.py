"""``storage.trees``: a local directory tree becomes files, links and directories.

As Butane's base ``v0_*`` does: entries in Go's ``filepath.Walk`` order, a file
the config already declares without contents is filled in, anything else at
the same path is a conflict; base v0_7 adds ``user``/``group``/``file_mode``/
``dir_mode`` for the whole tree.
"""

from __future__ import annotations

import os
import posixpath
import stat

from igngen.butane import messages as msg
from igngen.butane.contents import make_source
from igngen.butane.walker import Walker, list_of_maps, scalar_text
from igngen.ignition import nodes, spec
from igngen.yamlsrc import Node

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_TREE_OWNERSHIP = ("user", "group", "file_mode", "dir_mode")


def add_trees(w: Walker, storage_node: Node, storage: dict[str, Any]) -> None:
    for tree in list_of_maps(storage_node, "trees"):
        allowed = ("local", "path") + (_TREE_OWNERSHIP if w.variant.tree_ownership else ())
        for key in tree.value:
            if key not in allowed:
                raise tree.error(msg.UNKNOWN_KEY.format(key=key), key)
        extra = _tree_options(w, tree)
        local = tree.value.get("local")
        if local is None or not local.value:
            raise tree.error(msg.TREE_NO_LOCAL)
        root = w.inside_files_dir(local, "trees")
        if not os.path.isdir(root):
            raise local.error(msg.TREE_NOT_DIR.format(path=local.value))
        dest_node = tree.value.get("path")
        dest = "/" if dest_node is None or dest_node.value is None else scalar_text(dest_node)
        if not isinstance(dest, str) or not dest.startswith("/"):
            raise tree.error(msg.TREE_PATH, "path")
        for rel, full, st in _walk(root):
            target = posixpath.normpath(posixpath.join(dest, rel))
            if stat.S_ISDIR(st.st_mode):
                _add_tree_dir(w, tree, storage, target, extra)
            else:
                _add_tree_node(w, tree, storage, target, full, st, extra)


def _tree_options(w: Walker, tree: Node) -> dict[str, Any]:
    """base v0_7's user/group/file_mode/dir_mode of one tree, walked as Ignition fields."""
    files = spec.tree(w.variant.spec).fields["storage"]
    assert isinstance(files, nodes.Obj)
    file_list = files.fields["files"]
    assert isinstance(file_list, nodes.List) and isinstance(file_list.item, nodes.Obj)
    fields = file_list.item.fields
    out: dict[str, Any] = {}
    for key, ign in (
        ("user", fields["user"]),
        ("group", fields["group"]),
        ("file_mode", fields["mode"]),
        ("dir_mode", fields["mode"]),
    ):
        node = tree.value.get(key)
        if node is not None:
            # Butane checks no decimal-looking mode here (its Tree.Validate checks local only).
            value = w.walk(node, ign, f"/storage/trees/{key}", f"storage/trees[]/{key}")
            if value is not None and value != {}:
                out[key] = value
    return out


def _add_tree_dir(
    w: Walker, tree: Node, storage: dict[str, Any], target: str, extra: dict[str, Any]
) -> None:
    """A tree directory becomes an entry only when the tree sets dir_mode, user or group."""
    if not ({"dir_mode", "user", "group"} & set(extra)):
        return
    for other in ("files", "directories", "links"):
        if any(e.get("path") == target for e in storage.get(other, [])):
            raise tree.error(msg.TREE_CONFLICT.format(path=target))
    entry: dict[str, Any] = {"path": target, **_owners(extra)}
    entry["mode"] = extra.get("dir_mode", 0o755)
    storage.setdefault("directories", []).append(entry)


def _add_tree_node(
    w: Walker,
    tree: Node,
    storage: dict[str, Any],
    target: str,
    full: str,
    st: os.stat_result,
    extra: dict[str, Any],
) -> None:
    """One tree entry; an entry the config already declares without contents is filled in."""
    kind = "links" if stat.S_ISLNK(st.st_mode) else "files"
    if kind == "files" and not stat.S_ISREG(st.st_mode):
        raise tree.error(msg.TREE_FILE_TYPE.format(path=full))
    existing = None
    for other in ("files", "directories", "links"):
        for entry in storage.get(other, []):
            if entry.get("path") == target:
                if other != kind:
                    raise tree.error(msg.TREE_CONFLICT.format(path=target))
                existing = entry
    if kind == "links":
        if existing is not None and existing.get("target"):
            raise tree.error(msg.TREE_CONFLICT.format(path=target))
        link = existing if existing is not None else {"path": target, **_owners(extra)}
        link["target"] = os.readlink(full)
        if existing is None:
            storage.setdefault("links", []).append(link)
        return
    contents = existing.get("contents", {}) if existing is not None else {}
    if contents.get("source"):
        raise tree.error(msg.TREE_CONFLICT.format(path=target))
    with open(full, "rb") as fh:
        data = fh.read()
    source, compression = make_source(
        data, compression=contents.get("compression"), auto_compress=w.auto_compress
    )
    contents["source"] = source
    if compression is not None:
        contents["compression"] = compression
    entry = existing if existing is not None else {"path": target, **_owners(extra)}
    entry["contents"] = contents
    if entry.get("mode") is None:
        entry["mode"] = extra.get("file_mode", 0o755 if st.st_mode & 0o111 else 0o644)
    if existing is None:
        storage.setdefault("files", []).append(entry)


def _owners(extra: dict[str, Any]) -> dict[str, Any]:
    return {k: dict(extra[k]) for k in ("user", "group") if k in extra}


def _walk(root: str, rel: str = "") -> Any:
    """(relative path, full path, lstat) for the root and every entry below it, in Go's
    filepath.Walk order (a directory before its contents, names sorted bytewise)."""
    if not rel:
        yield ".", root, os.lstat(root)
    here = os.path.join(root, rel) if rel else root
    for name in sorted(os.listdir(here)):
        sub = f"{rel}/{name}" if rel else name
        full = os.path.join(root, sub)
        st = os.lstat(full)
        yield sub, full, st
        if stat.S_ISDIR(st.st_mode):
            yield from _walk(root, sub)
