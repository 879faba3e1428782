import os
from pathlib import Path

import pytest

from igngen.errors import OutputError
from igngen.jsonio import atomic_write, canonical_json


def test_canonical_json_is_stable() -> None:
    a = canonical_json({"b": [1, {"z": 1, "a": "é"}], "a": None})
    b = canonical_json({"a": None, "b": [1, {"a": "é", "z": 1}]})
    assert a == b == '{"a":null,"b":[1,{"a":"é","z":1}]}\n'.encode()


def test_atomic_write_mode_and_replace(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    os.chmod(target, 0o644)
    atomic_write(target, b"new", mode=0o600)
    assert target.read_bytes() == b"new"
    assert (target.stat().st_mode & 0o777) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_atomic_write_failure_keeps_old_file(tmp_path: Path) -> None:
    target = tmp_path / "dir-in-the-way"
    target.mkdir()
    (target / "keep").write_text("x")
    with pytest.raises(OutputError) as exc:
        atomic_write(target, b"new")  # cannot replace a non-empty directory
    assert "dir-in-the-way" in str(exc.value)
    assert (target / "keep").read_text() == "x"
    assert [p.name for p in tmp_path.iterdir()] == ["dir-in-the-way"]
    with pytest.raises(OutputError):
        atomic_write(tmp_path / "missing" / "f", b"x")
