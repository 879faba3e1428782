"""Rules for storage devices: disks and partitions, filesystems, RAID, LUKS.

As Ignition 2.14+ enforces them (``config/v3_*/types``): partitions need a
number or a label (labels at most 36 bytes, no ``:``, unique per disk, GUIDs
well formed, ``shouldExist: false`` alone, explicit placements not
overlapping), filesystem formats per version with their label lengths and
virtiofs's own limits, RAID levels and spares, LUKS names, labels, key files
and clevis/Tang/CEX combinations.
"""

from __future__ import annotations

import re

from igngen.ignition.field_rules import FieldRules, is_empty, items_at, value_at

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
_FS_LABEL_MAX = {"ext4": 16, "btrfs": 256, "xfs": 12, "swap": 15, "vfat": 11}
_RAID_LEVELS = ("linear", "raid0", "0", "stripe", "raid1", "1", "mirror", "raid4", "4",
                "raid5", "5", "raid6", "6", "raid10", "10")  # fmt: skip
_NO_SPARES = ("linear", "raid0", "0", "stripe")


def check_devices(ctx: FieldRules, config: dict[str, Any]) -> None:
    """Every disk, filesystem, RAID array and LUKS volume of ``config``."""
    for i, disk in items_at(config, "storage", "disks"):
        dp = f"/storage/disks/{i}"
        ctx.path(disk.get("device", ""), f"{dp}/device")
        labels: set[str] = set()
        parts = items_at(disk, "partitions")
        for j, part in parts:
            _partition(ctx, part, f"{dp}/partitions/{j}", labels)
        if any(p.get("shouldExist") is False for _, p in parts) and any(
            not p.get("number") for _, p in parts
        ):
            ctx.error(
                f"{dp}/partitions",
                "partitions without a number cannot be mixed with shouldExist: false",
            )
        _overlaps(ctx, parts, f"{dp}/partitions")

    for i, fs in items_at(config, "storage", "filesystems"):
        _filesystem(ctx, fs, f"/storage/filesystems/{i}")

    for i, raid in items_at(config, "storage", "raid"):
        rp = f"/storage/raid/{i}"
        level = raid.get("level")
        if not raid.get("devices"):
            ctx.error(f"{rp}/devices", "RAID needs devices")
        if is_empty(level):
            ctx.error(f"{rp}/level", "RAID level is required")
        elif level not in _RAID_LEVELS:
            ctx.error(f"{rp}/level", f"unrecognized RAID level {level!r}")
        elif level in _NO_SPARES and raid.get("spares"):
            ctx.error(f"{rp}/level", f"spares are not supported for RAID level {level!r}")
        for j, dev in enumerate(raid.get("devices") or []):
            ctx.path(dev, f"{rp}/devices/{j}")

    for i, luks in items_at(config, "storage", "luks"):
        lp = f"/storage/luks/{i}"
        name = luks.get("name")
        if isinstance(name, str) and "/" in name:
            ctx.error(f"{lp}/name", "LUKS name must not contain '/'")
        ctx.path(luks.get("device", ""), f"{lp}/device")
        if isinstance(luks.get("keyFile"), dict):
            ctx.resource(luks["keyFile"], f"{lp}/keyFile")
        label = luks.get("label")
        if isinstance(label, str) and len(label.encode("utf-8")) > 47:
            ctx.error(f"{lp}/label", "LUKS labels are at most 47 bytes")
        clevis: dict[str, Any] = value_at(luks, "clevis") or {}
        custom: dict[str, Any] = value_at(clevis, "custom") or {}
        pin = custom.get("pin")
        if not is_empty(pin) and (
            clevis.get("tang") or clevis.get("tpm2") is True or clevis.get("threshold")
        ):
            ctx.error(f"{lp}/clevis", "a custom clevis pin excludes tang, tpm2 and threshold")
        if not is_empty(pin) or not is_empty(custom.get("config")) or custom.get("needsNetwork"):
            if is_empty(pin):
                ctx.error(f"{lp}/clevis/custom/pin", "custom clevis pin is required")
            elif pin not in ("tpm2", "tang", "sss") and "clevis-pin-names" in ctx.rules:
                ctx.error(f"{lp}/clevis/custom/pin", f"unknown clevis pin {pin!r}")
            if is_empty(custom.get("config")):
                ctx.error(f"{lp}/clevis/custom/config", "custom clevis config is required")
        if value_at(luks, "cex", "enabled") is True:  # 3.5.0: IBM CEX keys exclude the others
            if (
                not is_empty(pin)
                or clevis.get("tang")
                or clevis.get("tpm2") is True
                or (clevis.get("threshold"))
            ):
                ctx.error(f"{lp}/cex", "cex cannot be combined with clevis")
            if not is_empty(value_at(luks, "keyFile", "source")):
                ctx.error(f"{lp}/cex", "cex cannot be combined with a key file")
        for j, tang in items_at(luks, "clevis", "tang"):
            tp = f"{lp}/clevis/tang/{j}"
            url = tang.get("url")
            if isinstance(url, str) and url.split(":", 1)[0] not in ("http", "https"):
                ctx.error(f"{tp}/url", "Tang URL must be http(s)")
            if is_empty(tang.get("thumbprint")):
                ctx.error(f"{tp}/thumbprint", "Tang thumbprint is required")


