"""Butane (flatcar 1.0/1.1, fcos 1.4/1.5) → Ignition JSON (pure, except reading local files).

The Ignition field tree of the target spec (``igngen.ignition.spec``) drives
the walk: every Ignition field is accepted under its snake_case name, so the
whole spec passes through without a hand-written table. Butane's sugar is
layered on top: ``inline``/``local`` resources, ``storage.trees``,
``with_mount_unit``, ``contents_local`` and ``ssh_authorized_keys_local``.
Unknown keys are errors at their YAML line and column.
"""

from __future__ import annotations

import os
import re
from typing import Any, NamedTuple

from igngen.butane import messages as msg
from igngen.butane.dataurl import make_source
from igngen.butane.escape import escape_path
from igngen.butane.versions import VARIANTS, Variant, supported
from igngen.errors import ButaneError
from igngen.ignition import spec
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
_KIND = {"string": "a string", "integer": "an integer", "boolean": "true or false"}


def snake(name: str) -> str:
    return _CAMEL.sub(r"_\1", name.replace("MiB", "Mib")).lower()


class Translation(NamedTuple):
    config: dict[str, Any]
    spec: str
    warnings: list[str]
    # JSON pointer in ``config`` → the YAML node it came from (for located errors later).
    marks: dict[str, Node]

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
    def __init__(self, variant: Variant, files_dir: str | None, source: str) -> None:
        self.variant = variant
        self.files_dir = os.path.realpath(files_dir) if files_dir else None
        self.source = source
        self.warnings: list[str] = []
        self.marks: dict[str, Node] = {}
        self.mount_units: list[tuple[dict[str, Any], Node]] = []

    # --- generic walk ------------------------------------------------------

    def walk(self, node: Node, ign: spec.Node, pointer: str, fpath: str) -> Any:
        self.marks[pointer] = node
        if node.value is None:
            return None
        if isinstance(ign, spec.Scalar):
            v = node.value
            ok = (
                isinstance(v, str)
                if ign.kind == "string"
                else isinstance(v, bool)
                if ign.kind == "boolean"
                else isinstance(v, int) and not isinstance(v, bool)
            )
            if not ok:
                raise node.error(msg.EXPECTED_TYPE.format(kind=_KIND[ign.kind]))
            if (
                fpath.endswith("/mode")
                and isinstance(v, int)
                and v & 0o7000
                and spec.ORDER[self.variant.spec] < spec.ORDER.get("3.6.0", 99)
            ):
                self.warnings.append(f"{node.where}: " + msg.SPECIAL_MODE_BITS.format(mode=v))
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
            if key in self.variant.fcos_only and fpath == "":
                raise node.error(msg.FCOS_ONLY.format(key=key), key)
            camel = names.get(key)
            if camel is None:
                raise node.error(msg.UNKNOWN_KEY.format(key=key), key)
            sub = f"{fpath}/{camel}" if fpath else camel
            value = self.walk(child, ign.fields[camel], f"{pointer}/{camel}", sub)
            if value is not None:
                out[camel] = value
        if fpath in _RESOURCES:
            self.resource(node, out)
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
        elif fpath == "storage/luks[]" and "clevis" in out and not self.variant.clevis:
            raise node.error(msg.CLEVIS_FLATCAR.format(version=self.variant.version), "clevis")
        return out

    def sugar_keys(self, fpath: str) -> tuple[str, ...]:
        if fpath in _RESOURCES:
            return ("inline", "local")
        if fpath == "storage":
            return ("trees",)
        if fpath == "storage/filesystems[]":
            return ("with_mount_unit",)
        if self.variant.unit_contents_local:
            if fpath in ("systemd/units[]", "systemd/units[]/dropins[]"):
                return ("contents_local",)
            if fpath == "passwd/users[]":
                return ("ssh_authorized_keys_local",)
        return ()

    # --- sugar ---------------------------------------------------------------

    def read_local(self, node: Node, key: str) -> bytes:
        if self.files_dir is None:
            raise node.error(msg.NEEDS_FILES_DIR.format(key=key))
        rel = node.value
        if not isinstance(rel, str):
            raise node.error(msg.EXPECTED_TYPE.format(kind="a string"))
        if os.path.isabs(rel):
            raise node.error(msg.LOCAL_ABSOLUTE.format(path=rel))
        full = os.path.realpath(os.path.join(self.files_dir, rel))
        if full != self.files_dir and not full.startswith(self.files_dir + os.sep):
            raise node.error(msg.LOCAL_ESCAPES.format(path=rel))
        try:
            with open(full, "rb") as fh:
                return fh.read()
        except OSError as exc:
            raise node.error(msg.LOCAL_UNREADABLE.format(path=rel, reason=exc.strerror)) from None

    def resource(self, node: Node, out: dict[str, Any]) -> None:
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
        if inline is not None and inline.value is not None:
            if not isinstance(inline.value, str):
                raise inline.error(msg.EXPECTED_TYPE.format(kind="a string"))
            data = inline.value.encode("utf-8")
        elif local is not None and local.value is not None:
            data = self.read_local(local, "local")
        if data is None:
            return
        source, compression = make_source(data, allow_compression=out.get("compression") is None)
        out["source"] = source
        if compression is not None:
            out["compression"] = compression

    def contents_local(self, node: Node, out: dict[str, Any]) -> None:
        local = node.value.get("contents_local")
        if local is None or local.value is None:
            return
        if "contents" in out:
            raise node.error(msg.TOO_MANY_SOURCES, "contents_local")
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
            keys += [line.strip() for line in text.splitlines() if line.strip()]
        out["sshAuthorizedKeys"] = keys

    def trees(self, storage_node: Node, storage: dict[str, Any]) -> None:
        trees = storage_node.value.get("trees")
        if trees is None or trees.value is None:
            return
        if not trees.is_seq:
            raise trees.error(msg.EXPECTED_LIST)
        taken = {
            e.get("path"): kind
            for kind in ("files", "directories", "links")
            for e in storage.get(kind, [])
        }
        for tree in trees.value:
            if not tree.is_map:
                raise tree.error(msg.EXPECTED_MAP)
            for key in tree.value:
                if key not in ("local", "path"):
                    raise tree.error(msg.UNKNOWN_KEY.format(key=key), key)
            local = tree.value.get("local")
            if local is None:
                raise tree.error("tree needs 'local'")
            self.read_local_dir_check(local)
            root = os.path.realpath(os.path.join(self.files_dir or "", local.value))
            dest = tree.value["path"].value if "path" in tree.value else "/"
            if not isinstance(dest, str) or not dest.startswith("/"):
                raise tree.error("tree 'path' must be absolute", "path")
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames.sort()
                for name in sorted(filenames) + sorted(
                    d for d in dirnames if os.path.islink(os.path.join(dirpath, d))
                ):
                    full = os.path.join(dirpath, name)
                    rel = os.path.relpath(full, root)
                    target = "/" + "/".join(p for p in (dest.strip("/"), rel) if p)
                    if target in taken:
                        raise tree.error(msg.TREE_CONFLICT.format(path=target, kind=taken[target]))
                    if os.path.islink(full):
                        storage.setdefault("links", []).append(
                            {"path": target, "target": os.readlink(full)}
                        )
                    else:
                        with open(full, "rb") as fh:
                            data = fh.read()
                        source, compression = make_source(data, allow_compression=True)
                        mode = 0o755 if os.stat(full).st_mode & 0o111 else 0o644
                        storage.setdefault("files", []).append(
                            {
                                "path": target,
                                "mode": mode,
                                "contents": {"source": source, "compression": compression},
                            }
                        )
                    taken[target] = "trees"

    def read_local_dir_check(self, local: Node) -> None:
        if self.files_dir is None:
            raise local.error(msg.NEEDS_FILES_DIR.format(key="trees"))
        rel = local.value
        if not isinstance(rel, str):
            raise local.error(msg.EXPECTED_TYPE.format(kind="a string"))
        full = os.path.realpath(os.path.join(self.files_dir, rel))
        if full != self.files_dir and not full.startswith(self.files_dir + os.sep):
            raise local.error(msg.LOCAL_ESCAPES.format(path=rel))
        if not os.path.isdir(full):
            raise local.error(msg.TREE_NOT_DIR.format(path=rel))

    def units_for_filesystems(self) -> list[dict[str, Any]]:
        units = []
        for fs, node in self.mount_units:
            fmt, path = fs.get("format"), fs.get("path")
            device = str(fs.get("device", ""))
            if not fmt:
                raise node.error(msg.MOUNT_UNIT_FORMAT, "with_mount_unit")
            options = fs.get("mountOptions") or []
            if fmt == "swap":
                lines = ["# Generated by Butane", "[Swap]", f"What={device}"]
                if options:
                    lines.append(f"Options={','.join(options)}")
                lines += ["", "[Install]", "RequiredBy=swap.target"]
                units.append(
                    {
                        "name": f"{escape_path(device)}.swap",
                        "enabled": True,
                        "contents": "\n".join(lines),
                    }
                )
                continue
            if not path:
                raise node.error(msg.MOUNT_UNIT_PATH, "with_mount_unit")
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
            ]
            if options:
                lines.append(f"Options={','.join(options)}")
            lines += ["", "[Install]", "RequiredBy=local-fs.target"]
            units.append(
                {
                    "name": f"{escape_path(path)}.mount",
                    "enabled": True,
                    "contents": "\n".join(lines),
                }
            )
        return units


