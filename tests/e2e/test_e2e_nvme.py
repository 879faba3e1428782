"""igngen's local NVMe disks end to end: QEMU NVMe controllers named as Azure names local
disks (the harness's stand-in udev rules), Ignition's disks stage in Debian's initramfs
building the md RAID0 array or the per-disk filesystems from igngen's fragment, the boot
oneshots keeping them, and after a redeploy (blank NVMe disks) re-creating them.
Everything is checked from outside over ssh; the stock Debian kernel has md and nvme."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import keep_logs_on_failure, provisioned_vm

from e2e import azure, media, qemu, scenario
from e2e.build import Artifacts
from e2e.scenario import Run

REPO = Path(__file__).resolve().parents[2]

RAID_NAME = "e2e-stripe"
RAID_ROOT = "/mnt/nvme"
RAID_FS = "xfs"  # not the default (ext4): the setting has to reach both Ignition and the script
RAID_LABEL = "igngen-md"
# by-index links (disks.nvme.count)
RAID_SETTINGS = (
    "disks:\n"
    f"  nvme: {{mode: raid0, count: 2, filesystem: {RAID_FS}, mount_root: {RAID_ROOT},"
    f" raid_name: {RAID_NAME}}}\n"
)
MOUNTS_ROOT = "/mnt/local"
MOUNTS_FS = "ext4"
# by-name links (disks.nvme.disks), Azure's names for two 1 GiB local disks
MOUNT_DISKS = ("nvme-1G-1", "nvme-1G-2")
# ... and one the VM does not have (an image made for several sizes): left out at provisioning
ABSENT_DISK = "nvme-1G-3"
MOUNTS_SETTINGS = (
    "disks:\n"
    f"  nvme: {{mode: mounts, disks: [{', '.join((*MOUNT_DISKS, ABSENT_DISK))}],"
    f" filesystem: {MOUNTS_FS}, mount_root: {MOUNTS_ROOT}}}\n"
)
FIRST_BOOT_FILE = "e2e-written-on-first-boot"


@pytest.fixture(scope="module")
def igngen_artifacts(artifacts: Artifacts) -> Artifacts:
    if artifacts.initrd_igngen is None:
        pytest.skip("igngen's dracut module has not landed (no dracut/NNname/module-setup.sh)")
    return artifacts


def _boot(
    request: pytest.FixtureRequest,
    art: Artifacts,
    key_pair: tuple[Path, str],
    *,
    name: str,
    host: str,
    settings: str,
) -> Iterator[Run]:
    key, pub = key_pair
    # No password: the user has passwordless sudo, which the checks below use.
    p = azure.Provisioning(user="nvmeuser", host=host, ssh_key=pub)
    yield from provisioned_vm(request, art, p, key, name=name, settings_yaml=settings, nvme_disks=2)


def _root(run: Run, command: str) -> str:
    res = run.vm.ssh(f"sudo -n {command}")
    assert res.returncode == 0, f"{command}: {res.stderr}"
    return res.stdout


def _unit_log(run: Run, unit: str) -> str:
    return run.vm.ssh(f"sudo -n journalctl -b -o cat --no-pager -u {unit}").stdout


def _resolve(run: Run, path: str) -> str:
    return run.vm.ssh(f"readlink -e {path}", check=True).stdout.strip()


def _mount(run: Run, where: str) -> tuple[str, str, str]:
    """(source device, filesystem type, label) of what is mounted at ``where``."""
    out = run.vm.ssh(f"findmnt -n -o SOURCE,FSTYPE {where}").stdout.split()
    assert len(out) == 2, f"nothing mounted at {where}: {out}"
    label = _root(run, f"blkid -p -o value -s LABEL {out[0]}").strip()
    return out[0], out[1], label


# -- offline: what the boots below rely on (no VM) ------------------------------------------


def _fragment(tmp_path: Path, settings: str) -> dict[str, object]:
    key = (REPO / "tests/data/keys/ed25519.pub").read_text().strip()
    p = azure.Provisioning(user="nvmeuser", host="e2e-nvme", ssh_key=key)
    (tmp_path / "ovf-env.xml").write_bytes(azure.ovf_env(p))
    (tmp_path / "imds.json").write_text(json.dumps(azure.imds_instance(p)))
    (tmp_path / "igngen.yaml").write_text(settings)
    argv = [sys.executable, "-m", "igngen", "render", "--fragment-only"]
    for opt, name in (
        ("--ovf", "ovf-env.xml"),
        ("--imds", "imds.json"),
        ("--config", "igngen.yaml"),
    ):
        argv += [opt, str(tmp_path / name)]
    res = subprocess.run(argv, capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 0, res.stderr
    config: dict[str, object] = json.loads(res.stdout)
    return config


def test_raid_settings_render_an_array_over_the_local_disks(tmp_path: Path) -> None:
    storage = _fragment(tmp_path, RAID_SETTINGS)["storage"]
    assert isinstance(storage, dict)
    assert storage["raid"] == [
        {
            "name": RAID_NAME,
            "level": "raid0",
            "devices": [f"/dev/disk/azure/local/by-index/{i}" for i in (1, 2)],
        }
    ]
    md = [f for f in storage["filesystems"] if f["device"] == f"/dev/md/{RAID_NAME}"]
    assert [(f["format"], f["label"], f.get("path")) for f in md] == [(RAID_FS, RAID_LABEL, None)]


def test_mounts_settings_name_the_disks_azure_names(tmp_path: Path) -> None:
    storage = _fragment(tmp_path, MOUNTS_SETTINGS)["storage"]
    assert isinstance(storage, dict)
    assert not storage.get("raid")
    devices = {f["device"]: f["format"] for f in storage["filesystems"]}
    for name in MOUNT_DISKS:
        assert devices.pop(f"/dev/disk/azure/local/by-name/{name}") == MOUNTS_FS
    # The harness's disks carry exactly these names.
    size = scenario.NVME_DISK_MIB * media.MIB
    assert [media.local_nvme_name(i, size) for i in (1, 2)] == list(MOUNT_DISKS)


def test_nvme_drives_on_the_qemu_command_line(tmp_path: Path) -> None:
    drives = [
        qemu.Drive(tmp_path / "root.qcow2", fmt="qcow2", serial="osdisk"),
        qemu.Drive(tmp_path / "nvme1.img", serial="nvme-1G-1", bus="nvme"),
    ]
    spec = qemu.VmSpec(Path("k"), Path("i"), "", drives)
    argv = qemu.Vm(spec, qemu.Accel("tcg", (), "test"), tmp_path, name="t").argv()
    devices = [argv[i + 1] for i, a in enumerate(argv) if a == "-device"]
    assert "virtio-blk-pci,drive=d0,serial=osdisk" in devices
    assert "nvme,drive=d1,serial=nvme-1G-1" in devices
    assert f"file={tmp_path / 'nvme1.img'},if=none,id=d1,format=raw" in argv
    # QEMU refuses an NVMe controller without a serial; so does the harness, earlier.
    spec.drives[1].serial = None
    with pytest.raises(ValueError, match="needs a serial"):
        qemu.Vm(spec, qemu.Accel("tcg", (), "test"), tmp_path, name="t").argv()


# -- RAID0 over both disks, then a redeploy ------------------------------------------------


@pytest.fixture(scope="class")
def raid_vm(
    request: pytest.FixtureRequest, igngen_artifacts: Artifacts, ssh_keypair: tuple[Path, str]
) -> Iterator[Run]:
    yield from _boot(
        request, igngen_artifacts, ssh_keypair,
        name="igngen-nvme-raid0", host="e2e-nvme-raid0", settings=RAID_SETTINGS,
    )  # fmt: skip


@pytest.fixture(scope="class")
def raid_redeployed(
    request: pytest.FixtureRequest, igngen_artifacts: Artifacts, raid_vm: Run
) -> Iterator[Run]:
    """The RAID VM's OS disk booted on "another host": blank NVMe disks, fresh resource disk."""
    _root(raid_vm, f"touch {RAID_ROOT}/{FIRST_BOOT_FILE}")
    raid_vm.vm.poweroff()
    with scenario.next_boot(
        igngen_artifacts, raid_vm, name="igngen-nvme-redeploy", redeploy=True
    ) as again:
        again.booted = again.vm.wait_booted()
        again.vm.wait_ssh()
        yield again
        keep_logs_on_failure(request, again)


