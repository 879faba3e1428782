"""The boot-time prepare script on real loop devices (root only; skipped elsewhere).

Each case builds the disk state a VM can boot with (blank, Azure's stock NTFS,
NTFS with user files, our own filesystem, someone else's) and checks that the
script formats exactly the disks it may and leaves the others byte-for-byte
alone. Loop devices, mounts and swap are released by the fixtures (tests/conftest.py,
helpers in support/loopdisk.py) even when a test fails.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from support.consumers import require
from support.loopdisk import (
    EX_KEPT,
    README,
    SCRIPT,
    LoopDev,
    RunScript,
    assert_ours,
    make_ntfs,
    mounted,
    partitions,
    probe,
    reread,
    resource,
    sh,
)

from igngen.disks.layers import DEFAULT_LABEL

pytestmark = pytest.mark.root

# --- the resource disk ------------------------------------------------------------------


def test_blank_disk_is_formatted_and_mountable(
    loopdev: LoopDev, run_script: RunScript, tmp_path: Path
) -> None:
    dev = loopdev()
    proc = resource(run_script, dev)
    assert proc.returncode == 0, proc.stderr
    assert "blank" in proc.stderr
    part = assert_ours(dev)
    with mounted(part, tmp_path / "mnt") as root:
        (root / "probe").write_text("ok")
        assert (root / "probe").read_text() == "ok"


def test_blank_disk_with_xfs_and_swap_partition(loopdev: LoopDev, run_script: RunScript) -> None:
    require("mkfs.xfs")
    dev = loopdev(400)  # xfs wants 300 MiB at least
    proc = resource(run_script, dev, "--swap-mib", "32", "--swap-label", "igngen-swap", fs="xfs")
    assert proc.returncode == 0, proc.stderr
    swap = partitions(dev)[0]
    assert probe(swap, "TYPE") == "swap" and probe(swap, "LABEL") == "igngen-swap"
    assert int(sh("blockdev", "--getsize64", swap).stdout) == 32 << 20
    assert_ours(dev, "xfs", number=2)


def test_stock_ntfs_is_reformatted(loopdev: LoopDev, run_script: RunScript, tmp_path: Path) -> None:
    dev = loopdev()
    make_ntfs(dev, {"DATALOSS_WARNING_README.txt": README}, tmp=tmp_path)
    proc = resource(run_script, dev)
    assert proc.returncode == 0, proc.stderr
    assert "stock files" in proc.stderr
    assert_ours(dev)
    assert "ntfs" not in sh("wipefs", "-n", partitions(dev)[0]).stdout


def test_stock_ntfs_on_gpt_with_reserved_partition_is_reformatted(
    loopdev: LoopDev, run_script: RunScript, tmp_path: Path
) -> None:
    dev = loopdev()
    make_ntfs(
        dev,
        {"dataloss_warning_readme.txt": README},
        ("System Volume Information",),
        msr=True,
        tmp=tmp_path,
    )
    proc = resource(run_script, dev)
    assert proc.returncode == 0, proc.stderr
    assert len(partitions(dev)) == 1
    assert_ours(dev)


@pytest.mark.parametrize(
    ("files", "dirs", "shown"),
    [
        ({"DATALOSS_WARNING_README.txt": README, "results.csv": b"1,2\n"}, (), "results.csv"),
        ({}, ("backup",), "backup"),
        ({"$RECYCLE.BIN.txt": b"x"}, (), "$RECYCLE.BIN.txt"),
        # A file name cannot forge a second journal line.
        ({"x\n<0>forged": b"x"}, (), "x?<0>forged"),
    ],
)
def test_ntfs_with_user_files_is_left_alone_and_reported(
    loopdev: LoopDev,
    run_script: RunScript,
    tmp_path: Path,
    files: dict[str, bytes],
    dirs: tuple[str, ...],
    shown: str,
) -> None:
    dev = loopdev()
    part = make_ntfs(dev, files, dirs, tmp=tmp_path)
    before = sh("sha256sum", dev).stdout.split()[0]
    proc = resource(run_script, dev)
    assert proc.returncode == EX_KEPT, proc.stderr
    assert proc.stderr.startswith("<3>") and "untouched" in proc.stderr and shown in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert sh("sha256sum", dev).stdout.split()[0] == before  # not one byte changed
    with mounted(part, tmp_path / "check", "-t", "ntfs-3g", "-o", "ro") as root:
        for name, data in files.items():
            assert (root / name).read_bytes() == data


def test_ntfs_with_many_user_files_shows_five(
    loopdev: LoopDev, run_script: RunScript, tmp_path: Path
) -> None:
    dev = loopdev()
    make_ntfs(dev, {f"f{i}.txt": b"x" for i in range(7)}, tmp=tmp_path)
    proc = resource(run_script, dev)
    assert proc.returncode == EX_KEPT, proc.stderr
    assert "7 entries (f0.txt,f1.txt,f2.txt,f3.txt,f4.txt,...)" in proc.stderr, proc.stderr


def test_stopped_while_inspecting_ntfs_unmounts_it(loopdev: LoopDev, tmp_path: Path) -> None:
    """A unit timeout (systemd's SIGTERM to the whole unit) while the NTFS is mounted for
    inspection: the EXIT trap must still unmount it and remove the mount point. Before the
    fix the mount point lived in a $(...) subshell the trap never saw, and the mount leaked."""
    dev = loopdev()
    part = make_ntfs(dev, {"DATALOSS_WARNING_README.txt": README}, tmp=tmp_path)
    stub = tmp_path / "kill-after-mount"
    stub.mkdir()
    # mount(8) that, once an NTFS is mounted, stops the whole process group the way
    # systemd stops a unit that ran out of time.
    (stub / "mount").write_text(
        '#!/bin/bash\n/usr/bin/mount "$@" || exit $?\ncase "$*" in *ntfs*) kill -TERM 0 ;; esac\n'
    )
    (stub / "mount").chmod(0o755)
    state = tmp_path / "state"
    proc = subprocess.run(
        [
            "bash",
            str(SCRIPT),
            "resource",
            "--device",
            dev,
            "--fs",
            "ext4",
            "--label",
            DEFAULT_LABEL,
        ],
        env={"PATH": f"{stub}:/usr/sbin:/usr/bin:/sbin:/bin", "IGNGEN_DISK_STATE_DIR": str(state)},
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,
        check=False,
    )
    assert proc.returncode != 0, proc.stderr
    with open("/proc/mounts") as fh:
        sources = [line.split()[0] for line in fh]
    assert part not in sources, "the NTFS is still mounted after the script was stopped"
    assert list(state.glob("ntfs-check.*")) == []
    assert probe(part, "TYPE") == "ntfs"  # stopped before anything was written


def no_ntfs_driver(tmp_path: Path) -> str:
    """A PATH whose mount(8) knows no NTFS driver, as on Flatcar (no ntfs3, no ntfs-3g)."""
    stub = tmp_path / "no-ntfs"
    stub.mkdir(exist_ok=True)
    (stub / "mount").write_text(
        '#!/bin/bash\nfor a in "$@"; do case $a in ntfs*) echo "unknown filesystem type" >&2; exit 32;; esac; done\n'
        'exec /usr/bin/mount "$@"\n'
    )
    (stub / "mount").chmod(0o755)
    return f"{stub}:/usr/sbin:/usr/bin:/sbin:/bin"


def path_without(tmp_path: Path, *tools: str) -> str:
    """A PATH holding every command of the system's but ``tools`` (an image that
    split them into a package it did not install, as Debian does with sfdisk)."""
    shim = tmp_path / "path-without"
    shim.mkdir(exist_ok=True)
    for d in ("/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        if not os.path.isdir(d):
            continue
        for name in os.listdir(d):
            link = shim / name
            if name not in tools and not link.exists() and not link.is_symlink():
                link.symlink_to(os.path.join(d, name))
    return str(shim)


@pytest.mark.parametrize("missing", ["sfdisk", "mkfs.ext4", "wipefs"])
def test_missing_tool_stops_before_anything_changes(
    loopdev: LoopDev, run_script: RunScript, tmp_path: Path, missing: str
) -> None:
    """Found in the QEMU redeploy boot: Debian's root had no sfdisk, and the script had
    already wiped the NTFS when it found out."""
    dev = loopdev()
    part = make_ntfs(dev, {"DATALOSS_WARNING_README.txt": README}, tmp=tmp_path)
    before = Path(dev).read_bytes()
    proc = resource(run_script, dev, path=path_without(tmp_path, missing))
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"missing tools: {missing} " in lines[0], proc.stderr
    assert "nothing was changed" in lines[0]
    assert Path(dev).read_bytes() == before
    assert probe(part, "TYPE") == "ntfs"


def test_swap_partition_needs_mkswap_up_front(
    loopdev: LoopDev, run_script: RunScript, tmp_path: Path
) -> None:
    dev = loopdev()
    proc = resource(run_script, dev, "--swap-mib", "16", path=path_without(tmp_path, "mkswap"))
    assert proc.returncode == 1 and "missing tools: mkswap " in proc.stderr, proc.stderr
    assert probe(dev, "PTTYPE") == "" and partitions(dev) == []  # still blank


def test_uninspectable_azure_ntfs_is_formatted_by_default(
    loopdev: LoopDev, run_script: RunScript, tmp_path: Path
) -> None:
    dev = loopdev()
    make_ntfs(dev, {"DATALOSS_WARNING_README.txt": README}, tmp=tmp_path)
    path = no_ntfs_driver(tmp_path)
    proc = resource(run_script, dev, "--unverifiable-ntfs", "keep", path=path)
    assert proc.returncode == EX_KEPT, proc.stderr
    assert "format_unverifiable_ntfs" in proc.stderr
    assert probe(partitions(dev)[0], "TYPE") == "ntfs"
    assert resource(run_script, dev, path=path).returncode == EX_KEPT  # the script's default
    proc = resource(run_script, dev, "--unverifiable-ntfs", "format", path=path)
    assert proc.returncode == 0, proc.stderr
    assert "no driver" in proc.stderr
    assert_ours(dev)


def test_uninspectable_ntfs_without_azures_label_is_kept(
    loopdev: LoopDev, run_script: RunScript, tmp_path: Path
) -> None:
    dev = loopdev()
    part = make_ntfs(dev, {"DATALOSS_WARNING_README.txt": README}, tmp=tmp_path)
    sh("ntfslabel", part, "Backups")
    proc = resource(run_script, dev, "--unverifiable-ntfs", "format", path=no_ntfs_driver(tmp_path))
    assert proc.returncode == EX_KEPT, proc.stderr
    assert "label" in proc.stderr and probe(part, "TYPE") == "ntfs"


def test_our_filesystem_is_kept(loopdev: LoopDev, run_script: RunScript, tmp_path: Path) -> None:
    dev = loopdev()
    assert resource(run_script, dev).returncode == 0
    part = assert_ours(dev)
    uuid = probe(part, "UUID")
    with mounted(part, tmp_path / "mnt") as root:
        (root / "keep-me").write_text("data")
    proc = resource(run_script, dev)
    assert proc.returncode == 0, proc.stderr
    assert "keeping it" in proc.stderr
    assert probe(part, "UUID") == uuid
    with mounted(part, tmp_path / "mnt") as root:
        assert (root / "keep-me").read_text() == "data"


@pytest.mark.parametrize("layout", ["partitioned", "whole-disk"])
def test_someone_elses_filesystem_is_left_alone(
    loopdev: LoopDev, run_script: RunScript, layout: str
) -> None:
    dev = loopdev()
    if layout == "partitioned":
        sh("sfdisk", "-q", dev, input="label: gpt\ntype=linux\n")
        reread(dev)
        target = partitions(dev)[0]
    else:
        target = dev
    sh("mkfs.ext4", "-q", "-L", "data", target)
    before = sh("sha256sum", dev).stdout.split()[0]
    proc = resource(run_script, dev)
    assert proc.returncode == EX_KEPT, proc.stderr
    assert sh("sha256sum", dev).stdout.split()[0] == before


def test_empty_partition_table_is_formatted(loopdev: LoopDev, run_script: RunScript) -> None:
    dev = loopdev()
    sh("sfdisk", "-q", dev, input="label: gpt\ntype=linux\n")  # e.g. an interrupted earlier run
    reread(dev)
    proc = resource(run_script, dev)
    assert proc.returncode == 0, proc.stderr
    assert "holds no filesystem" in proc.stderr
    assert_ours(dev)


def test_mounted_disk_is_left_alone(
    loopdev: LoopDev, run_script: RunScript, tmp_path: Path
) -> None:
    dev = loopdev()
    sh("sfdisk", "-q", dev, input="label: gpt\ntype=linux\n")
    reread(dev)
    part = partitions(dev)[0]
    sh("mkfs.ext4", "-q", part)
    with mounted(part, tmp_path / "busy"):
        proc = resource(run_script, dev)
    assert proc.returncode == EX_KEPT and "mounted" in proc.stderr


def test_missing_disk_is_not_an_error(run_script: RunScript, tmp_path: Path) -> None:
    proc = resource(run_script, str(tmp_path / "no-such-disk"))
    assert proc.returncode == 0 and "nothing to do" in proc.stderr


def test_bad_usage_fails(run_script: RunScript) -> None:
    assert run_script("resource", "--device").returncode == 1
    assert (
        run_script("resource", "--device", "/dev/null", "--fs", "btrfs", "--label", "x").returncode
        == 1
    )
    assert run_script("defragment").returncode == 1


# --- swap file ----------------------------------------------------------------------------


def test_swap_file_is_created_sized_and_kept(
    loopdev: LoopDev, run_script: RunScript, tmp_path: Path
) -> None:
    dev = loopdev()
    assert resource(run_script, dev).returncode == 0
    part = assert_ours(dev)
    with mounted(part, tmp_path / "res") as root:
        swapfile = root / "swapfile"
        proc = run_script("swapfile", "--path", str(swapfile), "--size-mib", "16")
        assert proc.returncode == 0, proc.stderr
        st = swapfile.stat()
        assert st.st_size == 16 << 20 and st.st_mode & 0o777 == 0o600
        assert probe(str(swapfile), "TYPE") == "swap"
        assert st.st_blocks * 512 >= st.st_size  # allocated, no holes (swapon refuses holes)
        proc = run_script("swapfile", "--path", str(swapfile), "--size-mib", "16")
        assert proc.returncode == 0 and "in place" in proc.stderr
        assert swapfile.stat().st_ino == st.st_ino
        proc = run_script("swapfile", "--path", str(swapfile), "--size-mib", "24")
        assert proc.returncode == 0 and "replacing" in proc.stderr
        assert swapfile.stat().st_size == 24 << 20 and probe(str(swapfile), "TYPE") == "swap"
        assert not list(root.glob("*.igngen-new"))
        # The kernel takes it (no holes, valid header); released again at once.
        on = sh("swapon", str(swapfile), check=False)
        if on.returncode != 0:
            pytest.skip(f"swapon is not permitted here: {on.stderr.strip()}")
        sh("swapoff", str(swapfile))


def test_swap_file_needs_the_mounted_directory(run_script: RunScript, tmp_path: Path) -> None:
    proc = run_script("swapfile", "--path", str(tmp_path / "absent/swapfile"), "--size-mib", "8")
    assert proc.returncode == 1 and "mounted" in proc.stderr


# --- local NVMe stand-ins -------------------------------------------------------------------


def test_whole_disk_mode(loopdev: LoopDev, run_script: RunScript) -> None:
    dev = loopdev()
    args = ("whole", "--device", dev, "--fs", "ext4", "--label", "igngen-nv1")
    assert run_script(*args).returncode == 0
    assert probe(dev, "TYPE") == "ext4" and probe(dev, "LABEL") == "igngen-nv1"
    uuid = probe(dev, "UUID")
    proc = run_script(*args)
    assert proc.returncode == 0 and probe(dev, "UUID") == uuid
    other = loopdev()
    sh("mkfs.ext4", "-q", "-L", "mine", other)
    proc = run_script("whole", "--device", other, "--fs", "ext4", "--label", "igngen-nv2")
    assert proc.returncode == EX_KEPT and probe(other, "LABEL") == "mine"


def test_raid0_mode(loopdev: LoopDev, run_script: RunScript) -> None:
    require("mdadm")
    if not Path("/proc/mdstat").exists():
        pytest.skip("no md driver (/proc/mdstat) in this kernel")
    members = [loopdev(), loopdev()]
    name = f"igngen-t{os.getpid()}"
    args = ("raid0", "--name", name, "--fs", "ext4", "--label", "igngen-md", *members)
    try:
        proc = run_script(*args)
        assert proc.returncode == 0, proc.stderr
        md = f"/dev/md/{name}"
        assert probe(md, "LABEL") == "igngen-md"
        uuid = probe(md, "UUID")
        assert run_script(*args).returncode == 0 and probe(md, "UUID") == uuid
    finally:
        sh("mdadm", "--stop", f"/dev/md/{name}", check=False)


# Ignition's own disks stage on loop devices: tests/test_disks_ignition_stage.py


def test_script_passes_shellcheck() -> None:
    shellcheck = require("shellcheck")
    proc = sh(shellcheck, "-s", "bash", str(SCRIPT), check=False)
    assert proc.returncode == 0, proc.stdout
