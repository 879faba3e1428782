"""Test-wide guards.

Network: tests may only talk to loopback (127.0.0.0/8, ::1) or to AF_UNIX
sockets. Any other connect/sendto from this process, or from any Python it starts
(support/childguard/sitecustomize.py, through PYTHONPATH), fails loudly, so a test can
never reach the real IMDS (169.254.169.254), Wireserver (168.63.129.16) or any
other host. Tests that use network namespaces of their own run their traffic in
subprocesses inside those namespaces.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


from support import netguard
from support.consumers import require
from support.loopdisk import SCRIPT, LoopDev, RunScript, partitions, sh

CHILD_GUARD = Path(__file__).parent / "support" / "childguard"


def pytest_configure(config: pytest.Config) -> None:
    netguard.install()
    # Python subprocesses (the igngen CLI under test) load childguard/sitecustomize.py.
    inherited = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(CHILD_GUARD), inherited]))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture
def loopdev(tmp_path: Path) -> Iterator[LoopDev]:
    """Factory for loop devices with partition scanning; all detached afterwards."""
    if os.geteuid() != 0:
        pytest.skip("loop devices need root")
    require("losetup", "sfdisk", "partx", "blkid", "lsblk", "mkfs.ext4", "wipefs")
    made: list[str] = []

    def make(size_mib: int = 96) -> str:
        image = tmp_path / f"disk{len(made)}.img"
        with open(image, "wb") as fh:
            fh.truncate(size_mib << 20)
        proc = sh("losetup", "-f", "--show", "-P", str(image), check=False)
        if proc.returncode != 0:
            pytest.skip(f"cannot attach a loop device here: {proc.stderr.strip()}")
        made.append(proc.stdout.strip())
        return made[-1]

    yield make
    for dev in made:
        nodes = [dev, *partitions(dev)]
        with open("/proc/mounts") as fh:
            for line in fh:
                if line.split()[0] in nodes:
                    sh("umount", "-l", line.split()[1], check=False)
        with open("/proc/swaps") as fh:
            for line in fh.readlines()[1:]:
                if line.split()[0] in nodes:
                    sh("swapoff", line.split()[0], check=False)
        sh("losetup", "-d", dev, check=False)


@pytest.fixture
def run_script(tmp_path: Path) -> RunScript:
    state = tmp_path / "state"

    def run(*args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": path or "/usr/sbin:/usr/bin:/sbin:/bin",
            "IGNGEN_DISK_STATE_DIR": str(state),
        }
        return sh("bash", str(SCRIPT), *args, check=False, env=env)

    return run
