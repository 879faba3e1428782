"""Pre-provisioned VMs in ``igngen provision``: Ready for the pool, the poll, the hand-over (edge).

Called once the media (and IMDS) have been read. For a VM that is not
pre-provisioned it changes nothing. For ``Running`` and the legacy kind it

1. reports Ready to the Wireserver for the pool (without the Ready marker of
   ``igngen report``: the real provisioning's Ready still has to come),
2. polls IMDS ``/metadata/reprovisiondata`` within ``pps.timeout``,
3. parses the document it gets with the media's parser and limits,
4. fetches the IMDS instance document again (the pool's one described the
   placeholder), and refuses to go on if IMDS still says pre-provisioned
   (cloud-init's check),

and hands the new document back: provisioning then goes on exactly as for a
normal VM, and nothing of the pool's document (its user, keys, custom data)
is used. ``Savable``, ``PreprovisionedOSDisk`` and unknown types fail at once
with ``pps-unsupported-kind``. The one deadline over ``provision`` and
systemd's start timeout are extended by the wait's budget (nothing else gets
longer), so the wait is bounded twice, like every other.
"""

from __future__ import annotations

from collections.abc import Callable

from igngen import log
from igngen.azure import kvp
from igngen.azure.pps import DEFAULT_POLL_TIMEOUT

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple

    from igngen.azure.media import MediaContents
    from igngen.azure.pps import PpsDecision
    from igngen.boot.sequence import ProvisionOptions
    from igngen.settings import Settings
else:
    from igngen.records import NamedTuple

# Ready for the pool: the pool VM, like any VM, must report within Azure's provisioning
# timeout, and everything before it (media, IMDS) has already taken part of that.
DEFAULT_READY_TIMEOUT = 300.0
STATE_FILE = "pps.json"
# What the steps around the poll add to it: the pool Ready's last request overrunning its
# budget, the second IMDS fetch's slack, parsing.
SLACK_SECONDS = 60.0
SETTINGS_KEYS = ("timeout", "ready_timeout", "wireserver")


class PpsOptions(NamedTuple):
    wireserver: str = "auto"  # auto: DHCP option 245, else 168.63.129.16 (as igngen report)
    timeout: float = DEFAULT_POLL_TIMEOUT  # the whole poll for re-provisioning data
    ready_timeout: float = DEFAULT_READY_TIMEOUT  # the Ready report for the pool


def options_from_settings(settings: Settings, **overrides: Any) -> PpsOptions:
    """The ``pps:`` section (unknown keys refused), ``report.wireserver``, then the CLI."""
    from igngen.settings import Section

    values: dict[str, Any] = {}
    report = settings.sections.get("report") or {}
    if isinstance(report.get("wireserver"), str):
        values["wireserver"] = report["wireserver"]
    pps = Section("pps", settings.sections.get("pps"), settings.source, SETTINGS_KEYS,
                  settings.positions)  # fmt: skip
    for key in SETTINGS_KEYS:
        if key not in pps:
            continue
        if key == "wireserver":
            values[key] = pps.string(key, "")
            if not values[key]:
                raise pps.error(key, "expected an address")
        else:
            values[key] = pps.seconds(key, None)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return PpsOptions(**values)


def reprovision_if_pooled(
    opts: ProvisionOptions,
    contents: MediaContents,
    imds: bytes | None,
    *,
    fetch_imds: Callable[[ProvisionOptions], bytes | None],
) -> tuple[MediaContents, bytes | None]:
    """(media contents, IMDS document) to provision from: the given ones, or the hand-over's."""
    from igngen.azure import ovf as ovf_parser
    from igngen.azure import pps
    from igngen.errors import OvfError

    try:
        env = ovf_parser.parse(contents.ovf, source=f"{contents.origin}:ovf-env.xml")
    except OvfError:
        return contents, imds  # the normal flow reports the broken document
    decision = pps.detect(env, _imds_pps_type(imds))
    if decision.action == pps.PROCEED:
        return contents, imds
    _note(opts, decision, "detected")
    if decision.action == pps.REFUSE:
        raise pps.refusal(decision)

    _extend(opts.pps.ready_timeout + opts.pps.timeout + SLACK_SECONDS, "pre-provisioned wait")
    ready_at = _report_pool_ready(opts)
    _note(opts, decision, "ready-for-pool", ready_at=ready_at)
    polled = _poll(opts)
    new_env = pps.parse_reprovisioned(polled.document)
    warning = pps.still_pooled(new_env)
    if warning:
        log.warning("pps", warning)
    _note(opts, decision, "reprovisioned", ready_at=ready_at, polls=polled.attempts)
    kvp.try_append(
        opts.kvp_pool,
        kvp.event_key("pps"),
        f"re-provisioning data received after {polled.attempts} polls",
    )
    from igngen.azure.media import MediaContents

    # The pool media's CustomData.bin was the placeholder's: the hand-over document's own
    # CustomData (or IMDS userData) is the customer's.
    handed = MediaContents(polled.document, None, pps.SOURCE)
    new_imds = fetch_imds(opts)
    still = _imds_pps_type(new_imds)
    if still is not None and still.strip().lower() not in ("", "none"):
        from igngen.errors import PpsError, shown

        raise PpsError(
            "pps-imds-still-preprovisioned",
            f"after the hand-over IMDS still says ppsType {shown(still)}",
            "imds#/extended/compute/ppsType",
        )
    return handed, new_imds


