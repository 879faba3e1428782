"""Real Ignition 2.14 as an oracle: the helpers in support/oracle.py agree with Ignition."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.oracle import ignition_merge, normalise, require_ignition


@pytest.mark.consumer
def test_oracle_reports_ignitions_merge(tmp_path: Path) -> None:
    require_ignition()
    parent = {"ignition": {"version": "3.3.0"}, "storage": {"files": [{"path": "/a", "mode": 384}]}}
    child = {
        "ignition": {"version": "3.0.0"},
        "storage": {"files": [{"path": "/a", "contents": {"source": "data:,x"}}]},
    }
    got, log = ignition_merge(tmp_path, parent, child)
    assert got is not None, log
    assert normalise(got) == {
        "storage": {"files": [{"path": "/a", "mode": 384, "contents": {"source": "data:,x"}}]}
    }
    assert got["ignition"]["version"] == "3.4.0-experimental"
