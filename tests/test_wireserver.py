"""Goal state and versions parsing, health XML/JSON bodies (pure)."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sim.wireserver import goal_state_xml, parse_health_xml
from support import corpus

from igngen.azure.wireserver import (
    MAX_DESCRIPTION,
    GoalState,
    HealthStatus,
    clean_description,
    health_json,
    health_xml,
    parse_goal_state,
    parse_versions,
    status_for,
    supports_protocol,
)
from igngen.errors import WireserverDataError

DATA = Path(__file__).parent / "data" / "wireserver"
GOAL = GoalState("12", "6a1f5c3e-2b7d-4e90-9c18-3d4f5a6b7c8d", "abc.igngen-sim")


def test_goal_state_fields() -> None:
    goal = parse_goal_state(goal_state_xml(42, "cid-1", "iid.role"))
    assert goal == GoalState("42", "cid-1", "iid.role")


def test_namespaced_goal_state_reads_local_names_and_first_instance() -> None:
    goal = parse_goal_state((DATA / "goalstate-namespaced.xml").read_bytes())
    assert goal.incarnation == "7"
    assert goal.instance_id == "5d1e0f0c2a8b4c7e9f1a2b3c4d5e6f70.vm-one"


def test_goal_state_without_role_instance_is_located_error() -> None:
    with pytest.raises(WireserverDataError) as err:
        parse_goal_state((DATA / "goalstate-no-role.xml").read_bytes(), source="gs")
    assert str(err.value).startswith("gs:/GoalState/Container/RoleInstanceList/RoleInstance:")


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b"", "empty document"),
        (b"<html><body>502 bad gateway</body></html>", "not GoalState"),
        (b"<GoalState><Incarnation>1</Incarnation>", "not well-formed"),
        (b"\x00\xff garbage", "not well-formed"),
        (b"<GoalState><Incarnation>x1</Incarnation></GoalState>", "GoalState/Incarnation"),
        (b"<GoalState><Incarnation>1</Incarnation></GoalState>", "GoalState/Container"),
        (
            b"<GoalState><Incarnation>1</Incarnation><Container><ContainerId/>"
            b"</Container></GoalState>",
            "ContainerId: empty value",
        ),
        (
            b'<!DOCTYPE x [<!ENTITY a "aaaa">]><GoalState><Incarnation>&a;</Incarnation></GoalState>',
            "refused XML construct",
        ),
    ],
)
def test_garbage_goal_states_are_one_line_errors(body: bytes, where: str) -> None:
    with pytest.raises(WireserverDataError) as err:
        parse_goal_state(body, source="gs")
    assert where in str(err.value) and "\n" not in str(err.value)


def test_corpus_goal_states_parse() -> None:
    goal = parse_goal_state(
        corpus.corpus_file("afterburn/inline/mock_tests.rs__GOALSTATE_BODY.xml").read_bytes()
    )
    assert goal == GoalState(
        "42",
        "a511aa6d-29e7-4f53-8788-55655dfe848f",
        "f6cd1d7ef1644557b9059345e5ba890c.lars-test-1",
    )
    hib = parse_goal_state(
        (corpus.corpus_file("WALinuxAgent/hibernate_goal_state_1__GoalState.xml")).read_bytes()
    )
    assert hib.incarnation == "1" and hib.instance_id.endswith("._test-vm")
    with pytest.raises(WireserverDataError):
        parse_goal_state((corpus.corpus_file("WALinuxAgent/goal_state_noop.xml")).read_bytes())


def test_versions() -> None:
    pref, supp = parse_versions((DATA / "versions.xml").read_bytes())
    assert pref == ["2015-04-05"] and "2012-11-30" in supp
    assert supports_protocol(pref, supp)
    assert supports_protocol(["2012-11-30"], [])  # WALA's fixture lists it only as preferred
    assert not supports_protocol(["2015-04-05"], ["2010-12-15"])


def test_ready_xml_has_no_details_and_echoes_ids() -> None:
    doc = parse_health_xml(health_xml(GOAL, status_for("ready")))
    assert doc == {
        "incarnation": "12",
        "container_id": GOAL.container_id,
        "instance_id": GOAL.instance_id,
        "state": "Ready",
        "substatus": None,
        "description": None,
        "has_details": False,
    }


def test_ready_xml_matches_composed_sample_shape() -> None:
    sample = ElementTree.fromstring(
        (corpus.corpus_file("composed/health-ready.composed.xml")).read_bytes()
    )
    ours = ElementTree.fromstring(health_xml(GOAL, status_for("ready")))
    assert [e.tag for e in sample.iter()] == [e.tag for e in ours.iter()]


@pytest.mark.parametrize(
    ("kind", "sub"), [("provisioning", "Provisioning"), ("failure", "ProvisioningFailed")]
)
def test_not_ready_xml_and_json(kind: str, sub: str) -> None:
    status = status_for(kind, "ignition-files.service: <failed> & stopped\nsecond line")
    doc = parse_health_xml(health_xml(GOAL, status))
    assert doc["state"] == "NotReady" and doc["substatus"] == sub
    assert doc["description"] == "ignition-files.service: <failed> & stopped second line"
    body = health_json(status)
    assert json.loads(body) == {
        "state": "NotReady",
        "details": {"subStatus": sub, "description": doc["description"]},
    }


def test_ready_json() -> None:
    assert health_json(status_for("ready")) == b'{"state":"Ready"}'


def test_description_trimmed_to_512_before_escaping() -> None:
    status = status_for("failure", "&" * 2000)
    assert status.description is not None and len(status.description) == MAX_DESCRIPTION
    body = health_xml(GOAL, status)
    assert parse_health_xml(body)["description"] == status.description
    assert b"&amp;" in body


def test_description_scrubs_known_secret_and_password_fields() -> None:
    text = "bad: pw=Hunter2! and <UserPassword>Hunter2!</UserPassword> password: s3cr3t"
    out = clean_description(text, secrets=["Hunter2!"])
    assert "Hunter2" not in out and "s3cr3t" not in out
    assert "<UserPassword><redacted></UserPassword>" in out
    # File names that merely contain the word stay readable.
    assert clean_description("cannot write /etc/passwd: Permission denied") == (
        "cannot write /etc/passwd: Permission denied"
    )


@given(st.text(max_size=3000))
def test_any_description_yields_well_formed_xml(text: str) -> None:
    status = status_for("failure", text)
    assert status.description and len(status.description) <= MAX_DESCRIPTION
    doc = parse_health_xml(health_xml(GOAL, status))
    assert doc["description"] == status.description
    assert json.loads(health_json(status))["details"]["description"] == status.description


def test_status_kind_round_trip() -> None:
    for kind in ("ready", "provisioning", "failure"):
        assert status_for(kind).kind == kind
    assert HealthStatus("Weird").kind == "Weird"
