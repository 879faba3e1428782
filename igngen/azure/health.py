"""What igngen remembers about its health reports, and why a boot failed (pure + file reads).

Ready is reported once per VM. ``<state-dir>/ready.json`` records the VM id
and the goal-state incarnation of the Ready that the Wireserver accepted; it
is written atomically, and only after the 2xx (azure-init marks the VM done
before Ready succeeds, so a failed Ready is never retried: igngen does the
reverse). A reboot finds the marker and does not report again; a marker for
another VM id (an image captured with its state) does not count; ``--force``
always reports.

Every delivered report (ready, provisioning, failure) is also kept in
``<state-dir>/reports.json`` for ``igngen status``; the initramfs units use
``/run/igngen``, which survives the switch to the real root until reboot.

The failure text of a ``failure`` report comes from the command line, igngen's
own reason file, or the journal of the unit that failed (:func:`failure_text`).
The run loop that sends reports is :mod:`igngen.azure.reporter`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping

from igngen import log, paths

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple

    from igngen.failures import Failure
else:
    from igngen.records import NamedTuple

DEFAULT_STATE_DIR = paths.READY_STATE_DIR
INITRD_STATE_DIR = paths.INITRD_STATE_DIR
READY_MARKER = paths.READY_MARKER_NAME
REPORTS_FILE = "reports.json"


class Marker(NamedTuple):
    vm_id: str
    incarnation: str | None
    protocol: str
    wireserver: str
    reported_at: str


# --- state -----------------------------------------------------------------------


def _read_json(path: str) -> Any:
    """igngen's own state file, or None: a missing, hostile or corrupt one (a crash mid-
    write on another tool's part, a hand edit) is a warning, never a failed report."""
    from igngen.errors import IgngenError
    from igngen.limits import MAX_STATE_BYTES
    from igngen.readfile import read_file
    from igngen.safejson import loads

    if not os.path.lexists(path):
        return None
    try:
        return loads(read_file(path, "state file", cap=MAX_STATE_BYTES).decode("utf-8"))
    except (IgngenError, ValueError) as exc:
        log.warning("report", f"ignoring unreadable state file: {exc}", path=path)
        return None


def read_marker(state_dir: str) -> Marker | None:
    data = _read_json(os.path.join(state_dir, READY_MARKER))
    if not isinstance(data, dict):
        return None
    values: dict[str, Any] = {f: data.get(f) for f in Marker._fields}
    if not all(isinstance(v, str) or (f == "incarnation" and v is None) for f, v in values.items()):
        log.warning("report", "ignoring a malformed Ready marker", state_dir=state_dir)
        return None
    return Marker(**values)


def read_reports(state_dir: str) -> dict[str, Any]:
    data = _read_json(os.path.join(state_dir, REPORTS_FILE))
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)}


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def write_state(state_dir: str, name: str, data: Any) -> None:
    from igngen.jsonio import atomic_write, canonical_json

    os.makedirs(state_dir, mode=0o755, exist_ok=True)
    atomic_write(os.path.join(state_dir, name), canonical_json(data, pretty=True), mode=0o644)


def record(state_dir: str, kind: str, entry: Mapping[str, Any], marker: Marker | None) -> None:
    """Keep a delivered report: the Ready marker first (when given), then ``reports.json``."""
    if marker is not None:
        write_state(state_dir, READY_MARKER, marker._asdict())
    reports = read_reports(state_dir)
    reports[kind] = dict(entry)
    write_state(state_dir, REPORTS_FILE, reports)


def ready_needed(marker: Marker | None, vm_id: str | None, force: bool) -> tuple[bool, str]:
    if force:
        return True, "forced"
    if marker is None:
        return True, "no Ready recorded"
    if marker.vm_id != (vm_id or "unknown"):
        return True, f"Ready was recorded for VM {marker.vm_id}, this is {vm_id or 'unknown'}"
    return False, (
        f"Ready already reported for this VM at {marker.reported_at}"
        f" (incarnation {marker.incarnation or '-'}); --force reports again"
    )


# --- failure text ----------------------------------------------------------------

JournalReader = Callable[[list[str]], "tuple[str, str] | None"]


def journal_last_error(matches: list[str]) -> tuple[str, str] | None:
    """(unit, message) of the newest error-or-worse journal entry matching ``matches``."""
    import subprocess

    cmd = ["journalctl", "--no-pager", "-q", "-b", "-o", "json", "-p", "err", "-n", "50", *matches]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return last_error(proc.stdout.splitlines())


def last_error(lines: list[bytes]) -> tuple[str, str] | None:
    """(unit, message) from ``journalctl -o json`` lines, oldest first: the newest message a
    unit logged itself, else the newest one systemd logged about it. ``-u`` also matches
    systemd's own "Failed to start X" (from init.scope), which comes after, and says less
    than, the error the failed unit wrote (Ignition's "disks failed: ...")."""
    about: tuple[str, str] | None = None
    for line in reversed(lines):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        message = entry.get("MESSAGE") if isinstance(entry, dict) else None
        if not isinstance(message, str) or not message.strip():
            continue
        own = entry.get("_SYSTEMD_UNIT")
        subject = entry.get("UNIT")
        if isinstance(own, str) and own and own != "init.scope":
            return own, message.strip()
        if about is None:
            unit = subject if isinstance(subject, str) and subject else own
            about = (unit if isinstance(unit, str) else ""), message.strip()
    return about


# Units whose errors explain a failed provisioning boot when systemd did not name one.
FAILURE_UNITS = ("ignition-*.service", "igngen-provision.service")


def failure_text(
    env: Mapping[str, str],
    *,
    description: str | None,
    reason_file: str,
    journal: JournalReader = journal_last_error,
) -> tuple[Failure, str]:
    """(named failure, source): ``description`` (--description), igngen's reason file, the
    journal."""
    from igngen.failures import failure, for_unit, parse_line

    if description:
        return parse_line(description), "command line"
    try:
        with open(reason_file, encoding="utf-8", errors="replace") as fh:
            reason = fh.read(4096).strip()
        if reason:
            return parse_line(reason), reason_file
    except OSError:
        pass
    # systemd (>= 251) tells an OnFailure= unit which unit failed and how. It sets these
    # whenever exactly one unit names ours in OnFailure=, however ours was started: when
    # emergency.target starts it after an Ignition stage failed, they describe
    # igngen-provision.service, which succeeded (seen in the e2e boots, systemd 252).
    unit = env.get("MONITOR_UNIT")
    invocation = env.get("MONITOR_INVOCATION_ID")
    if unit and env.get("MONITOR_SERVICE_RESULT") == "timeout":
        # Killed before it could say why (stuck where no signal reached it).
        return failure("timeout", f"{unit} did not finish within its start timeout"), "systemd"
    if unit and env.get("MONITOR_SERVICE_RESULT") != "success":
        found = journal([f"_SYSTEMD_INVOCATION_ID={invocation}"]) if invocation else None
        if found:
            return for_unit(unit, found[1]), "journal"
        result = env.get("MONITOR_SERVICE_RESULT", "failed")
        status = env.get("MONITOR_EXIT_STATUS")
        how = f"failed ({result}{', status ' + status if status else ''})"
        return for_unit(unit, how), "systemd"
    # Started from emergency.target: the newest error of the provisioning units.
    matches = [arg for u in FAILURE_UNITS for arg in ("-u", u)]
    found = journal(matches)
    if found:
        return for_unit(found[0], found[1]), "journal"
    return failure("unknown", "provisioning failed (no reason recorded)"), "default"
