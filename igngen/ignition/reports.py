"""What validation says: reports with JSON pointers (shared by every pass).

``Report`` is one finding; ``Reports`` collects them for one config; ``escape``
makes one JSON-pointer reference token. ``NEWER_FIELD`` marks a field newer
than the declared spec (an error in igngen's own output, Ignition's warning
elsewhere).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from igngen.records import NamedTuple

NEWER_FIELD = "newer-field"


class Report(NamedTuple):
    severity: str  # "error" or "warning"
    pointer: str
    message: str
    code: str = ""


def escape(token: str) -> str:
    """One JSON-pointer reference token."""
    if "~" not in token and "/" not in token:
        return token
    return token.replace("~", "~0").replace("/", "~1")


class Reports:
    __slots__ = ("reports",)

    def __init__(self) -> None:
        self.reports: list[Report] = []

    def error(self, pointer: str, message: str, code: str = "") -> None:
        self.reports.append(Report("error", pointer, message, code))

    def warn(self, pointer: str, message: str) -> None:
        self.reports.append(Report("warning", pointer, message))

    @property
    def failed(self) -> bool:
        return any(r.severity == "error" for r in self.reports)


def newer_field_message(key: str, newer: str, version: str) -> str:
    return f"field {key!r} needs spec {newer} or newer (config declares {version})"
