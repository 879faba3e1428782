"""``igngen report``'s run loop: its options and settings, the VM id, the Wireserver address.

One report (ready, provisioning or failure) per run: flush the initramfs KVP
records, decide whether Ready is still needed (:mod:`igngen.azure.health` keeps
the marker), name the failure, write KVP, then send the health report within the
kind's total timeout and record what was delivered.

The VM id is the SMBIOS system UUID (``/sys/class/dmi/id/product_uuid``),
which is what Azure's ``vmId`` is derived from (Gen1 VMs show the first three
groups byte-swapped; the marker only compares the value with itself, so the
form does not matter). ``--vm-id`` or ``report.vm_id_file`` override it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from igngen import log, paths
from igngen.azure import health, report_settings
from igngen.errors import IgngenError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:  # the HTTP client is imported only when reporting
    from typing import Any, NamedTuple

    from igngen.azure.wireserver_client import ReportResult
else:
    from igngen.records import NamedTuple

# Same values as igngen.azure.wireserver's (a test keeps them equal); repeated so that
# `igngen render`, which asks for the report unit's template variables, does not
# load the Wireserver modules.
DEFAULT_WIRESERVER = "http://168.63.129.16"
DEFAULT_AGENT_NAME = "igngen"
PROTOCOLS = report_settings.PROTOCOLS
DEFAULT_READY_TIMEOUT = 1200.0
DEFAULT_VM_ID_FILE = paths.VM_ID_FILE
DEFAULT_REASON_FILE = paths.FAILURE_REASON  # written by `igngen provision`
DEFAULT_KVP_POOL = paths.KVP_POOL
DEFAULT_COMMAND = paths.IGNGEN_COMMAND
# In-progress and failure reports must not hold the boot for 20 minutes.
DEFAULT_TIMEOUTS = {"ready": DEFAULT_READY_TIMEOUT, "provisioning": 60.0, "failure": 300.0}
WIRESERVER_AUTO = report_settings.WIRESERVER_AUTO
DOCUMENTATION_URL = "https://aka.ms/linuxprovisioningerror"

SETTINGS_KEYS = report_settings.SETTINGS_KEYS


class ReportOptions(NamedTuple):
    kind: str  # ready | provisioning | failure
    description: str | None = None
    wireserver: str = WIRESERVER_AUTO  # auto: DHCP option 245, else the well-known address
    protocol: str = "auto"
    timeout: float | None = None  # None: DEFAULT_TIMEOUTS[kind]
    state_dir: str = health.DEFAULT_STATE_DIR
    force: bool = False
    vm_id: str | None = None
    vm_id_file: str = DEFAULT_VM_ID_FILE
    kvp_pool: str | None = DEFAULT_KVP_POOL
    reason_file: str = DEFAULT_REASON_FILE
    agent_name: str = DEFAULT_AGENT_NAME
    secrets: tuple[str, ...] = ()


class Outcome(NamedTuple):
    reported: bool
    message: str
    result: ReportResult | None = None


# --- settings -------------------------------------------------------------------


def options_from_settings(
    kind: str,
    sections: Mapping[str, Mapping[str, Any]],
    source: str,
    *,
    positions: Mapping[str, str] | None = None,
    **overrides: Any,
) -> ReportOptions:
    """The settings' ``report:`` section (unknown keys refused), then command-line overrides."""
    values = report_settings.read(sections, source, positions)
    values.pop("command", None)  # the unit's, not the run's (render.variables.report)
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


# --- VM id, Wireserver address -------------------------------------


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


# --- the command -------------------------------------------------------------------


def run(
    opts: ReportOptions,
    *,
    env: Mapping[str, str] | None = None,
    discover: Callable[[], tuple[str, str] | None] | None = None,
    journal: health.JournalReader = health.journal_last_error,
) -> Outcome:
    from igngen.azure import kvp
    from igngen.azure.wireserver import status_for
    from igngen.azure.wireserver_client import DEFAULT_TIMING, ReportSettings, report

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
        needed, why = health.ready_needed(health.read_marker(opts.state_dir), vm_id, opts.force)
        if not needed:
            log.info("report", why)
            return Outcome(False, why)
        log.info("report", f"reporting Ready: {why}", vm_id=vm_id or "unknown")

    description = None
    kvp_value = None
    origin = ""
    if opts.kind == "failure":
        named, origin = health.failure_text(
            env, description=opts.description, reason_file=opts.reason_file, journal=journal
        )
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
        timing=DEFAULT_TIMING.with_total(timeout),
        agent_name=opts.agent_name,
    )
    try:
        result = report(status, settings)
    except IgngenError as exc:
        kvp.try_append(opts.kvp_pool, kvp.event_key(f"report-{opts.kind}-failed"), str(exc))
        raise

    incarnation = result.goal_state.incarnation if result.goal_state else None
    reported_at = health.now()
    entry = {
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
        marker = None
        if opts.kind == "ready":
            marker = health.Marker(
                vm_id or "unknown", incarnation, result.protocol, address, reported_at
            )
        health.record(opts.state_dir, opts.kind, entry, marker)
    except (OSError, IgngenError) as exc:
        # The report itself was delivered; a missing marker only means reporting again next boot.
        log.warning("report", f"delivered, but the state was not recorded: {exc}")
    return Outcome(True, f"{opts.kind} reported", result)
