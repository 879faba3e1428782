"""``systemd-escape --path`` (pure): unit names for mount and swap units."""

from __future__ import annotations

import posixpath

_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_.")


def escape_path(path: str) -> str:
    """Escape a path the way systemd names units after it (``/mnt/resource`` → ``mnt-resource``).

    The path is first cleaned lexically (``//``, ``.`` and ``..`` folded), as
    Butane's Go library does; ``systemd-escape --path`` gives the same name for
    every normalised path and refuses the others.
    """
    cleaned = posixpath.normpath("/" + path.lstrip("/")).strip("/")
    if not cleaned:
        return "-"
    out = []
    for i, ch in enumerate(cleaned):
        if ch == "/":
            out.append("-")
        elif ch in _PLAIN and not (i == 0 and ch == "."):
            out.append(ch)
        else:
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8"))
    return "".join(out)
