"""IMDS client fault matrix against a loopback simulator: every case ends within its budget."""

from __future__ import annotations

import base64
import json
import time

import pytest
from sim.http import Drip, Hang, Reply, Reset, free_port_refusing
from sim.imds import imds_routes, imds_server, instance_document, ok
from support.timing import short_timing

from igngen.azure.imds import parse_instance
from igngen.azure.imds_client import DEFAULT_TIMING, ImdsSettings, fetch_instance, fetch_user_data
from igngen.errors import ImdsDataError, ImdsUnavailableError

DOC = instance_document(
    user="simuser", host="simhost", user_data=b'{"ignition":{"version":"3.3.0"}}'
)
SLACK = 3.0  # scheduling slack on a loaded 2-core machine: a bound on the budget, not a speed claim


def settings(url: str, budget: float = 4.0) -> ImdsSettings:
    return ImdsSettings(
        url=url,
        timing=short_timing(budget),
    )


def run(url: str, budget: float = 4.0) -> tuple[bytes | Exception, float]:
    start = time.monotonic()
    try:
        result: bytes | Exception = fetch_instance(settings(url, budget))
    except (ImdsUnavailableError, ImdsDataError) as exc:
        result = exc
    return result, time.monotonic() - start


def test_success_sends_metadata_header_and_pinned_version() -> None:
    with imds_server([ok(DOC)]) as srv:
        body, _ = run(srv.url)
    assert isinstance(body, bytes)
    inst = parse_instance(body)
    assert (
        inst.admin_username == "simuser" and inst.user_data == b'{"ignition":{"version":"3.3.0"}}'
    )
    req = srv.requests[0]
    assert req.headers["metadata"] == "true"
    assert req.path == "/metadata/instance?api-version=2021-08-01&extended=true"


@pytest.mark.parametrize("status", [404, 410, 429, 500, 503])
def test_retryable_status_then_success(status: int) -> None:
    with imds_server([Reply(status, b"busy"), Reply(status, b"busy"), ok(DOC)]) as srv:
        body, elapsed = run(srv.url)
    assert isinstance(body, bytes) and len(srv.requests) == 3
    assert elapsed < 4.0 + SLACK


@pytest.mark.parametrize(
    ("step", "needle"),
    [
        (Reply(200, b'{"compute": {'), "not complete JSON"),
        (Reply(200, b"<html>gateway</html>"), "not complete JSON"),
        (Reset(), "connection"),
        (Hang(10), "deadline reached"),
        (Reply(503, b"", delay=0.0), "HTTP 503"),
    ],
)
def test_persistent_faults_give_up_within_budget(step: object, needle: str) -> None:
    with imds_server([step]) as srv:  # type: ignore[list-item]
        result, elapsed = run(srv.url, budget=2.0)
    assert isinstance(result, ImdsUnavailableError), result
    assert needle in str(result) and "\n" not in str(result)
    assert elapsed < 2.0 + SLACK
    assert len(srv.requests) >= 2  # it did retry


def test_garbage_then_success() -> None:
    with imds_server([Reply(200, b"{garbage"), Reset(), ok(DOC)]) as srv:
        body, _ = run(srv.url)
    assert isinstance(body, bytes) and json.loads(body)["compute"]["vmId"]


def test_connection_refused_gives_up_within_budget() -> None:
    result, elapsed = run(free_port_refusing(), budget=1.5)
    assert isinstance(result, ImdsUnavailableError) and "connection refused" in str(result)
    assert elapsed < 1.5 + SLACK


def test_slow_drip_body_is_abandoned_at_the_deadline() -> None:
    body = json.dumps(DOC).encode()
    with imds_server([Drip(200, body, interval=0.05)]) as srv:
        result, elapsed = run(srv.url, budget=1.5)
    assert isinstance(result, ImdsUnavailableError) and "deadline" in str(result)
    assert elapsed < 1.5 + SLACK


def test_huge_body_fails_fast_as_data_error() -> None:
    with imds_server([Reply(200, b"[" + b"1," * 700_000 + b"1]")]) as srv:
        result, _ = run(srv.url)
    assert isinstance(result, ImdsDataError) and "limit" in str(result)
    assert len(srv.requests) == 1


@pytest.mark.parametrize("status", [400, 401, 403])
def test_client_errors_are_not_retried(status: int) -> None:
    with imds_server([Reply(status, b"no")]) as srv:
        result, _ = run(srv.url)
    assert isinstance(result, ImdsUnavailableError) and f"HTTP {status}" in str(result)
    assert len(srv.requests) == 1


def test_settings_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        ImdsSettings("http://127.0.0.1:1", "2021-08-01", DEFAULT_TIMING)  # type: ignore[call-arg]


USER_DATA_PATH = "/metadata/instance/compute/userData"


def test_user_data_endpoint_is_decoded() -> None:
    encoded = base64.b64encode(b'{"ignition":{"version":"3.3.0"}}')
    body = encoded[:10] + b"\n" + encoded[10:] + b"\n"  # whitespace is not part of base64
    with imds_routes({USER_DATA_PATH: [Reply(503, b""), Reply(200, body)]}) as srv:
        got = fetch_user_data(settings(srv.url))
    assert got == b'{"ignition":{"version":"3.3.0"}}'
    assert srv.requests[-1].path == USER_DATA_PATH + "?api-version=2021-01-01&format=text"
    assert srv.requests[-1].headers["metadata"] == "true"


def test_user_data_unset_is_empty() -> None:
    with imds_routes({USER_DATA_PATH: [Reply(200, b"")]}) as srv:
        assert fetch_user_data(settings(srv.url)) == b""


def test_user_data_garbage_is_retried_then_a_typed_error() -> None:
    start = time.monotonic()
    with (
        imds_routes({USER_DATA_PATH: [Reply(200, b"not*base64!")]}) as srv,
        pytest.raises(ImdsUnavailableError, match="not base64"),
    ):
        # Generous socket timeouts: a loaded machine must not turn "garbage" into "timed out".
        fetch_user_data(
            ImdsSettings(
                url=srv.url,
                timing=DEFAULT_TIMING._replace(
                    total_timeout=3.0, request_timeout=2.5, backoff_initial=0.05
                ),
            )
        )
    assert len(srv.requests) >= 2
    assert time.monotonic() - start < 3.0 + SLACK
