"""The stand-in OS image: a Debian root with systemd, sshd, sudo and igngen's runtime
dependencies from Debian, packed into an ext4 image with ``mkfs.ext4 -d`` (no loop mount).

Two cached layers: the debootstrap tree (slow, keyed only by suite, mirror and package
lists) and the image (seconds: customisation, kernel modules, igngen; rebuilt whenever
this recipe or igngen's sources change). The tree is never modified after it is built:
the image layer works on a hard-linked copy and only ever adds or replaces files by
unlinking first.
"""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from e2e import cache
from e2e.host import note, run
from e2e.kernel import Kernel

SUITE = "bookworm"
MIRROR = os.environ.get("IGNGEN_E2E_MIRROR", "http://deb.debian.org/debian")
BASE_PACKAGES = (
    "systemd-sysv",
    "udev",
    "dbus",
    "kmod",
    "iproute2",
    "openssh-server",
    "sudo",
    "python3",
    # sfdisk, for igngen's resource-disk script: Debian ships it apart from util-linux
    # (Flatcar's util-linux has it).
    "fdisk",
)
# igngen's runtime dependencies, from Debian (the real-root `igngen report` needs them).
# Installed with apt in a second step: debootstrap's own ordering fails on them.
PACKAGES = (
    "python3-yaml",
    "python3-bcrypt",
    "python3-jsonschema",
    # Local NVMe disks (igngen's disks.nvme): the md RAID0 array assembles on later boots
    # through mdadm's udev rules, and the boot-time prepare script re-creates it (mdadm,
    # mkfs.xfs) after a redeploy; Flatcar ships both tools.
    "mdadm",
    "xfsprogs",
)
ROOT_LABEL = "e2eroot"
IMAGE_SIZE = "2G"
DEFAULT_HOSTNAME = "e2e-unprovisioned"
# The guest writes one line per boot here (second serial port, read by the harness).
MARKER_TTY = "/dev/ttyS1"

_MARKER_SCRIPT = r"""#!/bin/sh
# Tell the harness (second serial port) that the real root reached multi-user.target.
# tcdrain: a 16550 under TCG may still hold the line when the next thing happens.
failed=$(systemctl --failed --no-legend --plain 2>&1 | awk '{print $1}' | tr '\n' ' ')
line="E2E-BOOTED boot=$(cat /proc/sys/kernel/random/boot_id) uptime=$(cut -d' ' -f1 /proc/uptime) failed=[$failed]"
printf '%s\n' "$line" > @TTY@
python3 -c 'import os,sys,termios; fd=os.open(sys.argv[1], os.O_WRONLY|os.O_NOCTTY); termios.tcdrain(fd)' @TTY@ || sleep 1
"""

_MARKER_UNIT = """[Unit]
Description=e2e harness: boot reached multi-user.target
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/e2e-booted

[Install]
WantedBy=multi-user.target
"""


