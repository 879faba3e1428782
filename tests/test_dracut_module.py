"""The dracut module, built with Debian's dracut exactly as an image author would add it:
its files are in the initramfs and igngen runs from the unpacked initramfs (chroot)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from support.consumers import require, require_file

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.consumer
def test_dracut_check(tmp_path: Path) -> None:
    require("dracut")
    require_file(Path("/usr/lib/dracut/modules.d/30ignition"), "Debian's ignition dracut module")
    if os.geteuid() != 0:
        pytest.skip("running igngen inside the unpacked initramfs needs chroot (root)")
    # A copy of the repo where another part of igngen added units beside the module
    # (dracut/*.service, a <unit>.d/ drop-in, a flat *.conf): they are installed by glob.
    repo = tmp_path / "repo"
    for part in ("dracut", "tools", "igngen", "examples", "tests/sim"):
        shutil.copytree(REPO / part, repo / part, ignore=shutil.ignore_patterns("__pycache__"))
    (repo / "dracut/igngen-extra-check.service").write_text(
        "[Unit]\nDescription=extra\n[Service]\nType=oneshot\nExecStart=/bin/true\n"
    )
    (repo / "dracut/igngen-extra-check.service.d").mkdir()
    (repo / "dracut/igngen-extra-check.service.d/10-dir.conf").write_text("[Unit]\n")
    (repo / "dracut/20-flat-check.conf").write_text(
        "# igngen-dropin-for: ignition-files.service\n[Unit]\n"
    )
    proc = subprocess.run(
        [str(repo / "tools/dracut-check")],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "DRACUT_CHECK_DIR": str(tmp_path / "dracut")},
    )
    for unit in (
        "igngen-extra-check.service",
        "igngen-extra-check.service.d/10-dir.conf",
        "ignition-files.service.d/20-flat-check.conf",
    ):
        assert f"unit file: usr/lib/systemd/system/{unit}\n" in proc.stdout, proc.stdout
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "usr/bin/igngen" in proc.stdout
    assert "igngen render and provision run inside the unpacked initramfs: ok" in proc.stdout
    added = [
        line for line in proc.stdout.splitlines() if line.startswith("initramfs without igngen")
    ]
    assert added, proc.stdout


def test_unit_files_pass_systemd_analyze(tmp_path: Path) -> None:
    analyze = require("systemd-analyze")
    unit_dir = tmp_path / "units"
    unit_dir.mkdir()
    unit = (REPO / "dracut/95igngen/igngen-provision.service").read_text()
    # verify wants the ExecStart binary to exist: point it at a real one for the check.
    (unit_dir / "igngen-provision.service").write_text(
        unit.replace("/usr/bin/igngen provision", "/bin/true")
    )
    proc = subprocess.run(
        [analyze, "verify", "--man=no", str(unit_dir / "igngen-provision.service")],
        capture_output=True,
        text=True,
        env={**os.environ, "SYSTEMD_UNIT_PATH": f"{unit_dir}:"},
    )
    problems = [
        ln
        for ln in proc.stderr.splitlines()
        if "igngen-provision.service" in ln
        and "ignition-fetch" not in ln
        and "igngen-report-failure" not in ln
    ]
    assert not problems, proc.stderr
