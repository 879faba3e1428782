"""Hyper-V KVP telemetry: provisioning events for the Azure host (pure encoding + locked append).

The guest→host pool (``/var/lib/hyperv/.kvp_pool_1``) is a sequence of fixed
2 560-byte records: a 512-byte key and a 2 048-byte value, UTF-8, NUL-padded.
``hv_kvp_daemon`` carries them to the host. Writers append under an exclusive
``flock`` so concurrent writers (the daemon, other agents) never interleave.
A value longer than one record is split over several records whose keys carry
an index suffix (``|0``, ``|1`` …), as azure-init and cloud-init do.
Never pass a secret here: the host keeps what it receives.
"""

from __future__ import annotations

import os
import time

from igngen import paths

KEY_SIZE = 512
VALUE_SIZE = 2048
RECORD_SIZE = KEY_SIZE + VALUE_SIZE
# Leave room for the terminating NUL the Hyper-V daemon expects in each field.
MAX_VALUE_BYTES = VALUE_SIZE - 1
MAX_KEY_BYTES = KEY_SIZE - 1
DEFAULT_POOL = paths.KVP_POOL
# In the initramfs no hv_kvp_daemon runs and /var vanishes at switch-root; /run is
# carried into the real root, where flush() moves the records into the real pool.
INITRD_POOL = paths.INITRD_KVP_POOL
INITRD_MARKER = paths.INITRD_MARKER
REPORT_KEY = "PROVISIONING_REPORT"
AGENT = "igngen"


def _truncate_utf8(data: bytes, limit: int) -> bytes:
    if len(data) <= limit:
        return data
    cut = data[:limit]
    return cut.decode("utf-8", "ignore").encode("utf-8")  # never split a character


def _chunks(value: bytes, limit: int) -> list[bytes]:
    out = []
    while value:
        piece = _truncate_utf8(value, limit)
        out.append(piece)
        value = value[len(piece) :]
    return out or [b""]


def encode(key: str, value: str) -> bytes:
    """The record bytes for one key/value (several records when the value is long)."""
    kb = key.encode("utf-8")
    vb = value.encode("utf-8")
    pieces = _chunks(vb, MAX_VALUE_BYTES)
    records = bytearray()
    for i, piece in enumerate(pieces):
        k = kb if len(pieces) == 1 else kb + f"|{i}".encode()
        k = _truncate_utf8(k, MAX_KEY_BYTES)
        records += k.ljust(KEY_SIZE, b"\0") + piece.ljust(VALUE_SIZE, b"\0")
    return bytes(records)


def decode(data: bytes) -> list[tuple[str, str]]:
    """Records back to (key, value) pairs (used by tests and ``igngen status``)."""
    out = []
    for off in range(0, len(data) - len(data) % RECORD_SIZE, RECORD_SIZE):
        key = data[off : off + KEY_SIZE].split(b"\0", 1)[0].decode("utf-8", "replace")
        value = (
            data[off + KEY_SIZE : off + RECORD_SIZE].split(b"\0", 1)[0].decode("utf-8", "replace")
        )
        out.append((key, value))
    return out


def append(pool: str | os.PathLike[str], key: str, value: str) -> None:
    """Append a key/value to the pool under an exclusive lock; raise KvpError on failure."""
    _locked_append(pool, encode(key, value))


