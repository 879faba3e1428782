"""State shared between the e2e conftest hooks and the tests (a module of its own, so
that it is imported once under one name), and the scenario inputs several e2e modules use."""

from __future__ import annotations

import json
import urllib.parse

import pytest

# nodeids of e2e tests that failed, so module-scoped VM fixtures can keep their logs
FAILED: set[str] = set()


def module_failed(request: pytest.FixtureRequest) -> bool:
    prefix = request.node.nodeid + "::"
    return any(n.startswith(prefix) for n in FAILED)


PASSWORD = "E2e-Secret-Pw-7431!"  # never to be found in a log, journal or kept file
CUSTOM_FILE = "/etc/e2e-customdata"
CUSTOM_UNIT = "e2e-customdata.service"
CUSTOM_RAN = "/var/lib/e2e-customdata-ran"
# What igngen makes of the resource disk with the image's default settings.
RESOURCE_MOUNT = "/mnt/resource"
RESOURCE_FS = "ext4"


def _data(text: str) -> dict[str, object]:
    return {"source": "data:," + urllib.parse.quote(text)}


CUSTOMDATA = json.dumps(
    {
        "ignition": {"version": "3.3.0"},
        "storage": {
            "files": [{"path": CUSTOM_FILE, "mode": 0o644, "contents": _data("from customdata\n")}]
        },
        "systemd": {
            "units": [
                {
                    "name": CUSTOM_UNIT,
                    "enabled": True,
                    "contents": (
                        "[Unit]\nDescription=e2e customdata unit\n[Service]\nType=oneshot\n"
                        f"ExecStart=/bin/touch {CUSTOM_RAN}\n[Install]\nWantedBy=multi-user.target\n"
                    ),
                }
            ]
        },
    }
).encode()
BROKEN_CUSTOMDATA = b'{"ignition": {"version": "3.3.0"}, "storage": {"files": [{"path": '
