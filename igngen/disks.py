"""Ephemeral disks: settings → disk plan → template variables (pure).

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

Settings come from igngen's config file (``disks:`` section) first, then the
image's ``waagent.conf`` (``ResourceDisk.*``), then defaults that match what
Flatcar's shipped waagent.conf does today (format ext4 at /mnt/resource, no swap).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from igngen import paths
from igngen.errors import DiskSettingsError
from igngen.limits import DISK_PREPARE_SECONDS
from igngen.systemd import escape_path

if TYPE_CHECKING:
    from igngen.azure.waagent_conf import WaagentConf

FILESYSTEMS = ("ext4", "xfs")
SWAP_MODES = ("off", "file", "partition")
NVME_MODES = ("off", "mounts", "raid0")

DEFAULT_RESOURCE_DEVICE = "/dev/disk/azure/resource"
DEFAULT_MOUNT_POINT = "/mnt/resource"  # waagent's ResourceDisk.MountPoint on Flatcar
DEFAULT_FILESYSTEM = "ext4"
# Our filesystem is recognised by its label; xfs allows 12 characters, ext4 16.
DEFAULT_LABEL = "igngen-res"
DEFAULT_SWAP_LABEL = "igngen-swap"
DEFAULT_SWAP_FILE = "swapfile"  # waagent's name, under the mount point
NVME_BY_NAME = "/dev/disk/azure/local/by-name"
NVME_BY_INDEX = "/dev/disk/azure/local/by-index"
DEFAULT_NVME_ROOT = "/mnt/nvme"
DEFAULT_RAID_NAME = "igngen-nvme"
SCRIPT_PATH = "/opt/igngen/bin/igngen-disk-prepare"
SCRIPT_DATA = os.path.join(paths.PACKAGE_DATA, "igngen-disk-prepare.sh")

# GPT partition types (the same ones sgdisk/sfdisk call "Linux filesystem" and "Linux swap").
LINUX_FS_GUID = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
LINUX_SWAP_GUID = "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F"

_LABEL_MAX = {"ext4": 16, "xfs": 12, "swap": 15}
_LABEL_RE = re.compile(r"[A-Za-z0-9_-]+")
# Paths and options end up in unit files and on ExecStart= lines: no blanks,
# no quotes, no '%' (systemd specifiers), no '$' or '\\' (systemd expansion).
_PATH_RE = re.compile(r"/[A-Za-z0-9._/+@:-]*")
_OPTION_RE = re.compile(r"[A-Za-z0-9._=+@:/-]+")
_NAME_RE = re.compile(r"[A-Za-z0-9._-]+")


# --- settings -------------------------------------------------------------------


class ResourceSettings(NamedTuple):
    format: bool = True
    filesystem: str = DEFAULT_FILESYSTEM
    mount_point: str = DEFAULT_MOUNT_POINT
    mount_options: tuple[str, ...] = ()
    label: str = DEFAULT_LABEL
    device: str = DEFAULT_RESOURCE_DEVICE
    # An NTFS disk the image has no driver to look inside (Flatcar ships neither ntfs3
    # nor ntfs-3g): formatted when it also carries Azure's "Temporary Storage" label.
    # An image that cannot mount NTFS cannot have put data on it either; cloud-init and
    # azure-vm-utils make the same call. False keeps such disks.
    format_unverifiable_ntfs: bool = True


class SwapSettings(NamedTuple):
    mode: str = "off"
    size_mib: int = 0
    label: str = DEFAULT_SWAP_LABEL


class NvmeSettings(NamedTuple):
    mode: str = "off"
    devices: tuple[str, ...] = ()  # absolute device paths
    names: tuple[str, ...] = ()  # per-device name used for mount points and labels
    filesystem: str = DEFAULT_FILESYSTEM
    mount_root: str = DEFAULT_NVME_ROOT
    raid_name: str = DEFAULT_RAID_NAME


class DiskSettings(NamedTuple):
    resource: ResourceSettings = ResourceSettings()
    swap: SwapSettings = SwapSettings()
    nvme: NvmeSettings = NvmeSettings()
    # "resource.format" → where the value came from ("igngen.yaml:disks.resource.format",
    # "/usr/share/waagent/waagent.conf:12", "default").
    provenance: Mapping[str, str] = MappingProxyType({})

    def source_of(self, field: str) -> str:
        return self.provenance.get(field, "default")


_KEYS: dict[str, tuple[str, ...]] = {
    "resource": (
        "format",
        "filesystem",
        "mount_point",
        "mount_options",
        "label",
        "device",
        "format_unverifiable_ntfs",
    ),
    "swap": ("mode", "size_mib", "label"),
    "nvme": ("mode", "disks", "count", "filesystem", "mount_root", "raid_name"),
}

# waagent.conf key → (field, converter kind)
_WAAGENT = (
    ("ResourceDisk.Format", "resource.format", "switch"),
    ("ResourceDisk.Filesystem", "resource.filesystem", "text"),
    ("ResourceDisk.MountPoint", "resource.mount_point", "text"),
    ("ResourceDisk.MountOptions", "resource.mount_options", "text"),
    ("ResourceDisk.EnableSwap", "swap.mode", "switch"),
    ("ResourceDisk.SwapSizeMB", "swap.size_mib", "integer"),
)


class _Layer(NamedTuple):
    values: dict[str, Any]  # "section.key" → raw value
    where: dict[str, str]  # "section.key" → location for errors and provenance


def _config_layer(data: Mapping[str, Any] | None, location: str) -> _Layer:
    values: dict[str, Any] = {}
    where: dict[str, str] = {}
    if data is None:
        return _Layer(values, where)
    if not isinstance(data, Mapping):
        raise DiskSettingsError("disks: expected a mapping", f"{location}:disks")
    for section, body in data.items():
        if section not in _KEYS:
            raise DiskSettingsError(
                f"disks.{section}: unknown key (known: {', '.join(_KEYS)})",
                f"{location}:disks.{section}",
            )
        if body is None:
            continue
        if not isinstance(body, Mapping):
            raise DiskSettingsError(
                f"disks.{section}: expected a mapping", f"{location}:disks.{section}"
            )
        for key, value in body.items():
            if key not in _KEYS[section]:
                raise DiskSettingsError(
                    f"disks.{section}.{key}: unknown key (known: {', '.join(_KEYS[section])})",
                    f"{location}:disks.{section}.{key}",
                )
            if value is None:
                continue
            values[f"{section}.{key}"] = value
            where[f"{section}.{key}"] = f"{location}:disks.{section}.{key}"
    return _Layer(values, where)


def _waagent_layer(conf: WaagentConf | None) -> _Layer:
    values: dict[str, Any] = {}
    where: dict[str, str] = {}
    if conf is None:
        return _Layer(values, where)
    for key, field, kind in _WAAGENT:
        if key not in conf.entries:
            continue
        value: Any
        if kind == "switch":
            value = conf.switch(key)
            if field == "swap.mode":
                value = "file" if value else "off"
        elif kind == "integer":
            value = conf.integer(key)
        else:
            value = conf.get(key)
            if field == "resource.mount_options":
                # waagent's shipped file says "None" for "no options".
                value = [] if value in ("", "None") else value
            elif field == "resource.filesystem" and value is not None:
                value = value.lower()
        values[field] = value
        where[field] = conf.at(key)
    return _Layer(values, where)


class _Resolver:
    def __init__(self, layers: list[_Layer]) -> None:
        self.layers = layers
        self.provenance: dict[str, str] = {}

    def raw(self, field: str) -> tuple[Any, str] | None:
        for layer in self.layers:
            if field in layer.values:
                return layer.values[field], layer.where[field]
        return None

    def _take(self, field: str) -> tuple[Any, str] | None:
        found = self.raw(field)
        if found is not None:
            self.provenance[field] = found[1]
        return found

    def boolean(self, field: str, default: bool) -> bool:
        found = self._take(field)
        if found is None:
            return default
        value, where = found
        if not isinstance(value, bool):
            raise DiskSettingsError(f"disks.{field}: expected true or false", where)
        return value

    def integer(self, field: str, default: int, minimum: int = 0) -> int:
        found = self._take(field)
        if found is None:
            return default
        value, where = found
        if isinstance(value, bool) or not isinstance(value, int):
            raise DiskSettingsError(f"disks.{field}: expected a whole number", where)
        if value < minimum:
            raise DiskSettingsError(f"disks.{field}: must be at least {minimum}", where)
        return value

    def choice(self, field: str, choices: tuple[str, ...], default: str) -> str:
        found = self._take(field)
        if found is None:
            return default
        value, where = found
        if value is False and "off" in choices:
            value = "off"  # `mode: false` reads naturally as off
        if not isinstance(value, str) or value not in choices:
            raise DiskSettingsError(
                f"disks.{field}: {_show(value)} is not one of {', '.join(choices)}", where
            )
        return value

    def path(self, field: str, default: str) -> str:
        found = self._take(field)
        if found is None:
            return default
        value, where = found
        if not isinstance(value, str) or not _PATH_RE.fullmatch(value) or "/../" in value + "/":
            raise DiskSettingsError(
                f"disks.{field}: {_show(value)} is not an absolute path of plain characters",
                where,
            )
        return value.rstrip("/") or "/"

    def text(self, field: str, regex: re.Pattern[str], default: str, what: str) -> str:
        found = self._take(field)
        if found is None:
            return default
        value, where = found
        if not isinstance(value, str) or not regex.fullmatch(value):
            raise DiskSettingsError(f"disks.{field}: {_show(value)} is not {what}", where)
        return value

    def options(self, field: str) -> tuple[str, ...]:
        found = self._take(field)
        if found is None:
            return ()
        value, where = found
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
            raise DiskSettingsError(
                f"disks.{field}: expected a list of mount options or a comma-separated string",
                where,
            )
        out = tuple(i.strip() for i in items if i.strip())
        for item in out:
            if not _OPTION_RE.fullmatch(item):
                raise DiskSettingsError(f"disks.{field}: bad mount option {_show(item)}", where)
        return out


def _show(value: object) -> str:
    from igngen.errors import shown

    return shown(str(value))


def _check_label(label: str, fs: str, field: str, where: str) -> None:
    limit = _LABEL_MAX[fs]
    if len(label) > limit:
        raise DiskSettingsError(
            f"disks.{field}: label {label!r} is longer than {fs} allows ({limit})", where
        )


def resolve(
    data: Mapping[str, Any] | None = None,
    location: str = "igngen.yaml",
    waagent: WaagentConf | None = None,
) -> DiskSettings:
    """Disk settings: igngen config (``disks:``) > image waagent.conf > defaults."""
    r = _Resolver([_config_layer(data, location), _waagent_layer(waagent)])

    fs = r.choice("resource.filesystem", FILESYSTEMS, DEFAULT_FILESYSTEM)
    label = r.text("resource.label", _LABEL_RE, DEFAULT_LABEL, "a filesystem label")
    _check_label(label, fs, "resource.label", r.provenance.get("resource.label", location))
    resource = ResourceSettings(
        format=r.boolean("resource.format", True),
        filesystem=fs,
        mount_point=r.path("resource.mount_point", DEFAULT_MOUNT_POINT),
        mount_options=r.options("resource.mount_options"),
        label=label,
        device=r.path("resource.device", DEFAULT_RESOURCE_DEVICE),
        format_unverifiable_ntfs=r.boolean("resource.format_unverifiable_ntfs", True),
    )
    _check_mount_point(resource.mount_point, "resource.mount_point", r, location)

    swap_mode = r.choice("swap.mode", SWAP_MODES, "off")
    swap_size = r.integer("swap.size_mib", 0)
    swap_label = r.text("swap.label", _LABEL_RE, DEFAULT_SWAP_LABEL, "a swap label")
    _check_label(swap_label, "swap", "swap.label", r.provenance.get("swap.label", location))
    if swap_mode != "off" and swap_size <= 0:
        where = r.provenance.get("swap.size_mib") or r.provenance.get("swap.mode", location)
        raise DiskSettingsError(
            "disks.swap.size_mib: swap is on but its size is not set (MiB, above 0)", where
        )
    swap = SwapSettings(swap_mode, swap_size, swap_label)

    nvme_mode = r.choice("nvme.mode", NVME_MODES, "off")
    devices, names = _nvme_devices(r, location)
    if nvme_mode != "off" and not devices:
        raise DiskSettingsError(
            "disks.nvme: mode is on but neither disks nor count is set",
            r.provenance.get("nvme.mode", location),
        )
    nvme_fs = r.choice("nvme.filesystem", FILESYSTEMS, DEFAULT_FILESYSTEM)
    nvme = NvmeSettings(
        mode=nvme_mode,
        devices=devices,
        names=names,
        filesystem=nvme_fs,
        mount_root=_check_mount_point(
            r.path("nvme.mount_root", DEFAULT_NVME_ROOT), "nvme.mount_root", r, location
        ),
        raid_name=r.text("nvme.raid_name", _NAME_RE, DEFAULT_RAID_NAME, "an md array name"),
    )
    return DiskSettings(resource, swap, nvme, MappingProxyType(dict(r.provenance)))


# Mounting an ephemeral disk over these would hide (or shadow) system files.
_SYSTEM_TREES = ("/usr", "/etc", "/boot", "/proc", "/sys", "/dev", "/run", "/bin", "/sbin", "/lib")
_SYSTEM_DIRS = ("/", "/var", "/home", "/opt", "/root", "/tmp", "/mnt", "/media", "/srv", "/lib64")


def _check_mount_point(path: str, field: str, r: _Resolver, location: str) -> str:
    if path in _SYSTEM_DIRS or any(path == t or path.startswith(t + "/") for t in _SYSTEM_TREES):
        raise DiskSettingsError(
            f"disks.{field}: mounting over {path!r} would hide system files; "
            "use a directory such as /mnt/resource",
            r.provenance.get(field, location),
        )
    return path


def _nvme_devices(r: _Resolver, location: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    disks = r.raw("nvme.disks")
    count = r.raw("nvme.count")
    if disks is not None and count is not None:
        raise DiskSettingsError("disks.nvme: give either disks or count, not both", count[1])
    if count is not None:
        n = r.integer("nvme.count", 0, minimum=1)
        return (
            tuple(f"{NVME_BY_INDEX}/{i}" for i in range(1, n + 1)),
            tuple(str(i) for i in range(1, n + 1)),
        )
    if disks is None:
        return (), ()
    r.provenance["nvme.disks"] = disks[1]
    value, where = disks
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise DiskSettingsError("disks.nvme.disks: expected a list of disk names or paths", where)
    devices, names = [], []
    for item in value:
        if item.startswith("/"):
            if not _PATH_RE.fullmatch(item):
                raise DiskSettingsError(f"disks.nvme.disks: bad device path {_show(item)}", where)
            devices.append(item)
            names.append(item.rstrip("/").rsplit("/", 1)[-1])
        else:
            if not _NAME_RE.fullmatch(item) or item in (".", ".."):
                raise DiskSettingsError(f"disks.nvme.disks: bad disk name {_show(item)}", where)
            devices.append(f"{NVME_BY_NAME}/{item}")
            names.append(item)
    if len(set(names)) != len(names) or len(set(devices)) != len(devices):
        raise DiskSettingsError("disks.nvme.disks: a disk is listed twice", where)
    return tuple(devices), tuple(names)


def from_mapping(data: Mapping[str, Any] | None, location: str) -> DiskSettings:
    """Settings from igngen's ``disks:`` section alone (defaults for the rest)."""
    return resolve(data, location)


