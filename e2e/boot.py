"""Assemble one VM from the built artifacts: overlay root disk, media, forwards, cmdline."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from e2e import cache, media, qemu
from e2e.build import Artifacts

CONSOLE_ARGS = "console=ttyS0,115200"
# systemd prints unit status lines to the console, which is all the harness needs to
# diagnose a stuck initrd from the outside.
BASE_CMDLINE = f"{CONSOLE_ARGS} root=/dev/vda rw systemd.show_status=1"
# e2e/dracut/90e2e-debian-ignition/66-e2e-azure-disks.rules knows by-index 1..4.
MAX_NVME_DISKS = 4


def cmdline(*, firstboot: bool, platform: str, extra: str = "") -> str:
    flag = "1" if firstboot else "0"
    return (
        f"{BASE_CMDLINE} ignition.firstboot={flag} ignition.platform.id={platform} {extra}".strip()
    )


def run_dir(name: str) -> Path:
    d = cache.CACHE_ROOT / "runs" / name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    return d


def machine(
    art: Artifacts,
    workdir: Path,
    *,
    name: str,
    initrd: Path,
    cmdline: str,
    root_overlay: Path | None = None,
    resource_disk: Path | None = None,
    cdrom: Path | None = None,
    imds_port: int | None = None,
    wireserver_port: int | None = None,
    nvme_disks: Sequence[Path] = (),
) -> qemu.Vm:
    """A VM booting ``initrd``; the root disk is a fresh qcow2 overlay unless one is given.
    ``nvme_disks`` become local NVMe disks 1, 2, ... (one controller each), carrying
    Azure's names as serials for the stand-in udev rules."""
    overlay = root_overlay or qemu.make_overlay(art.root.path, workdir / "root.qcow2")
    drives = [qemu.Drive(overlay, fmt="qcow2", serial="osdisk")]
    if resource_disk is not None:
        drives.append(qemu.Drive(resource_disk, serial="resource"))
    if len(nvme_disks) > MAX_NVME_DISKS:
        raise ValueError(
            f"at most {MAX_NVME_DISKS} local NVMe disks (the stand-in udev rules' limit)"
        )
    for index, image in enumerate(nvme_disks, start=1):
        serial = media.local_nvme_name(index, image.stat().st_size)
        drives.append(qemu.Drive(image, serial=serial, bus="nvme"))
    fwd: dict[tuple[str, int], int] = {}
    if imds_port is not None:
        fwd[(qemu.IMDS_ADDRESS, 80)] = imds_port
    if wireserver_port is not None:
        fwd[(qemu.WIRESERVER_ADDRESS, 80)] = wireserver_port
    spec = qemu.VmSpec(
        kernel=art.kernel.vmlinuz,
        initrd=initrd,
        cmdline=cmdline,
        drives=drives,
        cdrom=cdrom,
        guestfwd=fwd,
    )
    return qemu.Vm(spec, art.accel, workdir, name=name)
