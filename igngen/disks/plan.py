"""Ephemeral disks: what to do with each of them on this VM → ``DiskPlan`` (pure).

Azure gives a VM up to two kinds of local, non-persistent storage:

- the SCSI *resource disk* (``/dev/disk/azure/resource``), handed out as NTFS
  with a ``DATALOSS_WARNING_README.txt`` on it, and handed out *again*, blank
  NTFS, whenever the VM moves to another host (redeploy, resize, maintenance);
- local *NVMe* disks on some sizes (``/dev/disk/azure/local/by-name/*``,
  ``by-index/N``, from azure-vm-utils' udev rules), blank after every move.

Ignition runs once, so it can only prepare these disks on the first boot. The
fragment therefore declares them in Ignition *and* installs a small boot-time
script (``igngen/data/igngen-disk-prepare.sh``) that, before the mount unit
runs, re-creates our filesystem when the disk came back blank or as Azure's
stock NTFS, and leaves any other content alone (see that script's header).

The plan joins the settings (``igngen.disks.layers.resolve``) with what is known
about this VM: the resource disk size from IMDS and the local NVMe disks found at
provisioning. Each decision is an ``Action`` with its reason, for ``igngen explain``.
"""

from __future__ import annotations

from igngen.disks.layers import DEFAULT_SWAP_FILE, DiskSettings, ResourceSettings
from igngen.errors import DiskSettingsError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from igngen.records import NamedTuple


class Action(NamedTuple):
    action: str
    reason: str


class DiskPlan(NamedTuple):
    settings: DiskSettings
    # "declare": Ignition formats it on first boot and the boot script keeps it;
    # "boot": the boot script alone (disk presence unknown when rendering);
    # "absent": IMDS says this size has no resource disk; "off": not managed.
    resource: str
    resource_disk_mib: int | None
    actions: tuple[Action, ...]

    @property
    def resource_managed(self) -> bool:
        return self.resource in ("declare", "boot")


def partition_path(device: str, number: int) -> str:
    """The path of partition ``number`` of ``device`` as udev or the kernel names it."""
    if device.startswith("/dev/disk/"):
        return f"{device}-part{number}"  # udev's by-id/by-path/azure convention
    if device[-1:].isdigit():
        return f"{device}p{number}"  # nvme0n1p1, loop0p1, md0p1
    return f"{device}{number}"


def _nvme_on_this_vm(
    settings: DiskSettings, present: frozenset[str] | None
) -> tuple[DiskSettings, Action | None]:
    """The NVMe settings narrowed to the local disks this VM has (``present``: the
    configured device paths found at provisioning; None when unknown, as offline).

    NVMe settings live in the image, which runs on many VM sizes; Ignition would wait
    out its device timeout for a disk the size lacks and fail the first boot, and the
    units would wait again at every boot. A mount set keeps the disks that exist; a
    RAID0 missing some members stays as configured, so the failure names them.
    """
    nvme = settings.nvme
    if nvme.mode == "off" or present is None:
        return settings, None
    kept = [(d, n) for d, n in zip(nvme.devices, nvme.names, strict=True) if d in present]
    if len(kept) == len(nvme.devices) or (kept and nvme.mode == "raid0"):
        return settings, None
    source = settings.source_of("nvme.mode")
    missing = ", ".join(d for d in nvme.devices if d not in present)
    if not kept:
        action = Action(
            "no local NVMe actions",
            f"nvme.mode {nvme.mode} ({source}), but this VM has none of its disks ({missing}) "
            "at provisioning: a VM size without local NVMe",
        )
        return settings._replace(nvme=nvme._replace(mode="off")), action
    devices, names = (tuple(x) for x in zip(*kept, strict=True))
    action = Action(
        f"leave out {missing}",
        f"nvme.mode mounts ({source}): this VM does not have that disk at provisioning",
    )
    return settings._replace(nvme=nvme._replace(devices=devices, names=names)), action


