"""The hand-in artifact on real Ignition 2.14: fragment + custom data both land.

``handin.build`` wraps the fragment and the custom data as two merge
references; Ignition's fetch-offline renders it and the files stage writes a
scratch root. The admin user from the fragment and the custom data's files and
units must both be there, also when the custom data uses ``replace`` (which
must replace only the custom data's own content), references of its own, or
gzip. ``handin.final`` must predict Ignition's rendered config exactly.
"""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from support.consumers import run_ignition
from support.oracle import normalise

from igngen.errors import IgnitionConfigError
from igngen.ignition import customdata, handin
from igngen.ignition.dataurl import encode
from igngen.ignition.validate import check

pytestmark = pytest.mark.consumer

ADMIN_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOadminadminadminadminadminadminadminadmin admin"
USER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOuseruseruseruseruseruseruseruseruseruser user"


def fragment() -> dict[str, Any]:
    return {
        "ignition": {"version": "3.3.0"},
        "passwd": {
            "users": [{"name": "azureuser", "groups": ["sudo"], "sshAuthorizedKeys": [ADMIN_KEY]}]
        },
        "storage": {
            "files": [
                {
                    "path": "/etc/hostname",
                    "mode": 420,
                    "overwrite": True,
                    "contents": {"source": encode(b"vm-from-azure\n"), "compression": ""},
                },
                {
                    "path": "/etc/ssh/sshd_config.d/10-igngen.conf",
                    "mode": 384,
                    "overwrite": True,
                    "contents": {
                        "source": encode(b"PasswordAuthentication no\n"),
                        "compression": "",
                    },
                },
            ]
        },
    }


def _file(path: str, text: str) -> dict[str, Any]:
    return {"path": path, "mode": 420, "contents": {"source": encode(text.encode())}}


def _ref(config: dict[str, Any]) -> dict[str, str]:
    return {"source": "data:;base64," + base64.b64encode(json.dumps(config).encode()).decode()}


APP_UNIT = "[Service]\nExecStart=/usr/bin/true\n[Install]\nWantedBy=multi-user.target\n"

PLAIN = {
    "ignition": {"version": "3.3.0"},
    "storage": {"files": [_file("/etc/app.conf", "x=1\n"), _file("/etc/hostname", "mine\n")]},
    "systemd": {"units": [{"name": "app.service", "enabled": True, "contents": APP_UNIT}]},
    "passwd": {"users": [{"name": "azureuser", "sshAuthorizedKeys": [USER_KEY]}]},
}
REPLACED = {
    "ignition": {"version": "3.2.0"},
    "storage": {"files": [_file("/etc/replaced.conf", "r\n")]},
    "systemd": {"units": [{"name": "r.service", "enabled": True, "contents": APP_UNIT}]},
}
WITH_REPLACE = {
    "ignition": {"version": "3.3.0", "config": {"replace": _ref(REPLACED)}},
    "storage": {"files": [_file("/etc/discarded.conf", "d\n")]},
}
WITH_MERGES = {
    "ignition": {
        "version": "3.1.0",
        "config": {
            "merge": [
                _ref(
                    {
                        "ignition": {"version": "3.0.0"},
                        "storage": {"files": [_file("/etc/m1", "1\n")]},
                    }
                ),
                _ref(
                    {
                        "ignition": {"version": "3.1.0"},
                        "storage": {"files": [_file("/etc/m1", "2\n")]},
                    }
                ),
            ]
        },
    },
    "storage": {"files": [_file("/etc/own", "o\n")]},
}

CASES = {
    "plain": json.dumps(PLAIN).encode(),
    "replace": json.dumps(WITH_REPLACE).encode(),
    "merges": json.dumps(WITH_MERGES).encode(),
    "gzip-3.0": gzip.compress(
        json.dumps(
            {"ignition": {"version": "3.0.0"}, "storage": {"files": [_file("/etc/gz", "g\n")]}}
        ).encode(),
        mtime=0,
    ),
}
EXPECT = {
    "plain": {"etc/app.conf": "x=1\n", "etc/hostname": "mine\n"},
    "replace": {"etc/replaced.conf": "r\n", "etc/hostname": "vm-from-azure\n"},
    "merges": {"etc/m1": "2\n", "etc/own": "o\n"},
    "gzip-3.0": {"etc/gz": "g\n"},
}
ABSENT = {"replace": ["etc/discarded.conf"]}
UNITS = {"plain": ["app.service"], "replace": ["r.service"]}


