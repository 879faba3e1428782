"""``igngen report``: what to report, whether to, and what is remembered afterwards.

Ready is reported once per VM. ``<state-dir>/ready.json`` records the VM id
and the goal-state incarnation of the Ready that the Wireserver accepted; it
is written atomically, and only after the 2xx (azure-init marks the VM done
before Ready succeeds, so a failed Ready is never retried: igngen does the
reverse). A reboot finds the marker and does not report again; a marker for
another VM id (an image captured with its state) does not count; ``--force``
always reports.

The VM id is the SMBIOS system UUID (``/sys/class/dmi/id/product_uuid``),
which is what Azure's ``vmId`` is derived from (Gen1 VMs show the first three
groups byte-swapped; the marker only compares the value with itself, so the
form does not matter). ``--vm-id`` or ``report.vm_id_file`` override it.

Every delivered report (ready, provisioning, failure) is also kept in
``<state-dir>/reports.json`` for ``igngen status``; the initramfs units use
``/run/igngen``, which survives the switch to the real root until reboot.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from igngen import log, paths
from igngen.errors import IgngenError, SettingsError, UsageError

if TYPE_CHECKING:  # the HTTP client is imported only when reporting
    from igngen.azure.wireserver_client import ReportResult
    from igngen.failures import Failure

# Same values as igngen.azure.wireserver's (a test keeps them equal); repeated so that
# `igngen render`, which asks template_variables() for the unit's values, does not
# load the Wireserver modules.
DEFAULT_WIRESERVER = "http://168.63.129.16"
DEFAULT_AGENT_NAME = "igngen"
PROTOCOLS = ("auto", "goalstate", "json")
DEFAULT_READY_TIMEOUT = 1200.0
DEFAULT_STATE_DIR = paths.READY_STATE_DIR
INITRD_STATE_DIR = paths.INITRD_STATE_DIR
READY_MARKER = "ready.json"
REPORTS_FILE = "reports.json"
DEFAULT_VM_ID_FILE = paths.VM_ID_FILE
DEFAULT_REASON_FILE = paths.FAILURE_REASON  # written by `igngen provision`
DEFAULT_KVP_POOL = paths.KVP_POOL
DEFAULT_COMMAND = paths.IGNGEN_COMMAND
# In-progress and failure reports must not hold the boot for 20 minutes.
DEFAULT_TIMEOUTS = {"ready": DEFAULT_READY_TIMEOUT, "provisioning": 60.0, "failure": 300.0}
WIRESERVER_AUTO = "auto"
DOCUMENTATION_URL = "https://aka.ms/linuxprovisioningerror"

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


class ReportOptions(NamedTuple):
    kind: str  # ready | provisioning | failure
    description: str | None = None
    wireserver: str = WIRESERVER_AUTO  # auto: DHCP option 245, else the well-known address
    protocol: str = "auto"
    timeout: float | None = None  # None: DEFAULT_TIMEOUTS[kind]
    state_dir: str = DEFAULT_STATE_DIR
    force: bool = False
    vm_id: str | None = None
    vm_id_file: str = DEFAULT_VM_ID_FILE
    kvp_pool: str | None = DEFAULT_KVP_POOL
    reason_file: str = DEFAULT_REASON_FILE
    agent_name: str = DEFAULT_AGENT_NAME
    secrets: tuple[str, ...] = ()


class Marker(NamedTuple):
    vm_id: str
    incarnation: str | None
    protocol: str
    wireserver: str
    reported_at: str


class Outcome(NamedTuple):
    reported: bool
    message: str
    result: ReportResult | None = None


# --- settings -------------------------------------------------------------------


def _typed(section: Mapping[str, Any], key: str, kind: type, source: str) -> Any:
    value = section[key]
    if kind is float:
        from igngen.seconds import check_seconds

        try:
            return check_seconds(value)
        except ValueError as exc:
            raise SettingsError(f"report.{key}: {exc}", source) from None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise SettingsError(f"report.{key}: expected {kind.__name__}", source)
    return value


def options_from_settings(
    kind: str, sections: Mapping[str, Mapping[str, Any]], source: str, **overrides: Any
) -> ReportOptions:
    """The settings' ``report:`` section (unknown keys refused), then command-line overrides."""
    section = sections.get("report") or {}
    values: dict[str, Any] = {}
    for key in section:
        if key not in SETTINGS_KEYS:
            raise SettingsError(
                f"report.{key}: unknown key (known: {', '.join(SETTINGS_KEYS)})", source
            )
    types = {"timeout": float}
    for key in SETTINGS_KEYS:
        if key in section and key not in ("command", "enabled"):
            values[key] = _typed(section, key, types.get(key, str), source)
    if values.get("protocol", "auto") not in PROTOCOLS:
        raise SettingsError(f"report.protocol: use one of {', '.join(PROTOCOLS)}", source)
    if values.get("kvp_pool") == "":
        values["kvp_pool"] = None
    values.update({k: v for k, v in overrides.items() if v is not None})
    if values.get("kvp_pool") == "":
        values["kvp_pool"] = None
    if "kvp_pool" not in values:
        from igngen.azure import kvp

        # In the initramfs no KVP daemon runs and /var is lost at switch-root:
        # records wait in /run (kept across switch-root) until Ready flushes them.
        values["kvp_pool"] = kvp.default_pool()
    return ReportOptions(kind=kind, **values)