@dataclass(frozen=True)
class RootImage:
    path: Path  # raw ext4 image, never booted directly (tests boot qcow2 overlays)
    label: str = ROOT_LABEL


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    """Create or replace ``path`` without writing through a hard link into the cached tree."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        path.unlink()
    path.write_text(text)
    path.chmod(mode)


def _symlink(path: Path, target: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        path.unlink()
    path.symlink_to(target)


def _customise(root: Path, kernel: Kernel) -> None:
    _write(root / "etc/hostname", DEFAULT_HOSTNAME + "\n")
    _write(root / "etc/fstab", f"LABEL={ROOT_LABEL} / ext4 rw,errors=remount-ro 0 1\n")
    # The booted kernel's modules; a real image would carry them from its kernel package.
    moddir = root / "lib/modules" / kernel.version
    shutil.rmtree(moddir, ignore_errors=True)
    moddir.parent.mkdir(parents=True, exist_ok=True)
    run(["cp", "-al", kernel.moddir, moddir])
    _write(
        root / "etc/systemd/network/10-dhcp.network",
        "[Match]\nName=en* eth*\n\n[Network]\nDHCP=ipv4\n",
    )
    wants = root / "etc/systemd/system/multi-user.target.wants"
    _symlink(wants / "systemd-networkd.service", "/lib/systemd/system/systemd-networkd.service")
    # A stand-in for the guest agent (Flatcar's Azure image enables waagent.service): a
    # VM created without the agent must come up with it masked.
    _write(
        root / "etc/systemd/system/waagent.service",
        "[Unit]\nDescription=Azure guest agent (e2e stand-in)\nAfter=network-online.target\n"
        "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n"
        "[Install]\nWantedBy=multi-user.target\n",
    )
    _symlink(wants / "waagent.service", "/etc/systemd/system/waagent.service")
    # Slow under TCG and pointless in a throw-away VM.
    _symlink(root / "etc/systemd/system/e2scrub_reap.service", "/dev/null")
    # TCG's `-cpu max` advertises SVM: the guest would load kvm_amd for nothing.
    _write(
        root / "etc/modprobe.d/e2e-nokvm.conf",
        "blacklist kvm_amd\nblacklist kvm_intel\nblacklist kvm\n",
    )
    # Debian's Ignition 2.14 reads SELINUXTYPE before calling setfiles (stubbed in the initrd).
    _write(root / "etc/selinux/config", "SELINUX=disabled\nSELINUXTYPE=default\n")
    # Flatcar has a docker group, and igngen's default supplementary group is docker.
    for name in ("group", "gshadow", "group-", "gshadow-"):  # break hard links before edits
        f = root / "etc" / name
        if f.exists():
            data = f.read_bytes()
            _write(f, data.decode(), f.stat().st_mode & 0o777)
    run(["chroot", root, "groupadd", "--system", "docker"])
    _write(root / "usr/local/sbin/e2e-booted", _MARKER_SCRIPT.replace("@TTY@", MARKER_TTY), 0o755)
    _write(root / "etc/systemd/system/e2e-booted.service", _MARKER_UNIT)
    _symlink(wants / "e2e-booted.service", "/etc/systemd/system/e2e-booted.service")
    # Azure's disk names (same rules as the initrd's, see dracut/README.md).
    rules = (
        Path(__file__).with_name("dracut") / "90e2e-debian-ignition" / "66-e2e-azure-disks.rules"
    )
    _write(root / "etc/udev/rules.d/66-e2e-azure-disks.rules", rules.read_text())
    # Uninitialised like a cloud image: the first boot gets its own machine id and systemd
    # applies unit presets then (Ignition's "enabled: true" units are presets).
    _write(root / "etc/machine-id", "uninitialized\n", 0o444)
    dbus_id = root / "var/lib/dbus/machine-id"
    if dbus_id.exists() or dbus_id.is_symlink():
        dbus_id.unlink()
    # Persistent journal, so a second boot and the harness can read the first boot's logs.
    (root / "var/log/journal").mkdir(parents=True, exist_ok=True)


# Bump when the debootstrap steps below change (the tree key does not hash this file, so
# that editing the image customisation does not re-run debootstrap).
TREE_RECIPE = 1


def build_tree() -> Path:
    key = (
        cache.Key("rootfs-tree")
        .add("recipe", TREE_RECIPE)
        .add("suite", SUITE)
        .add("mirror", MIRROR)
        .add("packages", [BASE_PACKAGES, PACKAGES])
    )

    def make(out: Path) -> None:
        root = out / "root"
        note(f"rootfs: debootstrap {SUITE} from {MIRROR}")
        log = out / "debootstrap.log"
        run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=" + ",".join(BASE_PACKAGES),
                SUITE,
                root,
                MIRROR,
            ],
            log=log,
        )
        shutil.copy2("/etc/resolv.conf", root / "etc/resolv.conf")
        env = {"DEBIAN_FRONTEND": "noninteractive"}
        run(
            ["chroot", root, "apt-get", "install", "-y", "--no-install-recommends", *PACKAGES],
            log=log,
            env=env,
        )
        run(["chroot", root, "apt-get", "clean"], log=log)
        (root / "etc/resolv.conf").unlink()

    return cache.cached(key, make) / "root"


def build_image(tree: Path, kernel: Kernel, extra_files: Mapping[str, bytes | Path]) -> RootImage:
    """Pack ``tree``, customised, plus ``extra_files`` (guest path → bytes or host file/dir)."""
    key = cache.recipe_key("rootfs-image", "rootfs").add("tree", tree.parent.name)
    key.add("size", IMAGE_SIZE).add("kernel", kernel.version).add_tree(
        Path(__file__).with_name("dracut")
    )
    for dest in sorted(extra_files):
        src = extra_files[dest]
        if isinstance(src, bytes):
            key.add_bytes(dest, src)
        elif src.is_dir():
            key.add(dest, "dir").add_tree(src)
        else:
            key.add(dest, os.access(src, os.X_OK)).add_file(src)

    def make(out: Path) -> None:
        stage = out / "stage"
        note("rootfs: packing image (hard-linked copy of the tree + igngen)")
        run(["cp", "-al", tree, stage])
        _customise(stage, kernel)
        for dest, src in sorted(extra_files.items()):
            target = stage / dest.lstrip("/")
            if isinstance(src, bytes):
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.exists():
                    target.unlink()
                target.write_bytes(src)
                target.chmod(0o755 if src.startswith(b"#!") else 0o644)
            elif src.is_dir():
                if target.exists():
                    shutil.rmtree(target)
                shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.exists():
                    target.unlink()
                shutil.copy2(src, target)
        image = out / "root.img"
        run(["truncate", "-s", IMAGE_SIZE, image])
        run(["mkfs.ext4", "-q", "-F", "-L", ROOT_LABEL, "-d", stage, image], log=out / "mkfs.log")
        shutil.rmtree(stage)

    return RootImage(path=cache.cached(key, make) / "root.img")


def igngen_wrapper() -> bytes:
    return textwrap.dedent(
        """\
        #!/usr/bin/python3
        import sys

        from igngen.cli import main

        sys.exit(main())
        """
    ).encode()
