"""The pieces under the Butane translator: YAML rules, data URLs, unit names, mount units."""

from __future__ import annotations

import base64
import gzip
import subprocess
import urllib.parse
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.consumers import require

from igngen.butane.contents import make_source
from igngen.butane.mount_units import mount_unit
from igngen.errors import YamlError
from igngen.systemd import escape_path
from igngen.yamlsrc import dump, load_dumped, parse

# --- YAML: go-yaml v3's scalar rules, not PyYAML's YAML 1.1 ones ------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0644", 0o644),
        ("0o644", 0o644),
        ("0x1A4", 420),
        ("0b11", 3),
        ("420", 420),
        ("1_000", 1000),
        ("'0644'", "0644"),
        ('"0644"', "0644"),
        ("no", "no"),
        ("yes", "yes"),
        ("on", "on"),
        ("off", "off"),
        ("y", "y"),
        ("true", True),
        ("False", False),
        ("~", None),
        ("null", None),
        ("", None),
        ("1.5", 1.5),
        ("09", 9.0),
        ("2001-12-14", "2001-12-14"),
        ("=", "="),
    ],
)
def test_scalars_resolve_like_go_yaml(text: str, value: object) -> None:
    assert parse(f"k: {text}\n", source="s").value["k"].value == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("!!str 0644", "0644"),
        ("!!int '12'", 12),
        ("!!binary aGk=", "hi"),
        ("!!float 1", 1),
        ("!!null ''", None),
    ],
)
def test_explicit_tags_win_over_plain_rules(text: str, value: object) -> None:
    assert parse(f"k: {text}\n", source="s").value["k"].value == value


@pytest.mark.parametrize("text", ["!!int x", "!!bool 1", "!!binary '@@@'", "!foo bar"])
def test_impossible_tags_are_located_errors(text: str) -> None:
    with pytest.raises(YamlError, match=r"^s:1:4: "):
        parse(f"k: {text}\n", source="s")


def test_plain_non_strings_keep_their_text() -> None:
    node = parse("a: 0644\nb: true\nc: '7'\n", source="s")
    assert [node.value[k].raw for k in "abc"] == ["0644", "true", None]


def test_alias_bomb_and_recursion_fail_fast() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i, prev in zip("bcdefgh", "abcdefg", strict=True):
        bomb += f"{i}: &{i} [" + ", ".join([f"*{prev}"] * 10) + "]\n"
    with pytest.raises(YamlError, match="alias bomb"):
        parse(bomb, source="s")
    with pytest.raises(YamlError, match="deeper"):
        parse("a: &a [*a]\n", source="s")
    # ordinary aliases are followed
    assert parse("a: &x {k: 1}\nb: *x\n", source="s").plain() == {"a": {"k": 1}, "b": {"k": 1}}


def test_not_utf8_is_an_error() -> None:
    with pytest.raises(YamlError, match="UTF-8"):
        parse(b"k: \xff\n", source="s")


def test_dumped_trees_round_trip() -> None:
    node = parse("a:\n  - 0644\n  - 'x'\nb: {c: yes}\n", source="s")
    back = load_dumped(dump(node), "s")
    assert back.plain() == node.plain() and back.value["a"].value[0].raw == "0644"
    assert back.value["b"].key_where("c") == node.value["b"].key_where("c") == "s:4:5"


# --- data URLs ---------------------------------------------------------------------


def _decode(url: str, compression: str | None) -> bytes:
    head, _, body = url.partition(",")
    data = (
        base64.b64decode(body) if head.endswith(";base64") else urllib.parse.unquote_to_bytes(body)
    )
    return gzip.decompress(data) if compression == "gzip" else data


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_data_url_round_trips_and_is_the_shortest(data: bytes) -> None:
    url, compression = make_source(data, compression=None)
    assert compression in ("", "gzip")
    assert _decode(url, compression) == data
    plain = "data:," + urllib.parse.quote(data, safe="-_.!~*'()")
    b64 = "data:;base64," + base64.b64encode(data).decode()
    assert len(url) + (4 if compression else 0) <= min(len(plain), len(b64))
    # user-set compression: never compressed again, field left alone
    url2, comp2 = make_source(data, compression="gzip")
    assert comp2 is None and url2 in (plain, b64)


# --- unit names and mount units ---------------------------------------------------

_PATH_CHARS = st.sampled_from(list("abcXYZ019-_.:/ @ü\\~%"))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.text(_PATH_CHARS, min_size=1, max_size=8).filter(
            lambda p: p not in (".", "..") and "/" not in p
        ),
        min_size=1,
        max_size=4,
    )
)
def test_escape_matches_systemd_escape(parts: list[str]) -> None:
    path = "/" + "/".join(parts)
    expected = subprocess.run(
        [require("systemd-escape"), "--path", path], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert escape_path(path) == expected


@pytest.mark.parametrize(
    ("fmt", "device", "path", "options", "remote", "name"),
    [
        (
            "ext4",
            "/dev/disk/azure/resource-part1",
            "/mnt/resource",
            ["nofail"],
            False,
            "mnt-resource.mount",
        ),
        ("xfs", "/dev/mapper/data", "/var/lib/data", [], True, "var-lib-data.mount"),
        (
            "swap",
            "/dev/disk/azure/resource-part2",
            None,
            [],
            False,
            "dev-disk-azure-resource\\x2dpart2.swap",
        ),
        ("swap", "/dev/sdb2", None, ["pri=5"], False, "dev-sdb2.swap"),
    ],
)
def test_generated_units_pass_systemd_analyze_verify(
    tmp_path: Path,
    fmt: str,
    device: str,
    path: str | None,
    options: list[str],
    remote: bool,
    name: str,
) -> None:
    """systemd-analyze verify checks the unit name against Where=/What= and every key.

    The devices need not exist: verify only loads the unit (no stubs needed).
    """
    tool = require("systemd-analyze")
    unit = mount_unit(fmt, device, path, options, remote)
    assert unit["name"] == name and not unit["contents"].endswith("\n")
    target = tmp_path / unit["name"]
    target.write_text(unit["contents"])
    proc = subprocess.run([tool, "verify", "--man=no", str(target)], capture_output=True, text=True)
    assert proc.returncode == 0 and "Unknown" not in proc.stderr, proc.stderr
    # and the check can fail: a unit saved under the wrong name is refused
    wrong = tmp_path / ("mnt-wrong.mount" if fmt != "swap" else "dev-wrong.swap")
    wrong.write_text(unit["contents"])
    assert (
        subprocess.run([tool, "verify", "--man=no", str(wrong)], capture_output=True).returncode
        != 0
    )


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x85"), max_size=60))
def test_any_string_written_by_a_yaml_emitter_reaches_the_file_unchanged(text: str) -> None:
    """Whatever PyYAML's emitter writes (plain, quoted, escaped), the file gets exactly ``text``.

    (NEL, U+0085, is left out: PyYAML's emitter writes it raw inside single
    quotes, where YAML folds it as a line break, so PyYAML cannot round-trip it
    either.)
    """
    import yaml

    from igngen.butane.transpile import transpile_bytes

    doc = {"variant": "flatcar", "version": "1.0.0"}
    doc["storage"] = {"files": [{"path": "/f", "contents": {"inline": text}}]}  # type: ignore[assignment]
    result = transpile_bytes(yaml.safe_dump(doc, allow_unicode=True), source="p.bu")
    contents = result.config["storage"]["files"][0]["contents"]
    assert _decode(contents["source"], contents["compression"]) == text.encode()
