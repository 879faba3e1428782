"""Writes are whole or absent: short writes completed, a full disk leaves nothing, several
outputs land together or not at all, an output never replaces an input or a user's
directory, and a closed or full stdout is exit 74."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.ovf_builder import ovf_xml

from igngen import jsonio
from igngen.boot import handoff
from igngen.errors import HandoffError, OutputError

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "Writes-Passw0rd!"


def igngen(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    proc: subprocess.CompletedProcess[bytes] = subprocess.run(
        [sys.executable, "-m", "igngen", *args],
        capture_output="stdout" not in kwargs,
        cwd=REPO,
        timeout=120,
        check=False,
        **kwargs,
    )
    return proc


@pytest.fixture
def ovf(tmp_path: Path) -> Path:
    path = tmp_path / "ovf-env.xml"
    path.write_bytes(ovf_xml(password=PASSWORD, disable_pw="false"))
    return path


def _one_byte_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.write

    def short(fd: int, data: bytes | memoryview) -> int:
        return real(fd, bytes(data[:1]))

    monkeypatch.setattr(os, "write", short)


def test_short_writes_are_completed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = json.dumps({"x": "y" * 5000}).encode()
    _one_byte_writes(monkeypatch)
    jsonio.atomic_write(tmp_path / "out", payload)
    config = {
        "ignition": {"version": "3.3.0"},
        "storage": {"files": [{"path": "/etc/x", "contents": {"source": "data:," + "a" * 3000}}]},
    }
    written = handoff.write(str(tmp_path / "h"), handoff.plan(config, config, None), image_dir=None)
    monkeypatch.undo()
    assert (tmp_path / "out").read_bytes() == payload
    assert written == ["user.ign"]
    assert json.loads((tmp_path / "h/user.ign").read_bytes()) == config


# -- a full disk ----------------------------------------------------------------------


@contextlib.contextmanager
def tiny_tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir()
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run as root: the full-disk tests mount a tmpfs")
        pytest.skip("mounting a tmpfs needs root")
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _big_image(tmp: Path) -> Path:
    image = tmp / "image"
    (image / "base.d").mkdir(parents=True)
    big = {
        "ignition": {"version": "3.3.0"},
        "storage": {
            "files": [{"path": "/etc/big", "contents": {"source": "data:," + "b" * 300_000}}]
        },
    }
    (image / "base.d/10-big.ign").write_text(json.dumps(big))
    return image


def test_a_full_disk_fails_the_handoff_with_73_and_leaves_nothing(tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    (media / "ovf-env.xml").write_bytes(ovf_xml(password=PASSWORD, disable_pw="false"))
    with tiny_tmpfs(tmp_path / "run", "64k") as run:
        proc = igngen(
            "provision",
            "--media",
            str(media),
            "--imds-url",
            "",
            "--handoff-dir",
            str(run / "ignition"),
            "--image-dir",
            str(_big_image(tmp_path)),
            "--state-dir",
            str(tmp_path / "state"),
            "--kvp-pool",
            "",
        )
        assert proc.returncode == 73, proc.stderr
        assert b"No space left on device" in proc.stderr
        assert b"Traceback" not in proc.stderr
        assert list(run.iterdir()) == []  # no hand-off, no staging directory
    recorded = (tmp_path / "state/failure-reason").read_bytes()
    assert recorded.startswith(b"handoff-failed: ") and b"No space left" in recorded


def test_a_full_disk_never_leaves_a_partial_output(tmp_path: Path, ovf: Path) -> None:
    with tiny_tmpfs(tmp_path / "small", "8k") as small:
        (small / "out.ign").write_text("previous")
        filler = small / "filler"
        with contextlib.suppress(OSError), filler.open("wb") as fh:
            fh.write(b"\0" * 16384)
        proc = igngen("render", "--ovf", str(ovf), "-o", str(small / "out.ign"), "--pretty")
        assert proc.returncode == 73, proc.stderr
        assert (small / "out.ign").read_text() == "previous"
        assert sorted(p.name for p in small.iterdir()) == ["filler", "out.ign"]


# -- several outputs: all or none --------------------------------------------------------


def test_render_outputs_land_together_or_not_at_all(tmp_path: Path, ovf: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    if os.access(locked, os.W_OK) and os.geteuid() == 0:
        # root writes anywhere: make the second target a directory instead
        locked.chmod(0o700)
        (locked / "out.ign").mkdir()
        (locked / "out.ign" / "keep").write_text("x")
    handin = tmp_path / "handin.ign"
    proc = igngen(
        "render", "--ovf", str(ovf), "--handoff", str(handin), "-o", str(locked / "out.ign")
    )
    assert proc.returncode == 73, proc.stderr
    assert not handin.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_write_all_puts_back_what_it_replaced(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("old a")
    b.mkdir()
    (b / "x").write_text("x")  # os.replace of a file over a non-empty directory fails
    with pytest.raises(OutputError):
        jsonio.write_all([(str(a), b"new a", 0o600), (str(b), b"new b", 0o600)])
    assert a.read_text() == "old a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]
    jsonio.write_all([(str(a), b"new a", 0o600), (str(tmp_path / "c"), b"c", 0o644)])
    assert a.read_text() == "new a" and (tmp_path / "c").read_text() == "c"
    assert oct((tmp_path / "c").stat().st_mode & 0o777) == "0o644"
    with pytest.raises(OutputError, match="two outputs"):
        jsonio.write_all([(str(a), b"1", 0o600), (str(tmp_path / "." / "a"), b"2", 0o600)])


# -- outputs that name inputs ------------------------------------------------------------


@pytest.mark.parametrize("flag", ["-o", "--handoff"])
def test_an_output_that_is_an_input_is_refused(tmp_path: Path, ovf: Path, flag: str) -> None:
    before = ovf.read_bytes()
    link = tmp_path / "alias.xml"
    link.hardlink_to(ovf)
    for target in (ovf, link, tmp_path / "." / "ovf-env.xml"):
        proc = igngen("render", "--ovf", str(ovf), flag, str(target))
        assert proc.returncode == 73, proc.stderr
        assert b"would overwrite the input given as --ovf" in proc.stderr
    assert ovf.read_bytes() == before


def test_merge_and_butane_refuse_to_overwrite_their_input(tmp_path: Path) -> None:
    cfg = tmp_path / "a.ign"
    cfg.write_text('{"ignition": {"version": "3.3.0"}}')
    proc = igngen("merge", str(cfg), str(cfg), "-o", str(cfg))
    assert proc.returncode == 73 and b"would overwrite the input" in proc.stderr, proc.stderr
    bu = tmp_path / "a.bu"
    bu.write_text("variant: flatcar\nversion: 1.0.0\n")
    proc = igngen("butane", str(bu), "-o", str(bu))
    assert proc.returncode == 73 and b"would overwrite the input" in proc.stderr, proc.stderr
    assert bu.read_text().startswith("variant")


# -- the hand-off directory is replaced only when it is igngen's ----------------------------


def test_a_foreign_handoff_directory_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "etc"
    target.mkdir()
    (target / "passwd").write_text("precious")
    with pytest.raises(HandoffError, match="did not write") as err:
        handoff.write(str(target), handoff.plan({}, {}, None), image_dir=None)
    assert "passwd" in str(err.value)
    assert (target / "passwd").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["etc"]


def test_a_symlinked_handoff_directory_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "h").symlink_to(real)
    with pytest.raises(HandoffError, match="not a directory igngen wrote"):
        handoff.write(str(tmp_path / "h"), handoff.plan({}, {}, None), image_dir=None)


def test_an_empty_or_own_handoff_directory_is_replaced(tmp_path: Path) -> None:
    config = {"ignition": {"version": "3.3.0"}}
    target = tmp_path / "h"
    target.mkdir()
    handoff.write(str(target), handoff.plan(config, config, None), image_dir=None)
    (target / "base.platform.d/azure").mkdir(parents=True)
    (target / "base.platform.d/azure/base.ign").write_text("{}")
    assert handoff.write(str(target), handoff.plan(config, config, None), image_dir=None) == [
        "user.ign"
    ]


# -- stdout ---------------------------------------------------------------------------------


def test_a_full_stdout_is_exit_74(ovf: Path) -> None:
    with open("/dev/full", "wb") as full:
        proc = igngen("render", "--ovf", str(ovf), stdout=full, stderr=subprocess.PIPE)
    assert proc.returncode == 74, proc.stderr
    assert b"No space left on device" in proc.stderr and b"Traceback" not in proc.stderr


def test_a_closed_stdout_is_exit_74(ovf: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "igngen", "render", "--ovf", str(ovf)],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=REPO,
        timeout=120,
        check=False,
        preexec_fn=lambda: os.close(1),
    )
    assert proc.returncode == 74, proc.stderr
    assert b"stdout" in proc.stderr and b"Traceback" not in proc.stderr
