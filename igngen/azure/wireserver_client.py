"""Report health to the Azure Wireserver within a total time budget (edge: HTTP).

Two protocols (azure-protocol sheet §3.4/§3.5):

- ``json``: one ``POST /provisioning/health`` (azure-init's endpoint, no goal state);
- ``goalstate``: ``GET /?comp=versions`` (once, advisory), ``GET /machine/?comp=goalstate``,
  then ``POST /machine?comp=health`` echoing the goal state's ids.

``auto`` tries ``json`` first and switches to ``goalstate`` for the rest of the
run when the host says it does not offer the endpoint (400, 404, 405, 501).
Why this order: the JSON call is a single request with no goal-state race and
is what Microsoft's own newest agent uses; a host without it costs one extra
round trip, while starting with the goal state would fetch it every time even
where the single call works. Busy answers do not switch protocols: both go to
the same server.

Retry policy: connection errors, timeouts, 429, 500 and 503 (and a goal state
that is garbage or names no role instance yet) are retried with exponential
backoff and jitter until the total budget is spent; any other status fails at
once with a one-line error. A 410 on the health POST means the goal state
changed between GET and POST (WALA's ``ResourceGoneError``): the goal state is
fetched again and the report re-sent, first at once, then with backoff. Every
wait and socket timeout is clipped to what is left of the budget, and a body
that trickles in is abandoned at the deadline. No proxy, no netrc
(``trust_env`` off): the Wireserver is reached directly, as root.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

from igngen import log
from igngen.azure.http import BodyTooLarge, BodyTooSlow, read_body, wait_before_retry
from igngen.azure.wireserver import (
    DEFAULT_AGENT_NAME,
    DEFAULT_READY_TIMEOUT,
    DEFAULT_WIRESERVER,
    PROTOCOL_VERSION,
    PROTOCOLS,
    GoalState,
    HealthStatus,
    health_json,
    health_xml,
    parse_goal_state,
    parse_versions,
    supports_protocol,
)
from igngen.errors import UsageError, WireserverDataError, WireserverError

DEFAULT_TOTAL_TIMEOUT = DEFAULT_READY_TIMEOUT
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 30.0
DEFAULT_BACKOFF_INITIAL = 1.0
DEFAULT_BACKOFF_MAX = 30.0
RETRIED_STATUSES = frozenset({429, 500, 503})
JSON_NOT_OFFERED = frozenset({400, 404, 405, 501})
GONE = 410
MAX_BODY = 1024 * 1024


class ReportSettings(NamedTuple):
    wireserver: str = DEFAULT_WIRESERVER
    protocol: str = "auto"
    total_timeout: float = DEFAULT_TOTAL_TIMEOUT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    backoff_initial: float = DEFAULT_BACKOFF_INITIAL
    backoff_max: float = DEFAULT_BACKOFF_MAX
    agent_name: str = DEFAULT_AGENT_NAME


class ReportResult(NamedTuple):
    protocol: str  # "json" or "goalstate"
    url: str
    http_status: int
    attempts: int
    goal_state: GoalState | None


def base_url(value: str) -> str:
    """``host``, ``host:port`` or ``http://host[:port]`` → ``http://host[:port]`` (no path)."""
    text = value.strip()
    if "://" not in text:
        text = "http://" + text
    scheme, _, rest = text.partition("://")
    host = rest.split("/", 1)[0]
    if scheme not in ("http", "https") or not host or any(c in host for c in "@?# "):
        raise UsageError(f"not a Wireserver address: {value!r}", "--wireserver")
    return f"{scheme}://{host}"


class _Retry(Exception):
    """Worth another attempt; the text says why."""


class _NotOffered(Exception):
    """The JSON endpoint is not there (auto mode switches protocol)."""


class _Gone(Exception):
    """410 on the health POST: the goal state changed under us."""


