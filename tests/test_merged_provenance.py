"""Merged-result refusals located through the custom data's own data: references.

Ignition renders a config's references in a fixed order (coreos/ignition
internal/exec/config_fetcher.go, RenderConfig): a ``replace`` reference's rendered
config replaces the whole config; otherwise the config itself comes first and each
``merge`` reference, rendered depth first, is merged over the result so far. Only
then is the merged result validated (engine.go: "merging configs resulted in an
invalid config"). The entry Ignition would refuse is named in the document the user
wrote it in, through the chain of references that pulled it in.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.ovf_builder import ovf_xml

REPO = Path(__file__).resolve().parent.parent
CUSTOM = "/Environment/ProvisioningSection/LinuxProvisioningConfigurationSet/CustomData"
TAIL = (
    ": after merging over igngen's fragment: {message}; Ignition would fail the boot:"
    " merging configs resulted in an invalid config"
)


def cfg(
    body: dict[str, Any] | None = None,
    merge: list[dict[str, Any]] | None = None,
    replace: dict[str, Any] | None = None,
) -> dict[str, Any]:
    config: dict[str, Any] = {"ignition": {"version": "3.3.0"}, **(body or {})}
    refs: dict[str, Any] = {}
    if merge:
        refs["merge"] = [_ref(m) for m in merge]
    if replace:
        refs["replace"] = _ref(replace)
    if refs:
        config["ignition"]["config"] = refs
    return config


def _ref(config: dict[str, Any]) -> dict[str, str]:
    data = base64.b64encode(json.dumps(config).encode()).decode()
    return {"source": f"data:;base64,{data}"}


def _disk(*partitions: tuple[int, str]) -> dict[str, Any]:
    parts = [{"number": n, "label": label} for n, label in partitions]
    return {"storage": {"disks": [{"device": "/dev/sdb", "partitions": parts}]}}


# Per refusal: (a) the offending entry in the custom data's own content, with what it
# clashes with merged over it (None: igngen's fragment holds it), and (b) the offending
# entry in a reference, with what it clashes with in the config that holds the
# reference; the pointer of the entry in its own document; the message.
AUTHORIZED = "/home/azureuser/.ssh/authorized_keys"  # the fragment's, owned by name
KINDS: dict[str, tuple[Any, Any, str, Any, Any, str, str]] = {
    "owner id and name": (
        {"storage": {"files": [{"path": AUTHORIZED, "user": {"id": 1000}}]}},
        None,
        "/storage/files/0/user",
        {"storage": {"files": [{"path": "/z"}, {"path": AUTHORIZED, "user": {"id": 1000}}]}},
        None,
        "/storage/files/1/user",
        "give either id or name, not both",
    ),
    "duplicate partition label": (
        # The later of two equal labels is the one refused: partition 2 keeps the
        # custom data's label, partition 1 gets it from the reference merged over it.
        _disk((1, "data"), (2, "logs")),
        _disk((1, "logs")),
        "/storage/disks/0/partitions/1/label",
        _disk((2, "data")),
        _disk((1, "data")),
        "/storage/disks/0/partitions/0/label",
        "duplicate partition label {label!r}",
    ),
    "hard link to a directory": (
        # /var/lib/waagent is a directory of igngen's fragment.
        {"storage": {"links": [{"path": "/l", "target": "/var/lib/waagent", "hard": True}]}},
        None,
        "/storage/links/0",
        {"storage": {"links": [{"path": "/l", "target": "/var/lib/waagent", "hard": True}]}},
        None,
        "/storage/links/0",
        "hard link to a directory",
    ),
    "path through a link": (
        {"storage": {"files": [{"path": "/etc/x/y"}]}},
        {"storage": {"links": [{"path": "/etc/x", "target": "/tmp"}]}},
        "/storage/files/0",
        {"storage": {"files": [{"path": "/etc/x/y"}]}},
        {"storage": {"links": [{"path": "/etc/x", "target": "/tmp"}]}},
        "/storage/files/0",
        "path '/etc/x/y' goes through a link defined in this config",
    ),
}


def _case(kind: str, where: str) -> tuple[dict[str, Any], str, str]:
    own, over, own_ptr, inner, base, inner_ptr, message = KINDS[kind]
    label = "logs" if where in ("customdata", "replace") else "data"
    message = message.format(label=label)
    if where == "customdata":
        return cfg(own, merge=[cfg(over)] if over else None), f"#{own_ptr}", message
    if where == "merge":
        custom = cfg(base, merge=[cfg(inner)])
        return custom, f"#/ignition/config/merge/0 (data: URL) → #{inner_ptr}", message
    if where == "nested":
        # merge[1] of the custom data holds, in its own merge[0], the entry.
        custom = cfg(base, merge=[cfg(), cfg(merge=[cfg(inner)])])
        chain = "#/ignition/config/merge/1 (data: URL) → #/ignition/config/merge/0 (data: URL) → "
        return custom, f"{chain}#{inner_ptr}", message
    assert where == "replace"
    # What the custom data holds beside the replace is dropped, as Ignition does: the
    # replaced config is the offending entry's document (its own merge over it, as in (a)).
    replaced = cfg(own, merge=[cfg(over)] if over else None)
    custom = cfg({"storage": {"files": [{"path": "/dropped"}]}}, replace=replaced)
    return custom, f"#/ignition/config/replace (data: URL) → #{own_ptr}", message


@pytest.mark.parametrize("where", ["customdata", "merge", "nested", "replace"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_render_names_the_reference_chain(kind: str, where: str, tmp_path: Path) -> None:
    custom, location, message = _case(kind, where)
    ovf = tmp_path / "ovf-env.xml"
    ovf.write_bytes(
        ovf_xml(password="Unmistakable-Pa55word", custom_data=json.dumps(custom).encode())
    )
    out = tmp_path / "out.ign"
    proc = subprocess.run(
        [sys.executable, "-m", "igngen", "render", "--ovf", str(ovf), "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "IGNGEN_LOG_LEVEL": "debug"},
        timeout=60,
    )
    assert proc.returncode == 65, proc.stderr
    expected = f"igngen: error: {ovf}:{CUSTOM}{location}" + TAIL.format(message=message)
    assert proc.stderr.splitlines() == [expected]
    assert proc.stdout == ""
    assert not out.exists()
