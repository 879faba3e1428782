"""State shared between the e2e conftest hooks and the tests (a module of its own, so
that it is imported once under one name)."""

from __future__ import annotations

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
