"""Parse an IMDS instance document (``/metadata/instance?api-version=…``): pure.

Only the fields provisioning needs are read; everything else is ignored.
IMDS spells booleans as the strings ``"true"``/``"false"``; a JSON bool is
accepted too (azure-init does). Every error names its JSON pointer.
The HTTP client that fetches the document lives in ``imds_client.py``.
"""

from __future__ import annotations

import base64
import binascii
import json

from igngen.errors import ImdsDataError
from igngen.limits import MAX_IMDS_BYTES, MAX_RESOURCE_DISK_MIB
from igngen.safejson import loads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple
else:
    from igngen.records import NamedTuple

__all__ = [
    "MAX_IMDS_BYTES",
    "ImdsInstance",
    "ImdsPublicKey",
    "instance_from_json",
    "parse_instance",
]


class ImdsPublicKey(NamedTuple):
    key_data: str
    path: str | None
    pointer: str


class ImdsInstance(NamedTuple):
    admin_username: str | None
    computer_name: str | None
    disable_password_authentication: bool | None
    public_keys: tuple[ImdsPublicKey, ...] | None  # None: IMDS did not list keys at all
    vm_id: str | None
    name: str | None
    vm_size: str | None
    user_data: bytes | None
    resource_disk_size_mib: int | None
    pps_type: str | None
    has_custom_data: bool | None
    source: str
    warnings: tuple[str, ...] = ()  # values ignored (IMDS is optional: never fatal for them)


def disk_size_mib(text: str) -> int | None:
    """A resource-disk size: ASCII digits only, at most MAX_RESOURCE_DISK_MIB.

    0 is meaningful: IMDS sends it for VM sizes without a resource disk. ``int()`` alone would take "-16384", " 5", "+5" or Arabic-Indic digits; a disk
    declared for wiping must never rest on such a value.
    """
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        return None
    value = int(text, 10)
    return value if value <= MAX_RESOURCE_DISK_MIB else None


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, pointer: str, message: str) -> ImdsDataError:
        return ImdsDataError(message, f"{self.source}#{pointer}")

    def obj(self, parent: dict[str, Any], key: str, pointer: str) -> dict[str, Any] | None:
        value = parent.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail(f"{pointer}/{key}", "expected an object")
        return value

    def string(self, parent: dict[str, Any] | None, key: str, pointer: str) -> str | None:
        if parent is None:
            return None
        value = parent.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(f"{pointer}/{key}", "expected a string")
        value = value.strip()
        return value or None

    def boolean(self, parent: dict[str, Any] | None, key: str, pointer: str) -> bool | None:
        if parent is None:
            return None
        value = parent.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise self.fail(f"{pointer}/{key}", 'expected "true" or "false"')


def parse_instance(data: bytes, *, source: str = "imds") -> ImdsInstance:
    """Parse IMDS instance JSON bytes or raise :class:`ImdsDataError`."""
    if len(data) > MAX_IMDS_BYTES:
        raise ImdsDataError(
            f"document is {len(data)} bytes, over the {MAX_IMDS_BYTES}-byte limit", source
        )
    try:
        doc = loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ImdsDataError(f"not valid UTF-8 at byte {exc.start}", source) from None
    except json.JSONDecodeError as exc:
        raise ImdsDataError(
            f"invalid JSON ({exc.msg})", f"{source}:{exc.lineno}:{exc.colno}"
        ) from None
    return instance_from_json(doc, source=source)


def instance_from_json(doc: Any, *, source: str = "imds") -> ImdsInstance:
    r = _Reader(source)
    if not isinstance(doc, dict):
        raise r.fail("", "expected a JSON object")
    compute = r.obj(doc, "compute", "")
    if compute is None:
        raise r.fail("/compute", "missing: not an IMDS instance document")
    os_profile = r.obj(compute, "osProfile", "/compute")
    keys: tuple[ImdsPublicKey, ...] | None = None
    raw_keys = compute.get("publicKeys")
    if raw_keys is not None:
        if not isinstance(raw_keys, list):
            raise r.fail("/compute/publicKeys", "expected an array")
        parsed = []
        for i, item in enumerate(raw_keys):
            pointer = f"/compute/publicKeys/{i}"
            if not isinstance(item, dict):
                raise r.fail(pointer, "expected an object")
            key_data = item.get("keyData")
            if not isinstance(key_data, str) or not key_data.strip():
                raise r.fail(f"{pointer}/keyData", "expected a non-empty string")
            parsed.append(ImdsPublicKey(key_data, r.string(item, "path", pointer), pointer))
        keys = tuple(parsed)

    user_data = None
    raw_ud = compute.get("userData")
    if raw_ud is not None:
        if not isinstance(raw_ud, str):
            raise r.fail("/compute/userData", "expected a base64 string")
        compact = "".join(raw_ud.split())
        if compact:
            try:
                user_data = base64.b64decode(compact, validate=True)
            except (binascii.Error, ValueError):
                raise r.fail("/compute/userData", "not valid base64") from None

    disk_size = None
    storage = r.obj(compute, "storageProfile", "/compute")
    resource_disk = r.obj(storage, "resourceDisk", "/compute/storageProfile") if storage else None
    warnings: list[str] = []
    size_pointer = "/compute/storageProfile/resourceDisk/size"
    raw_size = resource_disk.get("size") if resource_disk is not None else None
    if raw_size is not None and raw_size != "":
        # Only the exact text IMDS sends ("16384"); anything else is ignored, not guessed at.
        disk_size = disk_size_mib(raw_size) if isinstance(raw_size, str) else None
        if disk_size is None:
            warnings.append(
                f"{source}#{size_pointer}: ignored: not a size in MiB between 0 and "
                f"{MAX_RESOURCE_DISK_MIB} (ASCII digits only); no resource disk is declared from it"
            )

    extended = r.obj(doc, "extended", "")
    ext_compute = r.obj(extended, "compute", "/extended") if extended else None
    vm_id = r.string(compute, "vmId", "/compute")
    return ImdsInstance(
        admin_username=r.string(os_profile, "adminUsername", "/compute/osProfile"),
        computer_name=r.string(os_profile, "computerName", "/compute/osProfile"),
        disable_password_authentication=r.boolean(
            os_profile, "disablePasswordAuthentication", "/compute/osProfile"
        ),
        public_keys=keys,
        vm_id=vm_id.lower() if vm_id else None,
        name=r.string(compute, "name", "/compute"),
        vm_size=r.string(compute, "vmSize", "/compute"),
        user_data=user_data,
        resource_disk_size_mib=disk_size,
        pps_type=r.string(ext_compute, "ppsType", "/extended/compute"),
        has_custom_data=r.boolean(ext_compute, "hasCustomData", "/extended/compute"),
        source=source,
        warnings=tuple(warnings),
    )
