"""Health reporting against the loopback Wireserver simulator: protocols and fault matrix.

Every case runs with a small budget; the bound asserted on elapsed time is the
budget plus scheduling slack (a correctness bound, not a speed claim).
"""

from __future__ import annotations

import threading
import time
from http.server import ThreadingHTTPServer

import pytest
from sim.http import Drip, Hang, Reply, Reset, free_port_refusing
from sim.wireserver import CONTAINER, INSTANCE, WireserverSim
from support.timing import short_timing

from igngen.azure.wireserver import status_for
from igngen.azure.wireserver_client import ReportResult, ReportSettings, base_url, report
from igngen.errors import UsageError, WireserverError

SLACK = 3.0


def settings(url: str, protocol: str = "auto", budget: float = 4.0) -> ReportSettings:
    return ReportSettings(
        wireserver=url,
        protocol=protocol,
        timing=short_timing(budget),
    )


def run(
    url: str,
    kind: str = "ready",
    protocol: str = "auto",
    budget: float = 4.0,
    text: str | None = None,
) -> tuple[ReportResult | Exception, float]:
    start = time.monotonic()
    try:
        result: ReportResult | Exception = report(
            status_for(kind, text), settings(url, protocol, budget)
        )
    except WireserverError as exc:
        result = exc
    return result, time.monotonic() - start


def test_goalstate_protocol_ready_fields_and_headers() -> None:
    with WireserverSim(incarnation=5) as sim:
        result, _ = run(sim.url, protocol="goalstate")
    assert isinstance(result, ReportResult) and result.protocol == "goalstate"
    assert result.goal_state is not None and result.goal_state.incarnation == "5"
    (doc,) = sim.health_docs()
    assert doc["incarnation"] == "5" and doc["container_id"] == CONTAINER
    assert doc["instance_id"] == INSTANCE and doc["state"] == "Ready" and not doc["has_details"]
    paths = [r.path for r in sim.server.requests]
    assert paths == ["/?comp=versions", "/machine/?comp=goalstate", "/machine?comp=health"]
    for req in sim.server.requests:
        assert req.headers["x-ms-version"] == "2012-11-30"
        assert req.headers["x-ms-agent-name"] == "igngen"
    post = sim.health[0]
    assert post.headers["content-type"] == "text/xml; charset=utf-8"
    assert sim.json == []


def test_goalstate_failure_description() -> None:
    with WireserverSim() as sim:
        result, _ = run(sim.url, "failure", "goalstate", text="media: no ovf-env.xml <here>")
    assert isinstance(result, ReportResult)
    (doc,) = sim.health_docs()
    assert doc["state"] == "NotReady" and doc["substatus"] == "ProvisioningFailed"
    assert doc["description"] == "media: no ovf-env.xml <here>"


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("ready", {"state": "Ready"}),
        (
            "provisioning",
            {"state": "NotReady", "details": {"subStatus": "Provisioning", "description": "x"}},
        ),
        (
            "failure",
            {
                "state": "NotReady",
                "details": {"subStatus": "ProvisioningFailed", "description": "x"},
            },
        ),
    ],
)
def test_json_protocol(kind: str, expected: dict[str, object]) -> None:
    with WireserverSim() as sim:
        result, _ = run(sim.url, kind, "json", text="x")
    assert isinstance(result, ReportResult) and result.protocol == "json"
    assert sim.json_docs() == [expected]
    req = sim.json[0]
    assert req.headers["content-type"] == "application/json"
    assert req.headers["x-ms-guest-agent-name"].startswith("igngen/")
    assert sim.hits("goalstate") == 0 and sim.health == []


def test_auto_prefers_json() -> None:
    with WireserverSim() as sim:
        result, _ = run(sim.url)
    assert isinstance(result, ReportResult) and result.protocol == "json"
    assert len(sim.json) == 1 and sim.hits("goalstate") == 0


