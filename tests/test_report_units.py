"""The reporting units: systemd-analyze verify on the initramfs units and the rendered Ready
unit, and the Ready unit laid down and enabled by real Ignition on a scratch root."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.consumers import require, require_file, run_ignition
from support.template_vars import realistic

from igngen.render.templating import render_fragment
from igngen.render.variables import report as report_variables

REPO = Path(__file__).resolve().parent.parent
MODULE = REPO / "dracut/95igngen"
READY = "igngen-report-ready.service"


def _analyze() -> str:
    return require("systemd-analyze")


def _stub(tmp: Path) -> Path:
    """An executable standing in for igngen: verify wants ExecStart binaries to exist."""
    stub = tmp / "bin/igngen"
    stub.parent.mkdir(parents=True, exist_ok=True)
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    return stub


def _verify(unit_dir: Path, names: list[str]) -> list[str]:
    proc = subprocess.run(
        [_analyze(), "verify", "--man=no", *(str(unit_dir / n) for n in names)],
        capture_output=True,
        text=True,
        env={**os.environ, "SYSTEMD_UNIT_PATH": f"{unit_dir}:"},
        timeout=120,
    )
    # Units of the real system that the host lacks are not ours to judge.
    return [
        ln
        for ln in proc.stderr.splitlines()
        if any(n in ln for n in names) and "igngen-provision" not in ln
    ]


def _ready_unit(section: dict[str, object] | None = None) -> tuple[dict[str, Any], str]:
    variables = realistic(password=False)
    variables["report"] = report_variables(section)
    fragment = render_fragment(variables, system_dirs=())
    (unit,) = [u for u in fragment["systemd"]["units"] if u["name"] == READY]
    return fragment, unit["contents"]


def test_ready_unit_text() -> None:
    _, text = _ready_unit({"command": "/opt/bin/igngen"})
    lines = text.splitlines()
    assert "ConditionPathExists=!/var/lib/igngen/ready.json" in lines
    assert "After=network-online.target sshd.socket sshd.service" in lines
    assert "Wants=network-online.target" in lines
    assert (
        "ExecStart=/opt/bin/igngen report ready --state-dir /var/lib/igngen --wireserver auto"
        in lines
    )
    assert "Type=oneshot" in lines and "WantedBy=multi-user.target" in lines


@pytest.mark.consumer
def test_initrd_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    unit_dir = tmp_path / "units"
    unit_dir.mkdir()
    stub = _stub(tmp_path)
    names = ["igngen-report-provisioning.service", "igngen-report-failure.service"]
    for name in names:
        text = (MODULE / name).read_text()
        assert "/usr/bin/igngen report " in text
        (unit_dir / name).write_text(text.replace("/usr/bin/igngen", str(stub)))
    for conf in (MODULE / "dropins").glob("*/*.conf"):
        target = unit_dir / conf.parent.name / conf.name
        target.parent.mkdir(exist_ok=True)
        target.write_text(conf.read_text())
    assert _verify(unit_dir, names) == []


def test_dropins_wire_the_reports() -> None:
    emergency = (MODULE / "dropins/emergency.target.d/20-igngen-report-failure.conf").read_text()
    assert "Wants=igngen-report-failure.service" in emergency.splitlines()
    setup = (MODULE / "module-setup.sh").read_text()
    assert "ignition-complete.target.wants/igngen-report-provisioning.service" in setup
    # igngen provision's own unit reports its failure.
    assert "OnFailure=igngen-report-failure.service" in (
        (MODULE / "igngen-provision.service").read_text().splitlines()
    )


def test_disabled_ready_unit_is_left_out() -> None:
    variables = realistic(password=False)
    variables["report"] = report_variables({"enabled": False})
    fragment = render_fragment(variables, system_dirs=())
    units = [u["name"] for u in fragment.get("systemd", {}).get("units", [])]
    assert READY not in units


IGNITION_DRACUT = Path("/usr/lib/dracut/modules.d/30ignition")


@pytest.mark.consumer
def test_ignition_units_still_load_with_our_dropins(tmp_path: Path) -> None:
    """Ignition's stages carry OnFailure=emergency.target with OnFailureJobMode=isolate,
    which allows a single OnFailure= unit: systemd refuses to load a stage that gets a
    second one from a drop-in. Ours must leave them loadable."""
    require_file(IGNITION_DRACUT, "Debian's ignition dracut module")
    unit_dir = tmp_path / "units"
    unit_dir.mkdir()
    stages = sorted(p.name for p in IGNITION_DRACUT.glob("ignition-*.service"))
    assert stages
    for name in stages:
        text = (IGNITION_DRACUT / name).read_text()
        lines = [
            "ExecStart=/bin/true" if ln.startswith("ExecStart=") else ln
            for ln in text.splitlines()
            if not ln.startswith("ExecStartPre=")
        ]
        (unit_dir / name).write_text("\n".join(lines) + "\n")
    stub = _stub(tmp_path)
    for name in ("igngen-report-failure.service", "igngen-provision.service"):
        (unit_dir / name).write_text(
            (MODULE / name).read_text().replace("/usr/bin/igngen", str(stub))
        )
    for conf in (MODULE / "dropins").glob("*/*.conf"):
        target = unit_dir / conf.parent.name / conf.name
        target.parent.mkdir(exist_ok=True)
        target.write_text(conf.read_text())
    proc = subprocess.run(
        [_analyze(), "verify", "--man=no", *(str(unit_dir / n) for n in stages)],
        capture_output=True,
        text=True,
        env={**os.environ, "SYSTEMD_UNIT_PATH": f"{unit_dir}:"},
        timeout=120,
    )
    assert "OnFailureJobMode=isolate" not in proc.stderr, proc.stderr
    assert "bad unit file setting" not in proc.stderr, proc.stderr


@pytest.mark.consumer
def test_ready_unit_from_real_ignition_passes_verify(tmp_path: Path) -> None:
    fragment, _ = _ready_unit()
    run = run_ignition(tmp_path / "ign", user_config=json.dumps(fragment).encode())
    unit = run.root / "etc/systemd/system" / READY
    text = unit.read_text()
    assert "ExecStart=/usr/bin/igngen report ready --state-dir /var/lib/igngen" in text
    preset = (run.root / "etc/systemd/system-preset/20-ignition.preset").read_text()
    assert f"enable {READY}" in preset.splitlines()

    unit_dir = tmp_path / "units"
    unit_dir.mkdir()
    stub = _stub(tmp_path)
    (unit_dir / READY).write_text(text.replace("/usr/bin/igngen", str(stub)))
    assert _verify(unit_dir, [READY]) == []


@pytest.mark.consumer
def test_verify_catches_a_broken_unit(tmp_path: Path) -> None:
    """The verify helper can fail: a typo'd directive is reported."""
    unit_dir = tmp_path / "units"
    unit_dir.mkdir()
    stub = _stub(tmp_path)
    _, text = _ready_unit()
    broken = text.replace("/usr/bin/igngen", str(stub)).replace("Type=oneshot", "Typ=oneshot")
    (unit_dir / READY).write_text(broken)
    assert any("Typ" in ln for ln in _verify(unit_dir, [READY]))


