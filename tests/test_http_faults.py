"""Fault injection for every HTTP client and every phase of a request.

Each fault is put on the wire by the loopback simulators (``tests/sim``): refused
connections, accept-and-hang, a status line or header section dripped a byte at a
time, 1xx floods, bodies cut short, reset or stalled, broken or truncated chunked
framing, huge bodies, non-HTTP answers, redirects and every interesting status.
For each client (IMDS instance document, IMDS userData, Wireserver versions, goal
state, XML health, JSON health) two things are checked:

- a single glitch is retried and the call then succeeds;
- a fault that never heals ends within the budget plus scheduling slack, with the
  documented typed error in one line (exit 69 for the commands; provisioning
  continues from ovf-env.xml alone).

The bound on elapsed time is a correctness bound (nothing may run past its
budget), generous for a loaded machine; it is not a speed claim.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

import pytest
from sim.http import Hang, Raw, Reply, Reset, ScriptedServer, Step, free_port_refusing
from sim.imds import imds_routes, imds_server, instance_document, ok
from sim.wireserver import WireserverSim
from support.ovf_builder import ovf_xml
from support.timing import short_timing

from igngen.azure import http, kvp
from igngen.azure.imds_client import ImdsSettings, fetch_instance, fetch_user_data
from igngen.azure.wireserver import status_for
from igngen.azure.wireserver_client import ReportResult, ReportSettings, report
from igngen.errors import ImdsDataError, ImdsUnavailableError, WireserverError

REPO = Path(__file__).resolve().parents[1]
BUDGET = 1.2
SLACK = 3.0  # a loaded 2-core machine: a bound on the budget, not a speed claim
USER_DATA = b'{"ignition":{"version":"3.3.0"}}'
DOC = instance_document(user="simuser", host="simhost", user_data=USER_DATA)


def drip(data: bytes, interval: float) -> list[bytes | float]:
    out: list[bytes | float] = []
    for i in range(len(data)):
        out += [data[i : i + 1], interval]
    return out


HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
CUT = HEAD + b'Content-Length: 4000\r\n\r\n{"compute": {'

# Faults before the status line is complete, or in the header section: every client
# must retry them, the health POSTs included.
EARLY_FAULTS: dict[str, Step] = {
    "accept-and-hang": Hang(60),
    "reset-at-once": Reset(),
    "close-at-once": Raw([]),
    "status-drip": Raw(drip(b"HTTP/1.1 200 OK\r\n", 0.3)),
    "header-drip": Raw([b"HTTP/1.1 200 OK\r\n", *drip(b"X-Slow: " + b"a" * 200 + b"\r\n", 0.1)]),
    "1xx-flood": Raw([b"HTTP/1.1 100 Continue\r\n\r\n"] * 20, end="hang"),
    "1xx-drip": Raw([b"HTTP/1.1 100 Continue\r\n\r\n", 0.1] * 200),
    "not-http": Raw([b"SSH-2.0-OpenSSH_9.2p1\r\n"]),
    "huge-header": Raw([b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n"]),
    "header-then-reset": Raw([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"], end="reset"),
}
# Faults in the body of a 200 answer: retried where the body matters (IMDS, goal
# state, versions); on a health POST the 2xx status is the delivery.
BODY_FAULTS: dict[str, Step] = {
    "body-cut": Raw([CUT], end="close"),
    "body-reset": Raw([CUT], end="reset"),
    "body-stall": Raw([CUT], end="hang"),
    "body-drip": Raw([HEAD + b"Content-Length: 400\r\n\r\n", *drip(b"{" + b" " * 100, 0.1)]),
    "chunked-garbage": Raw([HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"]),
    "chunked-truncated": Raw(
        [HEAD + b'Transfer-Encoding: chunked\r\n\r\n100\r\n{"compute"'], end="close"
    ),
    "chunked-no-crlf": Raw([HEAD + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n"]),
    "length-conflict": Raw([HEAD + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}"]),
    "gzip-encoded": Raw([HEAD + b"Content-Encoding: gzip\r\nContent-Length: 2\r\n\r\n{}"]),
}
ALL_FAULTS = {**EARLY_FAULTS, **BODY_FAULTS}


def imds_settings(url: str, budget: float = BUDGET) -> ImdsSettings:
    return ImdsSettings(
        url=url,
        timing=short_timing(budget),
    )


def report_settings(url: str, protocol: str, budget: float = BUDGET) -> ReportSettings:
    return ReportSettings(
        wireserver=url,
        protocol=protocol,
        timing=short_timing(budget),
    )


def timed(call: object) -> tuple[object, float]:
    start = time.monotonic()
    try:
        result = call()  # type: ignore[operator]
    except (ImdsUnavailableError, ImdsDataError, WireserverError) as exc:
        result = exc
    return result, time.monotonic() - start


# --- IMDS: instance document and userData -------------------------------------


USER_DATA_PATH = "/metadata/instance/compute/userData"
USER_DATA_OK = Reply(200, base64.b64encode(USER_DATA))


def imds_call(target: str, url: str, budget: float = BUDGET) -> object:
    fetch = fetch_instance if target == "instance" else fetch_user_data
    return lambda: fetch(imds_settings(url, budget))


def imds_sim(target: str, steps: list[Step]) -> ScriptedServer:
    if target == "instance":
        return imds_server(steps)
    return imds_routes({USER_DATA_PATH: steps})


def imds_ok(target: str) -> Step:
    return ok(DOC) if target == "instance" else USER_DATA_OK


def check_imds_result(target: str, result: object) -> None:
    if target == "instance":
        assert isinstance(result, bytes) and json.loads(result)["compute"]["vmId"]
    else:
        assert result == USER_DATA


@pytest.mark.parametrize("target", ["instance", "userData"])
@pytest.mark.parametrize("fault", list(ALL_FAULTS))
def test_imds_glitch_is_retried_then_succeeds(target: str, fault: str) -> None:
    with imds_sim(target, [ALL_FAULTS[fault], imds_ok(target)]) as srv:
        result, elapsed = timed(imds_call(target, srv.url, budget=6.0))
    check_imds_result(target, result)
    assert len(srv.requests) == 2
    assert elapsed < 6.0 + SLACK


@pytest.mark.parametrize("target", ["instance", "userData"])
@pytest.mark.parametrize("fault", list(ALL_FAULTS))
def test_imds_persistent_fault_gives_up_within_budget(target: str, fault: str) -> None:
    with imds_sim(target, [ALL_FAULTS[fault]]) as srv:
        result, elapsed = timed(imds_call(target, srv.url))
    assert isinstance(result, ImdsUnavailableError), result
    assert f"no usable answer within {BUDGET:g}s" in str(result) and "\n" not in str(result)
    assert elapsed < BUDGET + SLACK


@pytest.mark.parametrize("target", ["instance", "userData"])
def test_imds_refused_connection_gives_up_within_budget(target: str) -> None:
    result, elapsed = timed(imds_call(target, free_port_refusing()))
    assert isinstance(result, ImdsUnavailableError) and "connection refused" in str(result)
    assert elapsed < BUDGET + SLACK


IMDS_RETRIED = [404, 408, 410, 429, 500, 502, 503, 504]
IMDS_FATAL = [301, 302, 307, 400, 401, 403, 405, 501]


@pytest.mark.parametrize("target", ["instance", "userData"])
@pytest.mark.parametrize("status", IMDS_RETRIED)
def test_imds_busy_statuses_are_retried(target: str, status: int) -> None:
    with imds_sim(target, [Reply(status, b"busy"), imds_ok(target)]) as srv:
        result, _ = timed(imds_call(target, srv.url, budget=6.0))
    check_imds_result(target, result)
    assert len(srv.requests) == 2


@pytest.mark.parametrize("target", ["instance", "userData"])
@pytest.mark.parametrize("status", IMDS_FATAL)
def test_imds_other_statuses_fail_at_once_and_redirects_are_not_followed(
    target: str, status: int
) -> None:
    # The Location points at the test server itself: following it would be a second request.
    with imds_sim(target, [Reply(status, b"no")]) as srv:
        srv.script = [Reply(status, b"no", {"Location": srv.url + "/elsewhere"})]
        result, elapsed = timed(imds_call(target, srv.url, budget=30.0))
    assert isinstance(result, ImdsUnavailableError)
    assert f"HTTP {status}; not retried" in str(result)
    assert len(srv.requests) == 1 and elapsed < 30.0


@pytest.mark.parametrize("target", ["instance", "userData"])
@pytest.mark.parametrize(
    "step",
    [
        Reply(200, b"[" + b"1," * 700_000 + b"1]"),
        Raw([HEAD + b"\r\n" + b" " * (1024 * 1024 + 10)], end="close"),
        Raw([HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + b"100001\r\n" + b" " * 0x100001]),
    ],
    ids=["content-length", "to-close", "chunked"],
)
def test_imds_huge_body_is_refused_without_reading_it_all(target: str, step: Step) -> None:
    with imds_sim(target, [step]) as srv:
        result, elapsed = timed(imds_call(target, srv.url, budget=30.0))
    assert isinstance(result, ImdsDataError) and "limit" in str(result)
    assert len(srv.requests) == 1 and elapsed < 30.0


# --- Wireserver: versions, goal state, health ---------------------------------

WS_ENDPOINTS = {
    # endpoint -> protocol that reaches it
    "versions": "goalstate",
    "goalstate": "goalstate",
    "health": "goalstate",
    "json": "json",
}


def ws_call(url: str, protocol: str, budget: float = BUDGET) -> object:
    return lambda: report(status_for("ready", None), report_settings(url, protocol, budget))


def delivered(sim: WireserverSim) -> int:
    return len(sim.health) + len(sim.json)


@pytest.mark.parametrize("endpoint", list(WS_ENDPOINTS))
@pytest.mark.parametrize("fault", list(ALL_FAULTS))
def test_wireserver_glitch_is_retried_then_delivered(endpoint: str, fault: str) -> None:
    with WireserverSim(faults={endpoint: [ALL_FAULTS[fault]]}) as sim:
        result, elapsed = timed(ws_call(sim.url, WS_ENDPOINTS[endpoint], budget=6.0))
    assert isinstance(result, ReportResult), result
    if endpoint in ("health", "json") and fault in BODY_FAULTS:
        # The 2xx status arrived: that is delivery, the broken body is never read.
        assert result.attempts == 1 and sim.hits(endpoint) == 1
    elif endpoint == "versions":
        # Advisory: its failure costs no attempt, the goal state follows at once.
        assert result.attempts == 1 and sim.hits("versions") == 1
        assert delivered(sim) == 1
    else:
        assert result.attempts == 2 and delivered(sim) == 1
    assert elapsed < 6.0 + SLACK


@pytest.mark.parametrize("endpoint", ["goalstate", "health", "json"])
@pytest.mark.parametrize("fault", list(EARLY_FAULTS))
def test_wireserver_persistent_fault_gives_up_within_budget(endpoint: str, fault: str) -> None:
    with WireserverSim(faults={endpoint: [EARLY_FAULTS[fault]] * 10_000}) as sim:
        result, elapsed = timed(ws_call(sim.url, WS_ENDPOINTS[endpoint]))
    assert isinstance(result, WireserverError), result
    assert f"ready not delivered within {BUDGET:g}s" in str(result) and "\n" not in str(result)
    assert delivered(sim) == 0 and sim.hits(endpoint) >= 2
    assert elapsed < BUDGET + SLACK


@pytest.mark.parametrize("fault", list(BODY_FAULTS))
def test_goal_state_body_fault_that_never_heals_gives_up_within_budget(fault: str) -> None:
    with WireserverSim(faults={"goalstate": [BODY_FAULTS[fault]] * 10_000}) as sim:
        result, elapsed = timed(ws_call(sim.url, "goalstate"))
    assert isinstance(result, WireserverError) and delivered(sim) == 0
    assert elapsed < BUDGET + SLACK


@pytest.mark.parametrize("fault", list(ALL_FAULTS))
def test_versions_that_never_answer_do_not_stop_the_report(fault: str) -> None:
    with WireserverSim(faults={"versions": [ALL_FAULTS[fault]] * 10_000}) as sim:
        result, elapsed = timed(ws_call(sim.url, "goalstate", budget=6.0))
    assert isinstance(result, ReportResult) and delivered(sim) == 1
    assert sim.hits("versions") == 1  # asked once per run, not once per attempt
    assert elapsed < 6.0 + SLACK


def test_wireserver_refused_connection_gives_up_within_budget() -> None:
    result, elapsed = timed(ws_call(free_port_refusing(), "auto"))
    assert isinstance(result, WireserverError) and "connection refused" in str(result)
    assert elapsed < BUDGET + SLACK


WS_RETRIED = [408, 429, 500, 502, 503, 504]
WS_FATAL = [301, 302, 307, 401, 403, 409, 413]


@pytest.mark.parametrize("endpoint", ["goalstate", "health", "json"])
@pytest.mark.parametrize("status", WS_RETRIED)
def test_wireserver_busy_statuses_are_retried(endpoint: str, status: int) -> None:
    with WireserverSim(faults={endpoint: [Reply(status, b"busy")]}) as sim:
        result, _ = timed(ws_call(sim.url, WS_ENDPOINTS[endpoint], budget=6.0))
    assert isinstance(result, ReportResult) and result.attempts == 2
    assert delivered(sim) == 1


@pytest.mark.parametrize("endpoint", ["goalstate", "health", "json"])
@pytest.mark.parametrize("status", WS_FATAL)
def test_wireserver_other_statuses_fail_at_once(endpoint: str, status: int) -> None:
    with WireserverSim() as sim:
        sim.faults[endpoint] = [Reply(status, b"no", {"Location": sim.url + "/elsewhere"})]
        result, elapsed = timed(ws_call(sim.url, WS_ENDPOINTS[endpoint], budget=30.0))
    assert isinstance(result, WireserverError)
    assert f"HTTP {status}; not retried" in str(result) and "\n" not in str(result)
    assert sim.hits(endpoint) == 1 and sim.hits("other") == 0 and elapsed < 30.0


def test_health_2xx_with_any_body_is_delivered_once() -> None:
    garbage = Raw([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nnot a chunk"], end="hang")
    with WireserverSim(faults={"health": [garbage]}) as sim:
        result, elapsed = timed(ws_call(sim.url, "goalstate", budget=30.0))
    assert isinstance(result, ReportResult) and result.attempts == 1
    assert sim.hits("health") == 1 and elapsed < 30.0


# --- the primitive: one deadline over every phase -----------------------------


@pytest.mark.parametrize("fault", [*list(EARLY_FAULTS), "body-stall", "body-drip"])
def test_one_request_ends_at_its_deadline_whatever_the_phase(fault: str) -> None:
    with ScriptedServer([ALL_FAULTS[fault]]) as srv:
        start = time.monotonic()
        with pytest.raises(http.Retry) as caught:
            http.request("GET", srv.url + "/", deadline=start + 1.0, max_body=1 << 20)
        elapsed = time.monotonic() - start
    assert isinstance(caught.value.kind, http.RetryKind)
    assert elapsed < 1.0 + SLACK


def test_a_spent_deadline_makes_no_connection() -> None:
    with ScriptedServer([Reply(200, b"{}")]) as srv, pytest.raises(http.Retry) as caught:
        http.request("GET", srv.url + "/", deadline=time.monotonic() - 1, max_body=10)
    assert caught.value.kind is http.RetryKind.TIMEOUT and srv.requests == []


def test_retries_stop_at_the_total_budget_with_jittered_backoff() -> None:
    now = [0.0]
    pauses: list[float] = []

    def attempt(deadline: float) -> None:
        # A real attempt (http.request) ends by the deadline it is given; one that
        # started just before it must not be modelled as running past it.
        now[0] = min(now[0] + 0.25, deadline)
        raise http.Retry(http.RetryKind.RESET, "test")

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        now[0] += seconds

    with pytest.raises(http.BudgetSpent) as caught:
        http.with_retries(
            attempt, http.RetryPolicy(10.0, 0.5, 2.0), clock=lambda: now[0], sleep=sleep
        )
    assert now[0] <= 10.0 and caught.value.attempts >= 4
    # Doubling from 0.5 up to the 2 s cap, each 50-100 % of its step.
    steps = [min(0.5 * 2**i, 2.0) for i in range(len(pauses))]
    assert all(s / 2 <= p <= s for p, s in zip(pauses, steps, strict=True))


@pytest.mark.parametrize(
    "url",
    ["ftp://127.0.0.1/", "http://user:pw@127.0.0.1/", "http://127.0.0.1:99999/", "http:///x"],
)
def test_unusable_endpoint_urls_are_fatal_at_once(url: str) -> None:
    with pytest.raises(http.Fatal) as caught:
        http.request("GET", url, deadline=time.monotonic() + 5, max_body=10)
    assert "pw" not in str(caught.value)


# --- the commands: provision continues OVF-only, report exits 69 --------------


def provision(tmp: Path, imds_url: str, budget: float = BUDGET) -> tuple[int, str, float, Path]:
    media = tmp / "media"
    media.mkdir()
    (media / "ovf-env.xml").write_bytes(ovf_xml(user="azureuser", host="ovfhost"))
    handoff = tmp / "handoff"
    pool = tmp / "kvp_pool_1"
    start = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "igngen",
            "provision",
            *("--media", str(media), "--imds-url", imds_url, "--imds-timeout", str(budget)),
            *("--handoff-dir", str(handoff), "--kvp-pool", str(pool), "--image-dir", ""),
            *("--state-dir", str(tmp / "state")),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ},
    )
    return proc.returncode, proc.stderr, time.monotonic() - start, handoff


def handed_configs(handoff: Path) -> list[dict[str, Any]]:
    """user.ign and every config it merges by data URL (how the fragment is carried)."""
    out: list[dict[str, Any]] = []
    todo = [json.loads((handoff / "user.ign").read_text())]
    while todo:
        config = todo.pop()
        out.append(config)
        for ref in config.get("ignition", {}).get("config", {}).get("merge", []):
            head, _, data = ref["source"].partition(",")
            raw = base64.b64decode(data) if head.endswith(";base64") else unquote_to_bytes(data)
            todo.append(json.loads(gzip.decompress(raw) if ref.get("compression") else raw))
    return out


def handed_user(handoff: Path) -> str:
    (name,) = {
        u["name"] for c in handed_configs(handoff) for u in c.get("passwd", {}).get("users", [])
    }
    return str(name)


PROVISION_FAULTS = ["header-drip", "1xx-drip", "body-cut", "chunked-garbage", "accept-and-hang"]


@pytest.mark.parametrize("fault", PROVISION_FAULTS)
def test_provision_continues_from_ovf_when_imds_never_answers(tmp_path: Path, fault: str) -> None:
    with imds_server([ALL_FAULTS[fault]]) as srv:
        code, stderr, elapsed, handoff = provision(tmp_path, srv.url)
    assert code == 0, stderr
    assert "continuing with ovf-env.xml only" in stderr
    assert handed_user(handoff) == "azureuser"  # the OVF's user; IMDS would say simuser
    events = [v for _, v in kvp.decode((tmp_path / "kvp_pool_1").read_bytes())]
    assert any(v.startswith("instance document unavailable: ") for v in events), events
    # The interpreter's start-up and the render come on top of the IMDS budget.
    assert elapsed < BUDGET + 2 * SLACK


@pytest.mark.parametrize(
    "doc",
    [
        instance_document(user="root"),
        instance_document(host="12345"),
        {"compute": {"osProfile": {"adminUsername": ["not", "a", "string"]}}},
        {"compute": [1] * 10},
        json.loads("[" * 60 + "]" * 60),
    ],
    ids=["reserved-user", "numeric-host", "wrong-type", "compute-list", "deep"],
)
def test_provision_ignores_a_hostile_imds_document(tmp_path: Path, doc: object) -> None:
    with imds_server([Reply(200, json.dumps(doc).encode())]) as srv:
        code, stderr, _, handoff = provision(tmp_path, srv.url)
    assert code == 0, stderr
    assert "ignoring an unusable instance document" in stderr
    assert handed_user(handoff) == "azureuser"
    events = [v for _, v in kvp.decode((tmp_path / "kvp_pool_1").read_bytes())]
    assert any(v.startswith("instance document unusable") for v in events), events


def test_a_hostile_imds_document_keeps_the_users_user_data(tmp_path: Path) -> None:
    user_data = json.dumps(
        {
            "ignition": {"version": "3.3.0"},
            "storage": {
                "files": [{"path": "/etc/from-user-data", "contents": {"source": "data:,x"}}]
            },
        }
    ).encode()
    doc = instance_document(user="root", user_data=user_data)
    with imds_server([Reply(200, json.dumps(doc).encode())]) as srv:
        code, stderr, _, handoff = provision(tmp_path, srv.url)
    assert code == 0, stderr
    assert handed_user(handoff) == "azureuser"
    paths = {
        f["path"] for c in handed_configs(handoff) for f in c.get("storage", {}).get("files", [])
    }
    assert "/etc/from-user-data" in paths


def test_report_exits_69_within_budget_when_the_wireserver_drips(tmp_path: Path) -> None:
    with WireserverSim(faults={"json": [EARLY_FAULTS["header-drip"]] * 10_000}) as sim:
        start = time.monotonic()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "igngen",
                "report",
                "ready",
                *("--wireserver", sim.url, "--protocol", "json", "--timeout", str(BUDGET)),
                *("--state-dir", str(tmp_path / "state"), "--vm-id", "x", "--kvp-pool", ""),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO,
        )
        elapsed = time.monotonic() - start
    assert proc.returncode == 69, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert f"not delivered within {BUDGET:g}s" in last and "Traceback" not in proc.stderr
    assert elapsed < BUDGET + 2 * SLACK


def test_address_literals_need_no_resolver() -> None:
    """The numeric lookup takes an ASCII host as bytes (no idna codec at boot)."""
    deadline = http._Deadline(time.monotonic() + 5, time.monotonic)
    assert http._lookup("127.0.0.1", 80, deadline)[1][:2] == ("127.0.0.1", 80)
    assert http._lookup("::1", 80, deadline)[1][:2] == ("::1", 80)


def test_jitter_stays_in_its_range_and_never_waits_for_entropy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """50-100 % of the step, capped; before the kernel's pool is ready (getrandom would
    block, os.urandom would wait without bound in an early initramfs) the clock stands in."""
    pauses = [http.jittered_pause(4.0, 2.0) for _ in range(200)]
    assert all(1.0 <= p <= 2.0 for p in pauses) and len(set(pauses)) > 1

    def not_ready(size: int, flags: int = 0) -> bytes:
        assert flags & os.GRND_NONBLOCK, "getrandom must be asked not to block"
        raise BlockingIOError

    monkeypatch.setattr(os, "getrandom", not_ready)
    assert all(0.5 <= http.jittered_pause(1.0, 30.0) <= 1.0 for _ in range(50))