def from_waagent(conf: WaagentConf) -> DiskSettings:
    """Settings from a waagent.conf alone (defaults for the rest)."""
    return resolve(None, "waagent.conf", conf)


# --- plan ---------------------------------------------------------------------------


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
        opts = ",".join(_mount_options(res, state)) or "defaults"
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


def _mount_options(res: ResourceSettings, state: str) -> tuple[str, ...]:
    # Without IMDS the disk may not exist: nofail keeps local-fs.target from waiting for it.
    if state == "boot" and "nofail" not in res.mount_options:
        return (*res.mount_options, "nofail")
    return res.mount_options


def explain(disk_plan: DiskPlan) -> list[tuple[str, str]]:
    """(action, reason) rows for ``igngen explain``."""
    return [(a.action, a.reason) for a in disk_plan.actions]


# --- template variables -------------------------------------------------------------


def _unit_text(sections: list[tuple[str, list[str]]]) -> str:
    out: list[str] = []
    for name, lines in sections:
        if out:
            out.append("")
        out.append(f"[{name}]")
        out.extend(lines)
    return "\n".join(out) + "\n"


def _mount_unit(
    description: str,
    what: str,
    where: str,
    fs: str,
    options: tuple[str, ...],
    prepare_unit: str,
) -> dict[str, Any]:
    fsck = f"systemd-fsck@{escape_path(what)}.service"
    return {
        "name": f"{escape_path(where)}.mount",
        "enabled": True,
        "contents": _unit_text(
            [
                (
                    "Unit",
                    [
                        f"Description={description}",
                        f"Requires={prepare_unit}",
                        f"After={prepare_unit}",
                        f"Requires={fsck}",
                        f"After={fsck}",
                    ],
                ),
                (
                    "Mount",
                    [
                        f"What={what}",
                        f"Where={where}",
                        f"Type={fs}",
                        f"Options={','.join(options) or 'defaults'}",
                    ],
                ),
                ("Install", ["WantedBy=local-fs.target"]),
            ]
        ),
    }


