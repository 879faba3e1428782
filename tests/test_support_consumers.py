"""The one rule for tests whose tool is missing: skipped on a clone, a failure under CI=true."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.consumers import missing, require, require_file

ABSENT = "igngen-no-such-tool"


@pytest.mark.parametrize("ci", ["", "false", "0"])
def test_missing_tool_skips_outside_ci(ci: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match=ABSENT):
        require("sh", ABSENT)


@pytest.mark.parametrize("ci", ["true", "TRUE", "1", "yes"])
def test_missing_tool_fails_under_ci(
    ci: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match=f"{ABSENT} is not installed; under CI=true"):
        require(ABSENT)
    with pytest.raises(pytest.fail.Exception, match="Debian's thing"):
        require_file(tmp_path / "absent", "Debian's thing")
    with pytest.raises(pytest.fail.Exception):
        missing("python3-defusedxml")


def test_present_tool_is_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    assert Path(require("sh", "true")).name == "sh"
