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

One rule is stricter than Ignition by default: a field newer than the declared
version is an error (code ``newer-field``), because Ignition would drop it with
only a warning and igngen must not write such a config. ``newer="warning"``
gives Ignition's own verdict (used by ``igngen validate``, custom data and
``igngen merge``). Unknown fields are warnings, as in Ignition.
``validate_merged`` is Ignition's second check, on a merged result.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from igngen.errors import IgnitionConfigError
from igngen.ignition import spec
from igngen.ignition.dataurl import decode
from igngen.ignition.merge import key_of

_HASH_LEN = {"sha512": 128, "sha256": 64}
_GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
_FS_LABEL_MAX = {"ext4": 16, "btrfs": 256, "xfs": 12, "swap": 15, "vfat": 11}
_RAID_LEVELS = ("linear", "raid0", "0", "stripe", "raid1", "1", "mirror", "raid4", "4",
                "raid5", "5", "raid6", "6", "raid10", "10")  # fmt: skip
_NO_SPARES = ("linear", "raid0", "0", "stripe")

NEWER_FIELD = "newer-field"
# The first spec whose setuid/setgid/sticky bits Ignition honours.
_SPECIAL_BITS_FROM = next(v for v in spec.VERSIONS if not spec.masks_special_bits(v))


class Report(NamedTuple):
    severity: str  # "error" or "warning"
    pointer: str
    message: str
    code: str = ""


def escape(token: str) -> str:
    """One JSON-pointer reference token."""
    if "~" not in token and "/" not in token:
        return token
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


def _structure(out: _Reports, version: str, node: spec.Node, value: Any, pointer: str,
               fields_path: str) -> None:  # fmt: skip
    # Pointers are built only for containers and errors: this runs on every render.
    if value is None:
        return
    if isinstance(node, spec.Scalar):
        problem = _type_error(node.kind, value)
        if problem:
            out.error(pointer, problem)
        return
    if isinstance(node, spec.List):
        if not isinstance(value, list):
            out.error(pointer, "expected an array")
            return
        item = node.item
        if isinstance(item, spec.Scalar):
            for i, entry in enumerate(value):
                if entry is not None:
                    problem = _type_error(item.kind, entry)
                    if problem:
                        out.error(f"{pointer}/{i}", problem)
            return
        sub_path = f"{fields_path}[]"
        for i, entry in enumerate(value):
            _structure(out, version, item, entry, f"{pointer}/{i}", sub_path)
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
        if isinstance(child, spec.Scalar):
            problem = _type_error(child.kind, entry)
            if problem:
                out.error(f"{pointer}/{escape(key)}", problem)
            continue
        child_path = f"{fields_path}/{key}" if fields_path else key
        _structure(out, version, child, entry, f"{pointer}/{escape(key)}", child_path)
    for key in node.required_fields:
        if value.get(key) is None:
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


def _through_link(path: str, links: set[str]) -> bool:
    """Whether a proper prefix directory of ``path`` is a link (Ignition's prefix test)."""
    if not links:
        return False
    end = path.rfind("/")
    while end > 0:
        if path[:end] in links:
            return True
        end = path.rfind("/", 0, end)
    return False


_HOST_FORBIDDEN = frozenset(" {}|\\^`")


def _go_url_problem(url: str) -> str | None:
    """The url.Parse failures of Go that matter here: control characters, bad hosts and ports."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return "control character"
    rest = url.split("#", 1)[0].split(":", 1)[1]
    if not rest.startswith("//"):
        return None
    authority = re.split(r"[/?]", rest[2:], maxsplit=1)[0]
    host = authority.rpartition("@")[2]
    if host.startswith("["):
        close = host.find("]")
        if close < 0:
            return "missing ']' in host"
        after = host[close + 1 :]
        if after and (after[0] != ":" or not (after[1:].isdigit() or after == ":")):
            return "invalid port"
        return None
    if any(c in _HOST_FORBIDDEN for c in host):
        return "invalid character in host name"
    _, colon, port = host.rpartition(":")
    if colon and port and not port.isdigit():
        return "invalid port"
    return None


def _s3_arn_ok(url: str) -> bool:
    """Ignition's S3 ARN rule: six ``:`` fields, service ``s3``, a bucket and an object path."""
    parts = url.split(":", 5)
    if len(parts) != 6 or parts[2] != "s3" or not parts[1] or not parts[5]:
        return False
    slashes = url.split("/")
    return len(slashes) >= (3 if parts[5].startswith("accesspoint/") else 2)


