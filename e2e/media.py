"""Provisioning media and disks the way Azure presents them to a VM.

- The provisioning "CD-ROM": a UDF image holding ``ovf-env.xml`` (and optionally
  ``CustomData.bin``). ``mkudffs`` makes the empty file system; ``udfclient`` (user
  space) writes the files, so neither a loop device nor kernel UDF support is needed
  on the host.
- The resource disk: blank, or Azure-style (MBR, one NTFS partition labelled
  "Temporary Storage") made with ``mkntfs`` on a partition image spliced into place.
- Local NVMe disks: blank sparse images (Azure hands them out blank, again after every
  redeploy), named the way Azure names them.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from e2e.host import BuildError, run

UDF_LABEL = "OVFENV"
# udfclient names the volume directory after the UUID and label; a fixed UUID makes it known.
UDF_UUID = "0000000000000001"
UDF_BLOCKS = 8192  # 16 MiB of 2 KiB blocks: udfclient runs out of space below about this
MIB = 1024 * 1024


def udf_cdrom(files: Mapping[str, bytes], dest: Path) -> Path:
    dest.unlink(missing_ok=True)
    run([
        "mkudffs", "--new-file", "--media-type=hd", "--blocksize=2048",
        f"--label={UDF_LABEL}", f"--uuid={UDF_UUID}", dest, str(UDF_BLOCKS),
    ])  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="e2e-udf-") as tmp:
        script = f"cd {UDF_UUID}LinuxUDF:{UDF_LABEL}:{UDF_LABEL}:LinuxUDF\n"
        for name, data in files.items():
            (Path(tmp) / name).write_bytes(data)
            script += f"put {name}\n"
        script += "sync\nquit\n"
        run(["udfclient", "-W", "-b", "2048", dest.resolve()], cwd=Path(tmp), stdin=script.encode())
    info = run(["udfinfo", dest])
    if f"numfiles={len(files)}" not in info.split():
        raise BuildError(f"udfclient did not write {sorted(files)} into {dest}:\n{info}")
    return dest


def local_nvme_name(index: int, size_bytes: int) -> str:
    """Azure's name for local NVMe disk ``index`` (from 1) of that size: ``nvme-<GiB>G-<index>``
    (what azure-vm-utils links under /dev/disk/azure/local/by-name)."""
    return f"nvme-{max(1, size_bytes // (1024 * MIB))}G-{index}"


def blank_disk(dest: Path, size_mib: int) -> Path:
    dest.unlink(missing_ok=True)
    with dest.open("wb") as f:
        f.truncate(size_mib * MIB)
    return dest


DATALOSS_README = (
    b"WARNING: THIS IS A TEMPORARY DISK.\r\n\r\nAny data stored on this drive is SUBJECT TO LOSS "
    b"and THERE IS NO WAY TO RECOVER IT.\r\n"
)


def ntfs_resource_disk(dest: Path, size_mib: int) -> Path:
    """MBR with one NTFS partition from 1 MiB to the end holding only the data-loss
    warning file, like a fresh Azure resource disk."""
    blank_disk(dest, size_mib)
    run(["sfdisk", "--quiet", dest], stdin=b"label: dos\nstart=2048, type=7\n")
    part_mib = size_mib - 1
    with tempfile.TemporaryDirectory(prefix="e2e-ntfs-") as tmp:
        part = Path(tmp) / "part.img"
        blank_disk(part, part_mib)
        # -p/-H/-S: the partition's geometry as the MBR says (Windows checks them)
        mkntfs = ["mkntfs", "-F", "-Q", "-q", "-L", "Temporary Storage", "-p", "2048"]
        run([*mkntfs, "-H", "255", "-S", "63", part])
        readme = Path(tmp) / "readme.txt"
        readme.write_bytes(DATALOSS_README)
        run(["ntfscp", "-q", part, readme, "DATALOSS_WARNING_README.txt"])
        with part.open("rb") as src, dest.open("r+b") as out:
            out.seek(MIB)
            while chunk := src.read(4 * MIB):
                out.write(chunk)
    return dest


def fstype(image: Path) -> str:
    """blkid's view of a disk image's first partition, or of the whole image."""
    out = subprocess.run(
        ["blkid", "-p", "-o", "export", str(image)], capture_output=True, text=True
    ).stdout
    return dict(ln.split("=", 1) for ln in out.splitlines() if "=" in ln).get("TYPE", "")
