"""igngen end to end: the repository's dracut module in Debian's initramfs provisions a
VM from Azure-shaped media and loopback IMDS/Wireserver endpoints; everything is checked
from outside the VM (ssh, the Wireserver's recorded reports, the disk images)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import (
    BROKEN_CUSTOMDATA,
    CUSTOM_FILE,
    CUSTOM_RAN,
    CUSTOM_UNIT,
    CUSTOMDATA,
    PASSWORD,
    RESOURCE_FS,
    RESOURCE_MOUNT,
    SLOW_MKFS_CUSTOMDATA,
    SLOW_MKFS_LOG,
    SLOW_MKFS_SECONDS,
    provisioned_vm,
)

from e2e import azure, media, pcap, qemu, scenario
from e2e.build import Artifacts
from e2e.scenario import Run


def _missing(art: Artifacts) -> str | None:
    """The precise piece of igngen these scenarios still lack, or None."""
    if art.initrd_igngen is None:
        return (
            "igngen's dracut module has not landed (no dracut/NNname/module-setup.sh in the repo)"
        )
    from igngen.cli import COMMANDS

    if "report" not in COMMANDS:
        return "`igngen report` (Wireserver health reporting) has not landed in igngen/cli.py"
    return None


@pytest.fixture(scope="module")
def igngen_artifacts(artifacts: Artifacts) -> Artifacts:
    reason = _missing(artifacts)
    if reason:
        pytest.skip(reason)
    return artifacts


# The password VM also gets a swap partition on the resource disk (image settings).
SWAP_SETTINGS = "disks:\n  swap: {mode: partition, size_mib: 64}\n"


@pytest.fixture(scope="module")
def pw_vm(
    request: pytest.FixtureRequest, igngen_artifacts: Artifacts, ssh_keypair: tuple[Path, str]
) -> Iterator[Run]:
    key, pub = ssh_keypair
    p = azure.Provisioning(
        user="azureuser",
        host="e2e-pw-vm",
        ssh_key=pub,
        password=PASSWORD,
        customdata=CUSTOMDATA,
        provision_guest_agent=True,
    )
    # This Wireserver has no JSON health endpoint: reports go through the goal state.
    yield from provisioned_vm(
        request,
        igngen_artifacts,
        p,
        key,
        name="igngen-password",
        settings_yaml=SWAP_SETTINGS,
        json_health=False,
    )


@pytest.fixture(scope="module")
def nopw_vm(
    request: pytest.FixtureRequest, igngen_artifacts: Artifacts, ssh_keypair: tuple[Path, str]
) -> Iterator[Run]:
    key, pub = ssh_keypair
    p = azure.Provisioning(
        user="opsuser", host="e2e-nopw-vm", ssh_key=pub, customdata=SLOW_MKFS_CUSTOMDATA
    )
    yield from provisioned_vm(request, igngen_artifacts, p, key, name="igngen-nopassword")


def _sudo(run: Run, command: str) -> str:
    """Run as root in the guest: with the password on stdin when the user has one."""
    if run.provisioning.password:
        res = run.vm.ssh(f"sudo -S -p '' {command}", input=run.provisioning.password + "\n")
    else:
        res = run.vm.ssh(f"sudo -n {command}")
    assert res.returncode == 0, f"{command}: {res.stderr}"
    return res.stdout


# -- a VM with a password ------------------------------------------------------------


def test_password_vm_identity(pw_vm: Run) -> None:
    assert "failed=[]" in pw_vm.booted, pw_vm.booted
    vm = pw_vm.vm
    assert vm.ssh("hostname", check=True).stdout.strip() == "e2e-pw-vm"
    assert vm.ssh("cat /etc/hostname", check=True).stdout.strip() == "e2e-pw-vm"
    assert vm.ssh("id -un", check=True).stdout.strip() == "azureuser"
    # a password means sudo asks for it, and the password is the one from ovf-env.xml
    assert vm.ssh("sudo -n true").returncode != 0
    assert _sudo(pw_vm, "id -u").strip() == "0"


def test_password_vm_sent_its_hostname_in_dhcp(pw_vm: Run) -> None:
    """Azure's DNS learns a VM's name from DHCP option 12: the real root's network must
    already send the OVF hostname, because igngen wrote it before that network started."""
    asked = [
        m
        for m in pcap.dhcp_messages(pw_vm.vm.network_capture)
        if m.from_client and m.kind in ("DISCOVER", "REQUEST")
    ]
    seen = [(m.kind, m.hostname) for m in asked]
    # The initramfs asks first (before Ignition ran); the real root's networkd asks last.
    assert asked and asked[-1].hostname == "e2e-pw-vm", seen


WAAGENT = "waagent.service"  # the stand-in image enables it, as Flatcar's Azure image does


def _unit_state(run: Run, unit: str) -> list[str]:
    return run.vm.ssh(f"systemctl is-enabled {unit}; systemctl is-active {unit}").stdout.split()


def test_password_vm_keeps_the_guest_agent(pw_vm: Run) -> None:
    assert _unit_state(pw_vm, WAAGENT) == ["enabled", "active"]  # ProvisionGuestAgent=true


def test_password_vm_customdata_applied(pw_vm: Run) -> None:
    _assert_customdata(pw_vm)


def test_password_vm_reported_ready_once_after_progress(pw_vm: Run) -> None:
    _assert_ready_once(pw_vm)
    # the JSON endpoint answered 404, so every accepted report is a goal-state XML one
    assert {r.path for r in pw_vm.wireserver.seen()} == {"/machine?comp=health"}


def test_password_vm_secret_nowhere(pw_vm: Run) -> None:
    kept = _sudo(pw_vm, "cat /var/lib/waagent/ovf-env.xml")
    assert "UserName>azureuser<" in kept.replace("ns1:", "")
    assert PASSWORD not in kept
    journal = _sudo(pw_vm, "journalctl -b -o export --no-pager")
    assert len(journal) > 10_000  # the whole boot, initrd included
    assert "igngen" in journal
    assert PASSWORD not in journal
    # The pattern goes through a file, never a command line (sudo logs command lines).
    pw_vm.vm.ssh("umask 077; cat > ~/.e2e-pat", input=PASSWORD + "\n", check=True)
    hits = _sudo(
        pw_vm,
        "grep -rlF --exclude=.e2e-pat -f /home/azureuser/.e2e-pat /etc /var /run /home /tmp /root"
        " 2>/dev/null || true",
    )
    pw_vm.vm.ssh("rm -f ~/.e2e-pat", check=True)
    assert hits.strip() == ""


def test_password_vm_resource_disk_and_swap(pw_vm: Run) -> None:
    _assert_resource_disk(pw_vm, swap=True)


# -- a VM without a password, then its second boot -------------------------------------


def test_nopassword_vm(nopw_vm: Run) -> None:
    assert "failed=[]" in nopw_vm.booted, nopw_vm.booted
    vm = nopw_vm.vm
    assert vm.ssh("hostname", check=True).stdout.strip() == "e2e-nopw-vm"
    assert vm.ssh("sudo -n true").returncode == 0
    _assert_customdata(nopw_vm)
    _assert_ready_once(nopw_vm)
    assert {r.path for r in nopw_vm.wireserver.seen()} == {"/provisioning/health"}
    _assert_resource_disk(nopw_vm)


@pytest.fixture(scope="module")
def second_boot(igngen_artifacts: Artifacts, nopw_vm: Run) -> Iterator[tuple[str, Run]]:
    """The no-password VM's disk booted again, as after a redeploy: a fresh NTFS resource disk."""
    first = nopw_vm
    vm = first.vm
    # Changes a re-provisioning would undo:
    vm.ssh("echo changed-after-provisioning | sudo -n tee /etc/hostname >/dev/null", check=True)
    vm.ssh("echo '# kept across boots' >> ~/.ssh/authorized_keys", check=True)
    vm.poweroff()
    # Azure gives a redeployed VM a new, NTFS-formatted resource disk.
    with scenario.next_boot(
        igngen_artifacts, first, name="igngen-second-boot", redeploy=True
    ) as again:
        assert media.fstype(first.resource_disk) == ""  # the NTFS is inside the partition
        # local-fs.target waits for the resource disk, and so for the slow mkfs.
        booted = again.vm.wait_booted(timeout=qemu.BOOT_TIMEOUT + SLOW_MKFS_SECONDS)
        again.vm.wait_ssh()
        yield booted, again


