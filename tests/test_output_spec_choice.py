"""The output spec follows the Ignition that will read it (issue 13, hand-off per
generation): the newest stable spec that release accepts, never newer than the custom
data needs; an output.spec in the settings always wins; an unknown or odd Ignition
leaves the default."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from support.ovf_builder import ED25519, ovf_xml

from igngen import settings as settings_mod
from igngen.ignition import installed
from igngen.ignition.spec import DEFAULT_OUTPUT_SPEC
from igngen.render.pipeline import RenderInputs, render

REPO = Path(__file__).resolve().parent.parent
KEYS: list[tuple[str | None, str | None]] = [("/home/azureuser/.ssh/authorized_keys", ED25519)]


def _custom(version: str) -> bytes:
    return json.dumps({"ignition": {"version": version}}).encode()


def _spec_for(target: str | None, custom: bytes | None, settings_yaml: bytes = b"") -> str:
    inputs = RenderInputs(
        ovf=ovf_xml(keys=KEYS), customdata=custom, target_ignition=target, nvme_present=frozenset()
    )
    settings = settings_mod.parse(settings_yaml) if settings_yaml else settings_mod.Settings()
    result = render(inputs, settings)
    version = result.handin["ignition"]["version"]
    assert result.fragment["ignition"]["version"] == version
    return str(version)


@pytest.mark.parametrize(
    ("target", "custom", "expected"),
    [
        (None, "3.5.0", DEFAULT_OUTPUT_SPEC),  # no Ignition known: the settings' spec
        ("2.26.0", None, "3.3.0"),  # nothing newer needed: the default, read everywhere
        ("2.26.0", "3.3.0", "3.3.0"),
        ("2.26.0", "3.5.0", "3.5.0"),  # as new as the custom data needs, no newer
        ("2.26.0", "3.6.0", "3.6.0"),
        ("2.20.0", "3.6.0", "3.5.0"),  # never newer than the Ignition accepts
        ("2.15.0", "3.5.0", "3.4.0"),
        ("2.14.0", "3.5.0", "3.3.0"),
        ("2.14.0", "3.4.0-experimental", "3.3.0"),  # experimental specs are never chosen
        ("2.26.0", "3.7.0-experimental", "3.6.0"),
    ],
)
def test_spec_follows_the_target_ignition(
    target: str | None, custom: str | None, expected: str
) -> None:
    assert _spec_for(target, None if custom is None else _custom(custom)) == expected


def test_settings_output_spec_wins() -> None:
    assert _spec_for("2.26.0", _custom("3.6.0"), b"output: {spec: 3.4.0}\n") == "3.4.0"
    # Even when it is the default value: naming it is a decision.
    assert _spec_for("2.26.0", _custom("3.6.0"), b"output: {spec: 3.3.0}\n") == "3.3.0"


def _stand_in(tmp: Path, body: str) -> str:
    path = tmp / "ignition"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ('echo "Ignition v2.26.0"', "2.26.0"),
        ('echo "Ignition Debian 2.14.0+ds1-1+b6"', "2.14.0"),
        ('echo "Ignition v2.26.0" >&2', "2.26.0"),
        ("echo hello", None),
        ("exit 3", None),
    ],
)
def test_release_from_the_binary(tmp_path: Path, answer: str, expected: str | None) -> None:
    found, why = installed.release(_stand_in(tmp_path, answer + "\n"))
    assert found == expected, why


def test_release_is_bounded_and_never_raises(tmp_path: Path) -> None:
    assert installed.release(str(tmp_path / "missing"))[0] is None
    assert installed.release(str(tmp_path))[0] is None  # a directory
    hung = _stand_in(tmp_path, "exec sleep 60\n")
    found, why = installed.release(hung)
    assert found is None and "no answer within" in why


def _provision(tmp: Path, ignition: str, settings: str = "") -> dict[str, object]:
    media = tmp / "media"
    media.mkdir()
    (media / "ovf-env.xml").write_bytes(ovf_xml(keys=KEYS))
    (media / "CustomData.bin").write_bytes(_custom("3.5.0"))
    config = tmp / "igngen.yaml"
    config.write_text(f"provision: {{ignition_binary: {ignition}}}\n{settings}")
    proc = subprocess.run(
        [sys.executable, "-m", "igngen", "provision", "--media", str(media), "--imds-url", "",
         "--handoff-dir", str(tmp / "handoff"), "--kvp-pool", str(tmp / "kvp"),
         "--state-dir", str(tmp / "state"), "--image-dir", str(tmp / "none"),
         "--config", str(config)],
        capture_output=True, text=True, timeout=120, cwd=REPO, env=dict(os.environ),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    user: dict[str, object] = json.loads((tmp / "handoff" / "user.ign").read_bytes())
    return user


def test_provision_asks_the_initramfs_ignition(tmp_path: Path) -> None:
    user = _provision(tmp_path, _stand_in(tmp_path, 'echo "Ignition v2.26.0"\n'))
    assert user["ignition"] == {"version": "3.5.0", **_rest(user)}


def test_provision_keeps_the_settings_spec(tmp_path: Path) -> None:
    ignition = _stand_in(tmp_path, 'echo "Ignition v2.26.0"\n')
    user = _provision(tmp_path, ignition, "output: {spec: 3.3.0}\n")
    assert user["ignition"] == {"version": "3.3.0", **_rest(user)}


def _rest(user: dict[str, object]) -> dict[str, object]:
    ign = user["ignition"]
    assert isinstance(ign, dict)
    return {k: v for k, v in ign.items() if k != "version"}


def test_render_takes_the_target_ignition(tmp_path: Path) -> None:
    ovf = tmp_path / "ovf-env.xml"
    ovf.write_bytes(ovf_xml(keys=KEYS))
    custom = tmp_path / "custom.json"
    custom.write_bytes(_custom("3.5.0"))

    def render_cli(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "igngen", "render", "--ovf", str(ovf), "--customdata",
             str(custom), "--handin", *extra],
            capture_output=True, text=True, timeout=60, cwd=REPO,
        )  # fmt: skip

    versions = {}
    for release in ("2.26.0", "2.14.0"):
        proc = render_cli("--ignition", release)
        assert proc.returncode == 0, proc.stderr
        versions[release] = json.loads(proc.stdout)["ignition"]["version"]
    assert versions == {"2.26.0": "3.5.0", "2.14.0": "3.3.0"}
    pinned = render_cli("--ignition", "2.26.0", "--spec", "3.4.0")
    assert json.loads(pinned.stdout)["ignition"]["version"] == "3.4.0"
    bad = render_cli("--ignition", "two")
    assert bad.returncode == 2 and bad.stdout == "" and "--ignition" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_release_output_is_bounded(tmp_path: Path) -> None:
    # Gigabytes of output cost neither memory nor time; the first line still counts.
    chatty = _stand_in(tmp_path, 'echo "Ignition v2.26.0"; exec cat /dev/zero\n')
    found, why = installed.release(chatty)
    assert found == "2.26.0", why
