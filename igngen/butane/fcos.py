"""Fedora CoreOS sugar: ``boot_device`` (LUKS root, mirrored boot disk) and ``grub.users``.

What each field renders to follows Butane 0.29's ``config/fcos/v1_*``
(``processBootDevice``, ``handleUserGrubCfg``) and the checks its
``validate.go`` makes; the code is igngen's. The rendered config is merged
*under* the user's (as Ignition's merge parent), so a user entry with the same
key overrides fields and inherits the rest, exactly as in Butane.
"""

from __future__ import annotations

import re

from igngen.butane import messages as msg
from igngen.butane.contents import make_source
from igngen.butane.versions import Variant
from igngen.ignition import nodes, spec
from igngen.yamlsrc import Node

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Partition type GUIDs and sizes of coreos-assembler's disk image (Butane: "do not change").
_RESERVED_GUID = "8DA63339-0007-60C0-C436-083AC8230908"
_BIOS_GUID = "21686148-6449-6E6F-744E-656564454649"
_PREP_GUID = "9E1A2D38-C612-4316-AA26-8B49521E5A8B"
_ESP_GUID = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
_RESERVED_MIB, _BIOS_MIB, _PREP_MIB, _ESP_MIB, _BOOT_MIB = 1, 1, 4, 127, 384

_LEGACY_LAYOUTS = ("aarch64", "ppc64le", "x86_64")
_S390X_LAYOUTS = ("s390x-eckd", "s390x-virt", "s390x-zfcp")
# As text: compiled (and cached by ``re``) only for the fcos sugar that needs them.
_DASD = r"/dev/dasd[a-z]$"
_SD = r"/dev/sd[a-z]$"
_ALLOWED_MOUNTPOINT = r"^/(etc|var)(/|$)"
BOOT_DISK = "/dev/disk/by-id/coreos-boot-disk"


def boot_device_tree(variant: Variant) -> nodes.Obj:
    """The fields ``boot_device`` has in this fcos version (walked like Ignition fields)."""
    luks_spec = spec.tree(variant.spec).fields["storage"]
    assert isinstance(luks_spec, nodes.Obj)
    luks_list = luks_spec.fields["luks"]
    assert isinstance(luks_list, nodes.List) and isinstance(luks_list.item, nodes.Obj)
    clevis = luks_list.item.fields["clevis"]
    assert isinstance(clevis, nodes.Obj)
    luks: dict[str, nodes.Node] = {
        "tang": clevis.fields["tang"],
        "threshold": nodes.I(),
        "tpm2": nodes.B(),
    }
    if "discard" in variant.boot_device:
        luks["discard"] = nodes.B()
    if "device" in variant.boot_device:
        luks["device"] = nodes.S()
    if "cex" in variant.boot_device:
        luks["cex"] = nodes.Obj({"enabled": nodes.B()})
    return nodes.Obj(
        {
            "layout": nodes.S(),
            "luks": nodes.Obj(luks),
            "mirror": nodes.Obj({"devices": nodes.List(nodes.S(), ".")}),
        }
    )


GRUB_TREE = nodes.Obj(
    {"users": nodes.List(nodes.Obj({"name": nodes.S(), "passwordHash": nodes.S()}), "name")}
)


def _child(node: Node, *keys: str) -> Node | None:
    for key in keys:
        if not node.is_map or key not in node.value:
            return None
        node = node.value[key]
    return node


def check_boot_device(variant: Variant, bd: dict[str, Any], node: Node) -> list[tuple[str, str]]:
    """Butane's checks of ``boot_device``: raise on errors, return warnings."""
    warnings: list[tuple[str, str]] = []
    layout = bd.get("layout")
    luks = bd.get("luks", {})
    devices = bd.get("mirror", {}).get("devices", [])
    mirror = _child(node, "mirror") or node
    if devices and layout is None:
        if variant.mirror_layout_error:
            raise mirror.error(msg.MIRROR_REQUIRES_LAYOUT)
        warnings.append((mirror.where, msg.MIRROR_REQUIRES_LAYOUT))
    layout_node = _child(node, "layout") or node
    if layout is not None:
        s390x = "s390x" in variant.boot_device
        if layout in _S390X_LAYOUTS and s390x:
            device = luks.get("device")
            pattern = {"s390x-eckd": _DASD, "s390x-zfcp": _SD}.get(layout)
            if pattern is not None:
                if not device:
                    raise layout_node.error(msg.NO_LUKS_BOOT_DEVICE)
                if not re.search(pattern, device):
                    raise layout_node.error(msg.LUKS_BOOT_DEVICE_NAME)
            if devices:
                raise layout_node.error(msg.MIRROR_NOT_SUPPORTED)
        elif layout not in _LEGACY_LAYOUTS:
            raise layout_node.error(msg.BOOT_LAYOUT_S390X if s390x else msg.BOOT_LAYOUT)
    luks_node = _child(node, "luks") or node
    if luks.get("cex", {}).get("enabled") is True:
        if layout is None:
            raise (_child(luks_node, "cex") or luks_node).error(msg.CEX_ARCH)
        if not layout.startswith("s390x"):
            raise layout_node.error(msg.CEX_ARCH)
        if luks.get("tang") or luks.get("tpm2") is True:
            raise luks_node.error(msg.CEX_WITH_CLEVIS)
    if len(devices) == 1:
        raise (_child(mirror, "devices") or mirror).error(msg.TOO_FEW_MIRROR_DEVICES)
    if variant.mirror_layout_error and luks.get("device"):
        has_method = any(t for t in luks.get("tang", [])) or luks.get("tpm2") is True
        if not has_method and luks.get("cex", {}).get("enabled") is not True:
            raise luks_node.error(msg.NO_LUKS_METHOD)
    return warnings


