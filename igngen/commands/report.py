"""``igngen report ready|provisioning|failure``: tell the Azure Wireserver how provisioning went."""

from __future__ import annotations

import argparse

DEFAULT_FAILURE_FILE = "/run/igngen/failure-reason"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=("ready", "provisioning", "failure"))
    parser.add_argument(
        "--description", metavar="TEXT", help="what the portal shows (not for ready)"
    )
    parser.add_argument(
        "--description-file",
        metavar="FILE",
        help=f"read the description from FILE (failure default: {DEFAULT_FAILURE_FILE}, "
        "else the last Ignition error in the journal)",
    )
    parser.add_argument(
        "--wireserver",
        metavar="URL",
        help="Wireserver base URL (default: DHCP option 245, else http://168.63.129.16)",
    )
    parser.add_argument("--protocol", choices=("auto", "goalstate", "json"), default="auto")
    parser.add_argument("--state-dir", default=None, metavar="DIR", help="default /var/lib/igngen")
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="total budget (default 1200 for ready, 300 otherwise)",
    )
    parser.add_argument(
        "--force", action="store_true", help="report Ready even if it was reported for this VM"
    )
    parser.add_argument(
        "--vm-id", default=None, help="VM identity for the Ready marker (default: SMBIOS UUID)"
    )
    parser.add_argument(
        "--kvp-pool",
        default=None,
        metavar="PATH",
        help="KVP pool for the same event (default /var/lib/hyperv/.kvp_pool_1; '' disables)",
    )


def _failure_description(args: argparse.Namespace) -> str:
    import os
    import subprocess

    path = args.description_file or DEFAULT_FAILURE_FILE
    if os.path.exists(path):
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read().strip()
        if text:
            return text
    try:
        proc = subprocess.run(
            ["journalctl", "-b", "-o", "cat", "--no-pager", "-p", "crit", "-n", "5"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
        if lines:
            return "Ignition failed: " + lines[-1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return "provisioning failed in the initramfs; see the serial console log"


def run(args: argparse.Namespace) -> int:
    from igngen import log, report
    from igngen.azure import dhcp, kvp
    from igngen.azure.wireserver_client import (
        DEFAULT_READY_TIMEOUT,
        WireserverSettings,
        send_report,
    )
    from igngen.errors import IgngenError

    state_dir = args.state_dir or report.DEFAULT_STATE_DIR
    pool = kvp.DEFAULT_POOL if args.kvp_pool is None else args.kvp_pool
    vm = report.vm_id(args.vm_id)
    if args.kind == "ready" and not args.force and report.already_ready(state_dir, vm):
        log.info(
            "report",
            "Ready was already reported for this VM; nothing to do (use --force)",
            vm_id=vm,
        )
        return 0
    description = args.description
    if args.kind == "failure" and not description:
        description = _failure_description(args)
    if args.description_file and not description:
        with open(args.description_file, encoding="utf-8", errors="replace") as fh:
            description = fh.read().strip()
    url = args.wireserver
    if not url:
        found = dhcp.discover()
        url = f"http://{found}" if found else None
    settings = WireserverSettings(
        url=url or WireserverSettings().url,
        protocol=args.protocol,
        total_timeout=args.timeout
        if args.timeout is not None
        else (DEFAULT_READY_TIMEOUT if args.kind == "ready" else 300.0),
    )
    # KVP first: the host collects KVP diagnostics when it receives the health report.
    result = (
        "success"
        if args.kind == "ready"
        else ("error" if args.kind == "failure" else "in-progress")
    )
    kvp.try_append(
        pool,
        kvp.REPORT_KEY if args.kind != "provisioning" else kvp.event_key("provisioning"),
        kvp.report_value(result, vm_id=vm, reason=description if args.kind == "failure" else None),
    )
    log.info(
        "report", f"reporting {args.kind}", wireserver=settings.url, protocol=settings.protocol
    )
    try:
        done = send_report(args.kind, description, settings)
    except IgngenError as exc:
        report.record(state_dir, kind=args.kind, vm=vm, outcome=f"failed: {exc}")
        raise
    report.record(
        state_dir,
        kind=args.kind,
        vm=vm,
        outcome="reported",
        protocol=done.protocol,
        incarnation=done.incarnation,
        description=description,
    )
    log.info("report", f"{args.kind} reported", protocol=done.protocol, attempts=done.attempts)
    return 0
