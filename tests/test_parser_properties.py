"""Every parser, any input: a result or a typed igngen error, never another exception
(which the CLI would turn into exit 70). Inputs mix random bytes with the shapes that
broke parsers before: deep nesting, huge integers, lone surrogates, NULs, alias bombs."""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from igngen.errors import IgngenError

HOSTILE = [
    b"[" * 5000,
    b'{"a":' * 5000,
    b"9" * 5000,
    b'{"ignition":{"version":"3.3.0"},"x":' + b"1" * 5000 + b"}",
    b'"\\ud800"',
    b'{"k":"\\udfff\\ud800"}',
    b"\0\0\0",
    b"a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
    b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\n"
    b"e: &e [*d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e]\n",
    b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaa'>]><x>&a;</x>",
    b"<" * 3000,
    b"\xff\xfe\x00<",
    b"lease {" * 1000,
]


def _inputs() -> st.SearchStrategy[bytes]:
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=20,
    )
    return st.one_of(
        st.sampled_from(HOSTILE),
        st.binary(max_size=300),
        st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.builds(
            lambda h, tail: h[: len(h) // 2] + tail,
            st.sampled_from(HOSTILE),
            st.binary(max_size=40),
        ),
    )


def _ovf(data: bytes) -> object:
    from igngen.azure import ovf

    ovf.parse(data)
    return ovf.redact(data)


def _imds(data: bytes) -> object:
    from igngen.azure.imds import parse_instance

    return parse_instance(data)


def _customdata(data: bytes) -> object:
    from igngen.ignition.customdata import classify

    return classify(data)


def _ignition(data: bytes) -> object:
    from igngen.ignition.parse import parse

    return parse(data, source="x")


def _settings(data: bytes) -> object:
    from igngen.settings import parse

    return parse(data)


def _waagent(data: bytes) -> object:
    from igngen.azure.waagent_conf import parse

    return parse(data)


def _leases(data: bytes) -> object:
    from igngen.azure.dhcp import from_dhclient, from_networkd

    text = data.decode("utf-8", "replace")
    return from_dhclient(text, now=0.0), from_networkd(text)


def _goal_state(data: bytes) -> object:
    from igngen.azure.wireserver import parse_goal_state, parse_versions

    results: list[object] = []
    for fn in (parse_goal_state, parse_versions):
        with contextlib.suppress(IgngenError):
            results.append(fn(data))
    return results


def _ready_marker(data: bytes) -> object:
    from igngen.azure import health

    with tempfile.TemporaryDirectory() as d:
        Path(d, health.READY_MARKER).write_bytes(data)
        Path(d, health.REPORTS_FILE).write_bytes(data)
        return health.read_marker(d), health.read_reports(d)


def _butane(data: bytes) -> object:
    from igngen.butane.transpile import transpile_bytes

    return transpile_bytes(data, source="x.bu")


PARSERS: dict[str, Callable[[bytes], object]] = {
    "ovf": _ovf,
    "imds": _imds,
    "customdata": _customdata,
    "ignition": _ignition,
    "settings": _settings,
    "waagent.conf": _waagent,
    "leases": _leases,
    "goal state": _goal_state,
    "ready marker": _ready_marker,
    "butane": _butane,
}


@pytest.mark.parametrize("name", sorted(PARSERS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_inputs())
def test_any_input_ends_in_a_result_or_a_typed_error(name: str, data: bytes) -> None:
    try:
        PARSERS[name](data)
    except IgngenError as exc:
        text = str(exc)
        assert "\n" not in text and text  # one located line


@pytest.mark.parametrize("name", sorted(PARSERS))
@pytest.mark.parametrize("data", HOSTILE, ids=range(len(HOSTILE)))
def test_every_hostile_shape_in_every_parser(name: str, data: Any) -> None:
    with contextlib.suppress(IgngenError):
        PARSERS[name](data)
