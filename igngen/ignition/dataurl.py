"""RFC 2397 ``data:`` URLs as Ignition reads them (pure).

Ignition (Go's url.Parse + a data-URL decoder) rejects raw spaces, ``#``, quotes,
braces, ``<>|[]^``, backquote, backslash, control characters and non-ASCII bytes,
and bad ``%`` escapes. ``encode`` never produces any of them.
"""

from __future__ import annotations

import base64
import binascii
import re

from igngen.errors import IgnitionConfigError
from igngen.limits import MAX_DECOMPRESSED

# Bytes that may stay unescaped in a data URL Ignition accepts (reference sheet §5).
_SAFE = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()=/:,;?+@$&%")
_HEX = set(b"0123456789abcdefABCDEF")
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
# Precomputed per-byte escapes: urllib.parse is not imported on the render path.
_ESCAPE = tuple(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in range(256))


def percent_encode(data: bytes) -> str:
    return "".join(map(_ESCAPE.__getitem__, data))


def encode(data: bytes) -> str:
    """The shorter of a percent-encoded and a base64 data URL (deterministic)."""
    plain = "data:," + percent_encode(data)
    b64 = "data:;base64," + base64.b64encode(data).decode("ascii")
    return plain if len(plain) <= len(b64) else b64


_SAFE_BYTES = bytes(sorted(_SAFE))
_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")


def check_syntax(url: str) -> str | None:
    """Why Ignition would refuse this data URL, or None if it is acceptable."""
    raw = url.encode("utf-8", "surrogatepass")
    # Fast path (render validates every file it emits): C-level scans; the
    # byte-by-byte loop below only runs to word an error.
    if not raw.translate(None, _SAFE_BYTES) and not _BAD_ESCAPE.search(raw):
        return None if "," in url else "missing ',' between media type and data"
    for i, b in enumerate(raw):
        if b not in _SAFE:
            return f"invalid character {chr(b) if b < 128 else hex(b)!r} at offset {i}"
        if b == 0x25 and not (i + 2 < len(raw) and raw[i + 1] in _HEX and raw[i + 2] in _HEX):
            return f"bad percent escape at offset {i}"
    if "," not in url:
        return "missing ',' between media type and data"
    return None


def decode(url: str, *, source: str = "", pointer: str = "") -> bytes:
    """Decode a ``data:`` URL; raise :class:`IgnitionConfigError` at ``source#pointer``."""
    if not url.startswith("data:"):
        raise IgnitionConfigError("not a data URL", source, pointer)
    problem = check_syntax(url)
    if problem:
        raise IgnitionConfigError(f"invalid data URL: {problem}", source, pointer)
    header, _, payload = url[5:].partition(",")
    body = _unquote(payload.encode("ascii"))
    if header.split(";")[-1].strip().lower() == "base64":
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise IgnitionConfigError(
                "invalid data URL: bad base64 data", source, pointer
            ) from None
    return body


def _unquote(raw: bytes) -> bytes:
    parts = raw.split(b"%")
    out = bytearray(parts[0])
    for part in parts[1:]:
        out.append(int(part[:2], 16))
        out += part[2:]
    return bytes(out)


def gunzip(
    data: bytes, *, source: str = "", pointer: str = "", limit: int = MAX_DECOMPRESSED
) -> bytes:
    """Decompress gzip ``data``, refusing output over ``limit`` bytes while it is produced.

    The one decompressor for custom data and every data URL: zlib is asked for at
    most the bytes still allowed at each step, so a bomb never occupies more than
    ``limit`` + one step of memory, whatever the gzip trailer claims.
    """
    import zlib  # not gzip: that module costs milliseconds to import at boot

    if data[:2] != b"\x1f\x8b":
        raise IgnitionConfigError("gzip data is corrupt (no gzip header)", source, pointer)
    out: list[bytes] = []
    total = 0
    rest = data
    # Concatenated gzip members are one stream to Go's and Python's readers alike.
    while rest:
        inflater = zlib.decompressobj(wbits=31)
        pending = rest
        try:
            while True:
                chunk = inflater.decompress(pending, limit + 1 - total)
                total += len(chunk)
                if total > limit:
                    raise IgnitionConfigError(
                        f"gzip data decompresses to more than {limit} bytes", source, pointer
                    )
                out.append(chunk)
                pending = inflater.unconsumed_tail
                if inflater.eof or not (pending or chunk):
                    break
        except zlib.error:
            raise IgnitionConfigError("gzip data is corrupt", source, pointer) from None
        if not inflater.eof:
            raise IgnitionConfigError("gzip data is corrupt (truncated)", source, pointer)
        rest = inflater.unused_data
        if rest and rest.strip(b"\x00") == b"":
            break  # trailing zero padding, which gzip readers skip
    return b"".join(out)
