"""Send health reports to the Wireserver within a total budget (edge: HTTP).

Protocol order for ``auto``: the JSON provisioning-health endpoint first (one
request, no goal state to parse, what Microsoft's newest agent uses), then the
goal-state protocol when the JSON endpoint does not exist (404/405/501) —
the goal-state protocol works on every Azure host WALinuxAgent supports.
Retried with backoff inside the budget: connection errors, timeouts, 429, 500,
502, 503, 504, garbage goal states, and 410 (the goal state changed: it is
fetched again so the report carries the new incarnation). Any other status fails
at once with a one-line error naming the URL and status.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from igngen import __version__, log
from igngen.azure import wireserver as ws
from igngen.errors import WireserverDataError, WireserverError

DEFAULT_WIRESERVER = "http://168.63.129.16"
DEFAULT_READY_TIMEOUT = 1200.0  # azure-init's budget; Azure's own window is ~20-40 min
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 30.0
RETRIED = frozenset({429, 500, 502, 503, 504})
NO_ENDPOINT = frozenset({404, 405, 501})
PROTOCOLS = ("auto", "json", "goalstate")


class WireserverSettings(NamedTuple):
    url: str = DEFAULT_WIRESERVER
    protocol: str = "auto"
    total_timeout: float = DEFAULT_READY_TIMEOUT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    backoff_initial: float = 1.0
    backoff_max: float = 30.0


class Reported(NamedTuple):
    protocol: str
    incarnation: str | None
    attempts: int


class _Retry(Exception):
    pass


class _NoEndpoint(Exception):
    pass


class _Client:
    def __init__(self, settings: WireserverSettings, clock: Callable[[], float]) -> None:
        import requests

        self.settings = settings
        self.clock = clock
        self.deadline = clock() + settings.total_timeout
        self.session = requests.Session()
        self.session.trust_env = False  # the Wireserver is never reached through a proxy
        self.base = settings.url.rstrip("/")

    def request(
        self, method: str, path: str, *, headers: dict[str, str], body: bytes | None = None
    ) -> Any:
        import requests

        remaining = max(0.05, self.deadline - self.clock())
        timeout = (
            min(self.settings.connect_timeout, remaining),
            min(self.settings.read_timeout, remaining),
        )
        url = self.base + path
        try:
            resp = self.session.request(
                method, url, headers=headers, data=body, timeout=timeout, allow_redirects=False
            )
        except requests.exceptions.Timeout:
            raise _Retry(f"{method} {path}: timed out") from None
        except requests.exceptions.ConnectionError:
            raise _Retry(f"{method} {path}: connection failed") from None
        except requests.exceptions.RequestException as exc:
            raise _Retry(f"{method} {path}: {type(exc).__name__}") from None
        if resp.status_code in RETRIED or resp.status_code == 410:
            raise _Retry(f"{method} {path}: HTTP {resp.status_code}")
        return resp

    # --- protocols -------------------------------------------------------------

    def json_report(self, kind: str, description: str | None) -> None:
        agent = f"igngen/{__version__}"
        resp = self.request(
            "POST",
            "/provisioning/health",
            body=ws.health_json(kind, description),
            headers={
                "Content-Type": "application/json",
                "User-Agent": agent,
                "x-ms-guest-agent-name": agent,
            },
        )
        if resp.status_code in NO_ENDPOINT:
            raise _NoEndpoint(f"HTTP {resp.status_code}")
        if not 200 <= resp.status_code < 300:
            raise WireserverError(
                f"health report refused with HTTP {resp.status_code}",
                self.base + "/provisioning/health",
            )

    def goal_state_report(self, kind: str, description: str | None) -> str:
        headers = {"x-ms-agent-name": "igngen", "x-ms-version": ws.PROTOCOL_VERSION}
        resp = self.request("GET", "/machine/?comp=goalstate", headers=headers)
        if resp.status_code != 200:
            raise WireserverError(
                f"goal state refused with HTTP {resp.status_code}",
                self.base + "/machine/?comp=goalstate",
            )
        try:
            goal = ws.parse_goal_state(resp.content, source=self.base + "/machine/?comp=goalstate")
        except WireserverDataError as exc:
            raise _Retry(str(exc)) from None
        body = ws.health_xml(goal, kind, description)
        post = self.request(
            "POST",
            "/machine?comp=health",
            body=body,
            headers={**headers, "Content-Type": "text/xml; charset=utf-8"},
        )
        if not 200 <= post.status_code < 300:
            raise WireserverError(
                f"health report refused with HTTP {post.status_code}",
                self.base + "/machine?comp=health",
            )
        return goal.incarnation


def send_report(
    kind: str,
    description: str | None,
    settings: WireserverSettings,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Reported:
    """Report ``kind`` (ready/provisioning/failure); raise WireserverError when the budget runs out."""
    if kind not in ws.KINDS:
        raise ValueError(kind)
    client = _Client(settings, clock)
    protocol = "json" if settings.protocol in ("auto", "json") else "goalstate"
    attempts = 0
    backoff = settings.backoff_initial
    last = "no attempt made"
    seen: set[str] = set()
    while clock() < client.deadline:
        attempts += 1
        try:
            if protocol == "json":
                client.json_report(kind, description)
                return Reported("json", None, attempts)
            incarnation = client.goal_state_report(kind, description)
            return Reported("goalstate", incarnation, attempts)
        except _NoEndpoint as exc:
            if settings.protocol == "json":
                raise WireserverError(
                    f"JSON health endpoint not available ({exc})",
                    client.base + "/provisioning/health",
                ) from None
            log.info(
                "wireserver",
                f"JSON health endpoint not available ({exc}); using the goal-state protocol",
            )
            protocol = "goalstate"
            continue
        except _Retry as exc:
            last = str(exc)
        (log.info if last in seen else log.warning)(
            "wireserver", f"attempt {attempts} failed: {last}"
        )
        seen.add(last)
        pause = min(backoff, settings.backoff_max) * (0.5 + random.random() / 2)
        if clock() + pause >= client.deadline:
            break
        sleep(pause)
        backoff *= 2
    raise WireserverError(
        f"{kind} not reported within {settings.total_timeout:g}s after {attempts} attempt(s); "
        f"last: {last}",
        client.base,
    )
