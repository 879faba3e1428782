"""Every run-time path igngen itself reads or writes is named once, in igngen/paths.py."""

from __future__ import annotations

import ast
from pathlib import Path

from igngen import paths

PACKAGE = Path(__file__).resolve().parent.parent / "igngen"
# igngen's own state and Ignition's directories; paths on the provisioned system that
# templates write (/etc/ssh/…, /var/lib/waagent/…) belong to the templates instead.
RUNTIME_PREFIXES = (
    "/run/igngen",
    "/run/ignition",
    "/var/lib/igngen",
    "/var/lib/hyperv",
    "/usr/lib/ignition",
    "/usr/bin/ignition",
    "/etc/initrd-release",
)


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def test_no_runtime_path_literal_outside_paths_module() -> None:
    found = []
    for source in sorted(PACKAGE.rglob("*.py")):
        if source.name == "paths.py" and source.parent == PACKAGE:
            continue
        tree = ast.parse(source.read_text(), str(source))
        skip = _docstrings(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in skip
                and node.value.startswith(RUNTIME_PREFIXES)
            ):
                found.append(f"{source.relative_to(PACKAGE)}:{node.lineno}: {node.value!r}")
    assert found == []


def test_paths_hang_together() -> None:
    assert f"{paths.INITRD_STATE_DIR}/{paths.FAILURE_REASON_NAME}" == paths.FAILURE_REASON
    for name in dir(paths):
        value = getattr(paths, name)
        if not (name.isupper() and isinstance(value, str)):
            continue
        if name.endswith("_NAME"):  # a file name inside one of the directories
            assert value and "/" not in value, name
        else:
            assert value.startswith("/"), name