def _empty(value: Any) -> bool:
    return value is None or value == ""


def unit_content_error(text: str) -> str | None:
    """Why go-systemd's unit deserializer (used by Ignition) rejects ``text``, or None.

    Its rules: text before the first section is skipped; a section header must
    close with ``]`` and have nothing after it on the line; inside a section
    every non-blank, non-comment line needs ``=`` on that line; a trailing
    backslash continues a value or a comment. (Its 2048-byte line limit, which
    depends on read buffering, is not modelled.)
    """
    n, i = len(text), 0
    in_section = False

    def skip_comment(i: int) -> int:
        while True:
            end = text.find("\n", i)
            line = text[i : n if end < 0 else end].removesuffix("\r").rstrip(" ")
            i = n if end < 0 else end + 1
            if not line.endswith("\\") or i >= n:
                return i

    while i < n:
        ch = text[i]
        if ch == "[":
            close = text.find("]", i + 1)
            if close < 0:
                return "unable to find end of section"
            end = text.find("\n", close)
            if text[close + 1 : n if end < 0 else end].strip():
                return "found garbage after section name"
            i, in_section = (n if end < 0 else end + 1), True
        elif ch in "#;":
            i = skip_comment(i)
        elif not in_section or ch.isspace():
            i += 1
        else:
            eq = text.find("=", i)
            nl = min((x for x in (text.find("\n", i), text.find("\r", i)) if x >= 0), default=-1)
            if eq < 0 and nl < 0:
                return "EOF"
            if eq < 0 or (0 <= nl < eq):
                return "unexpected newline encountered while parsing option name"
            i = eq + 1
            while True:
                end = text.find("\n", i)
                line = text[i : n if end < 0 else end].removesuffix("\r")
                i = n if end < 0 else end + 1
                if not line.strip() or not line.endswith("\\") or end < 0:
                    break
    return None