def test_nopassword_vm_without_the_guest_agent(nopw_vm: Run) -> None:
    # ProvisionGuestAgent=false: masked, so no preset or Wants= can start it either.
    assert _unit_state(nopw_vm, WAAGENT) == ["masked", "inactive"]


def test_second_boot_does_not_reprovision(second_boot: tuple[str, Run]) -> None:
    booted, second = second_boot
    again = second.vm
    assert again.ssh("cat /etc/hostname", check=True).stdout.strip() == "changed-after-provisioning"
    keys = again.ssh("cat ~/.ssh/authorized_keys", check=True).stdout
    assert "# kept across boots" in keys
    ready = [h for h in second.health() if h.state == "Ready"]
    assert ready == [], "Ready was sent again on the second boot"
    failed = booted.split("failed=[", 1)[1].split("]", 1)[0].split()
    assert failed == [], booted


def test_second_boot_reformats_fresh_resource_disk(second_boot: tuple[str, Run]) -> None:
    booted, second = second_boot
    unit = second.vm.ssh("sudo -n journalctl -b -o cat --no-pager -u igngen-resource-disk.service")
    assert "failed=[]" in booted, f"{booted}\n--- igngen-resource-disk.service ---\n{unit.stdout}"
    # The guest has no NTFS driver (like Flatcar), so the script went by Azure's label.
    assert "formatting /dev/disk/azure/resource" in unit.stdout, unit.stdout
    assert "Temporary Storage" in unit.stdout, unit.stdout
    _assert_resource_disk(second)


