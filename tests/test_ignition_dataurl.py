"""Data URLs: encode/decode round trip, Ignition's syntax rules, and real Ignition writing them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.consumers import run_ignition

from igngen.errors import IgnitionConfigError
from igngen.ignition.dataurl import check_syntax, decode, encode

_OUTPUT = re.compile(r"data:(,[A-Za-z0-9\-_.~%]*|;base64,[A-Za-z0-9+/=]*)")


@given(st.binary(max_size=300))
def test_round_trip_and_safe_alphabet(data: bytes) -> None:
    url = encode(data)
    assert _OUTPUT.fullmatch(url), url
    assert check_syntax(url) is None
    assert decode(url) == data
    assert encode(data) == url  # deterministic


@given(st.text(max_size=200))
def test_shorter_encoding_wins(text: str) -> None:
    data = text.encode()
    url = encode(data)
    plain_len = len("data:,") + sum(
        1 if (chr(b).isalnum() and b < 128) or b in b"-_.~" else 3 for b in data
    )
    b64_len = len("data:;base64,") + 4 * ((len(data) + 2) // 3)
    assert len(url) == min(plain_len, b64_len)


@pytest.mark.parametrize(
    "char", [" ", "#", '"', "{", "}", "<", ">", "|", "[", "]", "^", "`", "\\", "é", "\n", "\t"]
)
def test_characters_ignition_rejects(char: str) -> None:
    assert check_syntax(f"data:,a{char}b") is not None
    with pytest.raises(IgnitionConfigError):
        decode(f"data:,a{char}b", source="cfg", pointer="/x")


@pytest.mark.parametrize(
    "url", ["data:,%", "data:,%4", "data:,%zz", "data:;base64,a", "data:nocomma", "http://x"]
)
def test_malformed(url: str) -> None:
    with pytest.raises(IgnitionConfigError) as err:
        decode(url, source="cfg", pointer="/storage/files/0/contents/source")
    assert str(err.value).startswith("cfg#/storage/files/0/contents/source: ")


def test_accepted_punctuation_and_media_types() -> None:
    assert decode("data:,a!~*'()=/:,;?+@$&") == b"a!~*'()=/:,;?+@$&"
    assert decode("data:text/plain;charset=utf-8;base64,aGk=") == b"hi"
    assert decode("data:,%41%0a") == b"A\n"


@pytest.mark.consumer
def test_real_ignition_writes_the_exact_bytes(tmp_path: Path) -> None:
    samples = [
        b"",
        bytes(range(256)),
        'héllo wörld\n# {"json": [1, 2]} | ^ ` \\ \t\r\n'.encode(),
        b"\x00" * 50,
        b"a" * 1000,
        b"#!/bin/sh\necho 'quoted' \"double\" $HOME\n",
        "\u2603\U0001f600".encode(),
    ]
    files = [
        {"path": f"/data/f{i}", "mode": 420, "contents": {"source": encode(s)}}
        for i, s in enumerate(samples)
    ]
    config = {"ignition": {"version": "3.3.0"}, "storage": {"files": files}}
    run = run_ignition(tmp_path, user_config=json.dumps(config).encode())
    for i, s in enumerate(samples):
        assert (run.root / f"data/f{i}").read_bytes() == s
