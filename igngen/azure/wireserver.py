"""Wireserver documents: goal state in, health reports out (pure).

Two protocols exist and igngen speaks both:
- goal state (WALinuxAgent, cloud-init, Afterburn): ``GET /machine/?comp=goalstate``
  gives Incarnation, ContainerId and InstanceId, echoed in an XML ``<Health>``
  document ``POST``ed to ``/machine?comp=health``;
- provisioning health (azure-init): one JSON ``POST`` to ``/provisioning/health``.
Descriptions are trimmed to 512 characters (what cloud-init sends; the portal
shows them) and XML-escaped.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple
from xml.sax.saxutils import escape

from igngen.errors import WireserverDataError

READY = "Ready"
NOT_READY = "NotReady"
PROVISIONING = "Provisioning"
PROVISIONING_FAILED = "ProvisioningFailed"
PROTOCOL_VERSION = "2012-11-30"
MAX_DESCRIPTION = 512
MAX_GOAL_STATE = 1024 * 1024

# report kind -> (state, sub-status)
KINDS = {
    "ready": (READY, None),
    "provisioning": (NOT_READY, PROVISIONING),
    "failure": (NOT_READY, PROVISIONING_FAILED),
}


class GoalState(NamedTuple):
    incarnation: str
    container_id: str
    instance_id: str


def _text(root: Any, path: str, source: str) -> str:
    elem = root.find(path)
    if elem is None or not (elem.text or "").strip():
        raise WireserverDataError(f"goal state has no {path}", source)
    return str(elem.text).strip()


def parse_goal_state(data: bytes, *, source: str = "goalstate") -> GoalState:
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    if len(data) > MAX_GOAL_STATE:
        raise WireserverDataError(f"goal state is {len(data)} bytes, over the limit", source)
    try:
        root = fromstring(data, forbid_dtd=True)
    except (ParseError, DefusedXmlException) as exc:
        raise WireserverDataError(
            f"goal state is not well-formed XML ({type(exc).__name__})", source
        ) from None
    if root.tag != "GoalState":
        raise WireserverDataError(f"expected a GoalState document, got <{root.tag}>", source)
    incarnation = _text(root, "Incarnation", source)
    if not incarnation.isdigit():
        raise WireserverDataError("goal state Incarnation is not a number", source)
    return GoalState(
        incarnation=incarnation,
        container_id=_text(root, "Container/ContainerId", source),
        instance_id=_text(root, "Container/RoleInstanceList/RoleInstance/InstanceId", source),
    )


def parse_versions(data: bytes) -> list[str]:
    """Versions the Wireserver lists (preferred and supported); [] when unreadable."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        root = fromstring(data, forbid_dtd=True)
    except (ParseError, DefusedXmlException):
        return []
    return [str(v.text).strip() for v in root.iter("Version") if v.text]


def trim_description(text: str) -> str:
    text = " ".join(text.split())  # one line: the portal shows it as such
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 3] + "..."


def health_xml(goal: GoalState, kind: str, description: str | None = None) -> bytes:
    state, sub = KINDS[kind]
    details = ""
    if sub is not None:
        desc = escape(trim_description(description or sub))
        details = (
            f"<Details><SubStatus>{sub}</SubStatus><Description>{desc}</Description></Details>"
        )
    doc = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<Health xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
        f"<GoalStateIncarnation>{escape(goal.incarnation)}</GoalStateIncarnation>"
        f"<Container><ContainerId>{escape(goal.container_id)}</ContainerId><RoleInstanceList><Role>"
        f"<InstanceId>{escape(goal.instance_id)}</InstanceId><Health><State>{state}</State>{details}</Health>"
        "</Role></RoleInstanceList></Container></Health>"
    )
    return doc.encode("utf-8")


def health_json(kind: str, description: str | None = None) -> bytes:
    state, sub = KINDS[kind]
    body: dict[str, Any] = {"state": state}
    if sub is not None:
        body["details"] = {"subStatus": sub, "description": trim_description(description or sub)}
    return json.dumps(body, sort_keys=True).encode("utf-8")