def _device_wait_unit(what: str) -> dict[str, Any]:
    """A drop-in for the mount's device: wait as long as the prepare service may run."""
    return {
        "name": f"{escape_path(what)}.device",
        "dropins": [{"name": DEVICE_WAIT_DROPIN, "contents": device_wait_dropin()}],
    }


DEVICE_WAIT_DROPIN = "10-igngen-prepare-wait.conf"


def device_wait_dropin() -> str:
    from igngen.limits import DISK_DEVICE_WAIT_SECONDS

    return (
        "# This device appears only once igngen's prepare service has made its filesystem\n"
        "# (or array); systemd's default device wait would fail the mount of a slow one.\n"
        f"[Unit]\nJobRunningTimeoutSec={DISK_DEVICE_WAIT_SECONDS}\n"
    )


def _prepare_unit(description: str, devices: tuple[str, ...], command: str) -> str:
    device_units = " ".join(f"{escape_path(d)}.device" for d in devices)
    return _unit_text(
        [
            (
                "Unit",
                [
                    f"Description={description}",
                    "Documentation=file:" + SCRIPT_PATH,
                    # Runs before local-fs.target; shutdown ordering spelled out instead.
                    "DefaultDependencies=no",
                    f"Wants={device_units}",
                    f"After={device_units} systemd-udevd.service",
                    "Conflicts=shutdown.target",
                    "Before=shutdown.target",
                ],
            ),
            (
                "Service",
                [
                    "Type=oneshot",
                    "RemainAfterExit=yes",
                    f"ExecStart={command}",
                    f"TimeoutStartSec={DISK_PREPARE_SECONDS}",
                ],
            ),
        ]
    )


def _nvme_variables(nvme: NvmeSettings) -> dict[str, Any]:
    if nvme.mode == "off":
        return {"enabled": False, "filesystems": [], "raid": [], "units": []}
    fs = nvme.filesystem
    units: list[dict[str, Any]] = []
    filesystems: list[dict[str, Any]] = []
    raid: list[dict[str, Any]] = []
    if nvme.mode == "mounts":
        for i, (device, name) in enumerate(zip(nvme.devices, nvme.names, strict=True), start=1):
            label = f"igngen-nv{i}"
            filesystems.append(
                {"device": device, "format": fs, "label": label, "wipe_filesystem": True}
            )
            prepare = f"igngen-nvme-{_unit_safe(name)}.service"
            command = f"{SCRIPT_PATH} whole --device {device} --fs {fs} --label {label}"
            units.append(
                {
                    "name": prepare,
                    "contents": _prepare_unit(
                        f"Prepare local NVMe disk {name} (format when blank)", (device,), command
                    ),
                }
            )
            units.append(_device_wait_unit(device))
            units.append(
                _mount_unit(
                    f"Local NVMe disk {name}",
                    device,
                    f"{nvme.mount_root}/{name}",
                    fs,
                    (),
                    prepare,
                )
            )
    else:
        md = f"/dev/md/{nvme.raid_name}"
        label = "igngen-md"
        raid.append({"name": nvme.raid_name, "level": "raid0", "devices": list(nvme.devices)})
        filesystems.append({"device": md, "format": fs, "label": label, "wipe_filesystem": True})
        prepare = "igngen-nvme-raid.service"
        command = (
            f"{SCRIPT_PATH} raid0 --name {nvme.raid_name} --fs {fs} --label {label} "
            + " ".join(nvme.devices)
        )
        units.append(
            {
                "name": prepare,
                "contents": _prepare_unit(
                    "Assemble or create the local NVMe RAID0 array", nvme.devices, command
                ),
            }
        )
        units.append(_device_wait_unit(md))
        units.append(_mount_unit("Local NVMe RAID0 array", md, nvme.mount_root, fs, (), prepare))
    return {"enabled": True, "filesystems": filesystems, "raid": raid, "units": units}


def _unit_safe(name: str) -> str:
    return escape_path(name).replace("\\", "_")


def script_text() -> str:
    """The boot-time prepare script shipped in the fragment (read from package data)."""
    with open(SCRIPT_DATA, encoding="utf-8") as fh:
        return fh.read()


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
    prepare_unit = "igngen-resource-disk.service"
    mount_unit = f"{escape_path(res.mount_point)}.mount"

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
    return {
        "enabled": managed or nvme["enabled"],
        "script": {
            "path": SCRIPT_PATH,
            "contents": script_text() if (managed or nvme["enabled"]) else "",
        },
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
            "mount_options": ",".join(_mount_options(res, disk_plan.resource)) or "defaults",
            "mount_unit": mount_unit,
            "fsck_unit": f"systemd-fsck@{escape_path(what)}.service",
            "what_device_unit": f"{escape_path(what)}.device",
            "device_wait_dropin": DEVICE_WAIT_DROPIN,
            "device_wait": device_wait_dropin(),
            "prepare_timeout": DISK_PREPARE_SECONDS,
            "device_unit": f"{escape_path(res.device)}.device",
            "prepare_unit": prepare_unit,
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
            "after": "igngen-swapfile.service" if swap_file else prepare_unit,
            "create_unit": "igngen-swapfile.service",
            "create_command": (
                f"{SCRIPT_PATH} swapfile --path {swap_path} --size-mib {swap.size_mib}"
            ),
        },
        "nvme": nvme,
    }


def plan_for(
    data: Mapping[str, Any] | None,
    location: str,
    *,
    waagent: WaagentConf | None = None,
    resource_disk_mib: int | None = None,
    nvme_present: frozenset[str] | None = None,
) -> DiskPlan:
    """The plan for a ``disks:`` settings section (+ image waagent.conf), IMDS's disk
    size and the local NVMe disks found at provisioning."""
    return plan(
        resolve(data, location, waagent),
        resource_disk_mib=resource_disk_mib,
        nvme_present=nvme_present,
    )


def variables(
    data: Mapping[str, Any] | None,
    location: str,
    *,
    waagent: WaagentConf | None = None,
    resource_disk_mib: int | None = None,
    nvme_present: frozenset[str] | None = None,
) -> dict[str, Any]:
    """Settings section (+ image waagent.conf) + IMDS resource disk size + local NVMe
    disks found → ``disk`` variables."""
    return template_variables(
        plan_for(
            data,
            location,
            waagent=waagent,
            resource_disk_mib=resource_disk_mib,
            nvme_present=nvme_present,
        )
    )
