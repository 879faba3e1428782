"""Wireserver documents: goal state and versions parsing, health report bodies (pure).

Facts (azure-protocol sheet §3): the goal state is XML without a namespace on
its elements; the health report echoes ``Incarnation``, ``ContainerId`` and the
first ``RoleInstance/InstanceId``. Parsing here matches elements by local name,
so a namespaced or prefixed document from a future host still parses, and
refuses DTDs and entities (``xmldoc``). The health XML is built by hand with
every value escaped: the element order is fixed and the output deterministic.

A health description is one line, secret-scrubbed and trimmed to
``MAX_DESCRIPTION`` characters (cloud-init's limit; WALA allows more, the host
shows the text to the user, so short is better).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from igngen.errors import WireserverDataError, XmlError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple

    from igngen.azure.xmldoc import Element
else:
    from igngen.records import NamedTuple

PROTOCOL_VERSION = "2012-11-30"
DEFAULT_WIRESERVER = "http://168.63.129.16"
DEFAULT_AGENT_NAME = "igngen"
PROTOCOLS = ("auto", "goalstate", "json")
DEFAULT_READY_TIMEOUT = 1200.0  # azure-init's and cloud-init's 20 minutes
MAX_DESCRIPTION = 512
MAX_DOCUMENT = 1024 * 1024  # a real goal state is a few KiB
_MAX_ID = 256

READY = "Ready"
NOT_READY = "NotReady"
SUB_PROVISIONING = "Provisioning"
SUB_FAILED = "ProvisioningFailed"

# Report kinds as the CLI names them → (state, substatus).
KINDS: dict[str, tuple[str, str | None]] = {
    "ready": (READY, None),
    "provisioning": (NOT_READY, SUB_PROVISIONING),
    "failure": (NOT_READY, SUB_FAILED),
}


class GoalState(NamedTuple):
    incarnation: str
    container_id: str
    instance_id: str


class HealthStatus(NamedTuple):
    state: str  # READY or NOT_READY
    substatus: str | None = None
    description: str | None = None

    @property
    def kind(self) -> str:
        for name, (state, sub) in KINDS.items():
            if (state, sub) == (self.state, self.substatus):
                return name
        return self.state


def status_for(
    kind: str, description: str | None = None, *, secrets: Iterable[str] = ()
) -> HealthStatus:
    """The status for a CLI kind; the description is cleaned (Ready carries none)."""
    state, sub = KINDS[kind]
    if sub is None:
        return HealthStatus(state)
    default = "Provisioning started" if sub == SUB_PROVISIONING else "Provisioning failed"
    text = clean_description(description or default, secrets=secrets) or default
    return HealthStatus(state, sub, text)


# --- description hygiene -------------------------------------------------------

# Defensive only: callers pass secret-free error strings. These catch a password
# that slipped into a key=value or an XML element anyway.
_PASSWORDISH = re.compile(
    r"(?i)(<(?:[\w.-]+:)?(?:User|Admin)Password>)[^<]*(</)"
    r"|((?<![\w/.-])(?:user_?|admin_?)?pass(?:word|wd)?\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s|,;]+)"
)
# XML 1.0 refuses most C0 controls; C1 and the Unicode line separators would
# break the one-line promise. All become spaces.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SPACES = re.compile(r"\s+")


def clean_description(
    text: str, *, secrets: Iterable[str] = (), limit: int = MAX_DESCRIPTION
) -> str:
    """One line, known secrets and password-looking values redacted, at most ``limit`` chars."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<redacted>")
    text = _PASSWORDISH.sub(
        lambda m: (
            f"{m.group(1)}<redacted>{m.group(2)}" if m.group(1) else f"{m.group(3)}<redacted>"
        ),
        text,
    )
    # Lone surrogates (from surrogateescape'd bytes) cannot be encoded as UTF-8.
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()
    if len(text) > limit:
        text = text[: limit - 3].rstrip() + "..."
    return text


# --- goal state ------------------------------------------------------------------


def _child(elem: Element, name: str) -> Element | None:
    for child in elem:
        if child.name == name:
            return child
    return None


def _parse_xml(data: bytes, source: str) -> Element:
    # Only the goal-state protocol parses XML: `igngen report` over JSON never loads it.
    from igngen.azure import xmldoc

    if len(data) > MAX_DOCUMENT:
        raise WireserverDataError(f"document of {len(data)} bytes is over the limit", source)
    if not data.strip():
        raise WireserverDataError("empty document", source)
    try:
        return xmldoc.parse(data, source=source, max_bytes=MAX_DOCUMENT)
    except XmlError as exc:
        if exc.kind == "refused":
            message = f"refused XML construct ({exc.detail})"
        elif exc.kind == "malformed":
            # expat's column from 0, as this message has always given it
            message = f"not well-formed XML (line {exc.line}, column {exc.column - 1})"
        elif exc.kind == "encoding":
            message = f"not well-formed XML ({exc.message})"
        else:
            raise WireserverDataError(exc.message, exc.location) from None
        raise WireserverDataError(message, source) from None


