"""The one way igngen reads a local input file: regular files only, size-capped (edge).

A FIFO, a device such as ``/dev/zero`` or a directory given where a file belongs
is refused at once: the file is opened with ``O_NONBLOCK`` (so opening a FIFO
without a writer does not block) and checked with ``fstat`` before anything is
read. At most ``cap + 1`` bytes are read, so a file that grows while it is read
cannot exceed the cap either. Paths that are not UTF-8 are shown escaped.
"""

from __future__ import annotations

import os
import stat
import sys

from igngen.errors import InputError, MissingInputError


def show_path(path: str | bytes) -> str:
    """A path as text that can always be printed (undecodable bytes as ``\\xNN``)."""
    raw = os.fsencode(path)
    return raw.decode("utf-8", "backslashreplace")


def _describe(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


class NotRegularFileError(OSError):
    """The path names something other than a regular file (a FIFO, a device, ...)."""

    def __init__(self, mode: int) -> None:
        super().__init__(0, f"{_describe(mode)}, not a regular file")
        self.mode = mode


def open_regular(path: str | bytes, *, follow_symlinks: bool = True) -> int:
    """A blocking descriptor on the regular file ``path``; the caller closes it.

    Opened with ``O_NONBLOCK`` first, so a FIFO without a writer is refused instead
    of blocking the open. Raises OSError (``NotRegularFileError`` for other kinds).
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    if not follow_symlinks:
        flags |= os.O_NOFOLLOW
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(mode)
        # A regular file never blocks; clearing O_NONBLOCK keeps reads from odd
        # filesystems (FUSE) from returning EAGAIN.
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_at_most(fd: int, limit: int) -> bytes:
    """Up to ``limit`` bytes from ``fd``: a file that grows while read cannot exceed it."""
    chunks: list[bytes] = []
    total = 0
    while total < limit:
        chunk = os.read(fd, min(limit - total, 1024 * 1024))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def read_file(path: str | bytes, what: str, *, cap: int) -> bytes:
    """The bytes of the regular file ``path``, at most ``cap`` of them.

    Raises :class:`MissingInputError` (66) when it does not exist or cannot be
    read, :class:`InputError` (65) when it is not a regular file or is too big.
    """
    where = show_path(path)
    try:
        fd = open_regular(path)
    except FileNotFoundError:
        raise MissingInputError(f"{what} not found", where) from None
    except IsADirectoryError:
        raise InputError(f"{what} is a directory, not a file", where) from None
    except NotRegularFileError as exc:
        raise InputError(f"{what} is {_describe(exc.mode)}, not a regular file", where) from None
    except OSError as exc:
        raise MissingInputError(f"cannot read {what}: {exc.strerror}", where) from None
    try:
        size = os.fstat(fd).st_size
        if size > cap:
            raise InputError(f"{what} is {size} bytes, over the {cap}-byte limit", where)
        data = read_at_most(fd, cap + 1)
    except OSError as exc:
        raise MissingInputError(f"cannot read {what}: {exc.strerror}", where) from None
    finally:
        os.close(fd)
    if len(data) > cap:
        raise InputError(f"{what} is over the {cap}-byte limit", where)
    return data


def read_stdin(what: str, *, cap: int) -> bytes:
    """Standard input, at most ``cap`` bytes (a pipe cannot be size-checked first)."""
    stream = sys.stdin.buffer
    chunks: list[bytes] = []
    total = 0
    try:
        while total <= cap:
            chunk = stream.read(min(cap + 1 - total, 1024 * 1024))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise MissingInputError(f"cannot read {what}: {exc.strerror}", "stdin") from None
    if total > cap:
        raise InputError(f"{what} is over the {cap}-byte limit", "stdin")
    return b"".join(chunks)