@pytest.mark.parametrize("status", [404, 405, 400, 501])
def test_auto_falls_back_to_goalstate_when_json_not_offered(status: int) -> None:
    with WireserverSim(faults={"json": [Reply(status)] * 3}) as sim:
        result, _ = run(sim.url)
    assert isinstance(result, ReportResult) and result.protocol == "goalstate"
    assert sim.hits("json") == 1 and len(sim.health) == 1 and sim.json == []


def test_explicit_json_404_fails_fast() -> None:
    with WireserverSim(json_enabled=False) as sim:
        result, elapsed = run(sim.url, protocol="json", budget=30)
    assert isinstance(result, WireserverError) and "HTTP 404" in str(result)
    assert sim.hits("json") == 1 and elapsed < 30


@pytest.mark.parametrize("status", [429, 500, 503])
@pytest.mark.parametrize("endpoint", ["json", "goalstate", "health"])
def test_retryable_status_then_success(status: int, endpoint: str) -> None:
    protocol = "json" if endpoint == "json" else "goalstate"
    with WireserverSim(faults={endpoint: [Reply(status), Reply(status)]}) as sim:
        result, elapsed = run(sim.url, protocol=protocol)
    assert isinstance(result, ReportResult) and result.attempts == 3
    assert len(sim.health) + len(sim.json) == 1
    assert elapsed < 4.0 + SLACK


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 501])
def test_other_statuses_fail_fast_with_one_line(status: int) -> None:
    with WireserverSim(faults={"health": [Reply(status)] * 5}) as sim:
        result, elapsed = run(sim.url, protocol="goalstate", budget=30)
    assert isinstance(result, WireserverError)
    assert f"HTTP {status}" in str(result) and "\n" not in str(result)
    assert sim.hits("health") == 1 and elapsed < 30


def test_budget_exhausted_by_503_is_bounded() -> None:
    with WireserverSim(faults={"json": [Reply(503)] * 10_000}) as sim:
        result, elapsed = run(sim.url, protocol="json", budget=1.5)
    assert isinstance(result, WireserverError)
    assert "not delivered within 1.5s" in str(result) and "HTTP 503" in str(result)
    assert sim.hits("json") >= 2 and elapsed < 1.5 + SLACK


def test_connection_refused_then_up() -> None:
    url = free_port_refusing()
    port = int(url.rsplit(":", 1)[1])
    sim_holder: list[WireserverSim] = []

    def start_later() -> None:
        time.sleep(0.8)
        sim = WireserverSim()
        sim.server.httpd.server_close()
        sim.server.httpd = ThreadingHTTPServer(
            ("127.0.0.1", port), sim.server.httpd.RequestHandlerClass
        )
        sim.server.httpd.daemon_threads = True
        sim.server.thread = threading.Thread(target=sim.server.httpd.serve_forever, daemon=True)
        sim.__enter__()
        sim_holder.append(sim)

    starter = threading.Thread(target=start_later)
    starter.start()
    try:
        result, elapsed = run(url, protocol="goalstate", budget=6)
    finally:
        starter.join()
    sim = sim_holder[0]
    try:
        assert isinstance(result, ReportResult) and result.attempts > 1
        assert len(sim.health) == 1 and elapsed < 6 + SLACK
    finally:
        sim.__exit__(None, None, None)


def test_connection_refused_throughout_gives_up_in_budget() -> None:
    result, elapsed = run(free_port_refusing(), budget=1.0)
    assert isinstance(result, WireserverError) and "connection refused" in str(result)
    assert elapsed < 1.0 + SLACK


def test_reset_then_success() -> None:
    with WireserverSim(faults={"goalstate": [Reset()]}) as sim:
        result, _ = run(sim.url, protocol="goalstate")
    assert isinstance(result, ReportResult) and len(sim.health) == 1


def test_slow_answer_within_request_timeout_succeeds() -> None:
    with WireserverSim(faults={"health": [Reply(200, delay=0.2)]}) as sim:
        result, _ = run(sim.url, protocol="goalstate")
    assert isinstance(result, ReportResult) and result.attempts == 1


