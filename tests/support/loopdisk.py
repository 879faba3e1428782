"""Loop-device disks for the disk-script tests: build the states a VM can boot with.

The ``loopdev`` and ``run_script`` fixtures that use these live in tests/conftest.py.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from igngen.disks.layers import DEFAULT_LABEL
from igngen.disks.variables import SCRIPT_DATA
from support.consumers import require

SCRIPT = Path(SCRIPT_DATA)
EX_KEPT = 3
MSR_GUID = "E3C9E316-0B5C-4DB8-817D-F92DF00215AE"  # Microsoft reserved
BASIC_DATA_GUID = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"  # Windows basic data
# Our own words; Azure's file says the disk is temporary and its data may be lost.
README = b"This is a temporary disk: anything stored here can be lost.\r\n"

# The fixtures' types (tests/conftest.py): loopdev(size_mib) → device node;
# run_script(*args, path=PATH) → the finished script.
LoopDev = Callable[..., str]
RunScript = Callable[..., "subprocess.CompletedProcess[str]"]


def sh(*args: str, check: bool = True, **kw: Any) -> subprocess.CompletedProcess[str]:
    proc: subprocess.CompletedProcess[str] = subprocess.run(
        list(args), capture_output=True, text=True, check=check, timeout=120, **kw
    )
    return proc


def probe(dev: str, field: str) -> str:
    return sh("blkid", "-p", "-o", "value", "-s", field, dev, check=False).stdout.strip()


def partitions(dev: str) -> list[str]:
    out = sh("lsblk", "-lnpo", "NAME,TYPE", dev).stdout
    return [line.split()[0] for line in out.splitlines() if line.split()[1:] == ["part"]]


def reread(dev: str) -> None:
    sh("partx", "-u", dev, check=False)
    if not partitions(dev):
        sh("partx", "-a", dev, check=False)


@contextlib.contextmanager
def mounted(dev: str, where: Path, *opts: str) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    sh("mount", *opts, dev, str(where))
    try:
        yield where
    finally:
        sh("umount", str(where), check=False)


def make_ntfs(
    dev: str, files: dict[str, bytes], dirs: tuple[str, ...] = (), *, msr: bool = False, tmp: Path
) -> str:
    """Lay the disk out the way Azure hands it over and fill the NTFS root."""
    require("mkntfs", "ntfs-3g")
    if msr:  # disks over 2 TiB: GPT, Microsoft reserved partition, then the NTFS one
        layout = f"label: gpt\nsize=16MiB, type={MSR_GUID}\ntype={BASIC_DATA_GUID}\n"
    else:
        layout = "label: dos\ntype=7\n"
    sh("sfdisk", "-q", dev, input=layout)
    reread(dev)
    part = partitions(dev)[-1]
    sh("mkntfs", "-Q", "-q", "-L", "Temporary Storage", part)
    with mounted(part, tmp / "ntfs-fill", "-t", "ntfs-3g") as root:
        for name, data in files.items():
            (root / name).write_bytes(data)
        for name in dirs:
            (root / name).mkdir()
    assert probe(part, "TYPE") == "ntfs"
    return part


def assert_ours(dev: str, fs: str = "ext4", label: str = DEFAULT_LABEL, number: int = 1) -> str:
    parts = partitions(dev)
    part = parts[number - 1]
    assert probe(part, "TYPE") == fs
    assert probe(part, "LABEL") == label
    assert probe(dev, "PTTYPE") == "gpt"
    return part


def resource(
    run: Callable[..., subprocess.CompletedProcess[str]],
    dev: str,
    *extra: str,
    fs: str = "ext4",
    path: str | None = None,
) -> subprocess.CompletedProcess[str]:
    return run("resource", "--device", dev, "--fs", fs, "--label", DEFAULT_LABEL, *extra, path=path)