def _overlaps(ctx: FieldRules, parts: list[tuple[int, dict[str, Any]]], pointer: str) -> None:
    """Explicitly placed partitions (start and size given, start non-zero) must not overlap."""
    placed = []
    for j, part in parts:
        start, size = part.get("startMiB"), part.get("sizeMiB")
        if isinstance(start, int) and isinstance(size, int) and start != 0:
            placed.append((start, start if size == 0 else start + size - 1, j))
    placed.sort()
    reach = None
    for start, end, j in placed:
        if reach is not None and start <= reach:
            ctx.error(f"{pointer}/{j}", "partition overlaps another partition")
            return
        reach = end if reach is None else max(reach, end)


def _partition(ctx: FieldRules, part: dict[str, Any], pp: str, labels: set[str]) -> None:
    num, label = part.get("number"), part.get("label")
    if part.get("shouldExist") is False and (
        label is not None
        or not is_empty(part.get("typeGuid"))
        or not is_empty(part.get("guid"))
        or part.get("startMiB") is not None
        or part.get("sizeMiB") is not None
    ):
        ctx.error(pp, "shouldExist is false but other fields are set")
    if not num and label is None:
        ctx.error(pp, "partition needs a number or a label")
    if isinstance(label, str):
        if len(label.encode("utf-8")) > 36:
            ctx.error(f"{pp}/label", "partition label longer than 36 characters")
        elif ":" in label:
            ctx.error(f"{pp}/label", "partition label must not contain ':'")
        elif label in labels:
            ctx.error(f"{pp}/label", f"duplicate partition label {label!r}")
        labels.add(label)
    for field in ("guid", "typeGuid"):
        guid = part.get(field)
        if isinstance(guid, str) and not _GUID.fullmatch(guid):
            ctx.error(f"{pp}/{field}", f"{field} is not a GUID")


def _filesystem(ctx: FieldRules, fs: dict[str, Any], fp: str) -> None:
    fmt, label = fs.get("format"), fs.get("label")
    if fmt == "virtiofs":
        if fmt in ctx.formats:
            _virtiofs(ctx, fs, fp)
        else:  # the tag is not a path: name the format as the problem, not the device
            ctx.error(f"{fp}/format", f"format {fmt!r} not supported in spec {ctx.version}")
        return
    ctx.path(fs.get("device", ""), f"{fp}/device")
    ctx.path(fs.get("path"), f"{fp}/path", required=False)
    if is_empty(fmt):
        if (
            not is_empty(fs.get("path"))
            or not is_empty(label)
            or not is_empty(fs.get("uuid"))
            or fs.get("wipeFilesystem") is True
            or fs.get("options")
            or fs.get("mountOptions")
        ):
            ctx.error(f"{fp}/format", "format is required when other fields are set")
        return
    if not isinstance(fmt, str) or fmt not in ctx.formats:
        ctx.error(f"{fp}/format", f"format {fmt!r} not supported in spec {ctx.version}")
    elif isinstance(label, str) and len(label) > _FS_LABEL_MAX.get(fmt, 1 << 30):
        ctx.error(f"{fp}/label", f"{fmt} labels are at most {_FS_LABEL_MAX[fmt]} bytes")


def _virtiofs(ctx: FieldRules, fs: dict[str, Any], fp: str) -> None:
    """3.7.0-experimental: the device is a virtiofs tag; no label, UUID, wipe or mkfs options."""
    device = fs.get("device")
    if isinstance(device, str):
        if device == "":
            ctx.error(f"{fp}/device", "device is required")
        elif len(device) > 36:
            ctx.error(f"{fp}/device", "virtiofs tags are at most 36 bytes")
    ctx.path(fs.get("path"), f"{fp}/path", required=False)
    if not is_empty(fs.get("label")):
        ctx.error(f"{fp}/label", "virtiofs filesystems cannot have a label")
    if not is_empty(fs.get("uuid")):
        ctx.error(f"{fp}/uuid", "virtiofs filesystems cannot have a UUID")
    if fs.get("wipeFilesystem") is True:
        ctx.error(f"{fp}/wipeFilesystem", "virtiofs filesystems cannot be wiped")
    if fs.get("options"):
        ctx.error(f"{fp}/options", "virtiofs filesystems take no mkfs options")