def _text(
    elem: Element | None, path: str, source: str, *, pattern: re.Pattern[str] | None = None
) -> str:
    where = f"{source}:/{path}"
    if elem is None:
        raise WireserverDataError("element missing", where)
    if len(elem):
        raise WireserverDataError("expected text, found child elements", where)
    text = elem.text.strip()
    if not text:
        raise WireserverDataError("empty value", where)
    if len(text) > _MAX_ID or _CONTROL.search(text) or (pattern and not pattern.fullmatch(text)):
        raise WireserverDataError("unusable value", where)
    return text


_INCARNATION = re.compile(r"[0-9]{1,20}")
_ID = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces (GUIDs, "<guid>.<role>")


def parse_goal_state(data: bytes, *, source: str = "goalstate") -> GoalState:
    """Incarnation, ContainerId and the first RoleInstance's InstanceId, or a located error."""
    root = _parse_xml(data, source)
    if root.name != "GoalState":
        raise WireserverDataError(f"root element is {root.name!r}, not GoalState", source)
    incarnation = _text(
        _child(root, "Incarnation"), "GoalState/Incarnation", source, pattern=_INCARNATION
    )
    container = _child(root, "Container")
    if container is None:
        raise WireserverDataError("element missing", f"{source}:/GoalState/Container")
    container_id = _text(
        _child(container, "ContainerId"), "GoalState/Container/ContainerId", source, pattern=_ID
    )
    path = "GoalState/Container/RoleInstanceList/RoleInstance"
    instances = _child(container, "RoleInstanceList")
    instance = _child(instances, "RoleInstance") if instances is not None else None
    if instance is None:
        raise WireserverDataError(
            "no role instance (the host expects no health report yet)", f"{source}:/{path}"
        )
    instance_id = _text(_child(instance, "InstanceId"), f"{path}/InstanceId", source, pattern=_ID)
    return GoalState(incarnation, container_id, instance_id)


def parse_versions(data: bytes, *, source: str = "versions") -> tuple[list[str], list[str]]:
    """(preferred, supported) protocol versions from a ``?comp=versions`` answer."""
    root = _parse_xml(data, source)
    if root.name != "Versions":
        raise WireserverDataError(f"root element is {root.name!r}, not Versions", source)

    def versions(section: str) -> list[str]:
        elem = _child(root, section)
        if elem is None:
            return []
        return [v.text.strip() for v in elem if v.name == "Version"]

    return versions("Preferred"), versions("Supported")


def supports_protocol(preferred: list[str], supported: list[str]) -> bool:
    # WALA's rule: preferred or supported (WALA's own fixture lists it only as preferred).
    return PROTOCOL_VERSION in preferred or PROTOCOL_VERSION in supported


# --- health report bodies -----------------------------------------------------------


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def health_xml(goal: GoalState, status: HealthStatus) -> bytes:
    """The ``POST /machine?comp=health`` body, UTF-8."""
    details = ""
    if status.state != READY:
        details = (
            "<Details>"
            f"<SubStatus>{_escape(status.substatus or SUB_PROVISIONING)}</SubStatus>"
            f"<Description>{_escape(status.description or '')}</Description>"
            "</Details>"
        )
    doc = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<Health xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        ' xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
        f"<GoalStateIncarnation>{_escape(goal.incarnation)}</GoalStateIncarnation>"
        "<Container>"
        f"<ContainerId>{_escape(goal.container_id)}</ContainerId>"
        "<RoleInstanceList><Role>"
        f"<InstanceId>{_escape(goal.instance_id)}</InstanceId>"
        f"<Health><State>{_escape(status.state)}</State>{details}</Health>"
        "</Role></RoleInstanceList>"
        "</Container>"
        "</Health>\n"
    )
    return doc.encode("utf-8")


def health_json(status: HealthStatus) -> bytes:
    """The ``POST /provisioning/health`` body (azure-init's shape), UTF-8, keys sorted."""
    import json

    body: dict[str, Any] = {"state": status.state}
    if status.state != READY:
        body["details"] = {
            "subStatus": status.substatus or SUB_PROVISIONING,
            "description": status.description or "",
        }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
