"""The walk of a Butane document along the target spec's Ignition field tree (pure,
except local files).

Every Ignition field is accepted under its snake_case name, so the whole spec
passes through without a hand-written table; values are typed as go-yaml types
them. The per-object sugar sits here too: ``inline``/``local`` resources (an
embedded merge/replace config checked as Butane checks it), ``contents_local``
and ``ssh_authorized_keys_local``. Unknown keys are errors at their YAML line
and column. Whole-document sugar (``storage.trees``, ``systemd.quadlets``,
``with_mount_unit``) runs after the walk, in ``transpile``.
"""

from __future__ import annotations

import os
import re
from functools import cache

from igngen.butane import messages as msg
from igngen.butane.contents import make_source
from igngen.butane.modes import decimal_mode_suspect
from igngen.butane.versions import Variant
from igngen.ignition import nodes, spec
from igngen.safejson import loads
from igngen.yamlsrc import Node

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

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


def scalar_text(node: Node) -> str | None:
    """A scalar as a string field sees it (go-yaml gives a plain number its source text)."""
    if isinstance(node.value, str):
        return node.value
    return node.raw


@cache  # asked for every field of every object walked, of a few dozen names
def snake(name: str) -> str:
    return _CAMEL.sub(r"_\1", name.replace("MiB", "Mib")).lower()


def list_of_maps(parent: Node, key: str) -> list[Node]:
    """The entries of the list ``parent[key]`` (none when absent or null), each a map."""
    node = parent.value.get(key)
    if node is None or node.value is None:
        return []
    if not node.is_seq:
        raise node.error(msg.EXPECTED_LIST)
    for entry in node.value:
        if not entry.is_map:
            raise entry.error(msg.EXPECTED_MAP)
    return list(node.value)


class Walker:
    """One document's walk: its variant, local-files directory, warnings and marks."""

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

    def walk(self, node: Node, ign: nodes.Node, pointer: str, fpath: str) -> Any:
        self.marks[pointer] = node
        if node.value is None:
            return None
        if isinstance(ign, nodes.Scalar):
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
        if isinstance(ign, nodes.List):
            if not node.is_seq:
                raise node.error(msg.EXPECTED_LIST)
            return [
                self.walk(item, ign.item, f"{pointer}/{i}", f"{fpath}[]")
                for i, item in enumerate(node.value)
            ]
        return self.obj(node, ign, pointer, fpath)

    def obj(
        self, node: Node, ign: nodes.Obj, pointer: str, fpath: str, skip: tuple[str, ...] = ()
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
        rel = scalar_text(node)
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
            text = scalar_text(inline)
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
