"""Template variables for tests that render templates directly (one place to keep them complete)."""

from __future__ import annotations

import base64
import gzip
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from igngen.disks.layers import resolve
from igngen.disks.plan import plan
from igngen.disks.variables import template_variables
from igngen.render.variables import report as report_variables

if TYPE_CHECKING:
    from collections.abc import Mapping

    from igngen.azure.waagent_conf import WaagentConf


def disk_variables(
    data: Mapping[str, Any] | None,
    location: str,
    *,
    waagent: WaagentConf | None = None,
    resource_disk_mib: int | None = None,
    nvme_present: frozenset[str] | None = None,
) -> dict[str, Any]:
    """The ``disk`` group as ``pipeline.render`` builds it: settings → plan → variables."""
    disk_plan = plan(
        resolve(data, location, waagent),
        resource_disk_mib=resource_disk_mib,
        nvme_present=nvme_present,
    )
    return template_variables(disk_plan)


def base_variables(*, keys: list[str] | None = None, **groups: Any) -> dict[str, Any]:
    """Plain, valid variables for every built-in template; ``groups`` replace whole groups."""
    keys = ["ssh-ed25519 AAAA k"] if keys is None else keys
    v: dict[str, Any] = {
        "user": {
            "name": "azureuser",
            "home": "/home/azureuser",
            "groups": ["docker"],
            "password_hash": None,
            "has_password": False,
            "ssh_keys": keys,
            "authorized_keys": "".join(f"{k}\n" for k in keys),
            "authorized_keys_path": "/home/azureuser/.ssh/authorized_keys",
        },
        "host": {"name": "h", "hostname_file": "h\n"},
        "ssh": {
            "password_authentication": "no",
            "client_alive_interval": 180,
            "dropin_path": "/etc/ssh/sshd_config.d/10-igngen.conf",
        },
        "sudo": {"path": "/etc/sudoers.d/igngen", "rule": "azureuser ALL=(ALL) NOPASSWD: ALL"},
        "ovf": {"redacted": "<x/>"},
        "report": report_variables(None),
        "waagent": {
            "enabled": True,
            "conf": "Provisioning.Agent=disabled\nResourceDisk.Format=n\n",
            "agent_enabled": True,
            "unit": "waagent.service",
        },
        "disk": disk_variables(None, "test"),
    }
    v.update(groups)
    return v


def disk_only_variables(disk: dict[str, Any]) -> dict[str, Any]:
    """Variables where only the disk units are under test (the report unit is off; it is
    verified in test_report.py)."""
    return base_variables(keys=[], disk=disk, report=report_variables({"enabled": False}))


KEY = (Path(__file__).resolve().parent.parent / "data" / "keys" / "ed25519.pub").read_text().strip()
SHA512 = "$6$saltsalt$" + "x" * 86


def realistic(*, password: bool) -> dict[str, Any]:
    name = "azureuser"
    return {
        "user": {
            "name": name,
            "home": f"/home/{name}",
            "groups": ["docker"],
            "password_hash": SHA512 if password else None,
            "has_password": password,
            "ssh_keys": [KEY],
            "authorized_keys": KEY + "\n",
            "authorized_keys_path": f"/home/{name}/.ssh/authorized_keys",
        },
        "host": {"name": "vm-01", "hostname_file": "vm-01\n"},
        "ssh": {
            "password_authentication": "yes" if password else "no",
            "client_alive_interval": 180,
            "dropin_path": "/etc/ssh/sshd_config.d/10-igngen.conf",
        },
        "sudo": {
            "path": "/etc/sudoers.d/igngen",
            "rule": f"{name} ALL=(ALL) ALL" if password else f"{name} ALL=(ALL) NOPASSWD: ALL",
        },
        "ovf": {"redacted": "<Environment><UserPassword>REDACTED</UserPassword></Environment>\n"},
        "report": report_variables(None),
        "waagent": {
            "enabled": True,
            "conf": "Provisioning.Agent=disabled\nResourceDisk.Format=n\n",
            "agent_enabled": True,
            "unit": "waagent.service",
        },
        "disk": disk_variables(None, "test", resource_disk_mib=76800),
    }


def contents(fragment: dict[str, Any], path: str) -> tuple[bytes, dict[str, Any]]:
    """The decoded bytes of the file at ``path`` and its entry (which must spell compression out)."""
    entry = next(f for f in fragment["storage"]["files"] if f["path"] == path)
    assert "compression" in entry["contents"], entry
    return entry_bytes(entry), entry


def entry_bytes(entry: dict[str, Any]) -> bytes:
    """The decoded (and decompressed) contents of one ``storage.files`` entry."""
    header, payload = entry["contents"]["source"].split(",", 1)
    data = (
        base64.b64decode(payload)
        if header.endswith(";base64")
        else urllib.parse.unquote_to_bytes(payload)
    )
    if entry["contents"].get("compression") == "gzip":
        data = gzip.decompress(data)
    return data
