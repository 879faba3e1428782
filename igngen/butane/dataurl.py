"""How Butane turns inline/local contents into a ``source`` (pure).

Three candidates, the shortest wins: ``data:,`` with RFC 2396 escaping,
``data:;base64,``, and (only when the user did not set ``compression``)
gzip + base64, which must beat the others by more than the four characters of
the word "gzip" it costs in ``compression``. gzip output is deterministic
(mtime 0, best compression); its bytes differ from Go's deflate, its contents
do not.
"""

from __future__ import annotations

import base64

# RFC 2396 unreserved characters stay as they are; everything else is %XX.
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()")
_ESCAPE = tuple(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in range(256))


def make_source(data: bytes, *, allow_compression: bool) -> tuple[str, str | None]:
    """Return (source URL, compression); compression is None when the caller set it."""
    plain = "data:," + "".join(map(_ESCAPE.__getitem__, data))
    b64 = "data:;base64," + base64.b64encode(data).decode("ascii")
    best = b64 if len(b64) < len(plain) else plain
    if allow_compression:
        import gzip

        packed = "data:;base64," + base64.b64encode(gzip.compress(data, 9, mtime=0)).decode("ascii")
        if len(packed) + len("gzip") < len(best):
            return packed, "gzip"
        return best, ""
    return best, None