def translate(doc: Node, *, files_dir: str | None = None, strict: bool = False) -> Translation:
    """Translate a parsed Butane document; raise :class:`ButaneError` at the offending node."""
    if not doc.is_map:
        raise doc.error(msg.EXPECTED_MAP)
    variant_node = doc.value.get("variant")
    version_node = doc.value.get("version")
    if variant_node is None or variant_node.value is None:
        raise doc.error(msg.MISSING_VARIANT)
    if version_node is None or version_node.value is None:
        raise doc.error(msg.MISSING_VERSION)
    key = (str(variant_node.value), str(version_node.value))
    variant = VARIANTS.get(key)
    if variant is None:
        raise variant_node.error(
            msg.UNKNOWN_VARIANT.format(variant=key[0], version=key[1], supported=supported())
        )
    t = _Translator(variant, files_dir, doc.source)
    config = t.obj(doc, spec.tree(variant.spec), "", "", skip=("variant", "version"))
    storage_node = doc.value.get("storage")
    if storage_node is not None and storage_node.is_map and "trees" in storage_node.value:
        t.trees(storage_node, config.setdefault("storage", {}))
    generated = t.units_for_filesystems()
    if generated:
        units = config.setdefault("systemd", {}).setdefault("units", [])
        by_name = {u.get("name"): u for u in units}
        for unit in reversed(generated):
            user = by_name.get(unit["name"])
            if user is None:
                units.insert(0, unit)
            else:  # the user's unit of that name is the child: its fields win
                for k, v in unit.items():
                    user.setdefault(k, v)
    config.setdefault("ignition", {})["version"] = variant.spec
    if strict and t.warnings:
        first = t.warnings[0]
        raise ButaneError(f"warning treated as error (--strict): {first}", doc.source)
    return Translation(config=config, spec=variant.spec, warnings=t.warnings, marks=t.marks)
