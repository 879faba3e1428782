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

Retry policy: connection errors, timeouts, 408, 429, 500, 502, 503, 504 (and a goal state
that is garbage or names no role instance yet) are retried with exponential
backoff and jitter until the total budget is spent; any other status fails at
once with a one-line error. A 410 on the health POST means the goal state
changed between GET and POST (WALA's ``ResourceGoneError``): the goal state is
fetched again and the report re-sent, first at once, then with backoff. Each
request is one ``igngen.azure.http.request`` under one deadline (connect to
last body byte), clipped to what is left of the budget; the health POSTs'
bodies are not read (a 2xx status is delivery). No proxy, no netrc: the
Wireserver is reached directly, as root.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from igngen import log
from igngen.azure import http
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

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from igngen.records import NamedTuple

DEFAULT_TIMING = http.Timing(
    total_timeout=DEFAULT_READY_TIMEOUT,
    connect_timeout=10.0,
    request_timeout=30.0,
    backoff_initial=1.0,
    backoff_max=30.0,
)
# Busy or briefly broken: WALinuxAgent retries these too (azure-protocol-detail sheet).
RETRIED_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
JSON_NOT_OFFERED = frozenset({400, 404, 405, 501})
GONE = 410
MAX_BODY = 1024 * 1024


class ReportSettings(NamedTuple):
    wireserver: str = DEFAULT_WIRESERVER
    protocol: str = "auto"
    timing: http.Timing = DEFAULT_TIMING
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


class _NotOffered(Exception):
    """The JSON endpoint is not there (auto mode switches protocol)."""


class _Call:
    """One run's endpoint, deadline and headers; each request is one ``http.request``."""

    def __init__(self, settings: ReportSettings, clock: Callable[[], float]):
        self.settings = settings
        self.clock = clock
        self.base = base_url(settings.wireserver)
        self.deadline = 0.0  # the total budget's end; set for each attempt

    def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes | None = None,
        *,
        want_body: bool = True,
    ) -> tuple[int, bytes]:
        until = min(self.deadline, self.clock() + self.settings.timing.request_timeout)
        try:
            resp = http.request(
                method,
                self.base + path,
                headers=headers,
                body=body,
                deadline=until,
                max_body=MAX_BODY,
                connect_timeout=self.settings.timing.connect_timeout,
                clock=self.clock,
                want_body=want_body,
            )
        except http.TooLarge:
            raise http.Retry(
                http.RetryKind.BODY, f"answer from {path} over {MAX_BODY} bytes"
            ) from None
        except http.Fatal as exc:
            raise WireserverError(str(exc), self.base) from None
        return resp.status, resp.body

    # --- the protocol steps ---

    def wire_headers(self) -> dict[str, str]:
        return {"x-ms-agent-name": self.settings.agent_name, "x-ms-version": PROTOCOL_VERSION}

    def check_versions(self) -> None:
        """Advisory (cloud-init and azure-init skip it): never fails the report by itself.

        Asked once per run; a failed or busy answer is logged and the report goes on
        to the goal state in the same attempt.
        """
        try:
            status, body = self.request("GET", "/?comp=versions", self.wire_headers())
        except http.Retry as exc:
            log.warning("report", f"versions query failed ({exc}); continuing")
            return
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
            raise http.Retry(http.RetryKind.STATUS, f"HTTP {status} on goal state")
        if not 200 <= status < 300:
            raise WireserverError(
                f"goal state request refused with HTTP {status}; not retried", self.base + path
            )
        try:
            return parse_goal_state(body, source=self.base + path)
        except WireserverDataError as exc:
            raise http.Retry(http.RetryKind.BODY, f"goal state unusable: {exc.message}") from None

    def post_xml(self, goal: GoalState, status_: HealthStatus) -> int:
        path = "/machine?comp=health"
        headers = {**self.wire_headers(), "Content-Type": "text/xml; charset=utf-8"}
        # A 2xx answer means delivered, whatever its body: it is not even read.
        status, _ = self.request("POST", path, headers, health_xml(goal, status_), want_body=False)
        if status == GONE:
            raise http.Gone()
        if status in RETRIED_STATUSES:
            raise http.Retry(http.RetryKind.STATUS, f"HTTP {status} on health report")
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
        status, _ = self.request("POST", path, headers, health_json(status_), want_body=False)
        if status in RETRIED_STATUSES:
            raise http.Retry(http.RetryKind.STATUS, f"HTTP {status} on provisioning health")
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
    total = settings.timing.total_timeout
    if not (isinstance(total, int | float) and 0 <= total < float("inf")):
        raise UsageError(f"unusable report budget {total!r}", "--timeout")
    run = _Run(status, _Call(settings, clock))
    policy = settings.timing.retry_policy()
    try:
        return http.with_retries(
            run.attempt, policy, on_retry=run.on_retry, clock=clock, sleep=sleep
        )
    except http.BudgetSpent as exc:
        raise WireserverError(
            f"{status.kind} not delivered within {total:g}s after {exc}", run.call.base
        ) from None


class _Run:
    """One report's protocol state across attempts."""

    def __init__(self, status: HealthStatus, call: _Call) -> None:
        self.status = status
        self.call = call
        self.auto = call.settings.protocol == "auto"
        self.protocol = "goalstate" if call.settings.protocol == "goalstate" else "json"
        self.versions_done = False
        self.gone_in_a_row = 0
        self.attempts = 0
        self.seen: set[http.RetryKind] = set()

    def attempt(self, deadline: float) -> ReportResult:
        self.attempts += 1
        self.call.deadline = deadline
        goal: GoalState | None = None
        try:
            if self.protocol == "json":
                code = self._json()
                url = self.call.base + "/provisioning/health"
            else:
                if not self.versions_done:
                    self.call.check_versions()
                    self.versions_done = True
                goal = self.call.goal_state()
                code = self.call.post_xml(goal, self.status)
                url = self.call.base + "/machine?comp=health"
        except http.Gone:
            self.gone_in_a_row += 1
            log.info(
                "report",
                "goal state changed during the report; fetching it again",
                incarnation=goal.incarnation if goal else "-",
            )
            # At once the first time (the goal state moved on between GET and POST), then
            # with backoff: a goal state that changes every time must not spin.
            raise http.Retry(
                http.RetryKind.STATUS,
                "goal state changed before the report arrived, HTTP 410",
                immediate=self.gone_in_a_row == 1,
            ) from None
        except http.Retry:
            self.gone_in_a_row = 0
            raise
        log.info(
            "report",
            f"{self.status.kind} reported",
            protocol=self.protocol,
            http=code,
            attempts=self.attempts,
            **({"incarnation": goal.incarnation} if goal else {}),
        )
        return ReportResult(self.protocol, url, code, self.attempts, goal)

    def _json(self) -> int:
        try:
            return self.call.post_json(self.status, auto=self.auto)
        except _NotOffered as exc:
            log.info("report", f"JSON health endpoint not offered ({exc}); using the goal state")
            self.protocol = "goalstate"  # for the rest of this run
            raise http.Retry(http.RetryKind.STATUS, str(exc), immediate=True) from None

    def on_retry(self, n: int, exc: http.Retry, left: float) -> None:
        if exc.immediate:
            return  # a protocol switch or a first 410, already logged as such
        # Each kind of failure is logged once as a warning, then only in the summary.
        (log.info if exc.kind in self.seen else log.warning)(
            "report", f"attempt {n} failed: {exc}", url=self.call.base, remaining=f"{left:.1f}s"
        )
        self.seen.add(exc.kind)