def _locked_append(pool: str | os.PathLike[str], data: bytes) -> None:
    """Append whole records. The pool is never followed through a symlink (it sits in
    a directory others may write), must be a regular file, and is waited on for at
    most KVP_LOCK_SECONDS. A pool whose size is not a whole number of records (a
    writer died mid-record) is cut back to its last whole record first: appending
    to it would misalign every later record for ``hv_kvp_daemon``."""
    import fcntl
    import stat

    from igngen.errors import KvpError
    from igngen.limits import KVP_LOCK_SECONDS

    where = os.fspath(pool)
    try:
        os.makedirs(os.path.dirname(where) or ".", exist_ok=True)
        fd = os.open(
            where,
            os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK,
            0o644,
        )
    except OSError as exc:
        raise KvpError(f"cannot open KVP pool: {exc.strerror}", where) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise KvpError("KVP pool is not a regular file", where)
        deadline = time.monotonic() + KVP_LOCK_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise KvpError(
                        f"KVP pool stayed locked by another writer for {KVP_LOCK_SECONDS:g} s",
                        where,
                    ) from None
                time.sleep(0.05)
        try:
            size = os.fstat(fd).st_size
            if size % RECORD_SIZE:
                os.ftruncate(fd, size - size % RECORD_SIZE)
            view = memoryview(data)
            while view:  # a short write must not leave half a record
                view = view[os.write(fd, view) :]
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    except OSError as exc:
        raise KvpError(f"cannot write KVP pool: {exc.strerror}", where) from None
    finally:
        os.close(fd)


def _read_regular(path: str, cap: int) -> bytes:
    """At most ``cap`` bytes of a regular file, never through a symlink, never blocking
    on a FIFO (records beyond a pool's limit are dropped)."""
    from igngen.readfile import open_regular, read_at_most

    fd = open_regular(path, follow_symlinks=False)
    try:
        return read_at_most(fd, cap)
    finally:
        os.close(fd)


def default_pool(*, marker: str = INITRD_MARKER) -> str:
    """The pool to write by default: the real one, or the pending one inside the initramfs."""
    return INITRD_POOL if os.path.exists(marker) else DEFAULT_POOL


def flush(pending: str | os.PathLike[str], pool: str | os.PathLike[str]) -> int:
    """Append the whole records of ``pending`` to ``pool`` (locked), then remove ``pending``.

    Returns the number of records moved (0 when nothing is pending). Raises KvpError.
    """
    from igngen.errors import KvpError
    from igngen.limits import MAX_KVP_POOL_BYTES

    try:
        data = _read_regular(os.fspath(pending), MAX_KVP_POOL_BYTES)
    except FileNotFoundError:
        return 0
    except OSError as exc:
        raise KvpError(
            f"cannot read pending KVP records: {exc.strerror}", os.fspath(pending)
        ) from None
    data = data[: len(data) - len(data) % RECORD_SIZE]  # a torn last record is dropped
    if data:
        _locked_append(pool, data)
    try:
        os.unlink(pending)
    except OSError as exc:
        raise KvpError(
            f"cannot remove pending KVP records: {exc.strerror}", os.fspath(pending)
        ) from None
    return len(data) // RECORD_SIZE


def event_key(event: str) -> str:
    return f"{AGENT}|{event}|{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"


def report_value(
    result: str,
    *,
    vm_id: str | None = None,
    reason: str | None = None,
    detail: str | None = None,
    **extra: str,
) -> str:
    """``result=…|reason=NAME|detail=…|agent=…|…`` the way the provisioning report is read
    on the host side (``reason`` a name from igngen.failures, ``detail`` bounded there)."""
    from igngen import __version__

    fields = [f"result={result}"]
    if reason:
        fields.append("reason=" + reason.replace("|", "/"))
    if detail:
        fields.append("detail=" + detail.replace("|", "/"))
    fields.append(f"agent={AGENT}/{__version__}")
    if vm_id:
        fields.append(f"vm_id={vm_id}")
    fields += [f"{k}={v.replace('|', '/')}" for k, v in sorted(extra.items())]
    fields.append("timestamp=" + time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    return "|".join(fields)


def try_append(pool: str | os.PathLike[str] | None, key: str, value: str) -> None:
    """Best effort: KVP is telemetry and must never fail provisioning."""
    if not pool:
        return
    from igngen import log
    from igngen.errors import KvpError

    try:
        append(pool, key, value)
    except KvpError as exc:
        log.warning("kvp", str(exc))
