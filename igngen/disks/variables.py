"""The ``disk`` template variables: a ``DiskPlan`` → plain data for the disk templates (pure).

The unit text lives in the templates (``butane-templates/40-resource-disk.bu``,
``41-swap-*.bu``, ``42-nvme-*.bu``), where image authors can read and change it.
This module hands them values only: device paths, mount points and options, unit
names escaped the way systemd names them (``igngen.systemd``), the prepare script's
command lines and the timeouts from ``igngen.limits``. The contract is the
"disk" table in ``butane-templates/README.md``.
"""

from __future__ import annotations

import os

from igngen import paths
from igngen.disks.layers import DEFAULT_SWAP_FILE, NvmeSettings
from igngen.disks.plan import DiskPlan, mount_options, partition_path
from igngen.limits import DISK_DEVICE_WAIT_SECONDS, DISK_PREPARE_SECONDS
from igngen.systemd import escape_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SCRIPT_PATH = "/opt/igngen/bin/igngen-disk-prepare"
SCRIPT_DATA = os.path.join(paths.PACKAGE_DATA, "igngen-disk-prepare.sh")
RESOURCE_PREPARE_UNIT = "igngen-resource-disk.service"
SWAP_CREATE_UNIT = "igngen-swapfile.service"
NVME_RAID_PREPARE_UNIT = "igngen-nvme-raid.service"
NVME_RAID_LABEL = "igngen-md"

# GPT partition types (the same ones sgdisk/sfdisk call "Linux filesystem" and "Linux swap").
LINUX_FS_GUID = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
LINUX_SWAP_GUID = "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F"


def script_text() -> str:
    """The boot-time prepare script shipped in the fragment (read from package data)."""
    with open(SCRIPT_DATA, encoding="utf-8") as fh:
        return fh.read()


def _device_unit(path: str) -> str:
    return f"{escape_path(path)}.device"


def _fsck_unit(what: str) -> str:
    return f"systemd-fsck@{escape_path(what)}.service"


def _mount_unit(where: str) -> str:
    return f"{escape_path(where)}.mount"


def _unit_safe(name: str) -> str:
    # A disk name may hold characters systemd escapes as \xNN; a service name reads
    # better with '_' in their place.
    return escape_path(name).replace("\\", "_")


