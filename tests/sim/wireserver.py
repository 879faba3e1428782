"""Wireserver simulator on 127.0.0.1: versions, goal state, both health endpoints; records reports.

Faults are scripted per endpoint: ``faults["json"]``, ``faults["goalstate"]``,
``faults["health"]`` are lists of steps consumed one per request before the
normal answer (``Reply``/``Reset``/``Hang``). ``json_enabled=False`` makes the
JSON endpoint answer 404 like hosts that lack it. ``bump_on_get`` raises the
incarnation after each goal-state GET (a goal state changing under the agent):
a health POST carrying an older incarnation then gets 410 Gone.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from defusedxml.ElementTree import fromstring

from sim.http import Reply, Request, ScriptedServer, Step

GOAL_STATE = """<?xml version="1.0" encoding="utf-8"?>
<GoalState xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="goalstate10.xsd">
  <Version>2012-11-30</Version>
  <Incarnation>{incarnation}</Incarnation>
  <Machine><ExpectedState>Started</ExpectedState><StopRolesDeadlineHint>300000</StopRolesDeadlineHint>
    <LBProbePorts><Port>16001</Port></LBProbePorts><ExpectHealthReport>FALSE</ExpectHealthReport></Machine>
  <Container>
    <ContainerId>{container}</ContainerId>
    <RoleInstanceList>
      <RoleInstance>
        <InstanceId>{instance}</InstanceId>
        <State>Started</State>
        <Configuration>
          <Certificates>http://wireserver.invalid/machine/x?comp=certificates&amp;incarnation={incarnation}</Certificates>
          <ConfigName>{instance}.1.xml</ConfigName>
        </Configuration>
      </RoleInstance>
    </RoleInstanceList>
  </Container>
</GoalState>
"""
VERSIONS = """<?xml version="1.0" encoding="utf-8"?>
<Versions><Preferred><Version>2015-04-05</Version></Preferred>
<Supported><Version>2015-04-05</Version><Version>2012-11-30</Version></Supported></Versions>
"""


@dataclass
class HealthReport:
    protocol: str
    state: str
    substatus: str | None
    description: str | None
    incarnation: str | None = None
    container_id: str | None = None
    instance_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class WireserverSim:
    def __init__(
        self,
        *,
        json_enabled: bool = True,
        incarnation: int = 1,
        bump_on_get: int = 0,
        faults: dict[str, list[Step]] | None = None,
        port: int = 0,
    ) -> None:
        self.json_enabled = json_enabled
        self.incarnation = incarnation
        self.bump_on_get = bump_on_get
        self.container = "c6d5526c-5ac2-4200-b6e2-56f2b70c5ab2"
        self.instance = "b61f93d0-e1ed-40b2-b067-22c243233448.MachineRole_IN_0"
        self.faults = {k: list(v) for k, v in (faults or {}).items()}
        self.reports: list[HealthReport] = []
        self.lock = threading.Lock()
        self.server = ScriptedServer(self._respond, port=port)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def requests(self) -> list[Request]:
        return self.server.requests

    def __enter__(self) -> WireserverSim:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)

    def _fault(self, name: str) -> Step | None:
        queue = self.faults.get(name)
        return queue.pop(0) if queue else None

    def _respond(self, req: Request) -> Step:
        with self.lock:
            if req.method == "GET" and req.path == "/?comp=versions":
                return Reply(200, VERSIONS.encode())
            if req.method == "GET" and req.path == "/machine/?comp=goalstate":
                if (
                    req.headers.get("x-ms-version") != "2012-11-30"
                    or "x-ms-agent-name" not in req.headers
                ):
                    return Reply(400, b"missing protocol headers")
                fault = self._fault("goalstate")
                if fault:
                    return fault
                body = GOAL_STATE.format(
                    incarnation=self.incarnation, container=self.container, instance=self.instance
                ).encode()
                self.incarnation += self.bump_on_get
                self.bump_on_get = max(0, self.bump_on_get - 1)
                return Reply(200, body, {"Content-Type": "text/xml; charset=utf-8"})
            if req.method == "POST" and req.path == "/machine?comp=health":
                fault = self._fault("health")
                if fault:
                    return fault
                return self._xml_health(req)
            if req.method == "POST" and req.path == "/provisioning/health":
                if not self.json_enabled:
                    return Reply(404, b"Not Found")
                fault = self._fault("json")
                if fault:
                    return fault
                return self._json_health(req)
            return Reply(404, b"no such endpoint")

    def _xml_health(self, req: Request) -> Step:
        if not req.headers.get("content-type", "").startswith("text/xml"):
            return Reply(400, b"bad content type")
        root = fromstring(req.body)
        inc = root.findtext("GoalStateIncarnation")
        if inc != str(self.incarnation):
            return Reply(410, b"Gone: goal state changed")
        role = root.find("Container/RoleInstanceList/Role")
        assert role is not None
        self.reports.append(
            HealthReport(
                protocol="goalstate",
                state=role.findtext("Health/State") or "",
                substatus=role.findtext("Health/Details/SubStatus"),
                description=role.findtext("Health/Details/Description"),
                incarnation=inc,
                container_id=root.findtext("Container/ContainerId"),
                instance_id=role.findtext("InstanceId"),
                headers=req.headers,
            )
        )
        return Reply(200, b"")

    def _json_health(self, req: Request) -> Step:
        body: dict[str, Any] = json.loads(req.body)
        details = body.get("details") or {}
        self.reports.append(
            HealthReport(
                protocol="json",
                state=body["state"],
                substatus=details.get("subStatus"),
                description=details.get("description"),
                headers=req.headers,
            )
        )
        return Reply(200, b"")
