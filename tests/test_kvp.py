"""KVP records, read back by an independent reader written from the record layout."""

from __future__ import annotations

import struct
import threading
from pathlib import Path

import pytest

from igngen.azure import kvp


def independent_reader(data: bytes) -> list[tuple[str, str]]:
    # Layout: 512-byte key + 2048-byte value, NUL padded; parsed with struct, not igngen's code.
    out: list[tuple[str, str]] = []
    for key, value in struct.iter_unpack("512s2048s", data):
        out.append((key.rstrip(b"\0").decode(), value.rstrip(b"\0").decode()))
    return out


def test_short_record(tmp_path: Path) -> None:
    pool = tmp_path / "hyperv" / ".kvp_pool_1"
    kvp.append(pool, "igngen|start", "hello")  # a Path or a str
    data = pool.read_bytes()
    assert len(data) == 2560
    assert independent_reader(data) == [("igngen|start", "hello")]


def test_long_value_is_split_and_utf8_safe(tmp_path: Path) -> None:
    pool = tmp_path / ".kvp_pool_1"
    value = "é" * 3000  # 6000 bytes, 2-byte characters
    kvp.append(str(pool), "K", value)
    records = independent_reader(pool.read_bytes())
    # 2-byte characters, at most 2047 bytes a record: 1023 characters each, so three records.
    assert [k for k, _ in records] == ["K|0", "K|1", "K|2"]
    assert "".join(v for _, v in records) == value
    assert all(len(v.encode()) <= 2047 for _, v in records)


def test_concurrent_appends_do_not_interleave(tmp_path: Path) -> None:
    pool = str(tmp_path / ".kvp_pool_1")

    def writer(i: int) -> None:
        for _ in range(20):
            kvp.append(pool, f"t{i}", "x" * 3000)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    records = independent_reader(Path(pool).read_bytes())
    assert len(records) == 4 * 20 * 2
    for i in range(0, len(records), 2):
        assert records[i][0].endswith("|0") and records[i + 1][0].endswith("|1")
        assert records[i][0][:-2] == records[i + 1][0][:-2]


def test_report_value_shape() -> None:
    value = kvp.report_value("error", vm_id="abc", reason="media | missing")
    fields = dict(f.split("=", 1) for f in value.split("|"))
    assert fields["result"] == "error" and fields["vm_id"] == "abc"
    assert fields["reason"] == "media / missing" and fields["agent"].startswith("igngen/")


def test_unwritable_pool_is_reported_not_raised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    kvp.try_append(str(blocker / "pool"), "k", "v")  # never raises
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("igngen: warning kvp: ") and "cannot open KVP pool" in lines[0]
    assert str(blocker / "pool") in lines[0]
    assert blocker.read_text() == "x"


def test_initramfs_records_are_flushed_into_the_real_pool(tmp_path: Path) -> None:
    pending = tmp_path / "run/igngen/kvp_pool_1"
    pool = tmp_path / "var/lib/hyperv/.kvp_pool_1"
    kvp.append(pool, "host", "earlier")  # what the daemon/other agents already wrote
    kvp.append(pending, "igngen|start", "provisioning started")
    kvp.append(pending, "PROVISIONING_REPORT", "result=success|" + "v" * 2500)
    with open(pending, "ab") as fh:
        fh.write(b"torn")  # an interrupted write: never copied as a record
    assert kvp.flush(pending, pool) == 3
    assert not pending.exists()
    records = independent_reader(pool.read_bytes())
    assert [k for k, _ in records] == [
        "host",
        "igngen|start",
        "PROVISIONING_REPORT|0",
        "PROVISIONING_REPORT|1",
    ]
    assert kvp.flush(pending, pool) == 0  # nothing pending: nothing to do


def test_default_pool_inside_the_initramfs(tmp_path: Path) -> None:
    marker = tmp_path / "initrd-release"
    assert kvp.default_pool(marker=str(marker)) == "/var/lib/hyperv/.kvp_pool_1"
    marker.write_text("")
    assert kvp.default_pool(marker=str(marker)) == "/run/igngen/kvp_pool_1"


# -- a pool others can write to: links, FIFOs, held locks, torn records -------------------


def test_a_symlinked_pool_is_never_followed(tmp_path: Path) -> None:
    from igngen.errors import KvpError

    target = tmp_path / "shadow"
    target.write_bytes(b"precious")
    pool = tmp_path / ".kvp_pool_1"
    pool.symlink_to(target)
    with pytest.raises(KvpError, match="cannot open KVP pool"):
        kvp.append(str(pool), "k", "v")
    assert target.read_bytes() == b"precious"


def test_a_fifo_pool_is_refused_at_once(tmp_path: Path) -> None:
    import os

    from igngen.errors import KvpError

    pool = tmp_path / ".kvp_pool_1"
    os.mkfifo(pool)
    with pytest.raises(KvpError):  # no reader: ENXIO, not a wait for one
        kvp.append(str(pool), "k", "v")
    pending = tmp_path / "pending"
    os.mkfifo(pending)
    with pytest.raises(KvpError, match="not a regular file"):
        kvp.flush(str(pending), str(tmp_path / "real"))


def test_a_lock_held_for_ever_costs_the_named_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fcntl
    import os

    import igngen.limits
    from igngen.errors import KvpError

    monkeypatch.setattr(igngen.limits, "KVP_LOCK_SECONDS", 0.3)
    pool = tmp_path / ".kvp_pool_1"
    pool.write_bytes(b"")
    holder = os.open(pool, os.O_RDONLY)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        with pytest.raises(KvpError, match=r"locked by another writer for 0\.3 s"):
            kvp.append(str(pool), "k", "v")
        kvp.try_append(str(pool), "k", "v")  # telemetry: a warning, never a failure
    finally:
        os.close(holder)
    assert pool.read_bytes() == b""
    kvp.append(str(pool), "k", "v")  # lock released: written
    assert independent_reader(pool.read_bytes()) == [("k", "v")]


def test_a_torn_pool_is_cut_back_to_whole_records(tmp_path: Path) -> None:
    pool = tmp_path / ".kvp_pool_1"
    kvp.append(str(pool), "first", "1")
    with pool.open("ab") as fh:
        fh.write(b"half a record from a writer that died")
    kvp.append(str(pool), "second", "2")
    data = pool.read_bytes()
    assert len(data) % kvp.RECORD_SIZE == 0
    assert independent_reader(data) == [("first", "1"), ("second", "2")]