def _assert_raid(run: Run) -> None:
    assert run.failed_units() == [], (
        f"{run.booted}\n--- igngen-nvme-raid.service ---\n{_unit_log(run, 'igngen-nvme-raid')}"
    )
    md = _resolve(run, f"/dev/md/{RAID_NAME}")
    members = sorted(
        _resolve(run, f"/dev/disk/azure/local/by-index/{i}").rsplit("/", 1)[1] for i in (1, 2)
    )
    assert all(m.startswith("nvme") for m in members), members
    mdstat = run.vm.ssh("cat /proc/mdstat", check=True).stdout
    line = next((ln for ln in mdstat.splitlines() if ln.startswith(md.rsplit("/", 1)[1] + " ")), "")
    assert line, f"{md} not in /proc/mdstat:\n{mdstat}"
    words = line.split()
    assert words[2:4] == ["active", "raid0"], line
    assert sorted(w.split("[", 1)[0] for w in words[4:]) == members, line
    detail = _root(run, f"mdadm --detail /dev/md/{RAID_NAME}")
    assert "Raid Level : raid0" in detail and "Raid Devices : 2" in detail, detail
    source, fstype, label = _mount(run, RAID_ROOT)
    assert _resolve(run, source) == md, (source, md)
    assert (fstype, label) == (RAID_FS, RAID_LABEL)
    state = run.vm.ssh("systemctl is-active igngen-nvme-raid.service").stdout.strip()
    assert state == "active", state
    # writable by root: the array is in use, not just present
    _root(run, f"sh -c 'echo ok > {RAID_ROOT}/e2e-probe && cat {RAID_ROOT}/e2e-probe'")


