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
from typing import Any, NamedTuple

from igngen.errors import ImdsDataError

MAX_IMDS_BYTES = 1024 * 1024


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
        doc = json.loads(data.decode("utf-8"))
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
    size_text = r.string(resource_disk, "size", "/compute/storageProfile/resourceDisk")
    if size_text is not None:
        try:
            disk_size = int(size_text)
        except ValueError:
            raise r.fail(
                "/compute/storageProfile/resourceDisk/size", "expected a whole number"
            ) from None

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
    )