@pytest.mark.parametrize("spec", ["3.3.0", "3.0.0"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_handin_on_real_ignition(case: str, spec: str, tmp_path: Path) -> None:
    frag = fragment()
    frag["ignition"]["version"] = spec
    custom = customdata.classify(CASES[case], source=case)
    assert custom.kind == customdata.IGNITION
    hand = handin.build(frag, custom, spec=spec)
    check(hand, source="handin", version=spec)
    run = run_ignition(tmp_path, user_config=json.dumps(hand).encode())
    root = run.root
    # The fragment's admin user and key, and the custom data's content, all landed.
    assert "azureuser:" in (root / "etc/passwd").read_text()
    assert "azureuser" in (root / "etc/group").read_text().split("sudo:x:150:")[1].split("\n")[0]
    keys = (root / "home/azureuser/.ssh/authorized_keys.d/ignition").read_text()
    assert ADMIN_KEY in keys
    if case == "plain":
        assert USER_KEY in keys
    assert (
        root / "etc/ssh/sshd_config.d/10-igngen.conf"
    ).read_text() == "PasswordAuthentication no\n"
    for rel, text in EXPECT[case].items():
        assert (root / rel).read_text() == text, rel
    for rel in ABSENT.get(case, []):
        assert not (root / rel).exists(), rel
    preset = root / "etc/systemd/system-preset/20-ignition.preset"
    for unit in UNITS.get(case, []):
        assert (root / "etc/systemd/system" / unit).read_text() == APP_UNIT
        assert f"enable {unit}" in preset.read_text()
    assert json.loads((root / "etc/.ignition-result.json").read_text())["userConfigProvided"]
    # What we predict Ignition applies is what it applied.
    predicted, notes = handin.final(frag, custom)
    assert notes == []
    assert normalise(predicted) == normalise(run.cached_config())


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"", customdata.EMPTY),
        (b"#cloud-config\nhostname: x\n", customdata.CLOUD_CONFIG),
        (b"#!/bin/sh\necho hi\n", customdata.SCRIPT),
    ],
)
def test_non_ignition_customdata_hands_in_the_fragment_alone(
    data: bytes, kind: str, tmp_path: Path
) -> None:
    custom = customdata.classify(data, source="cd")
    assert custom.kind == kind
    hand = handin.build(fragment(), custom, spec="3.3.0")
    assert hand == fragment()
    run = run_ignition(tmp_path, user_config=json.dumps(hand).encode())
    assert "azureuser:" in (run.root / "etc/passwd").read_text()


def test_empty_reference_inside_customdata_is_refused() -> None:
    # Ignition would treat the *whole* user config as empty (fragment lost).
    bad = {"ignition": {"version": "3.3.0", "config": {"merge": [{"source": "data:,"}]}}}
    custom = customdata.classify(json.dumps(bad).encode(), source="cd")
    with pytest.raises(IgnitionConfigError, match="empty"):
        handin.final(fragment(), custom)


def test_remote_references_are_kept_and_flagged() -> None:
    remote = {
        "ignition": {
            "version": "3.3.0",
            "config": {"merge": [{"source": "https://example.com/c.ign"}]},
        }
    }
    custom = customdata.classify(json.dumps(remote).encode(), source="cd")
    final, notes = handin.final(fragment(), custom)
    assert final["ignition"]["config"]["merge"] == [{"source": "https://example.com/c.ign"}]
    assert len(notes) == 1 and "remote reference" in notes[0]


def test_warnings_born_of_the_merge_are_reported_once() -> None:
    """Ignition logs, and does not refuse, a filesystem on a disk that has partitions;
    when the partitions come from one config and the filesystem from the other, only the
    merged result shows it, and igngen says so (located in the custom data)."""
    disks = [{"device": "/dev/sdb", "partitions": [{"number": 1}]}]
    filesystems = [{"device": "/dev/sdb", "format": "ext4", "path": "/data"}]
    fragment: dict[str, Any] = {"ignition": {"version": "3.3.0"}, "storage": {"disks": disks}}
    over: dict[str, Any] = {
        "ignition": {"version": "3.3.0"},
        "storage": {"filesystems": filesystems},
    }
    custom = customdata.classify(json.dumps(over).encode(), source="CustomData.bin")
    merged, notes = handin.final(fragment, custom, source="CustomData.bin")
    assert merged["storage"]["filesystems"][0]["device"] == "/dev/sdb"
    (note,) = notes
    assert note.startswith("CustomData.bin (merged over igngen's fragment)#/storage/filesystems/0")
    assert "partition" in note

    # A warning the custom data already carries on its own is not repeated for the merge.
    both = {**over, "storage": {"filesystems": filesystems, "disks": disks}}
    custom = customdata.classify(json.dumps(both).encode(), source="CustomData.bin")
    assert handin.final(fragment, custom, source="CustomData.bin")[1] == []
