"""Rules for single values, per spec version: paths, modes, owners, resources, URLs.

``FieldRules`` carries one config's version and what that version allows (URL
schemes, hash functions, filesystem formats, switched rules); the section
passes (``semantics``, ``device_rules``) call it for every field of these kinds.
Facts from Ignition 2.14+'s ``config/v3_*/types`` and ``config/util``.
"""

from __future__ import annotations

import re

from igngen.errors import IgnitionConfigError
from igngen.ignition import spec
from igngen.ignition.dataurl import decode
from igngen.ignition.reports import Reports

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_HASH_LEN = {"sha512": 128, "sha256": 64}
# The first spec whose setuid/setgid/sticky bits Ignition honours.
_SPECIAL_BITS_FROM = next(v for v in spec.VERSIONS if not spec.masks_special_bits(v))


def value_at(config: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(config, dict):
            return None
        config = config.get(key)
    return config


def items_at(config: Any, *keys: str) -> list[tuple[int, dict[str, Any]]]:
    value = value_at(config, *keys)
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


_HOST_FORBIDDEN = frozenset(" {}|\\^`")


def go_url_problem(url: str) -> str | None:
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


def is_empty(value: Any) -> bool:
    return value is None or value == ""


class FieldRules:
    def __init__(self, out: Reports, version: str) -> None:
        self.out = out
        self.version = version
        self.schemes = spec.URL_SCHEMES[version]
        self.hashes = spec.HASH_FUNCTIONS[version]
        self.formats = spec.FILESYSTEM_FORMATS[version]
        self.rules = spec.rules(version)

    def error(self, pointer: str, message: str) -> None:
        self.out.error(pointer, message)

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
        elif problem := go_url_problem(url):
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
        problem = go_url_problem(value) if sep else None
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
        if required and is_empty(source) and "reference-source-required" in self.rules:
            self.error(f"{pointer}/source", "source is required")
        self.url(source, f"{pointer}/source")
        comp = res.get("compression")
        if comp not in (None, "", "gzip"):
            self.error(f"{pointer}/compression", f"compression {comp!r} is not '' or 'gzip'")
        digest = value_at(res, "verification", "hash")
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
            if is_empty(source) or str(source).split(":", 1)[0].lower() not in ("http", "https"):
                self.error(f"{pointer}/httpHeaders", "HTTP headers need an http(s) source")
            for i, header in enumerate(headers):
                if not isinstance(header, dict):
                    continue
                if is_empty(header.get("name")):
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
            and not is_empty(value.get("name"))
        ):
            self.error(pointer, "give either id or name, not both")
