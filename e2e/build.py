"""Everything a boot needs, built or taken from the cache."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from e2e import cache, initramfs, kernel, qemu, rootfs
from e2e.host import is_root, missing_tools, note

HOST_TOOLS = (
    "qemu-system-x86_64", "qemu-img", "debootstrap", "dracut", "lsinitrd", "apt-get", "dpkg",
    "depmod", "mkfs.ext4", "mkudffs", "udfclient", "udfinfo", "mkntfs", "sfdisk", "blkid",
    "ssh", "ssh-keygen",
    # the initramfs gets the host's mdadm and its udev rules (Ignition's storage.raid)
    "mdadm",
)  # fmt: skip
IGNGEN_PACKAGE = cache.REPO / "igngen"


@dataclass(frozen=True)
class Artifacts:
    kernel: kernel.Kernel
    accel: qemu.Accel
    root: rootfs.RootImage
    initrd_base: Path
    initrd_igngen: Path | None
    seconds: float  # wall time of this build call (near zero when everything was cached


def unavailable() -> str | None:
    """Why the harness cannot run on this host, or None."""
    if not is_root():
        return "needs root (debootstrap, dracut, chroot)"
    missing = missing_tools(*HOST_TOOLS)
    if missing:
        return f"missing host tools: {' '.join(missing)} (make deps installs them)"
    if not Path("/usr/lib/dracut/modules.d/30ignition/module-setup.sh").exists():
        return "Debian's ignition package (dracut module 30ignition) is not installed"
    if not Path("/usr/lib/dracut/modules.d/40network").is_dir():
        return "dracut-network is not installed (30ignition depends on its network module)"
    return None


def igngen_root_files() -> dict[str, bytes | Path]:
    """What the OS image carries of igngen: the package (Debian provides its dependencies)."""
    return {
        "/usr/lib/python3/dist-packages/igngen": IGNGEN_PACKAGE,
        "/usr/bin/igngen": rootfs.igngen_wrapper(),
    }


def build_all(*, with_igngen: bool = True) -> Artifacts:
    start = time.monotonic()
    k = kernel.build()
    accel = qemu.probe_accel(k)
    tree = rootfs.build_tree()
    root = rootfs.build_image(tree, k, igngen_root_files())
    base = initramfs.build(k, igngen=False)
    ign = initramfs.build(k, igngen=True) if with_igngen and initramfs.repo_modules() else None
    seconds = time.monotonic() - start
    note(f"build: ready in {seconds:.1f} s (accelerator {accel.name}: {accel.reason})")
    return Artifacts(k, accel, root, base, ign, seconds)
