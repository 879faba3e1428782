"""Butane (every flatcar/fcos version in ``versions``) → Ignition JSON (pure, except local files).

The Ignition field tree of the target spec (``igngen.ignition.spec``) drives
the walk: every Ignition field is accepted under its snake_case name, so the
whole spec passes through without a hand-written table. Butane's sugar is
layered on top: ``inline``/``local`` resources, ``storage.trees``,
``with_mount_unit``, ``contents_local`` and ``ssh_authorized_keys_local``.
Unknown keys are errors at their YAML line and column.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
from typing import Any, NamedTuple

from igngen.butane import fcos
from igngen.butane import messages as msg
from igngen.butane.contents import make_source
from igngen.butane.ignwarn import warnings as ignition_warnings
from igngen.butane.modes import decimal_mode_suspect
from igngen.butane.versions import PENDING, VARIANTS, Variant, supported
from igngen.errors import ButaneError
from igngen.ignition import spec
from igngen.safejson import loads
from igngen.systemd import escape_path
from igngen.yamlsrc import Node

# Field paths (in Ignition's camelCase) whose objects are resources.
_RESOURCES = {
    "storage/files[]/contents",
    "storage/files[]/append[]",
    "ignition/config/merge[]",
    "ignition/config/replace",
    "ignition/security/tls/certificateAuthorities[]",
    "storage/luks[]/keyFile",
}
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
_YAML11_BOOLS = {w: True for w in ("y", "Y", "yes", "Yes", "YES", "on", "On", "ON")} | {
    w: False for w in ("n", "N", "no", "No", "NO", "off", "Off", "OFF")
}
_KIND = {"string": "a string", "integer": "an integer", "boolean": "true or false"}


def _text(node: Node) -> str | None:
    """A scalar as a string field sees it (go-yaml gives a plain number its source text)."""
    if isinstance(node.value, str):
        return node.value
    return node.raw


def snake(name: str) -> str:
    return _CAMEL.sub(r"_\1", name.replace("MiB", "Mib")).lower()


class Translation(NamedTuple):
    config: dict[str, Any]
    spec: str
    warnings: list[str]
    # JSON pointer in ``config`` → the YAML node it came from (for located errors later).
    marks: dict[str, Node]
    variant: str = ""  # "flatcar 1.1.0": the Butane variant and version translated

    def locate(self, pointer: str) -> str:
        """``file:line:column`` of the nearest YAML node for an Ignition JSON pointer."""
        while True:
            node = self.marks.get(pointer)
            if node is not None:
                return node.where
            if not pointer:
                return ""
            pointer = pointer.rsplit("/", 1)[0]


class _Translator:
    def __init__(
        self, variant: Variant, files_dir: str | None, source: str, auto_compress: bool = True
    ) -> None:
        self.variant = variant
        self.auto_compress = auto_compress
        self.files_dir = os.path.realpath(files_dir) if files_dir else None
        self.source = source
        self.found: list[tuple[str, str]] = []  # (location, message) of each warning
        self.marks: dict[str, Node] = {}
        self.mount_units: list[tuple[dict[str, Any], Node]] = []

    # --- generic walk ------------------------------------------------------

    def walk(self, node: Node, ign: spec.Node, pointer: str, fpath: str) -> Any:
        self.marks[pointer] = node
        if node.value is None:
            return None
        if isinstance(ign, spec.Scalar):
            v = node.value
            # go-yaml hands a string field the source text of any plain scalar,
            # and an integer field the value of an integral float.
            if ign.kind == "string" and node.raw is not None:
                v = node.raw
            elif ign.kind == "integer" and isinstance(v, float) and v.is_integer():
                v = int(v)
            elif ign.kind == "boolean" and isinstance(v, str) and v in _YAML11_BOOLS:
                v = _YAML11_BOOLS[v]  # go-yaml still reads these into a typed bool
            ok = (
                isinstance(v, str)
                if ign.kind == "string"
                else isinstance(v, bool)
                if ign.kind == "boolean"
                else isinstance(v, int) and not isinstance(v, bool)
            )
            if not ok:
                raise node.error(msg.EXPECTED_TYPE.format(kind=_KIND[ign.kind]))
            if fpath in ("storage/files[]/mode", "storage/directories[]/mode") and (
                decimal_mode_suspect(v, directory=fpath.startswith("storage/directories"))
            ):
                self.found.append((node.where, msg.DECIMAL_MODE.format(mode=v)))
            if (
                fpath.endswith("/mode")
                and isinstance(v, int)
                and v & 0o7000
                and spec.masks_special_bits(self.variant.spec)
            ):
                self.found.append((node.where, msg.SPECIAL_MODE_BITS.format(mode=v)))
            return v
        if isinstance(ign, spec.List):
            if not node.is_seq:
                raise node.error(msg.EXPECTED_LIST)
            return [
                self.walk(item, ign.item, f"{pointer}/{i}", f"{fpath}[]")
                for i, item in enumerate(node.value)
            ]
        return self.obj(node, ign, pointer, fpath)

    def obj(
        self, node: Node, ign: spec.Obj, pointer: str, fpath: str, skip: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        if not node.is_map:
            raise node.error(msg.EXPECTED_MAP)
        names = {snake(k): k for k in ign.fields}
        sugar = self.sugar_keys(fpath)
        out: dict[str, Any] = {}
        for key, child in node.value.items():
            if key in skip or key in sugar:
                continue
            if fpath == "" and key in ("boot_device", "grub") and not self.variant.fcos:
                raise node.error(msg.FCOS_ONLY.format(key=key), key)
            # The version comes from the document's variant/version, never from the user.
            camel = None if fpath == "ignition" and key == "version" else names.get(key)
            if camel is None:
                raise node.error(msg.UNKNOWN_KEY.format(key=key), key)
            sub = f"{fpath}/{camel}" if fpath else camel
            value = self.walk(child, ign.fields[camel], f"{pointer}/{camel}", sub)
            if value is not None:
                out[camel] = value
        if fpath in _RESOURCES:
            self.resource(node, out, fpath)
        elif fpath in ("systemd/units[]", "systemd/units[]/dropins[]"):
            self.contents_local(node, out)
        elif fpath == "passwd/users[]":
            self.keys_local(node, out, pointer)
        elif fpath == "storage/filesystems[]":
            wmu = node.value.get("with_mount_unit")
            if wmu is not None:
                if not isinstance(wmu.value, bool):
                    raise wmu.error(msg.EXPECTED_TYPE.format(kind="true or false"))
                if wmu.value:
                    self.mount_units.append((out, node))
        elif fpath == "storage/luks[]":
            for field, reason in self.variant.refused_luks:
                if out.get(field) is not None:
                    v = self.variant
                    text = msg.LUKS_REFUSED.format(
                        field=field, reason=reason, variant=v.variant, version=v.version
                    )
                    raise node.error(text, field)
        return out

    def sugar_keys(self, fpath: str) -> tuple[str, ...]:
        if fpath in _RESOURCES:
            return ("inline", "local")
        if fpath == "storage":
            return ("trees",)
        if fpath == "storage/filesystems[]":
            return ("with_mount_unit",)
        if fpath == "systemd" and self.variant.quadlets:
            return ("quadlets",)
        if self.variant.unit_contents_local:
            if fpath in ("systemd/units[]", "systemd/units[]/dropins[]"):
                return ("contents_local",)
            if fpath == "passwd/users[]":
                return ("ssh_authorized_keys_local",)
        return ()

    # --- sugar ---------------------------------------------------------------

    def inside_files_dir(self, node: Node, key: str) -> str:
        if self.files_dir is None:
            raise node.error(msg.NEEDS_FILES_DIR.format(key=key))
        rel = _text(node)
        if rel is None:
            raise node.error(msg.EXPECTED_TYPE.format(kind="a string"))
        # Like Butane, an absolute local path is still taken inside the files
        # directory. Unlike Butane (which compares paths lexically), symlinks
        # are resolved first, so a link cannot lead outside either.
        full = os.path.realpath(os.path.join(self.files_dir, rel.lstrip("/")))
        if full != self.files_dir and not full.startswith(self.files_dir + os.sep):
            raise node.error(msg.LOCAL_ESCAPES.format(path=rel))
        return full

    def read_local(self, node: Node, key: str) -> bytes:
        full = self.inside_files_dir(node, key)
        try:
            with open(full, "rb") as fh:
                return fh.read()
        except OSError as exc:
            raise node.error(
                msg.LOCAL_UNREADABLE.format(path=node.value, reason=exc.strerror)
            ) from None

    def resource(self, node: Node, out: dict[str, Any], fpath: str) -> None:
        inline = node.value.get("inline")
        local = node.value.get("local")
        given = [
            k
            for k, v in (("source", out.get("source")), ("inline", inline), ("local", local))
            if v is not None and (not isinstance(v, Node) or v.value is not None)
        ]
        if len(given) > 1:
            raise node.error(msg.TOO_MANY_SOURCES, given[1])
        data: bytes | None = None
        at: Node | None = None
        if inline is not None and inline.value is not None:
            text = _text(inline)
            if text is None:
                raise inline.error(msg.EXPECTED_TYPE.format(kind="a string"))
            data, at = text.encode("utf-8"), inline
        elif local is not None and local.value is not None:
            data, at = self.read_local(local, "local"), local
        if data is None or at is None:
            return
        if fpath.startswith("ignition/config/"):
            self.check_embedded(data, at)
        source, compression = make_source(
            data, compression=out.get("compression"), auto_compress=self.auto_compress
        )
        out["source"] = source
        if compression is not None:
            out["compression"] = compression

    def check_embedded(self, data: bytes, at: Node) -> None:
        """An inline/local merge or replace config must itself be valid, as Butane checks."""
        from igngen.errors import IgnitionConfigError
        from igngen.ignition.validate import check, declared_version

        try:
            config = loads(data.decode("utf-8"))
        except ValueError as exc:
            raise at.error(msg.INLINE_CONFIG.format(reason=f"not JSON ({exc})")) from None
        version = declared_version(config)
        # Butane parses the embedded config with its target spec's types and
        # validates it only when it declares exactly that version; any other
        # version (older, newer or unknown) is a warning and is not checked.
        if version is not None and version != self.variant.spec:
            text = msg.EMBEDDED_OTHER_SPEC.format(version=version, spec=self.variant.spec)
            self.found.append((at.where, text))
            return
        try:
            check(config, source=at.where)
        except IgnitionConfigError as exc:
            raise at.error(
                msg.INLINE_CONFIG.format(reason=f"{exc.message} (at {exc.pointer})")
            ) from None

    def contents_local(self, node: Node, out: dict[str, Any]) -> None:
        local = node.value.get("contents_local")
        if local is None or local.value is None:
            return
        if "contents" in out:
            raise node.error(msg.TOO_MANY_UNIT_SOURCES, "contents_local")
        data = self.read_local(local, "contents_local")
        try:
            out["contents"] = data.decode("utf-8")
        except UnicodeDecodeError:
            raise local.error(msg.NOT_UTF8.format(path=local.value)) from None

    def keys_local(self, node: Node, out: dict[str, Any], pointer: str) -> None:
        local = node.value.get("ssh_authorized_keys_local")
        if local is None or local.value is None:
            return
        if not local.is_seq:
            raise local.error(msg.EXPECTED_LIST)
        keys = list(out.get("sshAuthorizedKeys", []))
        for item in local.value:
            data = self.read_local(item, "ssh_authorized_keys_local")
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                raise item.error(msg.NOT_UTF8.format(path=item.value)) from None
            # Butane splits on \r?\n and drops only the empty lines.
            keys += [line for line in re.split(r"\r?\n", text) if line]
        out["sshAuthorizedKeys"] = keys

    # --- storage.trees -----------------------------------------------------------

    def trees(self, storage_node: Node, storage: dict[str, Any]) -> None:
        trees = storage_node.value.get("trees")
        if trees is None or trees.value is None:
            return
        if not trees.is_seq:
            raise trees.error(msg.EXPECTED_LIST)
        for tree in trees.value:
            if not tree.is_map:
                raise tree.error(msg.EXPECTED_MAP)
            allowed = ("local", "path") + (_TREE_OWNERSHIP if self.variant.tree_ownership else ())
            for key in tree.value:
                if key not in allowed:
                    raise tree.error(msg.UNKNOWN_KEY.format(key=key), key)
            extra = self.tree_options(tree)
            local = tree.value.get("local")
            if local is None or not local.value:
                raise tree.error(msg.TREE_NO_LOCAL)
            root = self.inside_files_dir(local, "trees")
            if not os.path.isdir(root):
                raise local.error(msg.TREE_NOT_DIR.format(path=local.value))
            dest_node = tree.value.get("path")
            dest = "/" if dest_node is None or dest_node.value is None else _text(dest_node)
            if not isinstance(dest, str) or not dest.startswith("/"):
                raise tree.error(msg.TREE_PATH, "path")
            for rel, full, st in _walk(root):
                target = posixpath.normpath(posixpath.join(dest, rel))
                if stat.S_ISDIR(st.st_mode):
                    self.add_tree_dir(tree, storage, target, extra)
                else:
                    self.add_tree_node(tree, storage, target, full, st, extra)

    def tree_options(self, tree: Node) -> dict[str, Any]:
        """base v0_7's user/group/file_mode/dir_mode of one tree, walked as Ignition fields."""
        files = spec.tree(self.variant.spec).fields["storage"]
        assert isinstance(files, spec.Obj)
        file_list = files.fields["files"]
        assert isinstance(file_list, spec.List) and isinstance(file_list.item, spec.Obj)
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
                value = self.walk(node, ign, f"/storage/trees/{key}", f"storage/trees[]/{key}")
                if value is not None and value != {}:
                    out[key] = value
        return out

    def add_tree_dir(
        self, tree: Node, storage: dict[str, Any], target: str, extra: dict[str, Any]
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

    def add_tree_node(
        self,
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
            data, compression=contents.get("compression"), auto_compress=self.auto_compress
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

    # --- systemd.quadlets (base v0_8_exp) ----------------------------------------

    def quadlets(self, systemd_node: Node, storage: dict[str, Any]) -> None:
        """Podman quadlets become files under /etc/containers/systemd (``rootful``) or its
        ``users/`` directory, each drop-in a file in ``<quadlet>.d/``; an instance name
        (``web@8080.container``) becomes a link to its template (``web@.container``), as
        Butane v0.29.0 does (base/v0_8_exp processQuadlets)."""
        quadlets = systemd_node.value.get("quadlets")
        if quadlets is None or quadlets.value is None:
            return
        if not quadlets.is_seq:
            raise quadlets.error(msg.EXPECTED_LIST)
        for q in quadlets.value:
            if not q.is_map:
                raise q.error(msg.EXPECTED_MAP)
            for key in q.value:
                if key not in ("name", "contents", "contents_local", "rootful", "dropins"):
                    raise q.error(msg.UNKNOWN_KEY.format(key=key), key)
            name_node = q.value.get("name")
            name = _text(name_node) if name_node is not None else ""
            if name is None:
                raise q.error(msg.EXPECTED_TYPE.format(kind="a string"), "name")
            rootful_node = q.value.get("rootful")
            rootful = False
            if rootful_node is not None and rootful_node.value is not None:
                if not isinstance(rootful_node.value, bool):
                    raise rootful_node.error(msg.EXPECTED_TYPE.format(kind="true or false"))
                rootful = rootful_node.value
            # Butane's order: the extension first, then what an instance may not have,
            # then (for a file) the one-source rule.
            if not name.endswith(QUADLET_EXTENSIONS):
                raise q.error(msg.QUADLET_EXTENSION.format(name=name), "name")
            template = quadlet_template(name)
            dest = f"{QUADLET_ROOTFUL_DIR if rootful else QUADLET_USERS_DIR}/{name}"
            if template is not None:
                for key in ("contents", "contents_local"):
                    if q.value.get(key) is not None and q.value[key].value is not None:
                        raise q.error(msg.QUADLET_INSTANCE_CONTENTS.format(name=name), key)
                _refuse_existing(q, storage, dest)
                storage.setdefault("links", []).append({"path": dest, "target": template})
            else:
                self.quadlet_file(q, storage, dest)
            dropins = q.value.get("dropins")
            if dropins is None or dropins.value is None:
                continue
            if not dropins.is_seq:
                raise dropins.error(msg.EXPECTED_LIST)
            for d in dropins.value:
                if not d.is_map:
                    raise d.error(msg.EXPECTED_MAP)
                for key in d.value:
                    if key not in ("name", "contents", "contents_local"):
                        raise d.error(msg.UNKNOWN_KEY.format(key=key), key)
                dname_node = d.value.get("name")
                dname = _text(dname_node) if dname_node is not None else ""
                if dname is None:
                    raise d.error(msg.EXPECTED_TYPE.format(kind="a string"), "name")
                self.quadlet_file(d, storage, f"{dest}.d/{dname}")

    def quadlet_file(self, node: Node, storage: dict[str, Any], dest: str) -> None:
        """A quadlet or drop-in file: one source at most, mode 0644, an explicit
        compression (Butane's addFileWithContents)."""
        contents = node.value.get("contents")
        local = node.value.get("contents_local")
        if (
            contents is not None
            and contents.value is not None
            and local is not None
            and local.value is not None
        ):
            raise node.error(msg.TOO_MANY_UNIT_SOURCES, "contents_local")
        _refuse_existing(node, storage, dest)
        data = b""
        # An empty string is no source to Butane (util.NotEmpty): an empty file.
        if local is not None and local.value not in (None, ""):
            data = self.read_local(local, "contents_local")
        if contents is not None and contents.value not in (None, ""):
            text = _text(contents)
            if text is None:
                raise contents.error(msg.EXPECTED_TYPE.format(kind="a string"))
            data = text.encode("utf-8")
        source, compression = make_source(data, compression=None, auto_compress=self.auto_compress)
        entry: dict[str, Any] = {"path": dest, "contents": {"source": source}, "mode": 0o644}
        if compression is not None:
            entry["contents"]["compression"] = compression
        storage.setdefault("files", []).append(entry)

    # --- with_mount_unit ---------------------------------------------------------

    def units_for_filesystems(self, config: dict[str, Any]) -> list[dict[str, Any]]:
        tang_names = {
            luks.get("name")
            for luks in config.get("storage", {}).get("luks", [])
            if luks.get("clevis", {}).get("tang")
        }
        units = []
        for fs, node in self.mount_units:
            fmt, path = fs.get("format"), fs.get("path")
            device = str(fs.get("device", ""))
            if not fmt:
                raise node.error(
                    msg.MOUNT_UNIT_FORMAT, "format" if "format" in node.value else None
                )
            if fmt != "swap" and not path:
                raise node.error(msg.MOUNT_UNIT_PATH, "path" if "path" in node.value else None)
            remote = any(
                device in (f"/dev/mapper/{name}", f"/dev/disk/by-id/dm-name-{name}")
                for name in tang_names
            )
            units.append(mount_unit(fmt, device, path, fs.get("mountOptions") or [], remote))
        return units


# podman-systemd.unit(5): the unit kinds quadlet generates services from.
QUADLET_EXTENSIONS = (
    ".container",
    ".volume",
    ".network",
    ".kube",
    ".image",
    ".build",
    ".pod",
    ".artifact",
)
QUADLET_ROOTFUL_DIR = "/etc/containers/systemd"
QUADLET_USERS_DIR = "/etc/containers/systemd/users"


def quadlet_template(name: str) -> str | None:
    """The template an instance name points at (``a@b.container`` → ``a@.container``),
    or None. As Butane's isTemplateInstance: the extension starts at the *last* dot, and
    ``a@.container`` (nothing between) is the template itself."""
    at, dot = name.find("@"), name.rfind(".")
    if at == -1 or dot == -1 or at + 1 == dot:
        return None
    return f"{name[:at]}@.{name[dot + 1 :]}"


def _refuse_existing(node: Node, storage: dict[str, Any], dest: str) -> None:
    """Butane refuses a quadlet path any file, directory or link already holds (the
    user's storage, a tree, an earlier quadlet or drop-in)."""
    for kind in ("files", "directories", "links"):
        if any(e.get("path") == dest for e in storage.get(kind, [])):
            raise node.error(msg.QUADLET_EXISTS.format(path=dest))


def mount_unit(
    fmt: str, device: str, path: str | None, options: list[str], remote: bool
) -> dict[str, Any]:
    """The unit Butane writes for ``with_mount_unit`` (byte for byte, no final newline)."""
    opts = list(options) + (["_netdev"] if remote else [])
    options_line = [f"Options={','.join(opts)}"] if opts else []
    if fmt == "swap":
        lines = ["# Generated by Butane", "[Swap]", f"What={device}", *options_line]
        lines += ["", "[Install]", "RequiredBy=swap.target"]
        name = f"{escape_path(device)}.swap"
    else:
        assert path is not None
        dev = escape_path(device)
        lines = [
            "# Generated by Butane",
            "[Unit]",
            f"Requires=systemd-fsck@{dev}.service",
            f"After=systemd-fsck@{dev}.service",
            "",
            "[Mount]",
            f"Where={path}",
            f"What={device}",
            f"Type={fmt}",
            *options_line,
            "",
            "[Install]",
            f"RequiredBy={'remote-fs.target' if remote else 'local-fs.target'}",
        ]
        name = f"{escape_path(path)}.mount"
    return {"name": name, "enabled": True, "contents": "\n".join(lines)}


_TREE_OWNERSHIP = ("user", "group", "file_mode", "dir_mode")


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


def _merge_units(
    generated: list[dict[str, Any]], units: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Generated units are the parent config: they come first, a user unit of the same name
    overrides their fields (Ignition merge semantics)."""
    by_name = {u.get("name"): u for u in units}
    out = []
    for unit in generated:
        user = by_name.pop(unit["name"], None)
        out.append({**unit, **user} if user is not None else unit)
    return out + [u for u in units if u.get("name") in by_name]


_FCOS_RESERVED = {"BIOS-BOOT": 1, "PowerPC-PReP-boot": 1, "EFI-SYSTEM": 2, "boot": 3, "root": 4}


def _fcos_partition_warnings(
    config: dict[str, Any], marks: dict[str, Node], source: str
) -> list[tuple[str, str]]:
    """Fedora CoreOS's checks of partitions that touch its boot-disk layout."""

    def where(pointer: str) -> str:
        node = marks.get(pointer)
        return node.where if node is not None else source

    out = []
    for i, disk in enumerate(config.get("storage", {}).get("disks", [])):
        parts = disk.get("partitions", [])
        for p, part in enumerate(parts):
            label = part.get("label")
            at = f"/storage/disks/{i}/partitions/{p}"
            if label == "root":
                size = part.get("sizeMiB")
                if not size:
                    if any(not q.get("startMiB") for k, q in enumerate(parts) if k != p):
                        out.append((where(at + "/label"), msg.ROOT_CONSTRAINED))
                elif size < 8192:
                    out.append((where(at + "/sizeMiB"), msg.ROOT_TOO_SMALL))
            if (
                label in _FCOS_RESERVED
                and not disk.get("wipeTable")
                and part.get("number", 0) != _FCOS_RESERVED[label]
            ):
                text = msg.WRONG_PARTITION_NUMBER.format(label=label, number=_FCOS_RESERVED[label])
                out.append((where(at + "/label"), text))
    return out


def _variant(doc: Node) -> Variant:
    variant_node = doc.value.get("variant")
    version_node = doc.value.get("version")
    if variant_node is None or variant_node.value is None:
        raise doc.error(msg.MISSING_VARIANT)
    if version_node is None or version_node.value is None:
        raise doc.error(msg.MISSING_VERSION)
    key = (str(variant_node.value), str(version_node.value))
    variant = VARIANTS.get(key)
    if variant is not None:
        return variant
    pending = PENDING.get(key)
    if pending is not None:
        raise version_node.error(
            msg.PENDING_SPEC.format(
                variant=key[0], version=key[1], spec=pending.spec, supported=supported()
            )
        )
    raise variant_node.error(
        msg.UNKNOWN_VARIANT.format(variant=key[0], version=key[1], supported=supported())
    )


# Lists whose entries move when generated config is merged under the user's.
_SHIFTED = (
    ("storage", "disks"),
    ("storage", "raid"),
    ("storage", "luks"),
    ("storage", "filesystems"),
    ("storage", "files"),
    ("storage", "directories"),
    ("storage", "links"),
    ("systemd", "units"),
)


def merge_under(
    generated: dict[str, Any], config: dict[str, Any], marks: dict[str, Node], at: Node
) -> dict[str, Any]:
    """``generated`` as Ignition's merge parent of ``config``; ``marks`` follow the entries.

    Parent entries come first, so the user's entries move: their pointers are
    rewritten to the merged positions, and generated entries point at ``at``
    (the sugar that produced them).
    """
    from igngen.ignition.merge import key_of, merge

    merged = merge(generated, config)
    moves: dict[str, str] = {}
    for section, name in _SHIFTED:
        lst = spec.tree(spec.VERSIONS[-1]).fields[section]
        assert isinstance(lst, spec.Obj)
        node = lst.fields[name]
        assert isinstance(node, spec.List)
        after = merged.get(section, {}).get(name, [])
        position: dict[str, int] = {}
        for j, entry in enumerate(after):
            position.setdefault(key_of(node, entry), j)
        for i, entry in enumerate(config.get(section, {}).get(name, [])):
            moved_to = position.get(key_of(node, entry))
            if moved_to is not None and moved_to != i:
                moves[f"/{section}/{name}/{i}"] = f"/{section}/{name}/{moved_to}"
    if moves:
        moved: dict[str, Node] = {}
        for pointer, node_ in marks.items():
            parts = pointer.split("/")
            prefix = "/".join(parts[:4])
            target = moves.get(prefix)
            moved["/".join([target, *parts[4:]]) if target else pointer] = node_
        marks.clear()
        marks.update(moved)
    for section, name in _SHIFTED:
        for j in range(len(merged.get(section, {}).get(name, []))):
            marks.setdefault(f"/{section}/{name}/{j}", at)
    return merged


def translate(
    doc: Node,
    *,
    files_dir: str | None = None,
    strict: bool = False,
    auto_compress: bool = True,
) -> Translation:
    """Translate a parsed Butane document; raise :class:`ButaneError` at the offending node."""
    if not doc.is_map:
        raise doc.error(msg.EXPECTED_MAP)
    variant = _variant(doc)
    t = _Translator(variant, files_dir, doc.source, auto_compress)
    skip = ("variant", "version") + (("boot_device", "grub") if variant.fcos else ())
    config = t.obj(doc, spec.tree(variant.spec), "", "", skip=skip)
    boot_device: dict[str, Any] = {}
    bd_node = doc.value.get("boot_device")
    if variant.fcos and bd_node is not None:
        boot_device = t.walk(bd_node, fcos.boot_device_tree(variant), "/boot_device", "") or {}
        t.found += fcos.check_boot_device(variant, boot_device, bd_node)
    grub_users: list[dict[str, Any]] = []
    grub_node = doc.value.get("grub")
    if grub_node is not None:
        if not variant.grub:
            raise doc.error(msg.UNKNOWN_KEY.format(key="grub"), "grub")
        grub_users = (t.walk(grub_node, fcos.GRUB_TREE, "/grub", "") or {}).get("users", [])
    config.setdefault("ignition", {})["version"] = variant.spec
    if variant.fcos:
        mirror = boot_device.get("mirror", {}).get("devices", [])
        t.found += fcos.check_storage(
            variant, doc, config, mirror, lambda p: _where(t.marks, p, doc)
        )
    generated = t.units_for_filesystems(config)
    if generated:
        systemd = config.setdefault("systemd", {})
        units = systemd.get("units", [])
        merged_units = _merge_units(generated, units)
        _follow_units(t.marks, units, merged_units, doc)
        systemd["units"] = merged_units
    storage_node = doc.value.get("storage")
    if storage_node is not None and storage_node.is_map and "trees" in storage_node.value:
        t.trees(storage_node, config.setdefault("storage", {}))
    systemd_node = doc.value.get("systemd")
    if (
        variant.quadlets
        and systemd_node is not None
        and systemd_node.is_map
        and "quadlets" in systemd_node.value
    ):
        t.quadlets(systemd_node, config.setdefault("storage", {}))
    if variant.fcos:
        assert bd_node is not None or not boot_device
        rendered = fcos.render_boot_device(boot_device, variant.spec)
        if rendered is not None and bd_node is not None:
            config = merge_under(rendered, config, t.marks, bd_node)
        t.found += _fcos_partition_warnings(config, t.marks, doc.source)
        grub = fcos.render_grub(grub_users, grub_node or doc, variant.spec, auto_compress)
        if grub is not None and grub_node is not None:
            config = merge_under(grub, config, t.marks, grub_node)
    t.found += ignition_warnings(config, lambda p: _where(t.marks, p, doc))
    if strict and t.found:
        where, message = t.found[0]
        raise ButaneError(msg.STRICT.format(warning=message), where)
    warnings = [f"{where}: {message}" for where, message in t.found]
    return Translation(
        config=config,
        spec=variant.spec,
        warnings=warnings,
        marks=t.marks,
        variant=f"{variant.variant} {variant.version}",
    )


def _where(marks: dict[str, Node], pointer: str, doc: Node) -> str:
    while True:
        node = marks.get(pointer)
        if node is not None:
            return node.where
        if not pointer:
            return doc.where
        pointer = pointer.rsplit("/", 1)[0]


def _follow_units(
    marks: dict[str, Node], before: list[dict[str, Any]], after: list[dict[str, Any]], doc: Node
) -> None:
    """Re-point the user's unit marks after generated mount units were put first."""
    position = {u.get("name"): j for j, u in reversed(list(enumerate(after)))}
    moves = {
        f"/systemd/units/{i}": f"/systemd/units/{position[u.get('name')]}"
        for i, u in enumerate(before)
        if position.get(u.get("name"), i) != i
    }
    if not moves:
        return
    moved: dict[str, Node] = {}
    for pointer, node in marks.items():
        parts = pointer.split("/")
        target = moves.get("/".join(parts[:4]))
        moved["/".join([target, *parts[4:]]) if target else pointer] = node
    marks.clear()
    marks.update(moved)


def translate_bytes(
    data: bytes | str,
    *,
    source: str,
    files_dir: str | None = None,
    strict: bool = False,
    auto_compress: bool = True,
) -> Translation:
    """Parse, translate and validate one Butane document, as the ``butane`` CLI does.

    The generated config is validated too; its errors point back at the YAML
    line that produced the offending field.
    """
    from igngen.ignition.validate import validate
    from igngen.yamlsrc import parse

    result = translate(
        parse(data, source=source), files_dir=files_dir, strict=strict, auto_compress=auto_compress
    )
    reports = validate(result.config, source, version=result.spec, schema=False)
    for report in reports:
        if report.severity == "error":
            pointer = report.pointer or "/"
            raise ButaneError(
                f"generated config is invalid: {report.message} (at {pointer})",
                result.locate(report.pointer) or source,
            )
    # The validator's warnings, at the YAML node that produced the field; where the
    # translator already warned about the same node (in Butane's words), once is enough.
    own = list(result.warnings)
    for report in reports:
        where = result.locate(report.pointer) or source
        if any(w.startswith(f"{where}: ") for w in own):
            continue
        result.warnings.append(f"{where}: {report.message}")
        if strict:
            raise ButaneError(msg.STRICT.format(warning=report.message), where)
    return result
