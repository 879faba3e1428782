"""Validate Ignition configs against the per-version spec data.

Two entry points share one set of semantic rules:

- ``check(config, *, source, version=None)`` is the fast path ``igngen render``
  runs on every output: one walk over the config and the spec tree (linear in
  the config's size, no jsonschema import). It raises
  :class:`IgnitionConfigError` on the first error and returns warnings.
- ``validate(config, source)`` is for ``igngen validate``: the structural part
  comes from the JSON Schema generated from the same spec data
  (``igngen.ignition.schema``), then the same semantic rules run; it returns
  every report. Tests hold the two paths to the same accept/reject answer.

Semantic rules are those Ignition 2.14 enforces in ``config/v3_*/types``:
duplicates in every keyed list (files/directories/links and kernel argument
lists share one namespace), paths absolute and clean, modes 0..07777, node
user/group with both id and name, ``overwrite`` without ``contents.source``,
partitions (number or label, label length/colon, GUIDs, shouldExist:false
with other fields), filesystem format per version and label lengths, RAID
levels, unit/drop-in suffixes, resources (URL scheme per version, data-URL
syntax, compression, hash function per version and length, headers only on
http(s)), links through links, hard links to directories, LUKS and Tang basics.

One rule is stricter than Ignition: a field newer than the declared version is
an error here (code ``newer-field``), because Ignition would drop it with only
a warning. Unknown fields are warnings, as in Ignition.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from igngen.errors import IgnitionConfigError
from igngen.ignition import spec
from igngen.ignition.dataurl import check_syntax

_HASH_LEN = {"sha512": 128, "sha256": 64}
_GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
_FS_LABEL_MAX = {"ext4": 16, "btrfs": 256, "xfs": 12, "swap": 15, "vfat": 11}
_RAID_LEVELS = ("linear", "raid0", "0", "stripe", "raid1", "1", "mirror", "raid4", "4",
                "raid5", "5", "raid6", "6", "raid10", "10")  # fmt: skip
_NO_SPARES = ("linear", "raid0", "0", "stripe")

NEWER_FIELD = "newer-field"


class Report(NamedTuple):
    severity: str  # "error" or "warning"
    pointer: str
    message: str
    code: str = ""


def escape(token: str) -> str:
    """One JSON-pointer reference token."""
    return token.replace("~", "~0").replace("/", "~1")


class _Reports:
    __slots__ = ("reports",)

    def __init__(self) -> None:
        self.reports: list[Report] = []

    def error(self, pointer: str, message: str, code: str = "") -> None:
        self.reports.append(Report("error", pointer, message, code))

    def warn(self, pointer: str, message: str) -> None:
        self.reports.append(Report("warning", pointer, message))

    @property
    def failed(self) -> bool:
        return any(r.severity == "error" for r in self.reports)


# --- structure (the fast path's replacement for the JSON Schema) ------------------


def newer_field_message(key: str, newer: str, version: str) -> str:
    return f"field {key!r} needs spec {newer} or newer (config declares {version})"


def _structure(out: _Reports, version: str, node: spec.Node, value: Any, pointer: str,
               fields_path: str) -> None:  # fmt: skip
    if value is None:
        return
    if isinstance(node, spec.Scalar):
        kind = node.kind
        if kind == "string":
            ok = isinstance(value, str)
        elif kind == "boolean":
            ok = isinstance(value, bool)
        else:
            ok = isinstance(value, int) and not isinstance(value, bool)
        if not ok:
            out.error(pointer, f"expected {'an' if kind == 'integer' else 'a'} {kind}")
        return
    if isinstance(node, spec.List):
        if not isinstance(value, list):
            out.error(pointer, "expected an array")
            return
        item, sub_path = node.item, f"{fields_path}[]"
        for i, entry in enumerate(value):
            _structure(out, version, item, entry, f"{pointer}/{i}", sub_path)
        return
    if not isinstance(value, dict):
        out.error(pointer, "expected an object")
        return
    fields = node.fields
    for key, entry in value.items():
        child = fields.get(key)
        child_path = f"{fields_path}/{key}" if fields_path else key
        if child is None:
            newer = spec.added_in(child_path)
            where = f"{pointer}/{escape(key)}"
            if newer and spec.ORDER[newer] > spec.ORDER[version]:
                out.error(where, newer_field_message(key, newer, version), NEWER_FIELD)
            else:
                out.warn(where, f"unknown field {key!r} (Ignition ignores it)")
            continue
        _structure(out, version, child, entry, f"{pointer}/{escape(key)}", child_path)
    for key, child in fields.items():
        if child.required and value.get(key) is None:
            out.error(f"{pointer}/{escape(key)}", "required field is missing")


# --- semantics ----------------------------------------------------------------------


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


def _key(lst: spec.List, entry: Any) -> str:
    from igngen.ignition.merge import key_of

    return key_of(lst, entry)


def clean_path(p: str) -> str:
    """Go's ``path.Clean`` for absolute paths."""
    parts: list[str] = []
    for part in p.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/" + "/".join(parts)