class _Semantics:
    def __init__(self, out: _Reports, version: str) -> None:
        self.out = out
        self.version = version
        self.schemes = spec.URL_SCHEMES[version]
        self.hashes = spec.HASH_FUNCTIONS[version]
        self.formats = spec.FILESYSTEM_FORMATS[version]
        self.rules = spec.rules(version)

    def error(self, pointer: str, message: str) -> None:
        self.out.error(pointer, message)

    # generic: every keyed list, per Ignition's ValidateDups
    def duplicates(self, node: spec.Obj, value: dict[str, Any], pointer: str) -> None:
        seen: dict[tuple[str, str], tuple[str, int]] = {}
        fields = node.fields
        for name, entries in value.items():
            sub = fields.get(name)
            if sub is None or entries is None or not sub.has_keyed:
                continue
            if isinstance(sub, spec.Obj):
                if isinstance(entries, dict):
                    self.duplicates(sub, entries, f"{pointer}/{escape(name)}")
                continue
            if not isinstance(sub, spec.List) or not isinstance(entries, list):
                continue
            if sub.key is not None:
                space = sub.namespace or name
                for i, entry in enumerate(entries):
                    ident = (space, key_of(sub, entry))
                    first = seen.get(ident)
                    if first is not None:
                        self.error(
                            f"{pointer}/{escape(name)}/{i}",
                            f"duplicate entry {ident[1]!r} "
                            f"(also at {pointer}/{escape(first[0])}/{first[1]})",
                        )
                    else:
                        seen[ident] = (name, i)
            item = sub.item
            if isinstance(item, spec.Obj) and item.has_keyed:
                for i, entry in enumerate(entries):
                    if isinstance(entry, dict):
                        self.duplicates(item, entry, f"{pointer}/{escape(name)}/{i}")

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
            try:
                decode(url)
            except IgnitionConfigError as exc:
                self.error(pointer, exc.message)
        elif "%" in url and re.search(r"%(?![0-9A-Fa-f]{2})", url):
            self.error(pointer, "invalid URL: bad percent escape")
        elif problem := _go_url_problem(url):
            self.error(pointer, f"invalid URL: {problem}")
        elif scheme in ("s3", "arn") and re.search(r"[?&]versionId(=(&|$)|&|$)", url):
            self.error(pointer, "S3 versionId is empty")
        elif scheme == "arn" and not _s3_arn_ok(url.split("?", 1)[0]):
            self.error(
                pointer, "invalid S3 ARN (expected arn:PARTITION:s3:REGION:ACCOUNT:BUCKET/KEY)"
            )

    def proxy(self, value: Any, pointer: str, *, https: bool) -> None:
        """Ignition's proxy rule: a set value (even "") must parse as an http(s) URL."""
        if not isinstance(value, str):
            return
        scheme, sep, _ = value.partition(":")
        problem = _go_url_problem(value) if sep else None
        if problem:
            self.error(pointer, f"invalid proxy URL: {problem}")
        elif not sep or scheme.lower() not in ("http", "https"):
            self.error(pointer, "proxies must be http(s) URLs")
        elif https and scheme.lower() == "http":
            self.out.warn(pointer, "insecure plaintext HTTP proxy specified for HTTPS resources")

    def resource(self, res: Any, pointer: str, *, required: bool = False) -> None:
        if not isinstance(res, dict):
            return
        source = res.get("source")
        if required and _empty(source) and "reference-source-required" in self.rules:
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
            elif value & 0o7000 and "special-mode-bits-masked" in self.rules:
                self.out.warn(
                    pointer,
                    f"setuid/setgid/sticky bits: Ignition 2.22+ masks them in spec {self.version} "
                    f"configs (honoured from spec {_SPECIAL_BITS_FROM})",
                )

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
            cp = f"/ignition/security/tls/certificateAuthorities/{i}"
            if "ca-source-url" in self.rules and _empty(res.get("source")):
                # 3.0.0's ``source`` is a plain string: absent means "", which has no scheme.
                self.error(f"{cp}/source", "invalid URL: no scheme (source is required)")
            self.resource(res, cp, required=True)
        proxy = _get(ign, "proxy")
        if isinstance(proxy, dict):
            self.proxy(proxy.get("httpProxy"), "/ignition/proxy/httpProxy", https=False)
            self.proxy(proxy.get("httpsProxy"), "/ignition/proxy/httpsProxy", https=True)
        self.storage(config)
        self.systemd(config)

    def storage(self, config: dict[str, Any]) -> None:
        links = {
            e["path"]
            for _, e in _items(config, "storage", "links")
            if isinstance(e.get("path"), str)
        }
        directories = {e.get("path") for _, e in _items(config, "storage", "directories")}
        for kind in ("files", "directories", "links"):
            for i, entry in _items(config, "storage", kind):
                pointer = f"/storage/{kind}/{i}"
                p = entry.get("path")
                self.path(p if p is not None else "", f"{pointer}/path")
                self.owner(entry.get("user"), f"{pointer}/user")
                self.owner(entry.get("group"), f"{pointer}/group")
                if isinstance(p, str) and _through_link(p, links):
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
                        if "link-target-required" in self.rules:
                            self.error(f"{pointer}/target", "link target is required")
                    elif entry.get("hard") is True and isinstance(p, str):
                        t = target if target.startswith("/") else f"{p}/{target}"
                        if clean_path(t) in directories:
                            self.error(pointer, "hard link to a directory")

        for i, disk in _items(config, "storage", "disks"):
            dp = f"/storage/disks/{i}"
            self.path(disk.get("device", ""), f"{dp}/device")
            labels: set[str] = set()
            parts = _items(disk, "partitions")
            for j, part in parts:
                self.partition(part, f"{dp}/partitions/{j}", labels)
            if any(p.get("shouldExist") is False for _, p in parts) and any(
                not p.get("number") for _, p in parts
            ):
                self.error(
                    f"{dp}/partitions",
                    "partitions without a number cannot be mixed with shouldExist: false",
                )
            self.overlaps(parts, f"{dp}/partitions")

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
            label = luks.get("label")
            if isinstance(label, str) and len(label.encode("utf-8")) > 47:
                self.error(f"{lp}/label", "LUKS labels are at most 47 bytes")
            clevis: dict[str, Any] = _get(luks, "clevis") or {}
            custom: dict[str, Any] = _get(clevis, "custom") or {}
            pin = custom.get("pin")
            if not _empty(pin) and (
                clevis.get("tang") or clevis.get("tpm2") is True or clevis.get("threshold")
            ):
                self.error(f"{lp}/clevis", "a custom clevis pin excludes tang, tpm2 and threshold")
            if not _empty(pin) or not _empty(custom.get("config")) or custom.get("needsNetwork"):
                if _empty(pin):
                    self.error(f"{lp}/clevis/custom/pin", "custom clevis pin is required")
                elif pin not in ("tpm2", "tang", "sss") and "clevis-pin-names" in self.rules:
                    self.error(f"{lp}/clevis/custom/pin", f"unknown clevis pin {pin!r}")
                if _empty(custom.get("config")):
                    self.error(f"{lp}/clevis/custom/config", "custom clevis config is required")
            if _get(luks, "cex", "enabled") is True:  # 3.5.0: IBM CEX keys exclude the others
                if (
                    not _empty(pin)
                    or clevis.get("tang")
                    or clevis.get("tpm2") is True
                    or (clevis.get("threshold"))
                ):
                    self.error(f"{lp}/cex", "cex cannot be combined with clevis")
                if not _empty(_get(luks, "keyFile", "source")):
                    self.error(f"{lp}/cex", "cex cannot be combined with a key file")
            for j, tang in _items(luks, "clevis", "tang"):
                tp = f"{lp}/clevis/tang/{j}"
                url = tang.get("url")
                if isinstance(url, str) and url.split(":", 1)[0] not in ("http", "https"):
                    self.error(f"{tp}/url", "Tang URL must be http(s)")
                if _empty(tang.get("thumbprint")):
                    self.error(f"{tp}/thumbprint", "Tang thumbprint is required")

    def overlaps(self, parts: list[tuple[int, dict[str, Any]]], pointer: str) -> None:
        """Explicitly placed partitions (start and size given, start non-zero) must not overlap."""
        placed = []
        for j, part in parts:
            start, size = part.get("startMiB"), part.get("sizeMiB")
            if isinstance(start, int) and isinstance(size, int) and start != 0:
                placed.append((start, start if size == 0 else start + size - 1, j))
        placed.sort()
        reach = None
        for start, end, j in placed:
            if reach is not None and start <= reach:
                self.error(f"{pointer}/{j}", "partition overlaps another partition")
                return
            reach = end if reach is None else max(reach, end)

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
        fmt, label = fs.get("format"), fs.get("label")
        if fmt == "virtiofs":
            if fmt in self.formats:
                self.virtiofs(fs, fp)
            else:  # the tag is not a path: name the format as the problem, not the device
                self.error(f"{fp}/format", f"format {fmt!r} not supported in spec {self.version}")
            return
        self.path(fs.get("device", ""), f"{fp}/device")
        self.path(fs.get("path"), f"{fp}/path", required=False)
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

    def virtiofs(self, fs: dict[str, Any], fp: str) -> None:
        """3.7.0-experimental: the device is a virtiofs tag; no label, UUID, wipe or mkfs options."""
        device = fs.get("device")
        if isinstance(device, str):
            if device == "":
                self.error(f"{fp}/device", "device is required")
            elif len(device) > 36:
                self.error(f"{fp}/device", "virtiofs tags are at most 36 bytes")
        self.path(fs.get("path"), f"{fp}/path", required=False)
        if not _empty(fs.get("label")):
            self.error(f"{fp}/label", "virtiofs filesystems cannot have a label")
        if not _empty(fs.get("uuid")):
            self.error(f"{fp}/uuid", "virtiofs filesystems cannot have a UUID")
        if fs.get("wipeFilesystem") is True:
            self.error(f"{fp}/wipeFilesystem", "virtiofs filesystems cannot be wiped")
        if fs.get("options"):
            self.error(f"{fp}/options", "virtiofs filesystems take no mkfs options")

    def unit_contents(self, value: Any, pointer: str) -> None:
        if isinstance(value, str):
            problem = unit_content_error(value)
            if problem:
                self.error(pointer, f"invalid unit content: {problem}")

    def systemd(self, config: dict[str, Any]) -> None:
        for i, unit in _items(config, "systemd", "units"):
            self.unit_contents(unit.get("contents"), f"/systemd/units/{i}/contents")
            name = unit.get("name")
            if isinstance(name, str) and not name.endswith(spec.UNIT_SUFFIXES):
                self.error(f"/systemd/units/{i}/name", f"invalid unit name {name!r} (unknown type)")
            for j, dropin in _items(unit, "dropins"):
                self.unit_contents(
                    dropin.get("contents"), f"/systemd/units/{i}/dropins/{j}/contents"
                )
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