def render_boot_device(bd: dict[str, Any], version: str) -> dict[str, Any] | None:
    """The storage Butane generates for ``boot_device`` (None when nothing is asked for)."""
    luks = bd.get("luks", {})
    cex = luks.get("cex", {}).get("enabled") is True
    want_luks = luks.get("tpm2") is True or bool(luks.get("tang")) or cex
    devices: list[str] = bd.get("mirror", {}).get("devices", [])
    if not want_luks and not devices:
        return None
    layout = bd.get("layout") or "x86_64"
    bios, esp, prep = layout == "x86_64", layout in ("x86_64", "aarch64"), layout == "ppc64le"
    storage: dict[str, Any] = {}
    disks: list[dict[str, Any]] = []
    filesystems: list[dict[str, Any]] = []
    for n, device in enumerate(devices, 1):

        def part(name: str, size: int | None, guid: str | None = None, n: int = n) -> Any:
            p: dict[str, Any] = {"label": f"{name}-{n}"}
            if size is not None:
                p["sizeMiB"] = size
            if guid is not None:
                p["typeGuid"] = guid
            return p

        first = (
            part("bios", _BIOS_MIB, _BIOS_GUID)
            if bios
            else part("prep", _PREP_MIB, _PREP_GUID)
            if prep
            else part("reserved", _RESERVED_MIB, _RESERVED_GUID)
        )
        second = (
            part("esp", _ESP_MIB, _ESP_GUID)
            if esp
            else part("reserved", _RESERVED_MIB, _RESERVED_GUID)
        )
        disks.append(
            {
                "device": device,
                "wipeTable": True,
                "partitions": [first, second, part("boot", _BOOT_MIB), part("root", None)],
            }
        )
        if esp:
            filesystems.append(
                {
                    "device": f"/dev/disk/by-partlabel/esp-{n}",
                    "format": "vfat",
                    "label": f"esp-{n}",
                    "wipeFilesystem": True,
                }
            )
    if devices:
        storage["disks"] = disks

        def members(prefix: str) -> list[str]:
            return [f"/dev/disk/by-partlabel/{prefix}-{n}" for n in range(1, len(devices) + 1)]

        # The boot RAID's superblock sits at the end so BIOS GRUB needs no RAID support.
        storage["raid"] = [
            {
                "devices": members("boot"),
                "level": "raid1",
                "name": "md-boot",
                "options": ["--metadata=1.0"],
            },
            {"devices": members("root"), "level": "raid1", "name": "md-root"},
        ]
        filesystems.append(
            {"device": "/dev/md/md-boot", "format": "ext4", "label": "boot", "wipeFilesystem": True}
        )
    if want_luks:
        if layout == "s390x-eckd":
            luks_device = f"{luks['device']}2"
        elif layout == "s390x-zfcp":
            luks_device = f"{luks['device']}4"
        elif devices:
            luks_device = "/dev/md/md-root"
        else:
            luks_device = "/dev/disk/by-partlabel/root"
        entry: dict[str, Any] = {
            "device": luks_device,
            "label": "luks-root",
            "name": "root",
            "wipeVolume": True,
        }
        if cex:
            entry["cex"] = {"enabled": True}
        else:
            clevis = {k: luks[k] for k in ("tang", "threshold", "tpm2") if luks.get(k) is not None}
            if clevis.get("tang") == []:
                del clevis["tang"]
            entry["clevis"] = clevis
        if luks.get("discard") is not None:
            entry["discard"] = luks["discard"]
        storage["luks"] = [entry]
    filesystems.append(
        {
            "device": "/dev/mapper/root" if want_luks else "/dev/md/md-root",
            "format": "xfs",
            "label": "root",
            "wipeFilesystem": True,
        }
    )
    storage["filesystems"] = filesystems
    return {"ignition": {"version": version}, "storage": storage}


