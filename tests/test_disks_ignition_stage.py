"""Ignition's real ``disks`` stage on loop devices, with the rendered storage section.

Ignition waits for every device it touches by asking systemd (over the private
D-Bus socket ``/run/systemd/private``) to start the device's ``.device`` unit.
On a machine whose PID 1 is systemd that just works; on others (containers,
this project's build VMs) the test runs Ignition in a private mount namespace
with a tmpfs on ``/run/systemd`` and a minimal stand-in (support/fake_systemd.py) that answers exactly
those calls: ``StartUnit("<escaped path>.device")`` finishes ``done`` when the
device node exists. Everything else Ignition does (sgdisk partitioning,
wipefs, mkfs, labels) is the real thing, and the result is then judged by the
boot-time script and by blkid.

The resource disk's device setting (``disks.resource.device``) points at the
loop device, so no ``/dev/disk/azure`` link has to be faked on the host.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.consumers import IGNITION_BIN, make_scratch_root, require, require_file
from support.loopdisk import (
    README,
    LoopDev,
    RunScript,
    assert_ours,
    make_ntfs,
    partitions,
    probe,
    resource,
)
from support.template_vars import disk_only_variables, disk_variables

from igngen.disks.variables import SCRIPT_PATH
from igngen.render.templating import render_fragment

pytestmark = [pytest.mark.root, pytest.mark.consumer]

# --- the test ---------------------------------------------------------------------------------


def run_disks_stage(config: dict[str, Any], tmp_path: Path) -> None:
    """Ignition's fetch-offline and disks stages on ``config`` (real systemd or the stand-in)."""
    require_file(IGNITION_BIN, "Debian's ignition package")
    require("unshare", "sgdisk", "mkfs.ext4", "mkswap")
    work = tmp_path / "ign"
    work.mkdir()
    (work / "user.ign").write_text(json.dumps(config))
    root = make_scratch_root(work / "root")
    stub = work / "stub-bin"
    stub.mkdir()
    (stub / "setfiles").write_text("#!/bin/sh\ncat >/dev/null\nexit 0\n")
    (stub / "setfiles").chmod(0o755)
    ignition = [
        str(IGNITION_BIN),
        "--platform=file",
        f"--root={root}",
        f"--config-cache={work / 'cache.json'}",
        f"--neednet={work / 'neednet'}",
        f"--state-file={work / 'state'}",
        "--log-to-stdout",
    ]
    env = {
        "PATH": f"{stub}:/usr/sbin:/usr/bin:/sbin:/bin",
        "IGNITION_CONFIG_FILE": str(work / "user.ign"),
        "IGNITION_SYSTEM_CONFIG_DIR": str(work / "system"),
        "HOME": str(work),
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path]),
    }
    if Path("/run/systemd/private").exists():
        # systemd is PID 1: let it answer Ignition's device waits itself.
        for stage in ("fetch-offline", "disks"):
            proc = subprocess.run(
                [*ignition, f"--stage={stage}"],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    else:
        proc = _stages_with_stand_in(ignition, env)
        assert "StartUnit" in proc.stdout  # Ignition really waited through the stand-in


def test_ignition_disks_stage_then_boot_script(
    loopdev: LoopDev, run_script: RunScript, tmp_path: Path
) -> None:
    dev = loopdev(160)
    # The disk as Azure hands it over on the first boot.
    make_ntfs(dev, {"DATALOSS_WARNING_README.txt": README}, tmp=tmp_path)
    variables = disk_variables(
        {"resource": {"device": dev}, "swap": {"mode": "partition", "size_mib": 16}},
        "test",
        resource_disk_mib=160,
    )
    frag = render_fragment(disk_only_variables(variables), system_dirs=())
    config = {
        "ignition": {"version": "3.3.0"},
        "storage": {k: frag["storage"][k] for k in ("disks", "filesystems")},
    }
    run_disks_stage(config, tmp_path)
    # What Ignition made is what the boot script recognises as ours: it keeps it.
    assert probe(partitions(dev)[0], "TYPE") == "swap"
    assert probe(partitions(dev)[0], "LABEL") == "igngen-swap"
    assert_ours(dev, number=2)
    uuid = probe(partitions(dev)[1], "UUID")
    script = resource(run_script, dev, "--swap-mib", "16", "--swap-label", "igngen-swap")
    assert script.returncode == 0 and "keeping it" in script.stderr, script.stderr
    assert probe(partitions(dev)[1], "UUID") == uuid
    # Redeploy: Azure hands the disk out as fresh NTFS; Ignition does not run again,
    # the boot script brings back the same layout.
    make_ntfs(dev, {"DATALOSS_WARNING_README.txt": README}, tmp=tmp_path)
    script = resource(run_script, dev, "--swap-mib", "16", "--swap-label", "igngen-swap")
    assert script.returncode == 0, script.stderr
    assert probe(partitions(dev)[0], "LABEL") == "igngen-swap"
    assert_ours(dev, number=2)
    assert probe(partitions(dev)[1], "UUID") != uuid


def _stages_with_stand_in(
    ignition: list[str], env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    inner = (
        "mount -t tmpfs tmpfs /run/systemd 2>/dev/null || { mkdir -p /run/systemd && "
        'mount -t tmpfs tmpfs /run/systemd; } && exec "$0" "$@"'
    )
    proc = subprocess.run(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            inner,
            sys.executable,
            "-c",
            "import sys; sys.argv[0]='fake'; from support import fake_systemd; fake_systemd.main()",
            *ignition,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0 and "unshare failed" in proc.stderr:
        pytest.skip(f"cannot make a private mount namespace here: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc


def test_ignition_formats_nvme_stand_ins_and_the_script_keeps_them(
    loopdev: LoopDev, run_script: RunScript, tmp_path: Path
) -> None:
    members = [loopdev(64), loopdev(64)]  # blank, as local NVMe disks arrive
    variables = disk_variables(
        {"resource": {"format": False}, "nvme": {"mode": "mounts", "disks": members}},
        "test",
        resource_disk_mib=0,
    )
    frag = render_fragment(disk_only_variables(variables), system_dirs=())
    config = {
        "ignition": {"version": "3.3.0"},
        "storage": {"filesystems": frag["storage"]["filesystems"]},
    }
    run_disks_stage(config, tmp_path)
    units = {u["name"]: u["contents"] for u in frag["systemd"]["units"] if "contents" in u}
    for i, dev in enumerate(members, start=1):
        assert probe(dev, "TYPE") == "ext4" and probe(dev, "LABEL") == f"igngen-nv{i}"
        name = dev.rsplit("/", 1)[1]
        prepare = units[f"igngen-nvme-{name}.service"]
        command = prepare.split("ExecStart=", 1)[1].split("\n", 1)[0].split()
        assert command[0] == SCRIPT_PATH
        uuid = probe(dev, "UUID")
        proc = run_script(*command[1:])  # the unit's own command line
        assert proc.returncode == 0 and "keeping it" in proc.stderr, proc.stderr
        assert probe(dev, "UUID") == uuid