def project(value: Any, node: spec.Node) -> Any:
    """``value`` with every field its spec does not know dropped (new containers).

    This is what Ignition's Go decoder does to a config of an older version that
    uses a newer field (or an unknown one): the field is not in that version's
    types, so it is reported as an unused key and never reaches the merge.
    """
    if isinstance(node, spec.Obj) and isinstance(value, dict):
        return {k: project(v, node.fields[k]) for k, v in value.items() if k in node.fields}
    if isinstance(node, spec.List) and isinstance(value, list):
        return [project(v, node.item) for v in value]
    return value


def drop_unknown(config: dict[str, Any]) -> dict[str, Any]:
    """The config as its declared version sees it (see ``project``)."""
    declared = declared_version(config)
    if declared not in spec.TREES:
        return config
    projected: dict[str, Any] = project(config, spec.tree(declared))
    return projected


def validate(
    config: Any,
    source: str = "config",
    *,
    version: str | None = None,
    schema: bool = True,
    newer: str = "error",
) -> list[Report]:
    """Every report (errors and warnings) for ``config``, in document order per pass.

    ``schema=True`` checks structure with the generated JSON Schema (needs
    jsonschema); ``False`` uses the fast walker. ``version`` pins the expected
    declared version. ``source`` is accepted for symmetry with ``check``; reports
    carry JSON pointers only. ``newer="warning"`` gives Ignition's verdict on a
    field newer than the declared version (a warning; the field is dropped, so
    the semantic rules see the config without it); the default ``"error"`` is
    igngen's own stricter rule for what it writes.
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
    if newer == "warning":
        out.reports = [
            r._replace(severity="warning") if r.code == NEWER_FIELD else r for r in out.reports
        ]
        if not out.failed:
            _Semantics(out, declared).run(drop_unknown(config))
        return out.reports
    if not out.failed:
        _Semantics(out, declared).run(config)
    return out.reports


def validate_merged(config: dict[str, Any]) -> list[Report]:
    """Ignition's check of a rendered (merged) user config, before any stage runs.

    Ignition translates every config to its newest types, merges, and then runs
    the types' own rules once more on the result ("merging configs resulted in
    an invalid config" fails the boot). So the semantic rules run at the newest
    spec igngen knows, on the merged value, whatever version it declares.
    """
    out = _Reports()
    _Semantics(out, spec.VERSIONS[-1]).run(config)
    return out.reports


def check(config: Any, *, source: str, version: str | None = None) -> list[str]:
    """Raise :class:`IgnitionConfigError` on the first error; return warnings as lines."""
    reports = validate(config, source, version=version, schema=False)
    for report in reports:
        if report.severity == "error":
            raise IgnitionConfigError(report.message, source, report.pointer or "/")
    return [f"{source}#{r.pointer}: {r.message}" for r in reports]
