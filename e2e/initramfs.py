"""Initramfs images built with Debian's dracut, the way an image author would.

dracut runs from a private copy of ``/usr/lib/dracut`` (``dracutbasedir``) into which the
harness adds Debian's ``30ignition`` (already there), its own stand-in module for Debian
Ignition quirks, and, for the igngen variant, every module of the repository's
``dracut/`` directory. The host's ``/usr/lib/dracut`` is never touched.

``overlay`` appends an uncompressed cpio archive to a built image: the kernel unpacks
concatenated archives in order, so a test can add or replace single files (a baked
``user.ign``, a settings file) without another dracut run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from e2e import cache
from e2e.host import note, run
from e2e.kernel import Kernel

HARNESS_MODULES = Path(__file__).resolve().parent / "dracut"
SYSTEM_DRACUT = Path("/usr/lib/dracut")
REPO_DRACUT = Path(os.environ.get("IGNGEN_E2E_DRACUT_DIR", cache.REPO / "dracut"))
# The image's Python: igngen's module installs it (and igngen's dependencies, from Debian)
# into the initramfs; igngen itself comes from this checkout (IGNGEN_PYTHONPATH).
IMAGE_PYTHON = "/usr/bin/python3"
_MODULE_DIR = re.compile(r"^(\d\d)([A-Za-z0-9][\w-]*)$")

# Exclusive kernel module list (dracut --drivers): what a QEMU guest with virtio disks,
# local NVMe disks, an IDE CD-ROM and a virtio NIC needs, plus the file systems the tests
# put on disks and md RAID0 (Ignition's storage.raid for igngen's disks.nvme raid0).
DRIVERS = (
    "virtio_pci virtio_blk virtio_scsi virtio_net virtio_console nvme ext4 xfs vfat "
    "crc32c_generic sr_mod cdrom ata_piix ata_generic udf isofs qemu_fw_cfg md_mod raid0"
)
OMIT = (
    "plymouth ifcfg network-legacy network-manager connman iscsi nfs nbd fcoe fcoe-uefi "
    "lvm dm dmraid mdraid multipath crypt btrfs resume kernel-modules-extra nvdimm virtiofs "
    "biosdevname memstrack"
)


def repo_modules(src: Path = REPO_DRACUT) -> dict[str, Path]:
    """igngen's dracut modules in the repository: module name → directory."""
    found: dict[str, Path] = {}
    if src.is_dir():
        for d in sorted(src.iterdir()):
            m = _MODULE_DIR.match(d.name)
            if m and (d / "module-setup.sh").is_file():
                found[m.group(2)] = d
    return found


def _python_deps() -> str:
    """Versions of the image Python's packages the module copies in (a change rebuilds)."""
    out = subprocess.run(
        [
            "dpkg-query",
            "-W",
            "python3.11",
            "python3-yaml",
            "python3-bcrypt",
        ],
        capture_output=True,
        text=True,
    )
    return out.stdout


def _config(modules: list[str]) -> str:
    return (
        'hostonly="no"\n'
        'hostonly_cmdline="no"\n'
        'compress="zstd"\n'
        f'add_dracutmodules+=" systemd ignition {" ".join(modules)} "\n'
        f'omit_dracutmodules+=" {OMIT} "\n'
        f'drivers=" {DRIVERS} "\n'
    )


def build(kernel: Kernel, *, igngen: bool) -> Path:
    """Build (or reuse) the initramfs; ``igngen=False`` is the baseline without igngen."""
    extra = repo_modules() if igngen else {}
    if igngen and not extra:
        raise FileNotFoundError(f"no dracut module (NNname/module-setup.sh) under {REPO_DRACUT}")
    key = (
        cache.recipe_key("initrd-igngen" if igngen else "initrd-base", "initramfs")
        .add("kernel", kernel.version)
        .add("dracut", sorted(p.name for p in (SYSTEM_DRACUT / "modules.d").iterdir()))
        .add_file(SYSTEM_DRACUT / "modules.d/30ignition/ignition")
        .add_tree(HARNESS_MODULES)
    )
    if igngen:
        # The module installs igngen (and its Python) from the host side of the build.
        key.add_tree(REPO_DRACUT).add_tree(cache.REPO / "igngen")
        key.add("python-deps", _python_deps())

    def make(out: Path) -> None:
        base = out / "dracut-base"
        shutil.copytree(SYSTEM_DRACUT, base, symlinks=True)
        mods = base / "modules.d"
        shutil.copytree(HARNESS_MODULES / "90e2e-debian-ignition", mods / "90e2e-debian-ignition")
        shutil.copy2(
            HARNESS_MODULES / "kernel-network-modules.sh",
            mods / "90kernel-network-modules" / "module-setup.sh",
        )
        for d in extra.values():
            shutil.copytree(d, mods / d.name, ignore=shutil.ignore_patterns("__pycache__"))
        confdir = out / "conf.d"
        confdir.mkdir()
        names = ["e2e-debian-ignition", *extra]
        (confdir / "e2e.conf").write_text(_config(names))
        tmp = out / "tmp"
        tmp.mkdir()
        note(f"initramfs: dracut ({'with igngen: ' + ' '.join(extra) if igngen else 'baseline'})")
        run(
            [
                "dracut",
                "--force",
                "--no-hostonly",
                "--conf",
                "/dev/null",
                "--confdir",
                confdir,
                "--tmpdir",
                tmp,
                "--kver",
                kernel.version,
                "--kmoddir",
                kernel.moddir,
                out / "initrd.img",
                kernel.version,
            ],
            log=out / "dracut.log",
            env={
                "dracutbasedir": str(base),
                "IGNGEN_PYTHON": IMAGE_PYTHON,
                "IGNGEN_PYTHONPATH": str(cache.REPO),
            },
        )
        run(["lsinitrd", out / "initrd.img"], log=out / "lsinitrd.log")
        shutil.rmtree(base)
        shutil.rmtree(tmp)

    return cache.cached(key, make) / "initrd.img"


def newc_archive(files: Mapping[str, bytes], *, mode: int = 0o644) -> bytes:
    """A cpio (newc) archive holding ``files`` and their parent directories."""
    entries: list[tuple[str, int, bytes]] = []
    dirs: set[str] = set()
    for path in sorted(files):
        parts = path.strip("/").split("/")
        for i in range(1, len(parts)):
            d = "/".join(parts[:i])
            if d not in dirs:
                dirs.add(d)
                entries.append((d, 0o040755, b""))
        data = files[path]
        entries.append(
            ("/".join(parts), 0o100000 | (0o755 if data.startswith(b"#!") else mode), data)
        )
    entries.append(("TRAILER!!!", 0, b""))
    out = bytearray()
    for ino, (name, fmode, data) in enumerate(entries, start=1):
        raw = name.encode() + b"\0"
        fields = (ino, fmode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(raw), 0)
        out += b"070701" + b"".join(f"{v:08x}".encode() for v in fields) + raw
        out += b"\0" * (-len(out) % 4)
        out += data
        out += b"\0" * (-len(out) % 4)
    return bytes(out)


def overlay(base: Path, files: Mapping[str, bytes], dest: Path) -> Path:
    """``base`` with ``files`` appended as a second archive (later entries win)."""
    blob = base.read_bytes()
    with dest.open("wb") as f:
        f.write(blob)
        f.write(b"\0" * (-len(blob) % 4))  # the kernel skips zero padding between archives
        f.write(newc_archive(files))
    os.chmod(dest, 0o644)
    return dest
