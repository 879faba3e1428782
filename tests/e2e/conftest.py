"""Fixtures for the QEMU end-to-end tests (marker ``e2e``).

The build (kernel, root image, initramfs) happens once per session and is cached under
``.cache/e2e``; the tests skip with the reason when this host cannot build or boot.
``IGNGEN_E2E=0`` skips them on purpose.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
for _p in (REPO, Path(__file__).parent):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import e2e_support  # noqa: E402

from e2e import host  # noqa: E402
from e2e.build import Artifacts, build_all, unavailable  # noqa: E402


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    if getattr(report, "failed", False):
        e2e_support.FAILED.add(item.nodeid)
    return report


@pytest.fixture(scope="session")
def artifacts() -> Artifacts:
    if os.environ.get("IGNGEN_E2E") == "0":
        pytest.skip("IGNGEN_E2E=0")
    reason = unavailable()
    if reason:
        pytest.skip(f"e2e: {reason}")
    return build_all()


@pytest.fixture(scope="session")
def ssh_keypair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A fresh ed25519 key pair: (private key path, public key line)."""
    return host.ssh_keypair(tmp_path_factory.mktemp("ssh"))
