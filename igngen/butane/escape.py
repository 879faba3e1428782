"""``systemd-escape --path`` (pure): unit names for mount and swap units."""

from __future__ import annotations

_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_.")


def escape_path(path: str) -> str:
    """Escape a path the way systemd names units after it (``/mnt/resource`` → ``mnt-resource``)."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return "-"
    text = "/".join(parts)
    out = []
    for i, ch in enumerate(text):
        if ch == "/":
            out.append("-")
        elif ch in _PLAIN and not (i == 0 and ch == "."):
            out.append(ch)
        else:
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8"))
    return "".join(out)