def _empty(value: Any) -> bool:
    return value is None or value == ""


class _Semantics:
    def __init__(self, out: _Reports, version: str) -> None:
        self.out = out
        self.version = version
        self.schemes = spec.by_version(spec.URL_SCHEMES, version)
        self.hashes = spec.by_version(spec.HASH_FUNCTIONS, version)
        self.formats = spec.by_version(spec.FILESYSTEM_FORMATS, version)

    def error(self, pointer: str, message: str) -> None:
        self.out.error(pointer, message)

    # generic: every keyed list, per Ignition's ValidateDups
    def duplicates(self, node: spec.Node, value: Any, pointer: str) -> None:
        if isinstance(node, spec.List):
            if isinstance(value, list) and not isinstance(node.item, spec.Scalar):
                for i, entry in enumerate(value):
                    self.duplicates(node.item, entry, f"{pointer}/{i}")
            return
        if not isinstance(node, spec.Obj) or not isinstance(value, dict):
            return
        seen: dict[tuple[str, str], str] = {}
        for name, sub in node.fields.items():
            entries = value.get(name)
            if entries is None:
                continue
            if isinstance(sub, spec.List) and sub.key is not None and isinstance(entries, list):
                space = sub.namespace or name
                for i, entry in enumerate(entries):
                    ident = (space, _key(sub, entry))
                    where = f"{pointer}/{escape(name)}/{i}"
                    if ident in seen:
                        self.error(where, f"duplicate entry {ident[1]!r} (also at {seen[ident]})")
                    else:
                        seen[ident] = where
            self.duplicates(sub, entries, f"{pointer}/{escape(name)}")

    def url(self, url: Any, pointer: str) -> None:
        if not isinstance(url, str) or url == "":
            return
        scheme, sep, _ = url.partition(":")
        if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
            self.error(pointer, "invalid URL: no scheme")
            return
        scheme = scheme.lower()
        if scheme not in self.schemes:
            self.error(pointer, f"URL scheme {scheme!r} not supported in spec {self.version}")
        elif scheme == "data":
            problem = check_syntax(url)
            if problem:
                self.error(pointer, f"invalid data URL: {problem}")
        elif "%" in url and re.search(r"%(?![0-9A-Fa-f]{2})", url):
            self.error(pointer, "invalid URL: bad percent escape")

    def resource(self, res: Any, pointer: str, *, required: bool = False) -> None:
        if not isinstance(res, dict):
            return
        source = res.get("source")
        if required and _empty(source):
            self.error(f"{pointer}/source", "source is required")
        self.url(source, f"{pointer}/source")
        comp = res.get("compression")
        if comp not in (None, "", "gzip"):
            self.error(f"{pointer}/compression", f"compression {comp!r} is not '' or 'gzip'")
        digest = _get(res, "verification", "hash")
        if isinstance(digest, str):
            hp = f"{pointer}/verification/hash"
            func, dash, hexval = digest.partition("-")
            if source is None:
                self.error(hp, "verification hash given without a source")
            elif not dash:
                self.error(hp, "malformed hash (expected FUNCTION-HEX)")
            elif func not in self.hashes:
                self.error(hp, f"hash function {func!r} not supported in spec {self.version}")
            elif len(hexval) != _HASH_LEN[func]:
                self.error(hp, f"{func} hash must be {_HASH_LEN[func]} hex digits")
        headers = res.get("httpHeaders")
        if isinstance(headers, list) and headers:
            if _empty(source) or str(source).split(":", 1)[0].lower() not in ("http", "https"):
                self.error(f"{pointer}/httpHeaders", "HTTP headers need an http(s) source")
            for i, header in enumerate(headers):
                if not isinstance(header, dict):
                    continue
                if _empty(header.get("name")):
                    self.error(f"{pointer}/httpHeaders/{i}/name", "header name is empty")
                if header.get("value") == "":
                    self.error(f"{pointer}/httpHeaders/{i}/value", "header value is empty")

    def path(self, value: Any, pointer: str, *, required: bool = True) -> None:
        if not isinstance(value, str):
            return
        if value == "":
            if required:
                self.error(pointer, "path is required")
        elif not value.startswith("/"):
            self.error(pointer, f"path {value!r} is not absolute")
        elif clean_path(value) != value:
            self.error(pointer, f"path {value!r} is not clean (use {clean_path(value)!r})")

    def mode(self, value: Any, pointer: str) -> None:
        if isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value <= 0o7777:
                self.error(
                    pointer,
                    f"mode {value} outside 0..07777 (modes are decimal in JSON: 0644 is 420)",
                )
            elif value & 0o7000:
                self.out.warn(pointer, "setuid/setgid/sticky bits are ignored before spec 3.6")

    def owner(self, value: Any, pointer: str) -> None:
        if (
            isinstance(value, dict)
            and value.get("id") is not None
            and not _empty(value.get("name"))
        ):
            self.error(pointer, "give either id or name, not both")

    def run(self, config: dict[str, Any]) -> None:
        self.duplicates(spec.tree(self.version), config, "")
        ign = config.get("ignition")
        for i, res in _items(ign, "config", "merge"):
            self.resource(res, f"/ignition/config/merge/{i}", required=True)
        replace = _get(ign, "config", "replace")
        if isinstance(replace, dict):
            self.resource(replace, "/ignition/config/replace")
        for i, res in _items(ign, "security", "tls", "certificateAuthorities"):
            self.resource(res, f"/ignition/security/tls/certificateAuthorities/{i}", required=True)
        self.storage(config)
        self.systemd(config)

    def storage(self, config: dict[str, Any]) -> None:
        links = [
            e["path"]
            for _, e in _items(config, "storage", "links")
            if isinstance(e.get("path"), str)
        ]
        directories = {e.get("path") for _, e in _items(config, "storage", "directories")}
        for kind in ("files", "directories", "links"):
            for i, entry in _items(config, "storage", kind):
                pointer = f"/storage/{kind}/{i}"
                p = entry.get("path")
                self.path(p if p is not None else "", f"{pointer}/path")
                self.owner(entry.get("user"), f"{pointer}/user")
                self.owner(entry.get("group"), f"{pointer}/group")
                if isinstance(p, str) and any(p.startswith(link + "/") for link in links):
                    self.error(pointer, f"path {p!r} goes through a link defined in this config")
                if kind != "links":
                    self.mode(entry.get("mode"), f"{pointer}/mode")
                if kind == "files":
                    contents = entry.get("contents")
                    self.resource(contents, f"{pointer}/contents")
                    for j, res in _items(entry, "append"):
                        self.resource(res, f"{pointer}/append/{j}")
                    if entry.get("overwrite") is True and _get(contents, "source") is None:
                        self.error(
                            f"{pointer}/overwrite",
                            "overwrite is true but contents.source is not set",
                        )
                if kind == "links":
                    target = entry.get("target")
                    if not isinstance(target, str) or target == "":
                        self.error(f"{pointer}/target", "link target is required")
                    elif entry.get("hard") is True and isinstance(p, str):
                        t = target if target.startswith("/") else f"{p}/{target}"
                        if clean_path(t) in directories:
                            self.error(pointer, "hard link to a directory")

        for i, disk in _items(config, "storage", "disks"):
            dp = f"/storage/disks/{i}"
            self.path(disk.get("device", ""), f"{dp}/device")
            labels: set[str] = set()
            for j, part in _items(disk, "partitions"):
                self.partition(part, f"{dp}/partitions/{j}", labels)

        for i, fs in _items(config, "storage", "filesystems"):
            self.filesystem(fs, f"/storage/filesystems/{i}")

        for i, raid in _items(config, "storage", "raid"):
            rp = f"/storage/raid/{i}"
            level = raid.get("level")
            if not raid.get("devices"):
                self.error(f"{rp}/devices", "RAID needs devices")
            if _empty(level):
                self.error(f"{rp}/level", "RAID level is required")
            elif level not in _RAID_LEVELS:
                self.error(f"{rp}/level", f"unrecognized RAID level {level!r}")
            elif level in _NO_SPARES and raid.get("spares"):
                self.error(f"{rp}/level", f"spares are not supported for RAID level {level!r}")
            for j, dev in enumerate(raid.get("devices") or []):
                self.path(dev, f"{rp}/devices/{j}")

        for i, luks in _items(config, "storage", "luks"):
            lp = f"/storage/luks/{i}"
            name = luks.get("name")
            if isinstance(name, str) and "/" in name:
                self.error(f"{lp}/name", "LUKS name must not contain '/'")
            self.path(luks.get("device", ""), f"{lp}/device")
            if isinstance(luks.get("keyFile"), dict):
                self.resource(luks["keyFile"], f"{lp}/keyFile")
            for j, tang in _items(luks, "clevis", "tang"):
                tp = f"{lp}/clevis/tang/{j}"
                url = tang.get("url")
                if isinstance(url, str) and url.split(":", 1)[0] not in ("http", "https"):
                    self.error(f"{tp}/url", "Tang URL must be http(s)")
                if _empty(tang.get("thumbprint")):
                    self.error(f"{tp}/thumbprint", "Tang thumbprint is required")

    def partition(self, part: dict[str, Any], pp: str, labels: set[str]) -> None:
        num, label = part.get("number"), part.get("label")
        if part.get("shouldExist") is False and (
            label is not None
            or not _empty(part.get("typeGuid"))
            or not _empty(part.get("guid"))
            or part.get("startMiB") is not None
            or part.get("sizeMiB") is not None
        ):
            self.error(pp, "shouldExist is false but other fields are set")
        if not num and label is None:
            self.error(pp, "partition needs a number or a label")
        if isinstance(label, str):
            if len(label.encode("utf-8")) > 36:
                self.error(f"{pp}/label", "partition label longer than 36 characters")
            elif ":" in label:
                self.error(f"{pp}/label", "partition label must not contain ':'")
            elif label in labels:
                self.error(f"{pp}/label", f"duplicate partition label {label!r}")
            labels.add(label)
        for field in ("guid", "typeGuid"):
            guid = part.get(field)
            if isinstance(guid, str) and not _GUID.fullmatch(guid):
                self.error(f"{pp}/{field}", f"{field} is not a GUID")

    def filesystem(self, fs: dict[str, Any], fp: str) -> None:
        self.path(fs.get("device", ""), f"{fp}/device")
        self.path(fs.get("path"), f"{fp}/path", required=False)
        fmt, label = fs.get("format"), fs.get("label")
        if _empty(fmt):
            if (
                not _empty(fs.get("path"))
                or not _empty(label)
                or not _empty(fs.get("uuid"))
                or fs.get("wipeFilesystem") is True
                or fs.get("options")
                or fs.get("mountOptions")
            ):
                self.error(f"{fp}/format", "format is required when other fields are set")
            return
        if not isinstance(fmt, str) or fmt not in self.formats:
            self.error(f"{fp}/format", f"format {fmt!r} not supported in spec {self.version}")
        elif isinstance(label, str) and len(label) > _FS_LABEL_MAX.get(fmt, 1 << 30):
            self.error(f"{fp}/label", f"{fmt} labels are at most {_FS_LABEL_MAX[fmt]} bytes")

    def systemd(self, config: dict[str, Any]) -> None:
        for i, unit in _items(config, "systemd", "units"):
            name = unit.get("name")
            if isinstance(name, str) and not name.endswith(spec.UNIT_SUFFIXES):
                self.error(f"/systemd/units/{i}/name", f"invalid unit name {name!r} (unknown type)")
            for j, dropin in _items(unit, "dropins"):
                dname = dropin.get("name")
                if isinstance(dname, str) and not dname.endswith(".conf"):
                    self.error(
                        f"/systemd/units/{i}/dropins/{j}/name", "drop-in name must end in .conf"
                    )