class TestRaid0:
    def test_ignition_built_the_array(self, raid_vm: Run) -> None:
        _assert_raid(raid_vm)
        # Ignition made it in the initrd; the boot oneshot found it and left it alone.
        log = _unit_log(raid_vm, "igngen-nvme-raid.service")
        assert "already carries our" in log, log
        assert "creating RAID0" not in log, log

    def test_redeploy_recreates_the_array(self, raid_redeployed: Run) -> None:
        run = raid_redeployed
        _assert_raid(run)
        log = _unit_log(run, "igngen-nvme-raid.service")
        assert "creating RAID0" in log and f"formatting /dev/md/{RAID_NAME}" in log, log
        # a new, empty filesystem: what the first boot wrote went with the old disks
        res = run.vm.ssh(f"test -e {RAID_ROOT}/{FIRST_BOOT_FILE}")
        assert res.returncode == 1, "the first boot's file survived the redeploy"
        # the resource disk, handed out again as NTFS, was reformatted alongside
        out = run.vm.ssh("findmnt -n -o FSTYPE /mnt/resource", check=True).stdout.strip()
        assert out == "ext4", out


# -- one filesystem per disk ----------------------------------------------------------------


@pytest.fixture(scope="class")
def mounts_vm(
    request: pytest.FixtureRequest, igngen_artifacts: Artifacts, ssh_keypair: tuple[Path, str]
) -> Iterator[Run]:
    yield from _boot(
        request, igngen_artifacts, ssh_keypair,
        name="igngen-nvme-mounts", host="e2e-nvme-mounts", settings=MOUNTS_SETTINGS,
    )  # fmt: skip


class TestMounts:
    def test_each_disk_mounted(self, mounts_vm: Run) -> None:
        run = mounts_vm
        assert run.failed_units() == [], run.booted
        assert "md" not in run.vm.ssh("lsblk -ln -o TYPE", check=True).stdout.split()
        for index, name in enumerate(MOUNT_DISKS, start=1):
            disk = _resolve(run, f"/dev/disk/azure/local/by-name/{name}")
            assert disk == _resolve(run, f"/dev/disk/azure/local/by-index/{index}")
            source, fstype, label = _mount(run, f"{MOUNTS_ROOT}/{name}")
            assert _resolve(run, source) == disk, (name, source, disk)
            assert (fstype, label) == (MOUNTS_FS, f"igngen-nv{index}")
        units = run.vm.ssh(
            "systemctl list-units --no-legend --plain --state=active 'igngen-nvme-*'", check=True
        ).stdout
        assert len(units.splitlines()) == len(MOUNT_DISKS), units

    def test_a_disk_the_vm_lacks_is_left_out(self, mounts_vm: Run) -> None:
        """Found missing at provisioning, so neither Ignition nor the boot units wait for it
        (either would sit out a 90 s device timeout, and Ignition would fail the boot)."""
        run = mounts_vm
        journal = _root(run, "journalctl -b -o cat --no-pager")
        assert "local NVMe disks configured=3 found=2" in journal
        assert run.vm.ssh(f"findmnt {MOUNTS_ROOT}/{ABSENT_DISK}").returncode != 0
        units = run.vm.ssh("systemctl list-unit-files --no-legend 'igngen-nvme-*'").stdout
        assert ABSENT_DISK.replace("-", "\\x2d") not in units and "1G-3" not in units, units