def template_variables(
    section: Mapping[str, Any] | None, *, source: str = "settings"
) -> dict[str, Any]:
    """The ``report.*`` template variables from the settings' ``report:`` section.

    ``enabled`` (default true) renders the Ready unit; ``command``, ``state_dir``,
    ``wireserver`` and ``marker`` are single values; ``args`` is what the unit passes
    to ``igngen report ready``. Values end up in ``ExecStart=`` and
    ``ConditionPathExists=``: whitespace, quotes, ``%``, ``$`` and ``\\`` are refused.
    """
    sections = {"report": dict(section or {})}
    opts = options_from_settings("ready", sections, source)
    command = sections["report"].get("command", DEFAULT_COMMAND)
    enabled = sections["report"].get("enabled", True)
    if not isinstance(enabled, bool):
        raise SettingsError("report.enabled: expected true or false", source)
    values = {"command": command, "state_dir": opts.state_dir, "wireserver": opts.wireserver}
    for key, value in values.items():
        if (
            not isinstance(value, str)
            or not value
            or any(c.isspace() or c in "\"'\\%$" or ord(c) < 32 for c in value)
        ):
            raise SettingsError(
                f"report.{key}: whitespace, quotes, % and $ are not allowed", source
            )
    for key in ("command", "state_dir"):
        if not values[key].startswith("/"):
            raise SettingsError(f"report.{key}: must be an absolute path", source)
    args = [f"--state-dir {opts.state_dir}", f"--wireserver {opts.wireserver}"]
    if opts.protocol != "auto":
        args.append(f"--protocol {opts.protocol}")
    return {
        "enabled": enabled,
        **values,
        "marker": f"{opts.state_dir}/{READY_MARKER}",
        "args": " ".join(args),
    }


# --- VM id, Wireserver address, failure text -------------------------------------


def read_vm_id(opts: ReportOptions) -> str | None:
    if opts.vm_id:
        return opts.vm_id.strip().lower()
    try:
        with open(opts.vm_id_file, encoding="ascii", errors="replace") as fh:
            text = fh.read(128).strip().lower()
    except OSError:
        return None
    return text or None


def resolve_wireserver(
    value: str, *, discover: Callable[[], tuple[str, str] | None] | None = None
) -> tuple[str, str]:
    """(address, where it came from): an explicit address, else DHCP option 245, else the default."""
    if value and value != WIRESERVER_AUTO:
        return value, "configured"
    if discover is None:
        from igngen.azure.dhcp import discover as dhcp_discover

        discover = dhcp_discover
    found = discover()
    if found:
        return found[0], f"DHCP option 245 in {found[1]}"
    return DEFAULT_WIRESERVER, "default"


JournalReader = Callable[[list[str]], "tuple[str, str] | None"]


def _journal_last_error(matches: list[str]) -> tuple[str, str] | None:
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
    opts: ReportOptions,
    env: Mapping[str, str],
    *,
    journal: JournalReader = _journal_last_error,
) -> tuple[Failure, str]:
    """(named failure, source): --description, igngen's reason file, the journal."""
    from igngen.failures import failure, for_unit, parse_line

    if opts.description:
        return parse_line(opts.description), "command line"
    try:
        with open(opts.reason_file, encoding="utf-8", errors="replace") as fh:
            reason = fh.read(4096).strip()
        if reason:
            return parse_line(reason), opts.reason_file
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


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _write_state(state_dir: str, name: str, data: Any) -> None:
    from igngen.jsonio import atomic_write, canonical_json

    os.makedirs(state_dir, mode=0o755, exist_ok=True)
    atomic_write(os.path.join(state_dir, name), canonical_json(data, pretty=True), mode=0o644)


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