class _Call:
    """One run's HTTP state: session, deadline, headers."""

    def __init__(self, settings: ReportSettings, deadline: float, clock: Callable[[], float]):
        from igngen.azure.http import load_requests

        load_requests()
        import requests

        self.requests = requests
        self.session = requests.Session()
        self.session.trust_env = False  # never a proxy, never netrc
        self.settings = settings
        self.deadline = deadline
        self.clock = clock
        self.base = base_url(settings.wireserver)

    def _timeout(self) -> tuple[float, float]:
        remaining = max(0.05, self.deadline - self.clock())
        return (
            min(self.settings.connect_timeout, remaining),
            min(self.settings.read_timeout, remaining),
        )

    def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None = None
    ) -> tuple[int, bytes]:
        url = self.base + path
        with self.session.request(
            method,
            url,
            headers={"Accept-Encoding": "identity", **headers},
            data=body,
            timeout=self._timeout(),
            stream=True,
            allow_redirects=False,
        ) as resp:
            status = resp.status_code
            try:
                data = read_body(resp, MAX_BODY, self.deadline, self.clock)
            except BodyTooLarge:
                raise _Retry(f"answer from {path} is over {MAX_BODY} bytes") from None
            except BodyTooSlow:
                raise _Retry(f"answer from {path} still arriving at the deadline") from None
        return status, data

    # --- the protocol steps ---

    def wire_headers(self) -> dict[str, str]:
        return {"x-ms-agent-name": self.settings.agent_name, "x-ms-version": PROTOCOL_VERSION}

    def check_versions(self) -> None:
        """Advisory (cloud-init and azure-init skip it): never fails the report by itself."""
        status, body = self.request("GET", "/?comp=versions", self.wire_headers())
        if status in RETRIED_STATUSES:
            raise _Retry(f"HTTP {status} on versions")
        if not 200 <= status < 300:
            log.warning("report", f"versions query answered HTTP {status}; continuing")
            return
        try:
            preferred, supported = parse_versions(body, source=self.base + "/?comp=versions")
        except WireserverDataError as exc:
            log.warning("report", f"ignoring an unusable versions answer: {exc}")
            return
        if not supports_protocol(preferred, supported):
            log.warning(
                "report",
                f"Wireserver does not list protocol {PROTOCOL_VERSION}; trying it anyway",
                preferred=",".join(preferred) or "-",
            )

    def goal_state(self) -> GoalState:
        path = "/machine/?comp=goalstate"
        status, body = self.request("GET", path, self.wire_headers())
        if status in RETRIED_STATUSES or status == GONE:
            raise _Retry(f"HTTP {status} on goal state")
        if not 200 <= status < 300:
            raise WireserverError(
                f"goal state request refused with HTTP {status}; not retried", self.base + path
            )
        try:
            return parse_goal_state(body, source=self.base + path)
        except WireserverDataError as exc:
            raise _Retry(f"goal state unusable: {exc}") from None

    def post_xml(self, goal: GoalState, status_: HealthStatus) -> int:
        path = "/machine?comp=health"
        headers = {**self.wire_headers(), "Content-Type": "text/xml; charset=utf-8"}
        status, _ = self.request("POST", path, headers, health_xml(goal, status_))
        if status == GONE:
            raise _Gone()
        if status in RETRIED_STATUSES:
            raise _Retry(f"HTTP {status} on health report")
        if not 200 <= status < 300:
            raise WireserverError(
                f"health report refused with HTTP {status}; not retried", self.base + path
            )
        return status

    def post_json(self, status_: HealthStatus, *, auto: bool) -> int:
        from igngen import __version__

        path = "/provisioning/health"
        agent = f"{self.settings.agent_name}/{__version__}"
        headers = {
            "Content-Type": "application/json",
            "User-Agent": agent,
            "x-ms-guest-agent-name": agent,
        }
        status, _ = self.request("POST", path, headers, health_json(status_))
        if status in RETRIED_STATUSES:
            raise _Retry(f"HTTP {status} on provisioning health")
        if auto and status in JSON_NOT_OFFERED:
            raise _NotOffered(f"HTTP {status}")
        if not 200 <= status < 300:
            raise WireserverError(
                f"provisioning health report refused with HTTP {status}; not retried",
                self.base + path,
            )
        return status


def report(
    status: HealthStatus,
    settings: ReportSettings,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ReportResult:
    """Deliver one health report or raise WireserverError (budget spent / refused)."""
    if settings.protocol not in PROTOCOLS:
        raise UsageError(
            f"unknown protocol {settings.protocol!r} (use {', '.join(PROTOCOLS)})", "--protocol"
        )
    deadline = clock() + settings.total_timeout
    call = _Call(settings, deadline, clock)
    requests = call.requests
    protocol = "goalstate" if settings.protocol == "goalstate" else "json"
    auto = settings.protocol == "auto"
    versions_done = False
    backoff = settings.backoff_initial
    gone_in_a_row = 0
    attempt = 0
    last = "no attempt made"
    seen: set[str] = set()
    while clock() < deadline:
        attempt += 1
        goal: GoalState | None = None
        try:
            if protocol == "json":
                code = call.post_json(status, auto=auto)
                url = call.base + "/provisioning/health"
            else:
                if not versions_done:
                    call.check_versions()
                    versions_done = True
                goal = call.goal_state()
                code = call.post_xml(goal, status)
                url = call.base + "/machine?comp=health"
            log.info(
                "report",
                f"{status.kind} reported",
                protocol=protocol,
                http=code,
                attempts=attempt,
                **({"incarnation": goal.incarnation} if goal else {}),
            )
            return ReportResult(protocol, url, code, attempt, goal)
        except _NotOffered as exc:
            log.info("report", f"JSON health endpoint not offered ({exc}); using the goal state")
            protocol = "goalstate"
            continue
        except _Gone:
            gone_in_a_row += 1
            last = "goal state changed before the report arrived (HTTP 410)"
            log.info(
                "report",
                "goal state changed during the report; fetching it again",
                incarnation=goal.incarnation if goal else "-",
            )
            if gone_in_a_row == 1:
                continue
        except _Retry as exc:
            last = str(exc)
        except requests.exceptions.ConnectionError as exc:
            last = "connect timed out" if "timed out" in str(exc).lower() else "connection failed"
        except requests.exceptions.Timeout:
            last = "timed out"
        except requests.exceptions.RequestException as exc:
            last = f"request failed ({type(exc).__name__})"
        else:  # pragma: no cover - every path above returns or raises
            pass
        if not last.startswith("goal state changed"):
            gone_in_a_row = 0
        kind = last.split(" (")[0].split(":")[0]
        (log.info if kind in seen else log.warning)(
            "report",
            f"attempt {attempt} failed: {last}",
            url=call.base,
            remaining=f"{max(0.0, deadline - clock()):.1f}s",
        )
        seen.add(kind)
        if not wait_before_retry(backoff, settings.backoff_max, deadline, clock, sleep):
            break
        backoff *= 2
    raise WireserverError(
        f"{status.kind} not delivered within {settings.total_timeout:g}s after {attempt} "
        f"attempt(s); last: {last}",
        call.base,
    )
