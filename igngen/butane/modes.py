"""Butane's "did you mean octal?" check on file and directory modes (pure).

A mode such as 644 written without its leading zero is a legal but absurd
mode (0o1204); when the same digits read as octal make a typical mode, the
author almost certainly meant octal, and Butane warns.
"""

from __future__ import annotations


def _as_octal_digits(mode: int) -> int | None:
    if not 0 <= mode <= 7777:
        return None
    digits = f"{mode:04d}"
    if any(d > "7" for d in digits):
        return None
    return int(digits, 8)


def typical(mode: int, *, directory: bool) -> bool:
    """Whether ``mode`` is an unsurprising permission set for a file or directory."""
    if mode == 0:
        return True  # root ignores mode bits
    had_r = had_w = had_x = False
    for shift in (0, 3, 6):  # other, group, user: each must include the previous one's bits
        perm = (mode >> shift) & 7
        r, w, x = bool(perm & 4), bool(perm & 2), bool(perm & 1)
        if (had_r and not r) or (had_w and not w) or (had_x and not x):
            return False
        if x and had_r and not had_x:
            return False
        if (w or x) and not r:
            return False
        had_r, had_w, had_x = had_r or r, had_w or w, had_x or x
    if not had_r:
        return False
    if directory:
        if not had_x or mode & 0o4000:
            return False
        if mode & 0o3000 and not had_w:
            return False
    else:
        if mode & 0o6000 and (not had_x or mode & 2):
            return False
        if mode & 0o1000:
            return False
    return True


def decimal_mode_suspect(mode: int, *, directory: bool) -> bool:
    octal = _as_octal_digits(mode)
    if octal is None:
        return False
    return not typical(mode, directory=directory) and typical(octal, directory=directory)
