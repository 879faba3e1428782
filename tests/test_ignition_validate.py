"""igngen's validator agrees with Debian's ignition-validate, and with the generated JSON Schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.consumers import ignition_validate
from support.ignition_corpus import VERSIONS, invalid_configs, valid_configs

from igngen.errors import IgnitionConfigError
from igngen.ignition.schema import structural_reports
from igngen.ignition.validate import check, validate

CASES = [(f"{v}/{name}", cfg, True) for v in VERSIONS for name, cfg in valid_configs(v)]
CASES += [(f"{v}/{name}", cfg, False) for v in VERSIONS for name, cfg in invalid_configs(v)]


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 100


def ours_accepts(config: dict[str, Any]) -> bool:
    return not any(r.severity == "error" for r in validate(config))


@pytest.mark.parametrize(("name", "config", "expected"), CASES, ids=[c[0] for c in CASES])
def test_ours_matches_expectation(name: str, config: dict[str, Any], expected: bool) -> None:
    assert ours_accepts(config) == expected, validate(config)


@pytest.mark.consumer
def test_agrees_with_ignition_validate(tmp_path: Path) -> None:
    disagreements = []
    for name, config, _ in CASES:
        path = tmp_path / "c.ign"
        path.write_text(json.dumps(config))
        real = ignition_validate(path, tmp_path).returncode == 0
        if real != ours_accepts(config):
            disagreements.append(f"{name}: ignition-validate {'accepts' if real else 'rejects'}")
    assert not disagreements, "\n".join(disagreements)


def test_fast_check_agrees_with_jsonschema_on_structure() -> None:
    for name, config, _ in CASES:
        version = config.get("ignition", {}).get("version")
        if version not in VERSIONS:
            continue
        structural = [r for r in structural_reports(config, version) if r.severity == "error"]
        ours = [r for r in validate(config) if r.severity == "error"]
        if structural:
            assert ours, f"{name}: jsonschema rejects ({structural}) but igngen accepts"


def test_newer_field_is_reported_not_dropped() -> None:
    cfg = {"ignition": {"version": "3.2.0"}, "kernelArguments": {"shouldExist": ["a"]}}
    with pytest.raises(IgnitionConfigError) as exc:
        check(cfg, source="c.ign")
    assert str(exc.value).startswith("c.ign#/kernelArguments") and "3.3.0" in str(exc.value)


def test_legacy_spec_is_named() -> None:
    reports = validate({"ignition": {"version": "2.3.0"}})
    assert "2.3.0" in reports[0].message and "1.x/2.x" in reports[0].message


def test_cli_validate(tmp_path: Path) -> None:
    good = tmp_path / "good.ign"
    good.write_text(json.dumps({"ignition": {"version": "3.3.0"}, "extra": 1}))
    bad = tmp_path / "bad.ign"
    bad.write_text(
        json.dumps({"ignition": {"version": "3.3.0"}, "storage": {"files": [{"path": "x"}]}})
    )
    broken = tmp_path / "broken.ign"
    broken.write_text('{"ignition": ')

    def run(*f: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "igngen", "validate", *f], capture_output=True, text=True
        )

    p = run(str(good))
    assert p.returncode == 0 and "warning" in p.stderr and "#/extra" in p.stderr
    p = run(str(good), str(bad), str(broken))
    out = p.stdout + p.stderr
    assert p.returncode == 65
    assert f"{bad}#/storage/files/0/path: " in out and "absolute" in out
    assert f"{broken}:1:" in out and "Traceback" not in out
