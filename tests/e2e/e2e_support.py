"""State shared between the e2e conftest hooks and the tests (a module of its own, so
that it is imported once under one name)."""

from __future__ import annotations

import pytest

# nodeids of e2e tests that failed, so module-scoped VM fixtures can keep their logs
FAILED: set[str] = set()


def module_failed(request: pytest.FixtureRequest) -> bool:
    prefix = request.node.nodeid + "::"
    return any(n.startswith(prefix) for n in FAILED)