def test_ignition_validate_accepts_the_fragment(tmp_path: Path) -> None:
    require("ignition-validate")
    fragment, _ = _ready_unit()
    path = tmp_path / "f.ign"
    path.write_text(json.dumps(fragment))
    proc = subprocess.run(["ignition-validate", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


PROBE = r"""
import json, sys
from igngen.cli import main
code = main(["report", "ready", "--wireserver", sys.argv[1], "--state-dir", sys.argv[2],
             "--vm-id", "x", "--kvp-pool", "", "--timeout", "0.5", "--protocol", "goalstate"])
files = sorted({getattr(m, "__file__", None) or "" for m in list(sys.modules.values())})
print(json.dumps({"code": code, "files": [f for f in files if f.endswith(".py") or ".so" in f]}))
"""


@pytest.mark.consumer
def test_initramfs_file_list_covers_what_report_imports(tmp_path: Path) -> None:
    """Every module `igngen report` loads (with the image's Python) is in
    the list dracut/95igngen/igngen-files.py gives the initramfs."""
    from sim.http import free_port_refusing

    python = "/usr/bin/python3"
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"}
    probe = subprocess.run(
        [
            # -I -S like the initramfs wrapper: no site, explicit paths.
            python,
            "-I",
            "-S",
            "-c",
            f"import sys; sys.path[:0] = [{str(REPO)!r}, '/usr/lib/python3/dist-packages']\n"
            + PROBE,
            free_port_refusing(),
            str(tmp_path / "state"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr
    result = json.loads(probe.stdout.splitlines()[-1])
    assert result["code"] == 69  # nothing listens: the whole HTTP path was exercised
    listed = subprocess.run(
        [python, str(MODULE / "igngen-files.py"), "/usr/lib/igngen/site"],
        capture_output=True,
        text=True,
        env={**env, "IGNGEN_PYTHONPATH": str(REPO)},
        timeout=300,
    )
    assert listed.returncode == 0, listed.stderr
    sources = {os.path.realpath(line.split("\t")[0]) for line in listed.stdout.splitlines()}
    # Modules the list leaves out on purpose (optional imports that their users guard).
    spec = importlib.util.spec_from_file_location("igngen_files", MODULE / "igngen-files.py")
    assert spec is not None and spec.loader is not None
    files_mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(files_mod)
    excluded = tuple(files_mod.EXCLUDE)

    def left_out_on_purpose(path: str) -> bool:
        parts = Path(path).with_suffix("").parts
        return any(
            p.split(".")[0] in excluded or p.lstrip("_").split(".")[0] in excluded
            for p in parts[-2:]
        )

    absent = [
        f
        for f in result["files"]
        if os.path.realpath(f) not in sources and "/igngen/" not in f and not left_out_on_purpose(f)
    ]
    assert absent == []