def test_second_boot_mounts_after_a_prepare_longer_than_the_device_default(
    second_boot: tuple[str, Run],
) -> None:
    _, second = second_boot
    vm = second.vm
    boot_id = vm.ssh("cat /proc/sys/kernel/random/boot_id", check=True).stdout.strip()
    runs = vm.ssh(f"cat {SLOW_MKFS_LOG}", check=True).stdout.splitlines()
    assert [r for r in runs if r.startswith(boot_id + " ")], runs  # the slow mkfs ran this boot
    unit = "igngen-resource-disk.service"
    show = vm.ssh(
        f"systemctl show -p ExecMainStartTimestampMonotonic -p ExecMainExitTimestampMonotonic {unit}",
        check=True,
    ).stdout
    stamps = dict(line.split("=", 1) for line in show.split())
    took = (
        int(stamps["ExecMainExitTimestampMonotonic"])
        - int(stamps["ExecMainStartTimestampMonotonic"])
    ) / 1e6
    # Longer than systemd's 90 s default device wait: without igngen's drop-in on the
    # label's device unit, the mount would have failed with a job timeout.
    assert took > 90, f"{unit} took {took:.0f} s"
    state = vm.ssh(f"systemctl show -p Result -p ActiveState {unit}", check=True).stdout
    assert "Result=success" in state and "ActiveState=active" in state, state


# -- broken customdata -------------------------------------------------------------------


def test_broken_customdata_reports_failure(
    igngen_artifacts: Artifacts, ssh_keypair: tuple[Path, str]
) -> None:
    _, pub = ssh_keypair
    p = azure.Provisioning(
        user="azureuser", host="e2e-broken-vm", ssh_key=pub, customdata=BROKEN_CUSTOMDATA
    )
    with scenario.provisioning_boot(igngen_artifacts, p, name="igngen-broken-customdata") as run:
        (failed,) = run.wait_health("ProvisioningFailed")
        assert failed.state == "NotReady"
        desc = failed.description
        assert desc and "\n" not in desc and "Traceback" not in desc
        assert "customdata" in desc.lower().replace(" ", "").replace("_", ""), desc
        assert not [h for h in run.health() if h.state == "Ready"]


# -- shared assertions --------------------------------------------------------------------


def _assert_customdata(run: Run) -> None:
    vm = run.vm
    assert vm.ssh(f"cat {CUSTOM_FILE}", check=True).stdout == "from customdata\n"
    assert vm.ssh(f"systemctl is-enabled {CUSTOM_UNIT}", check=True).stdout.strip() == "enabled"
    assert vm.ssh(f"test -e {CUSTOM_RAN}").returncode == 0


def _assert_ready_once(run: Run) -> None:
    reports = run.wait_health("Ready", timeout=180)
    reports = run.health()
    ready = [i for i, h in enumerate(reports) if h.state == "Ready"]
    progress = [i for i, h in enumerate(reports) if h.substatus == "Provisioning"]
    assert len(ready) == 1, reports
    assert progress and progress[0] < ready[0], reports
    assert not [h for h in reports if h.substatus == "ProvisioningFailed"], reports


def _assert_resource_disk(run: Run, *, swap: bool = False) -> None:
    vm = run.vm
    out = vm.ssh(f"findmnt -n -o SOURCE,FSTYPE {RESOURCE_MOUNT}", check=True).stdout.split()
    assert out[1] == RESOURCE_FS, out
    disk = vm.ssh("readlink -f /dev/disk/azure/resource", check=True).stdout.strip()
    assert out[0].startswith(disk), (out, disk)  # a partition of the resource disk
    # /proc/swaps rather than swapon: /sbin is not on a user's PATH on Debian
    swaps = [ln.split()[0] for ln in vm.ssh("cat /proc/swaps", check=True).stdout.splitlines()[1:]]
    if not swap:
        assert swaps == [], swaps  # the image's default settings enable no swap
        return
    assert len(swaps) == 1, swaps
    resolved = vm.ssh(f"readlink -f {swaps[0]}", check=True).stdout.strip()
    disk = vm.ssh("readlink -f /dev/disk/azure/resource", check=True).stdout.strip()
    assert resolved.startswith(disk), (resolved, disk)  # a partition of the resource disk
