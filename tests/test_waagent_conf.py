"""waagent.conf: parsing with located errors, and the copy igngen ships."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from igngen.azure import waagent_conf
from igngen.errors import WaagentConfError

# The values Flatcar's wa-linux-agent package ships (reference sheet §7b), in
# WALinuxAgent's file layout: comments, blank lines, a trailing comment, quotes.
FLATCAR = """\
#
# Microsoft Azure Linux Agent Configuration
#

# Which provisioning agent to use.
Provisioning.Agent=waagent

Provisioning.RegenerateSshHostKeyPair=n
Provisioning.DecodeCustomData=y
Provisioning.ExecuteCustomData=n

# Format if unformatted. If 'n', resource disk will not be mounted.
ResourceDisk.Format=y
ResourceDisk.Filesystem=ext4
ResourceDisk.MountPoint=/mnt/resource
ResourceDisk.MountOptions=None
ResourceDisk.EnableSwap=n
ResourceDisk.SwapSizeMB=0   # size of the swap file
OS.EnableFirewall=y
AutoUpdate.Enabled=n
Extensions.Label="stable"
"""


def test_parse_flatcar_shipped_file() -> None:
    conf = waagent_conf.parse(FLATCAR, "waagent.conf")
    assert conf.get("Provisioning.Agent") == "waagent"
    assert conf.switch("ResourceDisk.Format") is True
    assert conf.switch("ResourceDisk.EnableSwap") is False
    assert conf.integer("ResourceDisk.SwapSizeMB") == 0  # trailing comment dropped
    assert conf.get("Extensions.Label") == "stable"  # quotes dropped, unknown key kept
    assert conf.at("ResourceDisk.Filesystem") == "waagent.conf:14"
    assert conf.get("Missing.Key") is None and conf.switch("Missing.Key") is None


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ("A=1\nnot a setting\n", "conf:2", "expected Key=Value"),
        ("A=1\n=value\n", "conf:2", "bad key"),
        ("Bad Key=1\n", "conf:1", "bad key"),
        ("ResourceDisk.Format=yes\n", "conf:1", "expected y or n"),
        ("\n\nResourceDisk.SwapSizeMB=2G\n", "conf:3", "whole number"),
    ],
)
def test_errors_name_file_and_line(text: str, where: str, words: str) -> None:
    with pytest.raises(WaagentConfError) as exc:
        conf = waagent_conf.parse(text, "conf")
        conf.switch("ResourceDisk.Format")
        conf.integer("ResourceDisk.SwapSizeMB")
    assert str(exc.value).startswith(f"{where}: ")
    assert words in str(exc.value)
    assert "\n" not in str(exc.value)


def test_switch_is_case_insensitive_and_last_duplicate_wins() -> None:
    conf = waagent_conf.parse("ResourceDisk.Format=n\nResourceDisk.Format=Y\n", "c")
    assert conf.switch("ResourceDisk.Format") is True
    assert conf.at("ResourceDisk.Format") == "c:2"


def test_bad_utf8_is_located() -> None:
    with pytest.raises(WaagentConfError) as exc:
        waagent_conf.parse(b"A=1\n\xff\n", "c")
    assert "UTF-8" in str(exc.value) and str(exc.value).startswith("c: ")


def test_derive_switches_off_what_igngen_owns_and_keeps_the_rest() -> None:
    conf = waagent_conf.parse(FLATCAR, "waagent.conf")
    derived = waagent_conf.derive_for_igngen(conf)
    again = waagent_conf.parse(derived, "derived")
    assert again.get("Provisioning.Agent") == "disabled"
    assert again.switch("ResourceDisk.Format") is False
    assert again.switch("ResourceDisk.EnableSwap") is False
    before = FLATCAR.splitlines()
    after = derived.splitlines()
    assert len(before) == len(after)
    changed = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    # EnableSwap is already n; every other line stays byte for byte.
    assert changed == [
        ("Provisioning.Agent=waagent", "Provisioning.Agent=disabled"),
        ("ResourceDisk.Format=y", "ResourceDisk.Format=n"),
    ]
    assert derived.endswith("\n")


def test_derive_appends_missing_keys_and_comments_out_earlier_duplicates() -> None:
    text = "ResourceDisk.Format=y\r\nOS.X=1\r\nResourceDisk.Format=y\r\n"
    derived = waagent_conf.derive_for_igngen(waagent_conf.parse(text, "c"))
    lines = derived.split("\r\n")
    assert lines[0].startswith("# ResourceDisk.Format=y") and "superseded" in lines[0]
    assert lines[1] == "OS.X=1" and lines[2] == "ResourceDisk.Format=n"
    again = waagent_conf.parse(derived, "d")
    assert again.get("Provisioning.Agent") == "disabled"
    assert again.switch("ResourceDisk.EnableSwap") is False
    assert again.switch("ResourceDisk.Format") is False
    assert "\n" not in derived.replace("\r\n", "")  # line endings kept as CRLF


def test_derive_empty_file() -> None:
    derived = waagent_conf.derive_for_igngen(waagent_conf.parse("", "c"))
    again = waagent_conf.parse(derived, "d")
    assert {k: again.get(k) for k, _ in waagent_conf.OWNED} == dict(waagent_conf.OWNED)


def test_load_reads_a_file_and_reports_missing(tmp_path: Path) -> None:
    path = tmp_path / "waagent.conf"
    path.write_text(FLATCAR)
    assert waagent_conf.load(str(path)).at("ResourceDisk.Format") == f"{path}:13"
    with pytest.raises(WaagentConfError) as exc:
        waagent_conf.load(str(tmp_path / "nope.conf"))
    assert "nope.conf" in str(exc.value)


_KEY = st.from_regex(r"[A-Za-z][A-Za-z0-9.]{0,15}", fullmatch=True)
_VALUE = st.from_regex(r"[A-Za-z0-9/ ._-]{0,12}", fullmatch=True)


@given(st.lists(st.one_of(st.tuples(_KEY, _VALUE), st.just(None)), max_size=12))
def test_derive_is_idempotent_and_keeps_every_other_value(
    items: list[tuple[str, str] | None],
) -> None:
    text = "".join("# comment\n" if item is None else f"{item[0]}={item[1]}\n" for item in items)
    conf = waagent_conf.parse(text, "c")
    derived = waagent_conf.derive_for_igngen(conf)
    assert waagent_conf.derive_for_igngen(waagent_conf.parse(derived, "d")) == derived
    again = waagent_conf.parse(derived, "d")
    owned = dict(waagent_conf.OWNED)
    for key, entry in conf.entries.items():
        if key not in owned:
            assert again.get(key) == entry.value
    for key, value in owned.items():
        assert again.get(key) == value
