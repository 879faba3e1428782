"""Template variables for tests that render templates directly (one place to keep them complete)."""

from __future__ import annotations

from typing import Any

from igngen.disks import variables as disk_variables
from igngen.report import template_variables as report_variables


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
