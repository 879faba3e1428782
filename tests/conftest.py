"""Test-wide guards.

Network: tests may only talk to loopback (127.0.0.0/8, ::1) or to AF_UNIX
sockets. Any other connect/sendto from this process, or from any Python it starts
(support/childguard/sitecustomize.py, through PYTHONPATH), fails loudly, so a test can
never reach the real IMDS (169.254.169.254), Wireserver (168.63.129.16) or any
other host. Tests that use network namespaces of their own run their traffic in
subprocesses inside those namespaces.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


from support import netguard

CHILD_GUARD = Path(__file__).parent / "support" / "childguard"


def pytest_configure(config: pytest.Config) -> None:
    netguard.install()
    # Python subprocesses (the igngen CLI under test) load childguard/sitecustomize.py.
    inherited = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(CHILD_GUARD), inherited]))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