def template_variables(disk_plan: DiskPlan) -> dict[str, Any]:
    """The ``disk`` variable group (documented in ``butane-templates/README.md``)."""
    s = disk_plan.settings
    res, swap = s.resource, s.swap
    managed = disk_plan.resource_managed
    declare = disk_plan.resource == "declare"
    swap_part = managed and swap.mode == "partition"
    swap_file = managed and swap.mode == "file"
    data_part = partition_path(res.device, 2 if swap_part else 1)
    what = f"/dev/disk/by-label/{res.label}"

    partitions: list[dict[str, Any]] = []
    if swap_part:
        partitions.append(
            {
                "number": 1,
                "label": swap.label,
                "size_mib": swap.size_mib,
                "type_guid": LINUX_SWAP_GUID,
                "wipe_partition_entry": True,
            }
        )
    partitions.append(
        {
            "number": 2 if swap_part else 1,
            "label": res.label,
            "size_mib": 0,
            "type_guid": LINUX_FS_GUID,
            "wipe_partition_entry": True,
        }
    )
    command = [SCRIPT_PATH, "resource", "--device", res.device, "--fs", res.filesystem]
    command += ["--label", res.label]
    if swap_part:
        command += ["--swap-mib", str(swap.size_mib), "--swap-label", swap.label]
    command += ["--unverifiable-ntfs", "format" if res.format_unverifiable_ntfs else "keep"]

    swap_path = f"{res.mount_point}/{DEFAULT_SWAP_FILE}"
    swap_what = swap_path if swap_file else f"/dev/disk/by-label/{swap.label}"
    nvme = _nvme_variables(s.nvme)
    enabled = managed or nvme["enabled"]
    return {
        "enabled": enabled,
        "prepare_timeout": DISK_PREPARE_SECONDS,
        "device_wait_timeout": DISK_DEVICE_WAIT_SECONDS,
        "script": {"path": SCRIPT_PATH, "contents": script_text() if enabled else ""},
        "resource": {
            "enabled": managed,
            "device": res.device,
            "storage_disk": (
                {"device": res.device, "wipe_table": True, "partitions": partitions}
                if declare
                else None
            ),
            "filesystem": (
                {
                    "device": data_part,
                    "format": res.filesystem,
                    "label": res.label,
                    "wipe_filesystem": True,
                }
                if declare
                else None
            ),
            "swap_filesystem": (
                {
                    "device": partition_path(res.device, 1),
                    "format": "swap",
                    "label": swap.label,
                    "wipe_filesystem": True,
                }
                if declare and swap_part
                else None
            ),
            "fs_type": res.filesystem,
            "label": res.label,
            "what": what,
            "mount_point": res.mount_point,
            "mount_options": ",".join(mount_options(res, disk_plan.resource)) or "defaults",
            "mount_unit": _mount_unit(res.mount_point),
            "fsck_unit": _fsck_unit(what),
            "what_device_unit": _device_unit(what),
            "device_unit": _device_unit(res.device),
            "prepare_unit": RESOURCE_PREPARE_UNIT,
            "prepare_command": " ".join(command),
        },
        "swap": {
            "enabled": swap_file or swap_part,
            "file": swap_file,
            "partition": swap_part,
            "size_mib": swap.size_mib,
            "what": swap_what,
            "unit": f"{escape_path(swap_what)}.swap",
            # The swap partition is made by the resource disk's prepare service.
            "after": SWAP_CREATE_UNIT if swap_file else RESOURCE_PREPARE_UNIT,
            "create_unit": SWAP_CREATE_UNIT,
            "create_command": (
                f"{SCRIPT_PATH} swapfile --path {swap_path} --size-mib {swap.size_mib}"
            ),
        },
        "nvme": nvme,
    }


def _nvme_variables(nvme: NvmeSettings) -> dict[str, Any]:
    fs = nvme.filesystem
    mounts: list[dict[str, Any]] = []
    if nvme.mode == "mounts":
        for i, (device, name) in enumerate(zip(nvme.devices, nvme.names, strict=True), start=1):
            label = f"igngen-nv{i}"
            mount_point = f"{nvme.mount_root}/{name}"
            mounts.append(
                {
                    "name": name,
                    "device": device,
                    "fs_type": fs,
                    "label": label,
                    "mount_point": mount_point,
                    "mount_unit": _mount_unit(mount_point),
                    "fsck_unit": _fsck_unit(device),
                    "device_unit": _device_unit(device),
                    "prepare_unit": f"igngen-nvme-{_unit_safe(name)}.service",
                    "prepare_command": (
                        f"{SCRIPT_PATH} whole --device {device} --fs {fs} --label {label}"
                    ),
                }
            )
    md = f"/dev/md/{nvme.raid_name}"
    raid_command = (
        f"{SCRIPT_PATH} raid0 --name {nvme.raid_name} --fs {fs} --label {NVME_RAID_LABEL} "
        + " ".join(nvme.devices)
    )
    raid = {
        "enabled": nvme.mode == "raid0",
        "name": nvme.raid_name,
        "devices": list(nvme.devices),
        "member_units": " ".join(_device_unit(d) for d in nvme.devices),
        "device": md,
        "fs_type": fs,
        "label": NVME_RAID_LABEL,
        "mount_point": nvme.mount_root,
        "mount_unit": _mount_unit(nvme.mount_root),
        "fsck_unit": _fsck_unit(md),
        "device_unit": _device_unit(md),
        "prepare_unit": NVME_RAID_PREPARE_UNIT,
        "prepare_command": raid_command,
    }
    return {"enabled": nvme.mode != "off", "mounts": mounts, "raid": raid}
