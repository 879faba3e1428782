"""Canonical JSON bytes and atomic file writes (the only way igngen writes results)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Any

from igngen.errors import OutputError


def canonical_json(obj: Any, *, pretty: bool = False) -> bytes:
    """Serialise deterministically: sorted keys, fixed separators, UTF-8, trailing newline."""
    if pretty:
        text = json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False)
    else:
        text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def atomic_write(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the whole new one.

    The temporary file lives in the target directory (same filesystem, so the
    rename is atomic), is created with ``mode`` from the start (no window where a
    secret-bearing file is world-readable), fsynced, then renamed over the target.
    On any failure the temporary file is removed and the old target is untouched.
    """
    target = os.fspath(path)
    directory = os.path.dirname(target) or "."
    # O_EXCL with a random name instead of tempfile: this runs on the boot path
    # and tempfile's import chain (shutil, random) costs more than the write.
    tmp = os.path.join(directory, f".{os.path.basename(target)}.{os.urandom(6).hex()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    except OSError as exc:
        raise OutputError(f"cannot create a file in {directory}: {exc.strerror}", target) from None
    try:
        try:
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise OutputError(f"cannot write: {exc.strerror}", target) from None
    try:
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def write_output(path: str | None, data: bytes, *, mode: int) -> None:
    """A command's result: atomically to ``path`` (created with ``mode``), else to stdout."""
    if path:
        atomic_write(path, data, mode=mode)
        return
    sys.stdout.buffer.write(data)
    sys.stdout.flush()
