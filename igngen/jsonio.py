"""Canonical JSON bytes and atomic file writes (the only way igngen writes results)."""

from __future__ import annotations

import json
import os
import sys

from igngen.errors import OutputError, StreamError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


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
    tmp = _stage(target, data, mode)
    try:
        os.replace(tmp, target)
    except OSError as exc:
        _unlink_quietly(tmp)
        raise OutputError(f"cannot write: {exc.strerror}", target) from None
    _sync_directory(os.path.dirname(target) or ".")


def _stage(target: str, data: bytes, mode: int) -> str:
    """``data`` in a new, fsynced temporary file beside ``target``; its path."""
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
            write_fully(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        _unlink_quietly(tmp)
        raise OutputError(f"cannot write: {exc.strerror}", target) from None
    return tmp


def write_fully(fd: int, data: bytes) -> None:
    """All of ``data``: os.write may write less than asked (a signal, a pipe, a full disk
    reports ENOSPC only on the next call)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _sync_directory(directory: str) -> None:
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
    write_stdout(data)


def write_stdout(data: bytes) -> None:
    """Bytes to stdout; a closed or full stdout is an output error (exit 74), not a crash.
    A closed pipe (the reader went away, ``| head``) stays BrokenPipeError: the CLI
    treats it as the end the reader asked for."""
    stream = sys.stdout
    if stream is None:
        raise StreamError("cannot write the result: stdout is closed", "stdout")
    try:
        stream.buffer.write(data)
        stream.flush()
    except BrokenPipeError:
        raise
    except (OSError, ValueError) as exc:  # ValueError: "I/O operation on closed file"
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "stdout is closed"
        raise StreamError(f"cannot write the result: {reason}", "stdout") from None


def write_all(outputs: list[tuple[str, bytes, int]]) -> None:
    """Several results, all or none: each is staged beside its target and fsynced, then
    all are renamed into place; when a rename fails, those already in place are put back
    as they were. (Two renames cannot be one atomic step; a crash between them leaves
    each file whole, old or new.)"""
    paths = [os.path.abspath(p) for p, _, _ in outputs]
    if len(set(paths)) != len(paths):
        raise OutputError("the same file is named as two outputs", outputs[0][0])
    staged: list[tuple[str, str]] = []
    try:
        for target, data, mode in outputs:
            staged.append((_stage(target, data, mode), target))
    except OutputError:
        for tmp, _ in staged:
            _unlink_quietly(tmp)
        raise
    done: list[tuple[str, str | None]] = []  # (target, its saved old copy)
    try:
        for tmp, target in staged:
            saved = None
            if os.path.lexists(target):
                saved = f"{tmp}.old"
                os.link(target, saved, follow_symlinks=False)
            try:
                os.replace(tmp, target)
            except OSError:
                if saved:
                    os.unlink(saved)
                raise
            done.append((target, saved))
    except OSError as exc:
        for target, saved in reversed(done):
            try:
                if saved:
                    os.replace(saved, target)
                else:
                    os.unlink(target)
            except OSError:
                pass  # undo what can be undone; the error below names the first failure
        for tmp, _ in staged:
            _unlink_quietly(tmp)
        raise OutputError(f"cannot write: {exc.strerror}", staged[len(done)][1]) from None
    for _, saved in done:
        if saved:
            _unlink_quietly(saved)


def _unlink_quietly(path: str) -> None:
    # try/except, not contextlib.suppress: contextlib is not otherwise on render's path.
    try:  # noqa: SIM105
        os.unlink(path)
    except OSError:
        pass


def refuse_overwriting_inputs(outputs: dict[str, str], inputs: dict[str, str]) -> None:
    """An output path that names one of the inputs (by path or by inode) is refused
    before anything is read: ``render --ovf x -o x`` would replace the user's file."""
    known: list[tuple[str, str, tuple[int, int] | None]] = []
    for option, path in inputs.items():
        if path and path != "-":
            known.append((option, os.path.abspath(path), _inode(path)))
    for option, path in outputs.items():
        if not path:
            continue
        where, inode = os.path.abspath(path), _inode(path)
        for in_option, in_where, in_inode in known:
            if where == in_where or (inode is not None and inode == in_inode):
                raise OutputError(f"{option} would overwrite the input given as {in_option}", path)


def _inode(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino
