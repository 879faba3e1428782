"""Disk settings layers → ``DiskSettings`` (pure).

Settings come from igngen's config file (``disks:`` section) first, then the
image's ``waagent.conf`` (``ResourceDisk.*``), then defaults that match what
Flatcar's shipped waagent.conf does today (format ext4 at /mnt/resource, no swap).
Every value keeps where it came from (``DiskSettings.provenance``), so that
``igngen explain`` can name the file and key or line behind each disk action.

The values end up in unit files and on ``ExecStart=`` lines of the disk templates
(see ``igngen.disks.variables``), so they are checked here to plain characters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from igngen.errors import DiskSettingsError, shown
from igngen.limits import MAX_NVME_DISKS
from igngen.settings import Section

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple

    from igngen.azure.waagent_conf import WaagentConf
    from igngen.settings import Settings
else:
    from igngen.records import NamedTuple

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

_LABEL_MAX = {"ext4": 16, "xfs": 12, "swap": 15}
# As text: compiled (and cached by ``re``) only when a setting needs one.
_LABEL_RE = r"[A-Za-z0-9_-]+"
# Paths and options end up in unit files and on ExecStart= lines: no blanks,
# no quotes, no '%' (systemd specifiers), no '$' or '\\' (systemd expansion).
_PATH_RE = r"/[A-Za-z0-9._/+@:-]*"
_OPTION_RE = r"[A-Za-z0-9._=+@:/-]+"
_NAME_RE = r"[A-Za-z0-9._-]+"


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
    where: dict[str, str]  # "section.key" → where an error about it points
    named: dict[str, str]  # "section.key" → its provenance (what `igngen explain` shows)


def _config_layer(
    data: Mapping[str, Any] | None, location: str, positions: Mapping[str, str] | None
) -> _Layer:
    """The ``disks:`` section through the settings' one reader (``settings.Section``):
    unknown keys and non-mappings refused there, errors at the key's ``file:line:col``
    when the positions are known. Its values are typed below, with the other layers."""
    values: dict[str, Any] = {}
    where: dict[str, str] = {}
    named: dict[str, str] = {}
    top = Section("disks", data, location, tuple(_KEYS), positions, error=DiskSettingsError)
    for section, known in _KEYS.items():
        body = top.nested(section, known)
        for key, value in body.values.items():
            values[f"{section}.{key}"] = value
            where[f"{section}.{key}"] = body.at(key)
            named[f"{section}.{key}"] = f"{location}:disks.{section}.{key}"
    return _Layer(values, where, named)


def _waagent_layer(conf: WaagentConf | None) -> _Layer:
    values: dict[str, Any] = {}
    where: dict[str, str] = {}
    if conf is None:
        return _Layer(values, where, where)
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
    return _Layer(values, where, where)


class _Resolver:
    def __init__(self, layers: list[_Layer], location: str) -> None:
        self.layers = layers
        self.location = location  # the settings file: where errors about unset keys point
        self.provenance: dict[str, str] = {}
        self.where: dict[str, str] = {}  # field → where an error about its value points

    def _layer(self, field: str) -> _Layer | None:
        """The first layer that sets ``field``."""
        return next((layer for layer in self.layers if field in layer.values), None)

    def raw(self, field: str) -> tuple[Any, str] | None:
        """The value and its error location, without counting it as used."""
        layer = self._layer(field)
        return None if layer is None else (layer.values[field], layer.where[field])

    def take(self, field: str) -> tuple[Any, str] | None:
        """``raw``, recorded as used: its provenance and its error location."""
        layer = self._layer(field)
        if layer is None:
            return None
        self.provenance[field] = layer.named[field]
        self.where[field] = layer.where[field]
        return layer.values[field], layer.where[field]

    def at(self, field: str) -> str:
        """Where an error about ``field`` points: its value's position once read, else
        the settings file."""
        return self.where.get(field, self.location)

    def boolean(self, field: str, default: bool) -> bool:
        found = self.take(field)
        if found is None:
            return default
        value, where = found
        if not isinstance(value, bool):
            raise DiskSettingsError(f"disks.{field}: expected true or false", where)
        return value

    def integer(
        self, field: str, default: int, minimum: int = 0, maximum: int | None = None
    ) -> int:
        found = self.take(field)
        if found is None:
            return default
        value, where = found
        if isinstance(value, bool) or not isinstance(value, int):
            raise DiskSettingsError(f"disks.{field}: expected a whole number", where)
        if value < minimum:
            raise DiskSettingsError(f"disks.{field}: must be at least {minimum}", where)
        if maximum is not None and value > maximum:
            raise DiskSettingsError(f"disks.{field}: must be at most {maximum}", where)
        return value

    def choice(self, field: str, choices: tuple[str, ...], default: str) -> str:
        found = self.take(field)
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
        found = self.take(field)
        if found is None:
            return default
        value, where = found
        if not isinstance(value, str) or not re.fullmatch(_PATH_RE, value) or "/../" in value + "/":
            raise DiskSettingsError(
                f"disks.{field}: {_show(value)} is not an absolute path of plain characters",
                where,
            )
        return value.rstrip("/") or "/"

    def text(self, field: str, regex: str, default: str, what: str) -> str:
        found = self.take(field)
        if found is None:
            return default
        value, where = found
        if not isinstance(value, str) or not re.fullmatch(regex, value):
            raise DiskSettingsError(f"disks.{field}: {_show(value)} is not {what}", where)
        return value

    def options(self, field: str) -> tuple[str, ...]:
        found = self.take(field)
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
            if not re.fullmatch(_OPTION_RE, item):
                raise DiskSettingsError(f"disks.{field}: bad mount option {_show(item)}", where)
        return out


def _show(value: object) -> str:
    return shown(str(value))


def _check_label(label: str, fs: str, field: str, where: str) -> None:
    limit = _LABEL_MAX[fs]
    if len(label) > limit:
        raise DiskSettingsError(
            f"disks.{field}: label {label!r} is longer than {fs} allows ({limit})", where
        )


def from_settings(settings: Settings, waagent: WaagentConf | None = None) -> DiskSettings:
    """The disk settings of a loaded settings file (errors at their ``file:line:col``)."""
    return resolve(settings.sections.get("disks"), settings.source, waagent, settings.positions)


def resolve(
    data: Mapping[str, Any] | None = None,
    location: str = "igngen.yaml",
    waagent: WaagentConf | None = None,
    positions: Mapping[str, str] | None = None,
) -> DiskSettings:
    """Disk settings: igngen config (``disks:``) > image waagent.conf > defaults.
    ``positions`` (``Settings.positions``) places errors at the key's line and column."""
    r = _Resolver([_config_layer(data, location, positions), _waagent_layer(waagent)], location)

    fs = r.choice("resource.filesystem", FILESYSTEMS, DEFAULT_FILESYSTEM)
    label = r.text("resource.label", _LABEL_RE, DEFAULT_LABEL, "a filesystem label")
    _check_label(label, fs, "resource.label", r.at("resource.label"))
    resource = ResourceSettings(
        format=r.boolean("resource.format", True),
        filesystem=fs,
        mount_point=r.path("resource.mount_point", DEFAULT_MOUNT_POINT),
        mount_options=r.options("resource.mount_options"),
        label=label,
        device=r.path("resource.device", DEFAULT_RESOURCE_DEVICE),
        format_unverifiable_ntfs=r.boolean("resource.format_unverifiable_ntfs", True),
    )
    _check_mount_point(resource.mount_point, "resource.mount_point", r)

    swap_mode = r.choice("swap.mode", SWAP_MODES, "off")
    swap_size = r.integer("swap.size_mib", 0)
    swap_label = r.text("swap.label", _LABEL_RE, DEFAULT_SWAP_LABEL, "a swap label")
    _check_label(swap_label, "swap", "swap.label", r.at("swap.label"))
    if swap_mode != "off" and swap_size <= 0:
        where = r.where.get("swap.size_mib") or r.at("swap.mode")
        raise DiskSettingsError(
            "disks.swap.size_mib: swap is on but its size is not set (MiB, above 0)", where
        )
    swap = SwapSettings(swap_mode, swap_size, swap_label)

    nvme_mode = r.choice("nvme.mode", NVME_MODES, "off")
    devices, names = _nvme_devices(r)
    if nvme_mode != "off" and not devices:
        raise DiskSettingsError(
            "disks.nvme: mode is on but neither disks nor count is set", r.at("nvme.mode")
        )
    nvme_fs = r.choice("nvme.filesystem", FILESYSTEMS, DEFAULT_FILESYSTEM)
    nvme = NvmeSettings(
        mode=nvme_mode,
        devices=devices,
        names=names,
        filesystem=nvme_fs,
        mount_root=_check_mount_point(
            r.path("nvme.mount_root", DEFAULT_NVME_ROOT), "nvme.mount_root", r
        ),
        raid_name=r.text("nvme.raid_name", _NAME_RE, DEFAULT_RAID_NAME, "an md array name"),
    )
    return DiskSettings(resource, swap, nvme, MappingProxyType(dict(r.provenance)))


