"""Per spec version, igngen's verdict on each class Ignition decides (issue 13), as a table.

Verdicts are Ignition 2.26's, read from its sources (config/v3_*/types,
config/shared/errors, docs/migrating-configs.md): ``reject`` (an error),
``warn`` (accepted with a warning), ``accept``. ``igngen validate`` reports
them; Ignition's own view of a field newer than the declared version is a
warning (``newer="warning"``). Where igngen is stricter on purpose the case is
marked ``deliberate`` and the README's table says why. For every version
Debian's Ignition 2.14 accepts, ``ignition-validate`` must agree on
accept/reject (2.14 predates some warnings, so warnings are not compared),
except for the deliberate cases, where it must accept what igngen refuses.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.consumers import ignition_validate, run_ignition
from support.oracle import require_validate
from support.ovf_builder import ovf_xml

from igngen.errors import IgnitionConfigError
from igngen.ignition import spec
from igngen.ignition.parse import parse
from igngen.ignition.translate import translate
from igngen.ignition.validate import check, validate

REPO = Path(__file__).resolve().parent.parent
V = spec.ORDER


def before(version: str, limit: str) -> bool:
    return V[version] < V[limit]


def _text(version: str, body: str) -> str:
    return '{"ignition":{"version":"' + version + '"' + body + "}"


# name -> (config text for a version, expected verdict for that version, deliberate?)
Case = tuple[Callable[[str], str], Callable[[str], str], bool]
CASES: dict[str, Case] = {
    "proxy-not-http": (
        lambda v: _text(v, ',"proxy":{"httpProxy":"ftp://proxy.example:21"}}'),
        lambda v: "warn" if before(v, "3.1.0") else "reject",  # 3.0.0: no proxy field
        False,
    ),
    "proxy-not-a-url": (
        lambda v: _text(v, ',"proxy":{"httpsProxy":"proxy example"}}'),
        lambda v: "warn" if before(v, "3.1.0") else "reject",
        False,
    ),
    "proxy-empty": (
        lambda v: _text(v, ',"proxy":{"httpProxy":""}}'),
        lambda v: "warn" if before(v, "3.1.0") else "reject",
        False,
    ),
    "https-proxy-plain-http": (
        lambda v: _text(v, ',"proxy":{"httpsProxy":"http://proxy.example:3128"}}'),
        lambda v: "warn",
        False,
    ),
    "mode-written-as-float": (
        lambda v: _text(v, '},"storage":{"files":[{"path":"/a","mode":420.0}]}'),
        lambda v: "reject",
        False,
    ),
    "mode-with-exponent": (
        lambda v: _text(v, '},"storage":{"files":[{"path":"/a","mode":4.2e2}]}'),
        lambda v: "reject",
        False,
    ),
    "ca-without-source": (
        lambda v: _text(v, ',"security":{"tls":{"certificateAuthorities":[{}]}}}'),
        lambda v: "reject",
        False,
    ),
    "merge-reference-without-source": (
        lambda v: _text(v, ',"config":{"merge":[{}]}}'),
        lambda v: "accept" if before(v, "3.1.0") else "reject",
        False,
    ),
    "user-without-name": (
        lambda v: _text(v, '},"passwd":{"users":[{"passwordHash":"*"}]}'),
        lambda v: "reject",
        True,  # Ignition runs useradd with no name at boot: refused here, README says why
    ),
    "group-without-name": (
        lambda v: _text(v, '},"passwd":{"groups":[{"gid":1234}]}'),
        lambda v: "reject",
        True,
    ),
    "raid-without-name": (
        lambda v: _text(v, '},"storage":{"raid":[{"level":"raid1","devices":["/dev/a"]}]}'),
        lambda v: "reject",
        True,
    ),
    "kernel-arguments-before-3.3": (
        lambda v: _text(v, '},"kernelArguments":{"shouldExist":["quiet"]}'),
        lambda v: "warn" if before(v, "3.3.0") else "accept",
        False,
    ),
    "luks-discard-before-3.4": (
        lambda v: _text(v, '},"storage":{"luks":[{"name":"l","device":"/dev/a","discard":true}]}'),
        lambda v: "warn" if before(v, "3.4.0") else "accept",  # 3.0/3.1: luks itself is newer
        False,
    ),
    "special-mode-bits": (
        lambda v: _text(v, '},"storage":{"files":[{"path":"/a","mode":2541}]}'),
        lambda v: "warn" if spec.masks_special_bits(v) else "accept",
        False,
    ),
    "virtiofs": (
        lambda v: _text(
            v, '},"storage":{"filesystems":[{"device":"share","format":"virtiofs","path":"/s"}]}'
        ),
        lambda v: "accept" if v == "3.7.0-experimental" else "reject",
        False,
    ),
    "virtiofs-with-label": (
        lambda v: _text(
            v,
            '},"storage":{"filesystems":[{"device":"share","format":"virtiofs","label":"x"}]}',
        ),
        lambda v: "reject",
        False,
    ),
    "custom-clevis-pin": (
        lambda v: _text(
            v,
            '},"storage":{"luks":[{"name":"l","device":"/dev/a",'
            '"clevis":{"custom":{"pin":"yubikey","config":"{}"}}}]}',
        ),
        lambda v: (
            "warn"
            if before(v, "3.2.0")
            else "reject"
            if spec.rules(v) & {"clevis-pin-names"}
            else "accept"
        ),
        False,
    ),
}


def verdict(reports: list[Any]) -> str:
    if any(r.severity == "error" for r in reports):
        return "reject"
    return "warn" if reports else "accept"


def _igngen_verdicts(text: str) -> tuple[str, str]:
    config = parse(text.encode(), source="case")
    return (
        verdict(validate(config, "case", newer="warning")),
        verdict(validate(config, "case", schema=False, newer="warning")),
    )


@pytest.mark.parametrize("version", spec.VERSIONS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_verdict_table(name: str, version: str) -> None:
    build, expected, _ = CASES[name]
    schema_path, fast_path = _igngen_verdicts(build(version))
    assert schema_path == fast_path == expected(version), (name, version)


@pytest.mark.parametrize("version", spec.accepted_specs("2.14.0"))
@pytest.mark.parametrize("name", sorted(CASES))
def test_debian_ignition_agrees(name: str, version: str, tmp_path: Path) -> None:
    require_validate()
    build, expected, deliberate = CASES[name]
    text = build(version)
    ours = expected(version) != "reject"
    theirs = ignition_validate(text, tmp_path).returncode == 0
    if deliberate:
        assert theirs and not ours, (name, version)
    else:
        assert theirs == ours, (name, version, ignition_validate(text, tmp_path).stdout)


# Cases whose storage needs real block devices (and cryptsetup/mdadm) in the files stage:
# on a scratch root only fetch-offline, which parses and validates, can speak for them.
DEVICE_CASES = {"luks-discard-before-3.4", "custom-clevis-pin", "virtiofs", "virtiofs-with-label"}
# Pinned: Ignition 2.14's validator accepts an empty merge reference in spec 3.0.0, but
# fetch-offline then fails the boot with "source is required".
BOOT_FAILS_ALTHOUGH_VALID = {("merge-reference-without-source", "3.0.0")}


@pytest.mark.consumer
@pytest.mark.parametrize("version", spec.accepted_specs("2.14.0"))
@pytest.mark.parametrize("name", sorted(n for n, case in CASES.items() if not case[2]))
def test_debian_ignition_stages_agree(name: str, version: str, tmp_path: Path) -> None:
    """The same table through the Ignition that boots: fetch-offline then files on a
    scratch root. What igngen refuses stops Ignition; what igngen accepts (or only warns
    about) runs through. (The deliberate differences are refused on purpose and are not
    run: Ignition would call useradd/mdadm with no name.)"""
    build, expected, _ = CASES[name]
    stages = ("fetch-offline",) if name in DEVICE_CASES else ("fetch-offline", "files")
    run = run_ignition(tmp_path, user_config=build(version).encode(), stages=stages, check=False)
    ours = expected(version) != "reject"
    if (name, version) in BOOT_FAILS_ALTHOUGH_VALID:
        assert ours and run.returncode != 0 and "source is required" in run.log, run.log[-1500:]
        return
    assert (run.returncode == 0) == ours, (name, version, run.stage, run.log[-1500:])


def test_the_table_is_the_only_place_versions_are_named() -> None:
    """Adding a spec version is one entry in spec.SPECS: no version literal elsewhere."""
    literal = re.compile(r"""["']3\.\d+\.\d+(-experimental)?["']""")
    offenders = []
    for path in sorted((REPO / "igngen").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        if rel == "igngen/ignition/spec.py" or rel.startswith("igngen/butane/"):
            continue  # Butane variants name their target spec (igngen/butane/versions.py)
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if literal.search(line) and not line.lstrip().startswith("#"):
                offenders.append(f"{rel}:{n}: {line.strip()}")
    assert offenders == []


def test_everything_is_derived_from_the_table() -> None:
    from igngen import settings
    from igngen.ignition.schema import schema_for

    assert settings.OUTPUT_SPECS == spec.OUTPUT_SPECS
    assert "3.6.0" in spec.OUTPUT_SPECS and "3.7.0-experimental" in spec.OUTPUT_SPECS
    assert settings.DEFAULT_SPEC == "3.3.0"  # newest stable spec Ignition 2.14 accepts
    assert spec.FIRST_IGNITION["3.6.0"] == "2.26.0"
    assert spec.FIRST_IGNITION["3.7.0-experimental"] == "2.26.0"
    assert spec.accepted_specs("2.14.0")[-1] == "3.4.0-experimental"
    assert "3.4.0-experimental" not in spec.accepted_specs("2.26.0")
    assert spec.accepted_specs("2.26.0")[-2:] == ("3.6.0", "3.7.0-experimental")
    for version in spec.VERSIONS:
        assert schema_for(version)["title"].endswith(version)
    help_text = subprocess.run(
        [sys.executable, "-m", "igngen", "render", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    ).stdout
    assert "{" + ",".join(spec.OUTPUT_SPECS) + "}" in help_text


def test_3_6_and_3_7_add_no_fields() -> None:
    assert spec.tree("3.6.0").fields.keys() == spec.tree("3.5.0").fields.keys()
    assert spec.BY_VERSION["3.6.0"].fields == spec.BY_VERSION["3.7.0-experimental"].fields == ()


@pytest.mark.parametrize(
    ("config", "goal", "pointer"),
    [
        (
            {
                "ignition": {"version": "3.6.0"},
                "storage": {"files": [{"path": "/a", "mode": 2541}]},
            },
            "3.5.0",
            "/storage/files/0/mode",
        ),
        (
            {
                "ignition": {"version": "3.7.0-experimental"},
                "storage": {"filesystems": [{"device": "tag", "format": "virtiofs"}]},
            },
            "3.6.0",
            "/storage/filesystems/0/format",
        ),
        (
            {
                "ignition": {"version": "3.6.0"},
                "storage": {
                    "luks": [
                        {
                            "name": "l",
                            "device": "/dev/a",
                            "clevis": {"custom": {"pin": "yubikey", "config": "{}"}},
                        }
                    ]
                },
            },
            "3.5.0",
            "/storage/luks/0/clevis/custom/pin",
        ),
    ],
)
def test_translate_down_refuses_what_the_older_spec_loses(
    config: dict[str, Any], goal: str, pointer: str
) -> None:
    with pytest.raises(IgnitionConfigError) as exc:
        translate(config, goal)
    assert exc.value.pointer == pointer


def test_translate_down_from_3_7_experimental_when_nothing_newer_is_used() -> None:
    config = {
        "ignition": {"version": "3.7.0-experimental"},
        "storage": {"files": [{"path": "/a", "mode": 420}]},
    }
    down = translate(config, "3.3.0")
    assert down == {**config, "ignition": {"version": "3.3.0"}}
    assert translate(down, "3.7.0-experimental") == config


# --- render at the new specs: igngen's validator, then down to 3.3.0 for Debian's 2.14


def _render(
    tmp_path: Path, *args: str, custom: bytes | None = None
) -> subprocess.CompletedProcess[str]:
    ovf = tmp_path / "ovf-env.xml"
    ovf.write_bytes(ovf_xml(password="Spec-Versions-Pa55", disable_pw="false"))
    extra: list[str] = []
    if custom is not None:
        (tmp_path / "custom.ign").write_bytes(custom)
        extra = ["--customdata", str(tmp_path / "custom.ign")]
    return subprocess.run(
        [sys.executable, "-m", "igngen", "render", "--ovf", str(ovf), *extra, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )


@pytest.mark.parametrize("output", ["3.6.0", "3.7.0-experimental"])
def test_render_at_new_specs_translates_down_and_passes_debian(output: str, tmp_path: Path) -> None:
    custom = json.dumps(
        {"ignition": {"version": "3.2.0"}, "storage": {"files": [{"path": "/etc/motd"}]}}
    ).encode()
    for args in (("--fragment-only",), ("--handin",), ()):
        res = _render(tmp_path, "--spec", output, *args, custom=custom)
        assert res.returncode == 0, res.stderr
        config = json.loads(res.stdout)
        assert config["ignition"]["version"] == output
        assert [r for r in validate(config, "render") if r.severity == "error"] == []
        check(config, source="render", version=output)
        down = translate(config, "3.3.0", source="render")
        require_validate()
        proc = ignition_validate(json.dumps(down), tmp_path)
        assert proc.returncode == 0, (args, proc.stdout)


def test_render_refuses_custom_data_whose_merge_fails_the_boot(tmp_path: Path) -> None:
    # igngen's fragment owns authorized_keys by user *name*; an id here leaves both set.
    custom = json.dumps(
        {
            "ignition": {"version": "3.3.0"},
            "storage": {
                "files": [
                    {"path": "/etc/motd"},
                    {"path": "/home/azureuser/.ssh/authorized_keys", "user": {"id": 1000}},
                ]
            },
        }
    ).encode()
    out = tmp_path / "out.ign"
    res = _render(tmp_path, "-o", str(out), custom=custom)
    assert res.returncode == 65 and not out.exists()
    errors = [line for line in res.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "Traceback" not in res.stderr
    assert "#/storage/files/1/user: after merging over igngen's fragment" in errors[0]
    assert "give either id or name, not both" in errors[0]


def test_render_drops_an_empty_3_0_merge_reference_and_says_so(tmp_path: Path) -> None:
    """The pinned case above: Ignition would fail the boot on it; igngen resolves
    references itself, so the hand-off carries none, and the drop is reported."""
    custom = b'{"ignition":{"version":"3.0.0","config":{"merge":[{}]}},"storage":{"files":[{"path":"/etc/motd"}]}}'
    out = tmp_path / "out.ign"
    res = _render(tmp_path, "-o", str(out), custom=custom)
    assert res.returncode == 0, res.stderr
    rendered = json.loads(out.read_text())
    assert "config" not in rendered["ignition"]
    assert any(f["path"] == "/etc/motd" for f in rendered["storage"]["files"])
    warnings = [line for line in res.stderr.splitlines() if "warning" in line]
    assert any(
        "#/ignition/config/merge/0: reference without a source dropped" in line
        and "source is required" in line
        for line in warnings
    ), res.stderr


def test_render_drops_newer_fields_of_custom_data_with_a_warning(tmp_path: Path) -> None:
    custom = json.dumps(
        {
            "ignition": {"version": "3.2.0"},
            "kernelArguments": {"shouldExist": ["quiet"]},
            "storage": {"files": [{"path": "/etc/motd"}]},
        }
    ).encode()
    res = _render(tmp_path, custom=custom)
    assert res.returncode == 0, res.stderr
    config = json.loads(res.stdout)
    assert "kernelArguments" not in config
    assert "/etc/motd" in [f["path"] for f in config["storage"]["files"]]
    assert "kernelArguments" in res.stderr


@pytest.mark.parametrize(
    ("ignition", "needed", "chosen"),
    [
        ("2.14.0", None, "3.3.0"),
        ("2.14.0", "3.3.0", "3.3.0"),
        ("2.14.0", "3.4.0-experimental", "3.3.0"),  # never an experimental one on its own
        ("2.15.0", "3.4.0", "3.4.0"),
        ("2.19.0", "3.5.0", "3.4.0"),  # the newest it accepts
        ("2.20.0", "3.2.0", "3.3.0"),  # never newer than needed
        ("2.26.0", "3.6.0", "3.6.0"),
        ("2.26.0", "3.7.0-experimental", "3.6.0"),
        ("2.26.0", None, "3.3.0"),
    ],
)
def test_output_spec_for_an_ignition_release(
    ignition: str, needed: str | None, chosen: str
) -> None:
    assert spec.choose_output_spec(ignition, needed) == chosen
    assert spec.accepted_by(chosen, ignition)


def test_ignition_release_from_version_output() -> None:
    assert spec.ignition_release("Ignition v2.26.0\n") == "2.26.0"
    assert spec.ignition_release("Ignition Debian 2.14.0+ds1-1+b6") == "2.14.0"
    assert spec.ignition_release("something else") is None
    installed = Path("/usr/lib/dracut/modules.d/30ignition/ignition")
    if installed.exists():
        out = subprocess.run(
            [str(installed), "--version"], capture_output=True, text=True, timeout=30
        )
        release = spec.ignition_release(out.stdout + out.stderr)
        assert release is not None and spec.choose_output_spec(release) == "3.3.0"


def test_custom_data_at_a_spec_flatcars_ignition_refuses_is_warned_about() -> None:
    from igngen.ignition.customdata import classify

    got = classify(b'{"ignition":{"version":"3.4.0-experimental"}}', source="cd")
    assert got.is_ignition and "Ignition 2.26.0 refuses spec 3.4.0-experimental" in got.note
    assert classify(b'{"ignition":{"version":"3.6.0"}}', source="cd").note == ""
