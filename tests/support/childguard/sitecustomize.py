"""Loaded by every Python the tests start (tests/conftest.py puts this folder on
PYTHONPATH): the same network guard as in the test process."""

import importlib.util
import pathlib

_spec = importlib.util.spec_from_file_location(
    "_igngen_test_netguard", pathlib.Path(__file__).resolve().parent.parent / "netguard.py"
)
assert _spec is not None and _spec.loader is not None
_guard = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_guard)
_guard.install()
