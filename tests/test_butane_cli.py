"""``igngen butane`` and ``igngen templates`` as a user runs them (real subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "butane"


def igngen(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "igngen", *args], input=stdin, capture_output=True, timeout=60
    )


def test_stdin_to_stdout_compact_and_pretty() -> None:
    doc = b"variant: flatcar\nversion: 1.0.0\n"
    proc = igngen("butane", stdin=doc)
    assert proc.returncode == 0 and proc.stdout == b'{"ignition":{"version":"3.3.0"}}\n'
    proc = igngen("butane", "-p", "-", stdin=doc)
    assert proc.stdout.startswith(b"{\n  ") and json.loads(proc.stdout) == {
        "ignition": {"version": "3.3.0"}
    }


def test_files_dir_output_file_and_check(tmp_path: Path) -> None:
    case = DATA / "golden" / "31-flatcar-1.1-local-sugar.bu"
    out = tmp_path / "out.ign"
    proc = igngen("butane", "-d", str(DATA / "files"), "-o", str(out), str(case))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text()) == json.loads(case.with_suffix(".ign").read_text())
    proc = igngen("butane", "-c", "-d", str(DATA / "files"), str(case))
    assert proc.returncode == 0 and proc.stdout == b""


def test_error_is_one_located_line_and_nothing_is_written(tmp_path: Path) -> None:
    out = tmp_path / "out.ign"
    proc = igngen(
        "butane",
        "-o",
        str(out),
        "-",
        stdin=b"variant: flatcar\nversion: 1.0.0\nstorage:\n  filez: []\n",
    )
    assert proc.returncode == 65
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1 and "stdin:4:3" in lines[0] and "filez" in lines[0]
    assert not out.exists()
    proc = igngen("butane", str(tmp_path / "missing.bu"))
    assert proc.returncode == 66 and b"Traceback" not in proc.stderr


def test_strict_turns_warnings_into_errors() -> None:
    doc = b"variant: flatcar\nversion: 1.0.0\nstorage:\n  files:\n    - path: /a\n      mode: 644\n"
    proc = igngen("butane", stdin=doc)
    assert proc.returncode == 0 and b"leading zero" in proc.stderr
    proc = igngen("butane", "--strict", stdin=doc)
    assert (
        proc.returncode == 65
        and b"stdin:6:13: mode 644 looks like octal" in proc.stderr
        and b"strict mode" in proc.stderr
        and proc.stdout == b""
    )


def test_templates_list_and_show(tmp_path: Path) -> None:
    proc = igngen("templates", "list")
    assert proc.returncode == 0
    text = proc.stdout.decode()
    assert "40-sshd.bu" in text and "built-in" in text and "ssh.dropin_path" in text
    (tmp_path / "40-sshd.bu").write_text("variant: flatcar\nversion: 1.0.0\n")
    (tmp_path / "50-sudoers.bu.disabled").write_text("")
    text = igngen("templates", "list", "--templates", str(tmp_path)).stdout.decode()
    sshd = next(line for line in text.splitlines() if line.startswith("40-sshd.bu"))
    sudo = next(line for line in text.splitlines() if line.startswith("50-sudoers.bu"))
    assert str(tmp_path) in sshd and "disabled (marker" in sudo
    proc = igngen("templates", "show", "50-sudoers.bu")
    assert (
        proc.returncode == 0
        and b"{{ sudo.rule }}" in proc.stdout
        and b"# variables: sudo.path, sudo.rule" in proc.stdout
    )
    proc = igngen("templates", "show", "42-nvme-mounts.bu")
    assert b"# rendered once for each item of: disk.nvme.mounts (as item)\n" in proc.stdout
    proc = igngen("templates", "show", "nope.bu")
    assert proc.returncode == 2 and b"no template 'nope.bu'" in proc.stderr


def test_templates_list_honours_settings(tmp_path: Path) -> None:
    settings = tmp_path / "igngen.yaml"
    settings.write_text("templates:\n  disabled: [70-waagent-ovf.bu]\n")
    text = igngen("templates", "list", "--config", str(settings)).stdout.decode()
    line = next(x for x in text.splitlines() if x.startswith("70-waagent-ovf.bu"))
    assert "templates.disabled" in line