# --- entry points -------------------------------------------------------------------


def declared_version(config: Any) -> str | None:
    version = _get(config, "ignition", "version")
    return version if isinstance(version, str) else None


def _version_report(config: Any, version: str | None) -> Report | None:
    if not isinstance(config, dict):
        return Report("error", "", "config must be a JSON object")
    declared = declared_version(config)
    if declared is None:
        return Report("error", "/ignition/version", "required field is missing")
    if declared.startswith(spec.LEGACY_PREFIXES):
        return Report(
            "error",
            "/ignition/version",
            f"spec {declared} is a 1.x/2.x config; igngen handles spec 3.x only (Flatcar's "
            "Ignition translates old configs itself; igngen does not)",
            "legacy",
        )
    if declared not in spec.TREES:
        return Report("error", "/ignition/version", f"unsupported config version {declared!r}")
    if version is not None and declared != version:
        return Report(
            "error", "/ignition/version", f"config declares {declared}, expected {version}"
        )
    return None


def validate(
    config: Any, source: str = "config", *, version: str | None = None, schema: bool = True
) -> list[Report]:
    """Every report (errors and warnings) for ``config``, in document order per pass.

    ``schema=True`` checks structure with the generated JSON Schema (needs
    jsonschema); ``False`` uses the fast walker. ``version`` pins the expected
    declared version. ``source`` is accepted for symmetry with ``check``; reports
    carry JSON pointers only.
    """
    del source
    bad = _version_report(config, version)
    if bad is not None:
        return [bad]
    declared = declared_version(config)
    assert declared is not None
    out = _Reports()
    if schema:
        from igngen.ignition.schema import structural_reports

        out.reports.extend(structural_reports(config, declared))
    else:
        _structure(out, declared, spec.tree(declared), config, "", "")
    if not out.failed:
        _Semantics(out, declared).run(config)
    return out.reports


def check(config: Any, *, source: str, version: str | None = None) -> list[str]:
    """Raise :class:`IgnitionConfigError` on the first error; return warnings as lines."""
    reports = validate(config, source, version=version, schema=False)
    for report in reports:
        if report.severity == "error":
            raise IgnitionConfigError(report.message, source, report.pointer or "/")
    return [f"{source}#{r.pointer}: {r.message}" for r in reports]
