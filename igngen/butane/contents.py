"""How Butane turns inline/local contents into a ``source`` (pure).

Three candidates, the shortest wins: ``data:,`` with RFC 2396 escaping,
``data:;base64,``, and (only when ``compression`` is unset or empty) gzip +
base64, which must beat the others by more than the four characters of the
word "gzip" it costs in ``compression``. When the user set a compression, the
contents are taken as already compressed: never compressed again, field left
alone.

gzip output is deterministic: level 9, mtime 0, no file name, OS byte 255 and
XFL 2, which is the header Go's ``compress/gzip`` writes at BestCompression.
The deflate stream itself comes from zlib, not Go's ``compress/flate``, so the
bytes (and, rarely, which candidate is shortest) can differ from Butane's; the
decoded contents never do.
"""

from __future__ import annotations

import base64

# RFC 2396 unreserved characters stay as they are; everything else is %XX.
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()")
_ESCAPE = tuple(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in range(256))


def percent_escape_rfc2396(data: bytes) -> str:
    """Butane's ``data:,`` escaping (RFC 2396: ``!*'()`` stay, unlike ``dataurl.percent_encode``)."""
    return "".join(map(_ESCAPE.__getitem__, data))


def gzip_go(data: bytes) -> bytes:
    """gzip at level 9 with the header Go writes (zlib's would name the OS as Unix, 3)."""
    import zlib  # not gzip: that module costs milliseconds to import at boot

    packed = bytearray(zlib.compress(data, 9, wbits=31))  # 31: gzip wrapper, mtime 0
    packed[8] = 2  # XFL: best compression
    packed[9] = 255  # OS: unknown
    return bytes(packed)


def make_source(
    data: bytes, *, compression: str | None, auto_compress: bool = True
) -> tuple[str, str | None]:
    """Return (source URL, compression to set); None means leave ``compression`` as it is."""
    plain = "data:," + percent_escape_rfc2396(data)
    b64 = "data:;base64," + base64.b64encode(data).decode("ascii")
    best = b64 if len(b64) < len(plain) else plain
    if compression:
        return best, None
    if auto_compress:
        packed = "data:;base64," + base64.b64encode(gzip_go(data)).decode("ascii")
        if len(packed) + len("gzip") < len(best):
            return packed, "gzip"
    return best, ""
