"""A loopback Wireserver: versions, goal state, both health endpoints, scripted faults.

State follows the real protocol's shape (azure-protocol sheet §3): the goal
state carries an incarnation; a health POST naming another incarnation gets
410 Gone; requests without ``x-ms-version`` get 400. ``faults[endpoint]``
holds steps (``sim.http`` Reply/Reset/Hang/Drip) served before the normal
answer, per endpoint: ``versions``, ``goalstate``, ``health`` (XML), ``json``.
``after_goalstate`` runs after each goal state is served (e.g. to bump the
incarnation between the agent's GET and POST). Everything received is kept.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from sim.http import Reply, Request, ScriptedServer, Step

DATA = Path(__file__).resolve().parent.parent / "data" / "wireserver"
CONTAINER = "6a1f5c3e-2b7d-4e90-9c18-3d4f5a6b7c8d"
INSTANCE = "c0ffee00d15ea5e5b0a7f00dcafe1234.igngen-sim"


def goal_state_xml(incarnation: int, container: str = CONTAINER, instance: str = INSTANCE) -> bytes:
    text = (DATA / "goalstate.xml").read_text()
    text = text.replace("@INCARNATION@", str(incarnation))
    return text.replace("@CONTAINER@", container).replace("@INSTANCE@", instance).encode()


class WireserverSim:
    def __init__(
        self,
        *,
        incarnation: int = 1,
        json_enabled: bool = True,
        faults: dict[str, list[Step]] | None = None,
        goal_state_body: bytes | None = None,
        after_goalstate: Callable[[WireserverSim], None] | None = None,
    ) -> None:
        self.incarnation = incarnation
        self.json_enabled = json_enabled
        self.faults = {k: list(v) for k, v in (faults or {}).items()}
        self.goal_state_body = goal_state_body
        self.after_goalstate = after_goalstate
        self.lock = threading.RLock()
        self.health: list[Request] = []  # accepted XML reports
        self.json: list[Request] = []  # accepted JSON reports
        self.server = ScriptedServer(self._respond)

    # --- what the agent sent, parsed field by field ---

    def health_docs(self) -> list[dict[str, Any]]:
        return [parse_health_xml(r.body) for r in self.health]

    def json_docs(self) -> list[Any]:
        return [json.loads(r.body) for r in self.json]

    def reports(self) -> list[tuple[str, str | None]]:
        """(state, substatus) of every accepted report, XML and JSON, in arrival order:
        a pre-provisioned VM's Ready for the pool comes first, the real provisioning's after."""
        accepted = [(r.at, "xml", r) for r in self.health] + [(r.at, "json", r) for r in self.json]
        out: list[tuple[str, str | None]] = []
        for _, kind, req in sorted(accepted, key=lambda item: item[0]):
            if kind == "xml":
                doc = parse_health_xml(req.body)
                out.append((doc["state"], doc["substatus"]))
            else:
                body = json.loads(req.body)
                out.append((body["state"], body.get("details", {}).get("subStatus")))
        return out

    def hits(self, endpoint: str) -> int:
        return sum(1 for r in self.server.requests if endpoint_of(r) == endpoint)

    # --- the server ---

    def _respond(self, req: Request) -> Step:
        endpoint = endpoint_of(req)
        with self.lock:
            queue = self.faults.get(endpoint)
            if queue:
                return queue.pop(0)
            if endpoint in ("versions", "goalstate", "health") and (
                req.headers.get("x-ms-version") != "2012-11-30"
                or not req.headers.get("x-ms-agent-name")
            ):
                return Reply(400, b"missing x-ms-version or x-ms-agent-name")
            if endpoint == "versions" and req.method == "GET":
                return Reply(
                    200, (DATA / "versions.xml").read_bytes(), {"Content-Type": "text/xml"}
                )
            if endpoint == "goalstate" and req.method == "GET":
                body = self.goal_state_body or goal_state_xml(self.incarnation)
                if self.after_goalstate:
                    self.after_goalstate(self)
                return Reply(200, body, {"Content-Type": "text/xml; charset=utf-8"})
            if endpoint == "health" and req.method == "POST":
                if not req.headers.get("content-type", "").startswith("text/xml"):
                    return Reply(400, b"content type")
                try:
                    doc = parse_health_xml(req.body)
                except ElementTree.ParseError:
                    return Reply(400, b"bad xml")
                if doc["incarnation"] != str(self.incarnation):
                    return Reply(410, b"")
                self.health.append(req)
                return Reply(200, b"")
            if endpoint == "json" and req.method == "POST":
                if not self.json_enabled:
                    return Reply(404, b"")
                if req.headers.get("content-type") != "application/json":
                    return Reply(400, b"content type")
                self.json.append(req)
                return Reply(201, b"")
            return Reply(404, b"")

    @property
    def url(self) -> str:
        return self.server.url

    def __enter__(self) -> WireserverSim:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)


def endpoint_of(req: Request) -> str:
    path = req.path
    if path == "/?comp=versions":
        return "versions"
    if path in ("/machine/?comp=goalstate", "/machine?comp=goalstate"):
        return "goalstate"
    if path in ("/machine?comp=health", "/machine/?comp=health"):
        return "health"
    if path == "/provisioning/health":
        return "json"
    return "other"


def parse_health_xml(body: bytes) -> dict[str, Any]:
    """The health report's fields, checked for the exact element structure."""
    root = ElementTree.fromstring(body)
    assert root.tag == "Health", root.tag
    assert [c.tag for c in root] == ["GoalStateIncarnation", "Container"]
    container = root.find("Container")
    assert container is not None
    assert [c.tag for c in container] == ["ContainerId", "RoleInstanceList"]
    roles = container.findall("RoleInstanceList/Role")
    assert len(roles) == 1
    role = roles[0]
    assert [c.tag for c in role] == ["InstanceId", "Health"]
    health = role.find("Health")
    assert health is not None
    details = health.find("Details")
    return {
        "incarnation": root.findtext("GoalStateIncarnation"),
        "container_id": container.findtext("ContainerId"),
        "instance_id": role.findtext("InstanceId"),
        "state": health.findtext("State"),
        "substatus": details.findtext("SubStatus") if details is not None else None,
        "description": details.findtext("Description") if details is not None else None,
        "has_details": details is not None,
    }
