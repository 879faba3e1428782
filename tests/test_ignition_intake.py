"""Parsing, custom-data classification (Flatcar patch 0011 rules), translation, CLI."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from igngen.errors import EX_USAGE, CustomDataError, IgnitionConfigError
from igngen.ignition import customdata
from igngen.ignition.parse import parse
from igngen.ignition.translate import translate

MIN = b'{"ignition":{"version":"3.3.0"}}'


def test_parse_locates_syntax_errors() -> None:
    with pytest.raises(IgnitionConfigError) as err:
        parse(b'{"ignition": {"version": "3.3.0"},\n  "storage": {,}}', source="x.ign")
    assert str(err.value).startswith("x.ign:2:15: invalid JSON")


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b"", "x.ign"),
        (b"[]", "x.ign#/"),
        (b"{}", "x.ign#/ignition/version"),
        (b'{"ignition":{"version":"3.9.0"}}', "x.ign#/ignition/version"),
    ],
)
def test_parse_refuses(data: bytes, where: str) -> None:
    with pytest.raises(IgnitionConfigError) as err:
        parse(data, source="x.ign")
    assert str(err.value).startswith(where + ":")


@pytest.mark.parametrize("version", ["1.0.0", "2.0.0", "2.3.0"])
def test_legacy_specs_are_named(version: str) -> None:
    data = json.dumps({"ignition": {"version": version}}).encode()
    with pytest.raises(IgnitionConfigError, match=r"1\.x/2\.x.*does not translate"):
        parse(data, source="old.ign")
    got = customdata.classify(data, source="cd")
    assert (got.kind == customdata.LEGACY_IGNITION and "2.x" not in got.note) or version in got.note


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"", customdata.EMPTY),
        (b" \n\t", customdata.EMPTY),
        (b"#cloud-config\nusers: []\n", customdata.CLOUD_CONFIG),
        (b"#cloud-config  \r\nusers: []\n", customdata.CLOUD_CONFIG),
        (b"#!/bin/bash\necho\n", customdata.SCRIPT),
        (b"#!", customdata.SCRIPT),
        (
            b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n--b\n',
            customdata.MIME,
        ),
        (MIN, customdata.IGNITION),
        (gzip.compress(MIN), customdata.IGNITION),
        (gzip.compress(b"#cloud-config\n"), customdata.CLOUD_CONFIG),
    ],
)
def test_classify_kinds(data: bytes, kind: str) -> None:
    got = customdata.classify(data, source="cd")
    assert got.kind == kind
    assert (got.config is not None) == (kind == customdata.IGNITION)
    if kind in (customdata.CLOUD_CONFIG, customdata.SCRIPT, customdata.MIME):
        assert "coreos-cloudinit" in got.note


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b"#cloud-config-archive\n- x\n", "cd:1:1"),  # not patch 0011's exact first line
        (b" #cloud-config\n", "cd:1:2"),
        (b'{"ignition": {"version": "3.3.0"}, }', "cd:1:36"),
        (b"{}", "cd#/ignition/version"),
        (
            b'{"ignition":{"version":"3.3.0"},"storage":{"files":[{"path":"rel"}]}}',
            "cd#/storage/files/0/path",
        ),
        (b"\x1f\x8b\x08garbage", "cd"),
    ],
)
def test_classify_errors_are_located(data: bytes, where: str) -> None:
    with pytest.raises(CustomDataError) as err:
        customdata.classify(data, source="cd")
    assert str(err.value).startswith(where + ":")


def test_newer_field_in_customdata_is_a_note_not_an_error() -> None:
    data = b'{"ignition":{"version":"3.2.0"},"kernelArguments":{"shouldExist":["a"]}}'
    got = customdata.classify(data, source="cd")
    assert got.kind == customdata.IGNITION
    assert "needs spec 3.3.0" in got.note


def _cfg(version: str, **extra: Any) -> dict[str, Any]:
    return {"ignition": {"version": version}, **extra}


def test_translate_up_and_down() -> None:
    c = _cfg("3.0.0", storage={"files": [{"path": "/a"}]})
    up = translate(c, "3.5.0")
    assert up["ignition"]["version"] == "3.5.0" and up["storage"] == c["storage"]
    assert translate(up, "3.0.0") == c
    assert c["ignition"]["version"] == "3.0.0"  # input untouched


@pytest.mark.parametrize(
    ("config", "to", "pointer"),
    [
        (_cfg("3.3.0", kernelArguments={"shouldExist": ["a"]}), "3.2.0", "/kernelArguments"),
        (
            _cfg("3.2.0", storage={"luks": [{"name": "l", "device": "/dev/a"}]}),
            "3.1.0",
            "/storage/luks",
        ),
        (
            _cfg(
                "3.1.0",
                ignition={
                    "version": "3.1.0",
                    "config": {"merge": [{"source": "data:,", "compression": ""}]},
                },
            ),
            "3.0.0",
            "/ignition/config/merge/0/compression",
        ),
        (
            _cfg("3.2.0", storage={"files": [{"path": "/a", "contents": {"source": "gs://b/o"}}]}),
            "3.1.0",
            "/storage/files/0/contents/source",
        ),
        (
            _cfg("3.3.0", storage={"filesystems": [{"device": "/dev/a", "format": "none"}]}),
            "3.2.0",
            "/storage/filesystems/0/format",
        ),
        (
            _cfg(
                "3.4.0",
                storage={"files": [{"path": "/a", "contents": {"source": "arn:aws:s3:::b/o"}}]},
            ),
            "3.3.0",
            "/storage/files/0/contents/source",
        ),
        (
            _cfg(
                "3.5.0",
                storage={"luks": [{"name": "l", "device": "/dev/a", "cex": {"enabled": True}}]},
            ),
            "3.4.0",
            "/storage/luks/0/cex",
        ),
    ],
)
def test_translate_down_names_the_field(config: dict[str, Any], to: str, pointer: str) -> None:
    with pytest.raises(IgnitionConfigError) as err:
        translate(config, to)
    assert err.value.pointer == pointer


def test_translate_via_experimental() -> None:
    c = _cfg(
        "3.4.0-experimental",
        storage={"files": [{"path": "/a", "contents": {"source": "arn:aws:s3:::b/o"}}]},
    )
    assert translate(c, "3.4.0")["ignition"]["version"] == "3.4.0"
    with pytest.raises(IgnitionConfigError):
        translate(c, "3.3.0")
    assert (
        translate(_cfg("3.3.0"), "3.4.0-experimental")["ignition"]["version"]
        == "3.4.0-experimental"
    )


def _igngen(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "igngen", *args], capture_output=True, text=True, cwd=cwd, timeout=60
    )


def test_cli_validate(tmp_path: Path) -> None:
    good = tmp_path / "good.ign"
    good.write_text('{"ignition":{"version":"3.3.0"},"extra":1}')
    bad = tmp_path / "bad.ign"
    bad.write_text(
        '{"ignition":{"version":"3.2.0"},"kernelArguments":{},"storage":{"files":[{"path":"/a"},{"path":"/a"}]}}'
    )
    broken = tmp_path / "broken.ign"
    broken.write_text('{"ignition":\n}')
    ok = _igngen("validate", str(good), cwd=tmp_path)
    assert ok.returncode == 0 and ok.stdout == ""
    assert f"{good}#/extra: unknown field" in ok.stderr
    res = _igngen("validate", str(good), str(bad), str(broken), cwd=tmp_path)
    assert res.returncode == 65
    lines = res.stdout.splitlines()
    newer = f"{bad}#/kernelArguments: field 'kernelArguments' needs spec 3.3.0 or newer (config declares 3.2.0)"
    # Ignition drops a field newer than the declared version with a warning: so does validate.
    assert newer not in lines and f"warning: {newer}" in res.stderr.splitlines()
    assert f"{bad}#/storage/files/1: duplicate entry '/a' (also at /storage/files/0)" in lines
    assert any(line.startswith(f"{broken}:2:1: invalid JSON") for line in lines)
    assert "Traceback" not in res.stderr
    strict = _igngen("validate", "--strict", str(good), cwd=tmp_path)
    assert strict.returncode == 65 and f"{good}#/extra: unknown field" in strict.stdout


@pytest.mark.parametrize(
    ("version", "ignition", "accepted"),
    [
        ("3.4.0-experimental", "2.14.0", True),
        ("3.4.0-experimental", "2.26.0", False),
        ("3.4.0", "2.14.0", False),
        ("3.4.0", "2.15.0", True),
        ("3.5.0", "2.19.0", False),
        ("3.5.0", "2.20.0", True),
        ("3.6.0", "2.25.1", False),
        ("3.6.0", "2.26.0", True),
        ("3.7.0-experimental", "2.26.0", True),
        ("3.3.0", "2.14.0", True),
    ],
)
def test_cli_validate_target_ignition(
    tmp_path: Path, version: str, ignition: str, accepted: bool
) -> None:
    cfg = tmp_path / "c.ign"
    cfg.write_text(json.dumps({"ignition": {"version": version}}))
    res = _igngen("validate", "--ignition", ignition, str(cfg), cwd=tmp_path)
    assert (res.returncode == 0) is accepted, res.stdout
    if not accepted:
        assert f"{cfg}#/ignition/version: Ignition {ignition} refuses spec {version}" in res.stdout


def test_cli_validate_default_target_is_flatcar_current(tmp_path: Path) -> None:
    cfg = tmp_path / "c.ign"
    cfg.write_text('{"ignition":{"version":"3.4.0-experimental"}}')
    res = _igngen("validate", str(cfg), cwd=tmp_path)
    assert res.returncode == 65 and "Ignition 2.26.0 refuses" in res.stdout
    bad = _igngen("validate", "--ignition", "two", str(cfg), cwd=tmp_path)
    assert bad.returncode == EX_USAGE and "--ignition" in bad.stderr


def test_cli_merge(tmp_path: Path) -> None:
    parent = tmp_path / "p.ign"
    parent.write_text(
        '{"ignition":{"version":"3.0.0"},"storage":{"files":[{"path":"/a","mode":384}]}}'
    )
    child = tmp_path / "c.ign"
    child.write_text('{"ignition":{"version":"3.1.0"},"storage":{"directories":[{"path":"/a"}]}}')
    out = tmp_path / "out.ign"
    res = _igngen("merge", str(parent), str(child), "--spec", "3.3.0", "-o", str(out), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    merged = json.loads(out.read_text())
    assert merged == {
        "ignition": {"version": "3.3.0"},
        "storage": {"files": [], "directories": [{"path": "/a"}]},
    }
    res = _igngen("merge", str(parent), str(child), cwd=tmp_path)
    assert json.loads(res.stdout)["ignition"]["version"] == "3.1.0"
    res = _igngen(
        "merge", str(parent), str(tmp_path / "missing.ign"), "-o", str(tmp_path / "x"), cwd=tmp_path
    )
    assert res.returncode == 66 and not (tmp_path / "x").exists()
    newer = tmp_path / "n.ign"
    newer.write_text('{"ignition":{"version":"3.3.0"},"kernelArguments":{"shouldExist":["a"]}}')
    res = _igngen("merge", str(parent), str(newer), "--spec", "3.2.0", cwd=tmp_path)
    assert res.returncode == 65 and "merged config#/kernelArguments" in res.stderr
    # A child using a field newer than its declared version: Ignition drops it with a
    # warning and merges the rest; so does merge.
    old = tmp_path / "o.ign"
    old.write_text(
        '{"ignition":{"version":"3.2.0"},"kernelArguments":{"shouldExist":["a"]},'
        '"storage":{"files":[{"path":"/b"}]}}'
    )
    res = _igngen("merge", str(parent), str(old), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert (
        f"warning: {old}#/kernelArguments: field 'kernelArguments' needs spec 3.3.0" in res.stderr
    )
    assert json.loads(res.stdout) == {
        "ignition": {"version": "3.2.0"},
        "storage": {"files": [{"path": "/a", "mode": 384}, {"path": "/b"}]},
    }


@pytest.mark.parametrize(
    ("parent", "child", "pointer", "message"),
    [
        (
            {"storage": {"files": [{"path": "/a", "user": {"name": "core"}}]}},
            {"storage": {"files": [{"path": "/z"}, {"path": "/a", "user": {"id": 500}}]}},
            "/storage/files/1/user",
            "give either id or name, not both",
        ),
        (
            {"storage": {"directories": [{"path": "/d", "group": {"id": 5}}]}},
            {"storage": {"directories": [{"path": "/d", "group": {"name": "wheel"}}]}},
            "/storage/directories/0/group",
            "give either id or name, not both",
        ),
        (
            {
                "storage": {
                    "disks": [
                        {"device": "/dev/sdb", "partitions": [{"number": 1, "label": "data"}]}
                    ]
                }
            },
            {
                "storage": {
                    "disks": [
                        {"device": "/dev/sdb", "partitions": [{"number": 2, "label": "data"}]}
                    ]
                }
            },
            "/storage/disks/0/partitions/0/label",
            "duplicate partition label 'data'",
        ),
        (
            {"storage": {"directories": [{"path": "/d"}]}},
            {"storage": {"links": [{"path": "/l", "target": "/d", "hard": True}]}},
            "/storage/links/0",
            "hard link to a directory",
        ),
        (
            {"storage": {"links": [{"path": "/etc/x", "target": "/tmp"}]}},
            {"storage": {"files": [{"path": "/etc/x/y"}]}},
            "/storage/files/0",
            "path '/etc/x/y' goes through a link",
        ),
    ],
)
def test_cli_merge_validates_the_result(
    tmp_path: Path, parent: dict[str, object], child: dict[str, object], pointer: str, message: str
) -> None:
    p, c = tmp_path / "p.ign", tmp_path / "c.ign"
    p.write_text(json.dumps({"ignition": {"version": "3.3.0"}, **parent}))
    c.write_text(json.dumps({"ignition": {"version": "3.3.0"}, **child}))
    out = tmp_path / "out.ign"
    res = _igngen("merge", str(p), str(c), "-o", str(out), cwd=tmp_path)
    assert res.returncode == 65 and not out.exists(), res.stderr
    assert f"{c}#{pointer}: after merging over the configs before it: {message}" in res.stderr
    assert "merging configs resulted in an invalid config" in res.stderr


@pytest.mark.parametrize(
    ("luks", "ok"),
    [
        ({"name": "l", "device": "/dev/a", "cex": {"enabled": True}}, True),
        (
            {"name": "l", "device": "/dev/a", "cex": {"enabled": True}, "clevis": {"tpm2": True}},
            False,
        ),
        (
            {
                "name": "l",
                "device": "/dev/a",
                "cex": {"enabled": True},
                "keyFile": {"source": "data:,k"},
            },
            False,
        ),
        (
            {"name": "l", "device": "/dev/a", "cex": {"enabled": False}, "clevis": {"tpm2": True}},
            True,
        ),
    ],
)
def test_cex_rules_3_5(luks: dict[str, Any], ok: bool) -> None:
    from igngen.ignition.validate import check

    config = _cfg("3.5.0", storage={"luks": [luks]})
    if ok:
        check(config, source="c")
    else:
        with pytest.raises(IgnitionConfigError, match="cex cannot"):
            check(config, source="c")