def _imds_pps_type(imds: bytes | None) -> str | None:
    if imds is None:
        return None
    from igngen.azure.imds import parse_instance
    from igngen.errors import ImdsDataError

    try:
        return parse_instance(imds, source="imds").pps_type
    except ImdsDataError:
        return None  # provision says why it ignores the document


def _extend(seconds: float, why: str) -> None:
    from igngen import sdnotify, watchdog
    from igngen.limits import PROVISION_BACKSTOP_SECONDS

    watchdog.extend(seconds, why)
    sdnotify.extend_timeout(seconds + PROVISION_BACKSTOP_SECONDS)


def _report_pool_ready(opts: ProvisionOptions) -> str:
    from igngen.azure.reporter import resolve_wireserver
    from igngen.azure.wireserver import status_for
    from igngen.azure.wireserver_client import DEFAULT_TIMING, ReportSettings, report
    from igngen.errors import IgngenError, PpsError

    address, origin = resolve_wireserver(opts.pps.wireserver)
    log.info("pps", "reporting Ready for the pool", wireserver=address, source=origin)
    settings = ReportSettings(
        wireserver=address, timing=DEFAULT_TIMING.with_total(opts.pps.ready_timeout)
    )
    try:
        result = report(status_for("ready"), settings)
    except IgngenError as exc:
        raise PpsError("pps-pool-ready-failed", exc.message, exc.location) from None
    kvp.try_append(
        opts.kvp_pool,
        kvp.event_key("pps"),
        f"Ready for the pool reported ({result.protocol}, HTTP {result.http_status})",
    )
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _poll(opts: ProvisionOptions) -> Any:
    from igngen import sdnotify
    from igngen.azure.imds_client import DEFAULT_IMDS_URL, DEFAULT_TIMING, ImdsSettings
    from igngen.azure.reprovision_client import poll
    from igngen.errors import PpsError
    from igngen.limits import PROVISION_BACKSTOP_SECONDS

    if opts.imds_url == "":
        raise PpsError(
            "pps-imds-disabled", "a pre-provisioned VM needs IMDS for its hand-over", "--imds-url"
        )
    settings = ImdsSettings(
        url=opts.imds_url or DEFAULT_IMDS_URL, timing=DEFAULT_TIMING.with_total(opts.pps.timeout)
    )
    # Each poll keeps systemd's start timeout one request plus one pause ahead.
    timing = settings.timing
    beat = timing.request_timeout + timing.backoff_max + PROVISION_BACKSTOP_SECONDS
    polled = poll(settings, heartbeat=lambda: sdnotify.extend_timeout(beat))
    # What is left of provisioning (IMDS again, render, hand-off) gets its normal budget.
    from igngen.boot.sequence import deadline

    sdnotify.extend_timeout(deadline(opts)[0] + PROVISION_BACKSTOP_SECONDS)
    return polled


def _note(opts: ProvisionOptions, decision: PpsDecision, phase: str, **extra: Any) -> None:
    """``<state-dir>/pps.json`` for ``igngen status`` and the journal line for people."""
    import os

    from igngen.azure import pps
    from igngen.errors import IgngenError, shown
    from igngen.jsonio import atomic_write, canonical_json

    known = (pps.RUNNING, pps.LEGACY, pps.SAVABLE, pps.OS_DISK)
    kind = decision.kind if decision.kind in known else shown(decision.kind)
    log.info("pps", f"pre-provisioned VM: {phase}", kind=kind, source=decision.source)
    if phase == "detected":
        kvp.try_append(
            opts.kvp_pool,
            kvp.event_key("pps"),
            f"pre-provisioned VM, kind {kind} ({decision.source})",
        )
    record = {"kind": kind, "source": decision.source, "phase": phase, **extra}
    try:
        os.makedirs(opts.state_dir, mode=0o700, exist_ok=True)
        atomic_write(
            os.path.join(opts.state_dir, STATE_FILE),
            canonical_json(record, pretty=True),
            mode=0o644,
        )
    except (OSError, IgngenError) as exc:
        log.warning("pps", f"state not recorded: {exc}")
