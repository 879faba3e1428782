"""The settings' ``report:`` section: its keys, read and checked (pure).

``igngen report`` turns it into its run's options (``reporter.options_from_settings``);
``igngen render`` and ``provision`` read the same section for the Ready unit's template
variables (``render.variables.report``) and refuse what the reporter would refuse,
without loading the reporter and the state modules behind it.
"""

from __future__ import annotations

from collections.abc import Mapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PROTOCOLS = ("auto", "goalstate", "json")
WIRESERVER_AUTO = "auto"  # DHCP option 245, else the well-known address

SETTINGS_KEYS = (
    "enabled",
    "wireserver",
    "protocol",
    "timeout",
    "state_dir",
    "kvp_pool",
    "agent_name",
    "vm_id_file",
    "command",
)


def read(
    sections: Mapping[str, Mapping[str, Any]],
    source: str,
    positions: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The keys the section sets, by name; unknown keys, wrong types and choices are
    :class:`SettingsError`. ``enabled`` is checked, not returned."""
    from igngen.settings import Section

    section = Section("report", sections.get("report"), source, SETTINGS_KEYS, positions)
    values: dict[str, Any] = {}
    if "timeout" in section:
        values["timeout"] = section.seconds("timeout", None)
    if "protocol" in section:
        values["protocol"] = section.choice("protocol", PROTOCOLS, "auto")
    for key in ("wireserver", "state_dir", "kvp_pool", "agent_name", "vm_id_file", "command"):
        if key in section:
            values[key] = section.string(key, "")
    section.boolean("enabled", True)
    return values