def plan(
    settings: DiskSettings,
    *,
    resource_disk_mib: int | None = None,
    nvme_present: frozenset[str] | None = None,
) -> DiskPlan:
    """Decide what to do with each ephemeral disk; ``resource_disk_mib`` comes from IMDS,
    ``nvme_present`` from looking for the configured local NVMe disks at provisioning."""
    settings, nvme_note = _nvme_on_this_vm(settings, nvme_present)
    res, swap, nvme = settings.resource, settings.swap, settings.nvme
    actions: list[Action] = []
    fmt_src = settings.source_of("resource.format")
    if not res.format:
        state = "off"
        actions.append(
            Action("leave the resource disk alone", f"resource.format is off ({fmt_src})")
        )
    elif resource_disk_mib == 0:
        state = "absent"
        actions.append(
            Action(
                "no resource disk actions",
                "IMDS reports no resource disk for this VM size (storageProfile.resourceDisk.size 0)",
            )
        )
    elif resource_disk_mib is None:
        state = "boot"
        actions.append(
            Action(
                f"prepare {res.device} at every boot (no Ignition storage entry)",
                "whether this VM has a resource disk is unknown without IMDS, and Ignition "
                "would wait for a missing disk; the boot script skips a missing one",
            )
        )
    else:
        state = "declare"
        if swap.mode == "partition" and swap.size_mib >= resource_disk_mib:
            raise DiskSettingsError(
                f"disks.swap.size_mib: {swap.size_mib} MiB does not fit on the "
                f"{resource_disk_mib} MiB resource disk",
                settings.source_of("swap.size_mib"),
            )
        actions.append(
            Action(
                f"Ignition: wipe {res.device} and make one GPT partition table",
                f"resource.format is on ({fmt_src}); Azure hands the disk out as NTFS, which "
                "Ignition only replaces when told to wipe it",
            )
        )
        actions.append(
            Action(
                f"Ignition: format {partition_path(res.device, 2 if swap.mode == 'partition' else 1)} "
                f"as {res.filesystem}, label {res.label}",
                f"resource.filesystem {res.filesystem} ({settings.source_of('resource.filesystem')})",
            )
        )
    if state in ("declare", "boot"):
        actions.append(
            Action(
                f"boot: re-create the {res.filesystem} filesystem when the disk is blank or stock NTFS",
                "Azure hands out a fresh NTFS resource disk after redeploy or resize, and "
                "Ignition does not run again; a disk holding anything else is left untouched",
            )
        )
        opts = ",".join(mount_options(res, state)) or "defaults"
        actions.append(
            Action(
                f"mount LABEL={res.label} at {res.mount_point} ({opts})",
                f"resource.mount_point ({settings.source_of('resource.mount_point')})",
            )
        )
        if swap.mode == "file":
            actions.append(
                Action(
                    f"swap file {res.mount_point}/{DEFAULT_SWAP_FILE} of {swap.size_mib} MiB",
                    f"swap.mode file ({settings.source_of('swap.mode')}); Ignition cannot create "
                    "swap files, so a boot service creates it after the mount",
                )
            )
        elif swap.mode == "partition":
            actions.append(
                Action(
                    f"swap partition of {swap.size_mib} MiB (label {swap.label}) on {res.device}",
                    f"swap.mode partition ({settings.source_of('swap.mode')})",
                )
            )
    elif swap.mode != "off":
        actions.append(Action("no swap", f"swap lives on the resource disk, which is {state} here"))
    if nvme.mode == "mounts":
        for device, name in zip(nvme.devices, nvme.names, strict=True):
            actions.append(
                Action(
                    f"format {device} as {nvme.filesystem}, mount at {nvme.mount_root}/{name}",
                    f"nvme.mode mounts ({settings.source_of('nvme.mode')}); local NVMe disks "
                    "are blank after every redeploy, the boot script formats blank ones",
                )
            )
    elif nvme.mode == "raid0":
        actions.append(
            Action(
                f"md RAID0 /dev/md/{nvme.raid_name} over {', '.join(nvme.devices)}, "
                f"{nvme.filesystem} at {nvme.mount_root}",
                f"nvme.mode raid0 ({settings.source_of('nvme.mode')}); one striped filesystem "
                "over all local NVMe disks, re-created by the boot script when they come back blank",
            )
        )
    if nvme_note is not None:
        actions.append(nvme_note)
    return DiskPlan(settings, state, resource_disk_mib, tuple(actions))


def mount_options(res: ResourceSettings, state: str) -> tuple[str, ...]:
    """The resource disk's mount options in plan state ``state``."""
    # Without IMDS the disk may not exist: nofail keeps local-fs.target from waiting for it.
    if state == "boot" and "nofail" not in res.mount_options:
        return (*res.mount_options, "nofail")
    return res.mount_options


def explain(disk_plan: DiskPlan) -> list[tuple[str, str]]:
    """(action, reason) rows for ``igngen explain``."""
    return [(a.action, a.reason) for a in disk_plan.actions]
