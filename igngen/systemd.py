"""systemd facts igngen needs (pure): unit names for paths, what a unit file may contain."""

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
