"""IMDS simulator: the instance document behind scripted faults (loopback only)."""

from __future__ import annotations

import base64
import json
from typing import Any

from sim.http import Reply, ScriptedServer, Step


def instance_document(
    *,
    user: str = "azureuser",
    host: str = "simhost",
    keys: list[str] | None = None,
    user_data: bytes | None = None,
    vm_id: str = "11111111-2222-3333-4444-555555555555",
    disable_password_authentication: str = "true",
) -> dict[str, Any]:
    return {
        "compute": {
            "name": host + "-vm",
            "osProfile": {
                "adminUsername": user,
                "computerName": host,
                "disablePasswordAuthentication": disable_password_authentication,
            },
            "publicKeys": [
                {"keyData": k, "path": f"/home/{user}/.ssh/authorized_keys"} for k in keys or []
            ],
            "userData": base64.b64encode(user_data).decode() if user_data else "",
            "vmId": vm_id,
            "vmSize": "Standard_D2ds_v5",
            "storageProfile": {"resourceDisk": {"size": "76800"}},
        },
        "network": {"interface": []},
        "extended": {"compute": {"ppsType": "None", "hasCustomData": False}},
    }


def ok(doc: dict[str, Any]) -> Reply:
    return Reply(200, json.dumps(doc).encode(), {"Content-Type": "application/json; charset=utf-8"})


def imds_server(script: list[Step]) -> ScriptedServer:
    """Answers 400 like IMDS when the Metadata header is missing, else follows the script."""
    steps = list(script)

    def respond(req: Any) -> Step:
        if req.headers.get("metadata") != "true":
            return Reply(400, b'{"error": "Bad request. Required metadata header not specified"}')
        return steps.pop(0) if len(steps) > 1 else steps[0]

    return ScriptedServer(respond)


def imds_routes(routes: dict[str, list[Step]]) -> ScriptedServer:
    """Like imds_server, with a script per path (without the query): the instance
    document at /metadata/instance, userData at /metadata/instance/compute/userData."""
    scripts = {path: list(steps) for path, steps in routes.items()}

    def respond(req: Any) -> Step:
        if req.headers.get("metadata") != "true":
            return Reply(400, b'{"error": "Bad request. Required metadata header not specified"}')
        steps = scripts.get(req.path.split("?", 1)[0])
        if steps is None:
            return Reply(404, b'{"error": "Not found"}')
        return steps.pop(0) if len(steps) > 1 else steps[0]

    return ScriptedServer(respond)


class PpsImds:
    """IMDS of a pre-provisioned VM: the pool's instance document, ``/metadata/reprovisiondata``
    answering 404 ``pool_polls`` times, then the hand-over ``ovf-env.xml``; from then on the
    instance document is the assigned VM's. ``reprovision`` replaces the 404s/hand-over with a
    script of its own (garbage, refusals). Everything received is kept (``server.requests``)."""

    def __init__(
        self,
        *,
        pool_doc: dict[str, Any],
        real_doc: dict[str, Any],
        handover: bytes,
        pool_polls: int = 3,
        reprovision: list[Step] | None = None,
    ) -> None:
        self.pool_doc = pool_doc
        self.real_doc = real_doc
        self.assigned = False
        self.polls = 0
        script = reprovision or (
            [Reply(404, b'{"error": "Not found"}')] * pool_polls
            + [Reply(200, handover, {"Content-Type": "text/xml; charset=utf-8"})]
        )
        self.script = list(script)
        self.server = ScriptedServer(self._respond)

    def _respond(self, req: Any) -> Step:
        if req.headers.get("metadata") != "true":
            return Reply(400, b'{"error": "Bad request. Required metadata header not specified"}')
        path = req.path.split("?", 1)[0]
        if path == "/metadata/reprovisiondata":
            self.polls += 1
            step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
            if isinstance(step, Reply) and step.status == 200:
                self.assigned = True
            return step
        if path == "/metadata/instance":
            return ok(self.real_doc if self.assigned else self.pool_doc)
        return Reply(404, b'{"error": "Not found"}')

    def reprovision_requests(self) -> list[Any]:
        return [r for r in self.server.requests if r.path.startswith("/metadata/reprovisiondata")]

    @property
    def url(self) -> str:
        return self.server.url

    def __enter__(self) -> PpsImds:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)