def test_hanging_answer_times_out_and_is_retried() -> None:
    with WireserverSim(faults={"goalstate": [Hang(5)]}) as sim:
        result, elapsed = run(sim.url, protocol="goalstate")
    assert isinstance(result, ReportResult) and result.attempts == 2
    assert len(sim.health) == 1 and elapsed < 4.0 + SLACK


def test_dripping_goal_state_is_abandoned_at_the_deadline() -> None:
    with WireserverSim(
        faults={"goalstate": [Drip(200, b"<GoalState>" + b" " * 500, 0.05)] * 50}
    ) as sim:
        result, elapsed = run(sim.url, protocol="goalstate", budget=1.5)
    assert isinstance(result, WireserverError) and elapsed < 1.5 + SLACK
    assert sim.health == []


@pytest.mark.parametrize(
    "body",
    [b"<html>oops</html>", b"", b"<GoalState><Incarnation>1</Incarnation>", b"\xff\xfe\x00"],
)
def test_garbage_goal_state_is_retried_then_success(body: bytes) -> None:
    with WireserverSim(faults={"goalstate": [Reply(200, body)]}) as sim:
        result, _ = run(sim.url, protocol="goalstate")
    assert isinstance(result, ReportResult) and result.attempts == 2
    assert len(sim.health) == 1


def test_garbage_goal_state_throughout_names_the_problem() -> None:
    with WireserverSim(goal_state_body=b"<html>proxy error</html>") as sim:
        result, elapsed = run(sim.url, protocol="goalstate", budget=1.0)
    assert isinstance(result, WireserverError)
    assert "goal state unusable" in str(result) and "not GoalState" in str(result)
    assert elapsed < 1.0 + SLACK


def test_incarnation_change_between_get_and_post_refetches() -> None:
    bumped: list[int] = []

    def bump_once(sim: WireserverSim) -> None:
        if not bumped:
            sim.incarnation += 1
            bumped.append(sim.incarnation)

    with WireserverSim(incarnation=3, after_goalstate=bump_once) as sim:
        result, _ = run(sim.url, protocol="goalstate")
    assert isinstance(result, ReportResult) and result.goal_state is not None
    assert result.goal_state.incarnation == "4"
    assert sim.hits("goalstate") == 2 and sim.hits("health") == 2
    assert [d["incarnation"] for d in sim.health_docs()] == ["4"]


def test_incarnation_changing_every_time_is_bounded() -> None:
    def bump(sim: WireserverSim) -> None:
        sim.incarnation += 1

    with WireserverSim(after_goalstate=bump) as sim:
        result, elapsed = run(sim.url, protocol="goalstate", budget=1.0)
    assert isinstance(result, WireserverError) and "HTTP 410" in str(result)
    assert elapsed < 1.0 + SLACK and sim.health == []


def test_versions_failure_does_not_block_report() -> None:
    with WireserverSim(faults={"versions": [Reply(404)]}) as sim:
        result, _ = run(sim.url, protocol="goalstate")
    assert isinstance(result, ReportResult) and len(sim.health) == 1


def test_no_proxy_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("http_proxy", "http://192.0.2.1:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://192.0.2.1:3128")
    with WireserverSim() as sim:
        result, _ = run(sim.url, protocol="goalstate")
    assert isinstance(result, ReportResult)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("168.63.129.16", "http://168.63.129.16"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("10.0.0.10:80", "http://10.0.0.10:80"),
    ],
)
def test_base_url(value: str, expected: str) -> None:
    assert base_url(value) == expected


@pytest.mark.parametrize("value", ["ftp://x", "http://", "http://u:p@host", ""])
def test_bad_base_url(value: str) -> None:
    with pytest.raises(UsageError):
        base_url(value)


def test_unknown_protocol() -> None:
    with pytest.raises(UsageError):
        report(status_for("ready"), ReportSettings(protocol="soap"))
