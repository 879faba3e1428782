"""Validate Ignition configs against the per-version spec data (pure, fast).

``check`` is what ``igngen render`` runs on every output: one walk over the
config (linear in its size) with no jsonschema import. ``validate`` collects
every report for ``igngen validate``; ``schema.py`` offers the same rules as a
JSON Schema for tools, and the tests hold the two to agreement.

Besides types and required fields, the semantic rules Ignition itself enforces
are checked (duplicate paths across files/directories/links, duplicate names,
partitions without number or label, data-URL syntax, compression values,
modes, URL schemes and hashes per version, overwrite without a source, unit
suffixes), and one it does not: a field newer than the declared version is an
error here, because Ignition would drop it with only a warning.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from igngen.errors import IgnitionConfigError
from igngen.ignition import spec
from igngen.ignition.dataurl import check_syntax

_HASH_LEN = {"sha512": 128, "sha256": 64}
_HEXDIGITS = re.compile(r"[0-9a-f]+")


class Report(NamedTuple):
    severity: str  # "error" or "warning"
    pointer: str
    message: str


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class _Walker:
    def __init__(self, version: str) -> None:
        self.version = version
        self.reports: list[Report] = []

    def error(self, pointer: str, message: str) -> None:
        self.reports.append(Report("error", pointer, message))

    def warn(self, pointer: str, message: str) -> None:
        self.reports.append(Report("warning", pointer, message))

    def walk(self, node: spec.Node, value: Any, pointer: str, fields_path: str) -> None:
        if isinstance(node, spec.Scalar):
            self.scalar(node, value, pointer)
        elif isinstance(node, spec.Obj):
            self.obj(node, value, pointer, fields_path)
        else:
            self.lst(node, value, pointer, fields_path)

    def scalar(self, node: spec.Scalar, value: Any, pointer: str) -> None:
        if value is None:
            return
        kind = node.kind
        ok = (
            isinstance(value, str)
            if kind == "string"
            else isinstance(value, bool)
            if kind == "boolean"
            else isinstance(value, int) and not isinstance(value, bool)
        )
        if not ok:
            self.error(pointer, f"expected {'an' if kind == 'integer' else 'a'} {kind}")

    def obj(self, node: spec.Obj, value: Any, pointer: str, fields_path: str) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            self.error(pointer, "expected an object")
            return
        for key, item in value.items():
            child = node.fields.get(key)
            child_path = f"{fields_path}/{key}" if fields_path else key
            if child is None:
                newer = spec.added_in(child_path)
                if newer and spec.ORDER[newer] > spec.ORDER[self.version]:
                    self.error(
                        f"{pointer}/{_escape(key)}",
                        f"field {key!r} needs spec {newer} or newer (config declares {self.version})",
                    )
                else:
                    self.warn(
                        f"{pointer}/{_escape(key)}", f"unknown field {key!r} (Ignition ignores it)"
                    )
                continue
            self.walk(child, item, f"{pointer}/{_escape(key)}", child_path)
        for key, child in node.fields.items():
            if getattr(child, "required", False) and value.get(key) is None:
                self.error(f"{pointer}/{_escape(key)}", "required field is missing")

    def lst(self, node: spec.List, value: Any, pointer: str, fields_path: str) -> None:
        if value is None:
            return
        if not isinstance(value, list):
            self.error(pointer, "expected an array")
            return
        for i, item in enumerate(value):
            self.walk(node.item, item, f"{pointer}/{i}", f"{fields_path}[]")


def _get(config: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(config, dict):
            return None
        config = config.get(key)
    return config


def _items(config: Any, *keys: str) -> list[tuple[int, dict[str, Any]]]:
    value = _get(config, *keys)
    if not isinstance(value, list):
        return []
    return [(i, v) for i, v in enumerate(value) if isinstance(v, dict)]


class _Semantics:
    def __init__(self, walker: _Walker, version: str) -> None:
        self.w = walker
        self.version = version
        self.schemes = spec.by_version(spec.URL_SCHEMES, version)
        self.hashes = spec.by_version(spec.HASH_FUNCTIONS, version)
        self.formats = spec.by_version(spec.FILESYSTEM_FORMATS, version)

    def url(self, url: Any, pointer: str) -> None:
        if not isinstance(url, str):
            return
        scheme, sep, rest = url.partition(":")
        if not sep:
            self.w.error(pointer, "not a URL (no scheme)")
            return
        scheme = scheme.lower()
        if scheme not in self.schemes:
            self.w.error(pointer, f"URL scheme {scheme!r} not supported in spec {self.version}")
        elif scheme == "data":
            problem = check_syntax(url)
            if problem:
                self.w.error(pointer, f"invalid data URL: {problem}")
        elif scheme in ("http", "https", "tftp", "s3", "gs") and not rest.startswith("//"):
            self.w.error(pointer, f"{scheme} URL needs a host")

    def resource(self, res: Any, pointer: str) -> None:
        if not isinstance(res, dict):
            return
        self.url(res.get("source"), f"{pointer}/source")
        comp = res.get("compression")
        if comp not in (None, "", "gzip"):
            self.w.error(f"{pointer}/compression", f"compression {comp!r} is not '' or 'gzip'")
        digest = _get(res, "verification", "hash")
        if isinstance(digest, str):
            func, _, hexval = digest.partition("-")
            if func not in self.hashes:
                self.w.error(
                    f"{pointer}/verification/hash",
                    f"hash function {func!r} not supported in spec {self.version}",
                )
            elif len(hexval) != _HASH_LEN[func] or not _HEXDIGITS.fullmatch(hexval):
                self.w.error(
                    f"{pointer}/verification/hash",
                    f"{func} hash must be {_HASH_LEN[func]} lower-case hex digits",
                )
        for i, header in enumerate(res.get("httpHeaders") or []):
            if isinstance(header, dict) and not header.get("name"):
                self.w.error(f"{pointer}/httpHeaders/{i}/name", "header name is empty")

    def path(self, value: Any, pointer: str) -> None:
        if isinstance(value, str) and not value.startswith("/"):
            self.w.error(pointer, "path must be absolute")

    def mode(self, value: Any, pointer: str) -> None:
        if isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= 0o7777:
            self.w.error(
                pointer, f"mode {value} outside 0..07777 (modes are decimal in JSON: 0644 is 420)"
            )

    def run(self, config: dict[str, Any]) -> None:
        ign = config.get("ignition")
        for i, res in enumerate(_get(ign, "config", "merge") or []):
            self.resource(res, f"/ignition/config/merge/{i}")
        if isinstance(_get(ign, "config", "replace"), dict):
            self.resource(_get(ign, "config", "replace"), "/ignition/config/replace")
        for i, res in enumerate(_get(ign, "security", "tls", "certificateAuthorities") or []):
            self.resource(res, f"/ignition/security/tls/certificateAuthorities/{i}")

        seen_paths: dict[str, str] = {}
        for kind in ("files", "directories", "links"):
            for i, entry in _items(config, "storage", kind):
                pointer = f"/storage/{kind}/{i}"
                p = entry.get("path")
                self.path(p, f"{pointer}/path")
                if isinstance(p, str):
                    if p in seen_paths:
                        self.w.error(
                            f"{pointer}/path", f"duplicate path {p!r} (also at {seen_paths[p]})"
                        )
                    seen_paths[p] = pointer
                self.mode(entry.get("mode"), f"{pointer}/mode")
                if kind == "files":
                    contents = entry.get("contents")
                    self.resource(contents, f"{pointer}/contents")
                    for j, res in enumerate(entry.get("append") or []):
                        self.resource(res, f"{pointer}/append/{j}")
                    if entry.get("overwrite") is True and _get(contents, "source") is None:
                        self.w.error(
                            f"{pointer}/overwrite",
                            "overwrite is true but contents.source is not set",
                        )

        names: set[Any] = set()
        for i, disk in _items(config, "storage", "disks"):
            dev = disk.get("device")
            self.path(dev, f"/storage/disks/{i}/device")
            if dev in names:
                self.w.error(f"/storage/disks/{i}/device", f"duplicate disk {dev!r}")
            names.add(dev)
            numbers: set[int] = set()
            labels: set[str] = set()
            for j, part in _items(disk, "partitions"):
                pp = f"/storage/disks/{i}/partitions/{j}"
                num, label = part.get("number"), part.get("label")
                if not num and label is None:
                    self.w.error(pp, "partition needs a number or a label")
                if isinstance(num, int) and num:
                    if num in numbers:
                        self.w.error(f"{pp}/number", f"duplicate partition number {num}")
                    numbers.add(num)
                if isinstance(label, str):
                    if label in labels:
                        self.w.error(f"{pp}/label", f"duplicate partition label {label!r}")
                    labels.add(label)
                    if len(label) > 36:
                        self.w.error(f"{pp}/label", "partition label longer than 36 characters")
        self._unique(config, ("storage", "filesystems"), "device")
        for i, fs in _items(config, "storage", "filesystems"):
            self.path(fs.get("device"), f"/storage/filesystems/{i}/device")
            self.path(fs.get("path"), f"/storage/filesystems/{i}/path")
            fmt = fs.get("format")
            if isinstance(fmt, str) and fmt and fmt not in self.formats:
                self.w.error(
                    f"/storage/filesystems/{i}/format",
                    f"format {fmt!r} not supported in spec {self.version}",
                )
        self._unique(config, ("storage", "raid"), "name")
        self._unique(config, ("storage", "luks"), "name")
        for i, luks in _items(config, "storage", "luks"):
            self.path(luks.get("device"), f"/storage/luks/{i}/device")
            if isinstance(luks.get("keyFile"), dict):
                self.resource(luks["keyFile"], f"/storage/luks/{i}/keyFile")

        self._unique(config, ("systemd", "units"), "name")
        for i, unit in _items(config, "systemd", "units"):
            name = unit.get("name")
            if isinstance(name, str) and not name.endswith(spec.UNIT_SUFFIXES):
                self.w.error(
                    f"/systemd/units/{i}/name", f"invalid unit name {name!r} (unknown unit type)"
                )
            self._unique(unit, ("dropins",), "name", prefix=f"/systemd/units/{i}")
            for j, dropin in _items(unit, "dropins"):
                dname = dropin.get("name")
                if isinstance(dname, str) and not dname.endswith(".conf"):
                    self.w.error(
                        f"/systemd/units/{i}/dropins/{j}/name", "drop-in name must end in .conf"
                    )

        self._unique(config, ("passwd", "users"), "name")
        self._unique(config, ("passwd", "groups"), "name")
        for i, user in _items(config, "passwd", "users"):
            keys = user.get("sshAuthorizedKeys")
            if isinstance(keys, list):
                seen: set[str] = set()
                for j, key in enumerate(keys):
                    if key in seen:
                        self.w.error(
                            f"/passwd/users/{i}/sshAuthorizedKeys/{j}", "duplicate SSH key"
                        )
                    if isinstance(key, str):
                        seen.add(key)

        kargs = config.get("kernelArguments")
        if isinstance(kargs, dict):
            present = set(kargs.get("shouldExist") or [])
            for j, arg in enumerate(kargs.get("shouldNotExist") or []):
                if arg in present:
                    self.w.error(
                        f"/kernelArguments/shouldNotExist/{j}",
                        f"argument {arg!r} is also in shouldExist",
                    )

    def _unique(self, config: Any, keys: tuple[str, ...], field: str, *, prefix: str = "") -> None:
        seen: set[Any] = set()
        for i, entry in _items(config, *keys):
            value = entry.get(field)
            if value is None or isinstance(value, (dict, list)):
                continue
            if value in seen:
                self.w.error(
                    f"{prefix}/{'/'.join(keys)}/{i}/{field}", f"duplicate {field} {value!r}"
                )
            seen.add(value)


def declared_version(config: Any) -> str | None:
    version = _get(config, "ignition", "version")
    return version if isinstance(version, str) else None


def validate(config: Any, *, version: str | None = None) -> list[Report]:
    """Every report (errors and warnings) for ``config``; ``version`` pins the expected version."""
    if not isinstance(config, dict):
        return [Report("error", "", "config must be a JSON object")]
    declared = declared_version(config)
    if declared is None:
        return [Report("error", "/ignition/version", "required field is missing")]
    if declared.startswith(spec.LEGACY_PREFIXES):
        return [
            Report(
                "error",
                "/ignition/version",
                f"spec {declared} is a 1.x/2.x config; igngen handles spec 3.x only "
                "(Flatcar's Ignition translates old configs itself)",
            )
        ]
    if declared not in spec.TREES:
        return [Report("error", "/ignition/version", f"unsupported config version {declared!r}")]
    if version is not None and declared != version:
        return [
            Report("error", "/ignition/version", f"config declares {declared}, expected {version}")
        ]
    walker = _Walker(declared)
    walker.walk(spec.tree(declared), config, "", "")
    if not any(r.severity == "error" for r in walker.reports):
        _Semantics(walker, declared).run(config)
    return walker.reports


def check(config: Any, *, source: str, version: str | None = None) -> list[str]:
    """Raise :class:`IgnitionConfigError` on the first error; return warnings as lines."""
    reports = validate(config, version=version)
    for report in reports:
        if report.severity == "error":
            raise IgnitionConfigError(report.message, source, report.pointer or "/")
    return [f"{source}#{r.pointer}: {r.message}" for r in reports]
