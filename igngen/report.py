"""Report state: Ready once per VM, and a short history for ``igngen status`` (edge: files).

The marker (``reported-ready.json`` in the state directory) is written
atomically only after the Wireserver accepted Ready, and names the VM it was
for: a reboot finds it and does not report again, a new VM (another vmId, e.g.
an image captured and deployed again) reports afresh. Reporting first and
marking after is deliberate: azure-init marks first, so a failed Ready is never
retried.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from typing import Any

from igngen.jsonio import atomic_write, canonical_json

DEFAULT_STATE_DIR = "/var/lib/igngen"
MARKER = "reported-ready.json"
HISTORY = "reports.json"
HISTORY_KEEP = 20
PRODUCT_UUID = "/sys/class/dmi/id/product_uuid"


def vm_id(explicit: str | None = None, *, uuid_file: str = PRODUCT_UUID) -> str:
    if explicit:
        return explicit.lower()
    try:
        with open(uuid_file, encoding="ascii", errors="replace") as fh:
            value = fh.read().strip().lower()
        return value or "unknown"
    except OSError:
        return "unknown"


def read_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def ready_marker(state_dir: str) -> dict[str, Any] | None:
    data = read_json(os.path.join(state_dir, MARKER))
    return data if isinstance(data, dict) else None


def already_ready(state_dir: str, vm: str) -> bool:
    marker = ready_marker(state_dir)
    return marker is not None and marker.get("vm_id") == vm


def record(
    state_dir: str,
    *,
    kind: str,
    vm: str,
    outcome: str,
    protocol: str | None = None,
    incarnation: str | None = None,
    description: str | None = None,
) -> None:
    os.makedirs(state_dir, mode=0o755, exist_ok=True)
    entry = {
        "kind": kind,
        "vm_id": vm,
        "outcome": outcome,
        "protocol": protocol,
        "incarnation": incarnation,
        "description": description,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    entry = {k: v for k, v in entry.items() if v is not None}
    history = read_json(os.path.join(state_dir, HISTORY))
    history = history if isinstance(history, list) else []
    history = ([*history, entry])[-HISTORY_KEEP:]
    atomic_write(os.path.join(state_dir, HISTORY), canonical_json(history, pretty=True), mode=0o644)
    if kind == "ready" and outcome == "reported":
        atomic_write(
            os.path.join(state_dir, MARKER), canonical_json(entry, pretty=True), mode=0o644
        )


def history(state_dir: str) -> list[dict[str, Any]]:
    data = read_json(os.path.join(state_dir, HISTORY))
    return [e for e in data if isinstance(e, dict)] if isinstance(data, list) else []


DEFAULT_COMMAND = "/usr/bin/igngen"
_SETTINGS_KEYS = ("command", "state_dir", "wireserver", "protocol", "enabled")


def template_variables(
    section: Mapping[str, Any] | None, *, source: str = "settings"
) -> dict[str, Any]:
    """The ``report.*`` template variables from the settings' ``report:`` section."""
    from igngen.errors import SettingsError

    section = dict(section or {})
    for key in section:
        if key not in _SETTINGS_KEYS:
            raise SettingsError(
                f"report.{key}: unknown key (known: {', '.join(_SETTINGS_KEYS)})", source
            )
    command = str(section.get("command", DEFAULT_COMMAND))
    state_dir = str(section.get("state_dir", DEFAULT_STATE_DIR))
    for key, value in (("command", command), ("state_dir", state_dir)):
        if not value.startswith("/") or any(c.isspace() or ord(c) < 32 for c in value):
            raise SettingsError(f"report.{key}: must be an absolute path without spaces", source)
    args = [f"--state-dir {state_dir}"]
    wireserver = section.get("wireserver")
    if wireserver:
        if any(c.isspace() for c in str(wireserver)):
            raise SettingsError("report.wireserver: must be a URL without spaces", source)
        args.append(f"--wireserver {wireserver}")
    protocol = section.get("protocol")
    if protocol:
        if protocol not in ("auto", "goalstate", "json"):
            raise SettingsError("report.protocol: one of auto, goalstate, json", source)
        args.append(f"--protocol {protocol}")
    return {
        "enabled": bool(section.get("enabled", True)),
        "command": command,
        "state_dir": state_dir,
        "marker": f"{state_dir}/{MARKER}",
        "args": " ".join(args),
    }