# Mounting an ephemeral disk over these would hide (or shadow) system files.
_SYSTEM_TREES = ("/usr", "/etc", "/boot", "/proc", "/sys", "/dev", "/run", "/bin", "/sbin", "/lib")
_SYSTEM_DIRS = ("/", "/var", "/home", "/opt", "/root", "/tmp", "/mnt", "/media", "/srv", "/lib64")


def _check_mount_point(path: str, field: str, r: _Resolver) -> str:
    if path in _SYSTEM_DIRS or any(path == t or path.startswith(t + "/") for t in _SYSTEM_TREES):
        raise DiskSettingsError(
            f"disks.{field}: mounting over {path!r} would hide system files; "
            "use a directory such as /mnt/resource",
            r.at(field),
        )
    return path


def _nvme_devices(r: _Resolver) -> tuple[tuple[str, ...], tuple[str, ...]]:
    disks = r.raw("nvme.disks")
    count = r.raw("nvme.count")
    if disks is not None and count is not None:
        raise DiskSettingsError("disks.nvme: give either disks or count, not both", count[1])
    if count is not None:
        n = r.integer("nvme.count", 0, minimum=1, maximum=MAX_NVME_DISKS)
        return (
            tuple(f"{NVME_BY_INDEX}/{i}" for i in range(1, n + 1)),
            tuple(str(i) for i in range(1, n + 1)),
        )
    if disks is None:
        return (), ()
    r.take("nvme.disks")  # its provenance
    value, where = disks
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise DiskSettingsError("disks.nvme.disks: expected a list of disk names or paths", where)
    if len(value) > MAX_NVME_DISKS:
        raise DiskSettingsError(
            f"disks.nvme.disks: {len(value)} disks listed; at most {MAX_NVME_DISKS}", where
        )
    devices, names = [], []
    for item in value:
        if item.startswith("/"):
            if not re.fullmatch(_PATH_RE, item):
                raise DiskSettingsError(f"disks.nvme.disks: bad device path {_show(item)}", where)
            devices.append(item)
            names.append(item.rstrip("/").rsplit("/", 1)[-1])
        else:
            if not re.fullmatch(_NAME_RE, item) or item in (".", ".."):
                raise DiskSettingsError(f"disks.nvme.disks: bad disk name {_show(item)}", where)
            devices.append(f"{NVME_BY_NAME}/{item}")
            names.append(item)
    if len(set(names)) != len(names) or len(set(devices)) != len(devices):
        raise DiskSettingsError("disks.nvme.disks: a disk is listed twice", where)
    return tuple(devices), tuple(names)