def render_grub(
    users: list[dict[str, Any]], node: Node, version: str, auto_compress: bool
) -> dict[str, Any] | None:
    """``/boot/grub2/user.cfg`` appended with GRUB superusers and their PBKDF2 hashes."""
    if not users:
        return None
    for i, user in enumerate(users):
        at = _child(node, "users") or node
        item = at.value[i] if at.is_seq and i < len(at.value) else at
        if not user.get("name"):
            raise item.error(msg.GRUB_NO_NAME, "name")
        if not user.get("passwordHash"):
            raise item.error(msg.GRUB_NO_PASSWORD, "password_hash")
    names = " ".join(u["name"] for u in users)
    commands = "\n".join(f"password_pbkdf2 {u['name']} {u['passwordHash']}" for u in users)
    text = f'# Generated by Butane\n\nset superusers="{names}"\n{commands}\n'
    source, compression = make_source(
        text.encode("utf-8"), compression=None, auto_compress=auto_compress
    )
    append: dict[str, Any] = {"source": source}
    if compression is not None:
        append["compression"] = compression
    return {
        "ignition": {"version": version},
        "storage": {
            "filesystems": [
                {"device": "/dev/disk/by-label/boot", "format": "ext4", "path": "/boot"}
            ],
            "files": [{"path": "/boot/grub2/user.cfg", "append": [append]}],
        },
    }


def check_storage(
    variant: Variant, doc: Node, config: dict[str, Any], mirror_devices: list[str], where: Any
) -> list[tuple[str, str]]:
    """fcos 1.6+ checks of the user's own disks and mount units (before sugar is merged)."""
    if not variant.fcos_checks_1_6:
        return []
    warnings = []
    storage = config.get("storage", {})
    for i, disk in enumerate(storage.get("disks", [])):
        if disk.get("device") == BOOT_DISK or disk.get("wipeTable") is True:
            continue
        if disk.get("device") in mirror_devices:
            continue
        for p, part in enumerate(disk.get("partitions", [])):
            if not part.get("number") and part.get("label") is not None:
                at = f"/storage/disks/{i}/partitions/{p}/number"
                warnings.append((where(at), msg.REUSE_BY_LABEL))
    fs_nodes = _child(doc, "storage", "filesystems")
    for i, fs in enumerate(storage.get("filesystems", [])):
        path = fs.get("path")
        node = fs_nodes.value[i] if fs_nodes is not None and fs_nodes.is_seq else None
        wmu = _child(node, "with_mount_unit") if node is not None else None
        if (
            path is not None
            and wmu is not None
            and wmu.value is True
            and not re.match(_ALLOWED_MOUNTPOINT, path)
        ):
            assert node is not None
            raise node.error(msg.MOUNTPOINT_FORBIDDEN, "path")
    return warnings


_FCOS_RESERVED = {"BIOS-BOOT": 1, "PowerPC-PReP-boot": 1, "EFI-SYSTEM": 2, "boot": 3, "root": 4}


def partition_warnings(
    config: dict[str, Any], marks: dict[str, Node], source: str
) -> list[tuple[str, str]]:
    """Fedora CoreOS's checks of partitions that touch its boot-disk layout."""

    def where(pointer: str) -> str:
        node = marks.get(pointer)
        return node.where if node is not None else source

    out = []
    for i, disk in enumerate(config.get("storage", {}).get("disks", [])):
        parts = disk.get("partitions", [])
        for p, part in enumerate(parts):
            label = part.get("label")
            at = f"/storage/disks/{i}/partitions/{p}"
            if label == "root":
                size = part.get("sizeMiB")
                if not size:
                    if any(not q.get("startMiB") for k, q in enumerate(parts) if k != p):
                        out.append((where(at + "/label"), msg.ROOT_CONSTRAINED))
                elif size < 8192:
                    out.append((where(at + "/sizeMiB"), msg.ROOT_TOO_SMALL))
            if (
                label in _FCOS_RESERVED
                and not disk.get("wipeTable")
                and part.get("number", 0) != _FCOS_RESERVED[label]
            ):
                text = msg.WRONG_PARTITION_NUMBER.format(label=label, number=_FCOS_RESERVED[label])
                out.append((where(at + "/label"), text))
    return out
