"""State shared between the e2e conftest hooks and the tests (a module of its own, so
that it is imported once under one name), the scenario inputs several e2e modules use,
and the one way a module boots a provisioned VM."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from e2e import azure, scenario
from e2e.build import Artifacts
from e2e.scenario import Run

# nodeids of e2e tests that failed, so module-scoped VM fixtures can keep their logs
FAILED: set[str] = set()


def module_failed(request: pytest.FixtureRequest) -> bool:
    prefix = request.node.nodeid + "::"
    return any(n.startswith(prefix) for n in FAILED)


def keep_logs_on_failure(request: pytest.FixtureRequest, run: Run) -> None:
    """A module whose tests failed keeps its VM's console, marker and journal."""
    if module_failed(request) and run.vm.running():
        run.collect_journal()
        run.vm.failed = True  # kept under .cache/e2e/artifacts


def provisioned_vm(
    request: pytest.FixtureRequest,
    art: Artifacts,
    p: azure.Provisioning,
    key: Path,
    *,
    name: str,
    **boot: Any,
) -> Iterator[Run]:
    """A provisioned VM the tests can reach over ssh as ``p.user``; yields while it runs.
    ``boot`` goes to :func:`e2e.scenario.provisioning_boot`."""
    with scenario.provisioning_boot(art, p, name=name, **boot) as run:
        run.booted = run.vm.wait_booted()
        run.vm.login_as(p.user, key)
        run.vm.wait_ssh()
        yield run
        keep_logs_on_failure(request, run)


PASSWORD = "E2e-Secret-Pw-7431!"  # never to be found in a log, journal or kept file
CUSTOM_FILE = "/etc/e2e-customdata"
CUSTOM_UNIT = "e2e-customdata.service"
CUSTOM_RAN = "/var/lib/e2e-customdata-ran"
# What igngen makes of the resource disk with the image's default settings.
RESOURCE_MOUNT = "/mnt/resource"
RESOURCE_FS = "ext4"


def _data(text: str) -> dict[str, object]:
    return {"source": "data:," + urllib.parse.quote(text)}


# The no-password VM's custom data also puts a slow mkfs.ext4 first on the services'
# PATH: after its redeploy the prepare service re-creates the filesystem for longer than
# systemd's default 90 s device wait, and the mount must still succeed.
SLOW_MKFS_SECONDS = 100
SLOW_MKFS_LOG = "/var/lib/e2e-slow-mkfs"
SLOW_MKFS = (
    "#!/bin/sh\n"
    f'echo "$(cat /proc/sys/kernel/random/boot_id) $*" >> {SLOW_MKFS_LOG}\n'
    f"sleep {SLOW_MKFS_SECONDS}\n"
    'exec /usr/sbin/mkfs.ext4 "$@"\n'
)


def _customdata(*extra_files: dict[str, object]) -> bytes:
    files = [{"path": CUSTOM_FILE, "mode": 0o644, "contents": _data("from customdata\n")}]
    return json.dumps(
        {
            "ignition": {"version": "3.3.0"},
            "storage": {"files": [*files, *extra_files]},
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


CUSTOMDATA = _customdata()
SLOW_MKFS_CUSTOMDATA = _customdata(
    {"path": "/usr/local/sbin/mkfs.ext4", "mode": 0o755, "contents": _data(SLOW_MKFS)}
)
BROKEN_CUSTOMDATA = b'{"ignition": {"version": "3.3.0"}, "storage": {"files": [{"path": '
