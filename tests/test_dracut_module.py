"""The dracut module, built with Debian's dracut exactly as an image author would add it:
its files are in the initramfs and igngen runs from the unpacked initramfs (chroot)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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
    # A copy of the repo where a new unit and a drop-in were added in the module's one
    # layout (unit at its top, drop-in under dropins/<unit>.d/): installed by glob.
    repo = tmp_path / "repo"
    for part in ("dracut", "tools", "igngen", "examples", "tests/sim"):
        shutil.copytree(REPO / part, repo / part, ignore=shutil.ignore_patterns("__pycache__"))
    module = repo / "dracut/95igngen"
    (module / "igngen-extra-check.service").write_text(
        "[Unit]\nDescription=extra\n[Service]\nType=oneshot\nExecStart=/bin/true\n"
    )
    (module / "dropins/ignition-files.service.d").mkdir(parents=True)
    (module / "dropins/ignition-files.service.d/20-extra-check.conf").write_text("[Unit]\n")
    proc = subprocess.run(
        [str(repo / "tools/dracut-check")],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "DRACUT_CHECK_DIR": str(tmp_path / "dracut")},
    )
    for unit in (
        "igngen-extra-check.service",
        "ignition-files.service.d/20-extra-check.conf",
    ):
        assert f"unit file: usr/lib/systemd/system/{unit}\n" in proc.stdout, proc.stdout
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "usr/bin/igngen" in proc.stdout
    assert "igngen render and provision run inside the unpacked initramfs: ok" in proc.stdout
    added = [
        line for line in proc.stdout.splitlines() if line.startswith("initramfs without igngen")
    ]
    assert added, proc.stdout


def test_initramfs_list_has_expat_and_no_elementtree() -> None:
    """igngen reads XML with expat alone (igngen.azure.xmldoc): the initramfs gets pyexpat
    (unless the interpreter has it built in, as Debian's does) and neither defusedxml nor
    xml.etree."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "dracut/95igngen/igngen-files.py"), "/usr/lib/igngen/site"],
        capture_output=True,
        text=True,
        env={**os.environ, "IGNGEN_PYTHONPATH": str(REPO)},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    sources = [Path(line.split("\t")[0]) for line in proc.stdout.splitlines()]
    assert any(p.parts[-3:] == ("xml", "parsers", "expat.py") for p in sources)
    assert "pyexpat" in sys.builtin_module_names or any(
        p.name.startswith("pyexpat.") for p in sources
    )
    assert not [p for p in sources if "defusedxml" in p.parts or "etree" in p.parts]


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


def _install_units(module: Path) -> subprocess.CompletedProcess[str]:
    """module-setup.sh's install_units with dracut's helpers stood in for: each install
    is printed, an error goes to stderr."""
    script = (
        f"source {REPO / 'dracut/95igngen/module-setup.sh'}\n"
        'inst_simple() { echo "install $1 -> $2"; }\n'
        'derror() { echo "$*" >&2; }\n'
        "install_units\n"
    )
    return subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        env={
            "PATH": os.environ["PATH"],
            "moddir": str(module),
            "systemdsystemunitdir": "/usr/lib/systemd/system",
        },
    )


def test_units_and_dropins_of_the_one_layout_are_installed(tmp_path: Path) -> None:
    module = tmp_path / "95igngen"
    shutil.copytree(REPO / "dracut/95igngen", module)
    proc = _install_units(module)
    assert proc.returncode == 0, proc.stderr
    installed = sorted(line.split(" -> ")[1] for line in proc.stdout.splitlines())
    units = sorted(
        f"/usr/lib/systemd/system/{p.name}"
        for p in (REPO / "dracut/95igngen").iterdir()
        if p.suffix in (".service", ".target", ".timer")
    )
    dropins = sorted(
        f"/usr/lib/systemd/system/{p.parent.name}/{p.name}"
        for p in (REPO / "dracut/95igngen/dropins").glob("*.d/*.conf")
    )
    assert units and dropins
    assert installed == sorted(units + dropins)


@pytest.mark.parametrize(
    "stray", ["20-flat.conf", "igngen-provision.service.d/10-x.conf", "dropins/10-x.conf"]
)
def test_a_file_outside_the_layout_fails_the_build(tmp_path: Path, stray: str) -> None:
    module = tmp_path / "95igngen"
    shutil.copytree(REPO / "dracut/95igngen", module)
    (module / stray).parent.mkdir(parents=True, exist_ok=True)
    (module / stray).write_text("[Unit]\n")
    proc = _install_units(module)
    assert proc.returncode == 1
    assert proc.stdout == "", "nothing is installed when the layout is wrong"
    assert "is outside the module's layout" in proc.stderr
    assert stray.split("/")[0] in proc.stderr
