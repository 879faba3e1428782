"""The CLI as a user meets it: exit codes, one-line errors, atomic output, no secrets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.ovf_builder import ovf_xml

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "Unmistakable-Pa55word"


def igngen(
    *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    full_env = {**os.environ, "IGNGEN_LOG_LEVEL": "debug", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "igngen", *args],
        input=stdin,
        capture_output=True,
        env=full_env,
        cwd=REPO,
        timeout=60,
    )


@pytest.fixture
def ovf_file(tmp_path: Path) -> Path:
    path = tmp_path / "ovf-env.xml"
    path.write_bytes(ovf_xml(password=PASSWORD, disable_pw="false"))
    return path


def assert_one_line_error(proc: subprocess.CompletedProcess[bytes], code: int, needle: str) -> None:
    err = proc.stderr.decode()
    assert proc.returncode == code, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if "error" in line]
    assert len(lines) == 1, err
    assert needle in lines[0], err


def test_render_succeeds_and_is_deterministic(ovf_file: Path, tmp_path: Path) -> None:
    # Same input, same bytes: with `password.salt: reproducible` (salt from user, host and
    # vmId only) the hash is part of that promise.
    config = tmp_path / "igngen.yaml"
    config.write_text(
        (REPO / "examples/keys-only/igngen.yaml")
        .read_text()
        .replace("scheme: sha512crypt", "scheme: sha512crypt\n  salt: reproducible")
    )
    assert "salt: reproducible" in config.read_text()
    a = igngen("render", "--ovf", str(ovf_file), "--config", str(config))
    b = igngen("render", "--ovf", str(ovf_file), "--config", str(config))
    assert a.returncode == 0, a.stderr.decode()
    assert a.stdout == b.stdout
    assert PASSWORD.encode() not in a.stdout + a.stderr


def test_default_salt_is_random_and_everything_else_is_stable(ovf_file: Path) -> None:
    import re

    config = str(REPO / "examples/keys-only/igngen.yaml")
    a = igngen("render", "--ovf", str(ovf_file), "--config", config)
    b = igngen("render", "--ovf", str(ovf_file), "--config", config)
    assert a.returncode == 0 and b.returncode == 0, a.stderr.decode() + b.stderr.decode()
    hashes = re.compile(rb"\$6\$[^\"]+")
    ha, hb = hashes.findall(a.stdout), hashes.findall(b.stdout)
    assert len(ha) == 1 and len(hb) == 1 and ha != hb
    assert hashes.sub(b"H", a.stdout) == hashes.sub(b"H", b.stdout)


def test_password_never_printed_anywhere(ovf_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.ign"
    for args in (
        ["render", "--ovf", str(ovf_file), "-o", str(out), "--handoff", str(tmp_path / "h.ign")],
        ["render", "--ovf", str(ovf_file), "--fragment-only", "--pretty"],
        ["explain", "--ovf", str(ovf_file)],
    ):
        proc = igngen(*args)
        assert proc.returncode == 0, proc.stderr.decode()
        assert PASSWORD.encode() not in proc.stdout + proc.stderr
    assert PASSWORD.encode() not in out.read_bytes()
    assert PASSWORD.encode() not in (tmp_path / "h.ign").read_bytes()
    assert (out.stat().st_mode & 0o777) == 0o600
    assert list(tmp_path.glob(".*.tmp")) == []


def test_explain_names_sources(ovf_file: Path) -> None:
    proc = igngen(
        "explain", "--ovf", str(ovf_file), "--imds", str(REPO / "examples/basic/imds.json")
    )
    text = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr.decode()
    assert "imds.json#/compute/osProfile/computerName" in text
    assert "UserPassword" in text and "******** (set)" in text


@pytest.mark.parametrize(
    ("doc", "code", "needle"),
    [
        (b"<not-xml", 65, "malformed XML"),
        (ovf_xml(user="root"), 65, "reserved"),
        (ovf_xml(host="a;b"), 65, "HostName"),
        (
            ovf_xml(
                custom_data=b'{"ignition": {"version": "3.3.0"}, "storage": {"files": [{"path": "relative"}]}}'
            ),
            65,
            "CustomData#/storage/files/0/path",
        ),
    ],
)
def test_bad_input_one_line_and_nothing_written(
    tmp_path: Path, doc: bytes, code: int, needle: str
) -> None:
    ovf = tmp_path / "ovf-env.xml"
    ovf.write_bytes(doc)
    out = tmp_path / "out.ign"
    out.write_bytes(b"previous result\n")
    proc = igngen("render", "--ovf", str(ovf), "-o", str(out))
    assert_one_line_error(proc, code, needle)
    assert out.read_bytes() == b"previous result\n", "a failed render must not touch the output"
    assert proc.stdout == b""


def test_missing_file_and_usage_errors(tmp_path: Path) -> None:
    assert_one_line_error(igngen("render", "--ovf", str(tmp_path / "nope.xml")), 66, "not found")
    assert igngen("render").returncode == 2
    assert igngen("frobnicate").returncode == 2
    bad_cfg = tmp_path / "c.yaml"
    bad_cfg.write_text("ssh:\n  bogus: 1\n")
    ovf = tmp_path / "o.xml"
    ovf.write_bytes(ovf_xml())
    assert_one_line_error(
        igngen("render", "--ovf", str(ovf), "--config", str(bad_cfg)), 2, "c.yaml:2:10"
    )


def test_unwritable_output_is_a_clean_error(ovf_file: Path, tmp_path: Path) -> None:
    proc = igngen("render", "--ovf", str(ovf_file), "-o", str(tmp_path / "missing-dir" / "x.ign"))
    assert_one_line_error(proc, 73, "missing-dir")


def test_explain_says_why_disk_actions_are_there(tmp_path: Path) -> None:
    ovf = tmp_path / "ovf-env.xml"
    ovf.write_bytes(ovf_xml())
    cfg = tmp_path / "igngen.yaml"
    cfg.write_text("disks:\n  swap: {mode: file, size_mib: 512}\n")
    proc = igngen(
        "explain",
        "--ovf",
        str(ovf),
        "--imds",
        str(REPO / "examples/basic/imds.json"),
        "--config",
        str(cfg),
    )
    text = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr.decode()
    assert "disks:" in text and "/mnt/resource" in text and "swap" in text.lower()