# --- the command -------------------------------------------------------------------


def run(
    opts: ReportOptions,
    *,
    env: Mapping[str, str] | None = None,
    discover: Callable[[], tuple[str, str] | None] | None = None,
    journal: JournalReader = _journal_last_error,
) -> Outcome:
    from igngen.azure import kvp
    from igngen.azure.wireserver import status_for
    from igngen.azure.wireserver_client import ReportSettings, report

    if opts.kind not in DEFAULT_TIMEOUTS:
        raise UsageError(f"unknown report kind {opts.kind!r}", "report")
    env = os.environ if env is None else env
    vm_id = read_vm_id(opts)
    if opts.kvp_pool and os.fspath(opts.kvp_pool) != kvp.INITRD_POOL:
        # Records written in the initramfs reach the host now, before the health report.
        try:
            moved = kvp.flush(kvp.INITRD_POOL, opts.kvp_pool)
        except IgngenError as exc:
            log.warning("kvp", f"initramfs records not flushed: {exc}")
        else:
            if moved:
                log.info("kvp", "initramfs records flushed", records=moved)
    if opts.kind == "ready":
        needed, why = ready_needed(read_marker(opts.state_dir), vm_id, opts.force)
        if not needed:
            log.info("report", why)
            return Outcome(False, why)
        log.info("report", f"reporting Ready: {why}", vm_id=vm_id or "unknown")

    description = None
    kvp_value = None
    origin = ""
    if opts.kind == "failure":
        named, origin = failure_text(opts, env, journal=journal)
        log.info("report", "failure reason", reason=named.name, source=origin)
        # cloud-init's and azure-init's encoded report, so the host side reads one format.
        description = kvp.report_value(
            "error",
            reason=named.name,
            detail=named.detail,
            vm_id=vm_id,
            documentation_url=DOCUMENTATION_URL,
        )
        kvp_value = description
    elif opts.kind == "provisioning":
        description = (
            opts.description or f"Provisioning in progress (igngen, vm_id={vm_id or 'unknown'})"
        )
    status = status_for(opts.kind, description, secrets=opts.secrets)

    # The host collects KVP when the health report arrives: write it first.
    if kvp_value is not None and origin != opts.reason_file:
        # (igngen provision already wrote its own failure record.)
        kvp.try_append(opts.kvp_pool, kvp.REPORT_KEY, status.description or "")
    kvp.try_append(
        opts.kvp_pool, kvp.event_key(f"report-{opts.kind}"), status.description or status.state
    )

    address, origin_ws = resolve_wireserver(opts.wireserver, discover=discover)
    log.info("report", "Wireserver", address=address, source=origin_ws)
    timeout = opts.timeout if opts.timeout is not None else DEFAULT_TIMEOUTS[opts.kind]
    settings = ReportSettings(
        wireserver=address,
        protocol=opts.protocol,
        total_timeout=timeout,
        agent_name=opts.agent_name,
    )
    try:
        result = report(status, settings)
    except IgngenError as exc:
        kvp.try_append(opts.kvp_pool, kvp.event_key(f"report-{opts.kind}-failed"), str(exc))
        raise

    incarnation = result.goal_state.incarnation if result.goal_state else None
    reported_at = _now()
    record = {
        "at": reported_at,
        "protocol": result.protocol,
        "url": result.url,
        "http_status": result.http_status,
        "attempts": result.attempts,
        "incarnation": incarnation,
        "vm_id": vm_id,
        "state": status.state,
        "substatus": status.substatus,
        "description": status.description,
    }
    try:
        if opts.kind == "ready":
            marker = Marker(vm_id or "unknown", incarnation, result.protocol, address, reported_at)
            _write_state(opts.state_dir, READY_MARKER, marker._asdict())
        reports = read_reports(opts.state_dir)
        reports[opts.kind] = record
        _write_state(opts.state_dir, REPORTS_FILE, reports)
    except (OSError, IgngenError) as exc:
        # The report itself was delivered; a missing marker only means reporting again next boot.
        log.warning("report", f"delivered, but the state was not recorded: {exc}")
    return Outcome(True, f"{opts.kind} reported", result)
