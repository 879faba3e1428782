"""``igngen status``: what igngen reported to Azure, when, and the Ready marker's state."""

from __future__ import annotations

import argparse

from igngen import paths


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir",
        metavar="DIR",
        action="append",
        help="state directory to read (repeatable; default "
        f"{paths.READY_STATE_DIR} and {paths.INITRD_STATE_DIR})",
    )
    parser.add_argument("--vm-id", metavar="ID", help="VM id to compare the marker with")
    parser.add_argument(
        "--vm-id-file", metavar="PATH", help="file holding the VM id (default the DMI product_uuid)"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def collect(state_dirs: list[str], vm_id: str | None) -> dict[str, object]:
    from igngen.azure import health
    from igngen.failures import reason_of

    out: dict[str, object] = {"vm_id": vm_id, "state_dirs": {}}
    marker_state = "absent"
    for state_dir in state_dirs:
        marker = health.read_marker(state_dir)
        reports = health.read_reports(state_dir)
        for record in reports.values():
            # The failure's catalogue name, as in KVP's PROVISIONING_REPORT.
            name = reason_of(record.get("description"))
            if name is not None:
                record["reason"] = name
        entry: dict[str, object] = {
            "ready_marker": marker._asdict() if marker else None,
            "reports": reports,
        }
        if marker is not None:
            needed, why = health.ready_needed(marker, vm_id, False)
            entry["marker_state"] = "other-vm" if needed else "current"
            entry["marker_note"] = why
            if marker_state != "current":
                marker_state = entry["marker_state"]  # type: ignore[assignment]
        out["state_dirs"][state_dir] = entry  # type: ignore[index]
    out["ready_marker"] = marker_state
    return out


def _human(data: dict[str, object]) -> str:
    lines = [f"VM id: {data['vm_id'] or 'unknown'}", f"Ready marker: {data['ready_marker']}"]
    dirs = data["state_dirs"]
    assert isinstance(dirs, dict)
    for state_dir, entry in dirs.items():
        lines.append(f"{state_dir}:")
        marker = entry["ready_marker"]
        if marker:
            lines.append(
                f"  Ready marker: VM {marker['vm_id']}, incarnation {marker['incarnation'] or '-'},"
                f" {marker['protocol']} via {marker['wireserver']} at {marker['reported_at']}"
                f" ({entry['marker_state']})"
            )
        else:
            lines.append("  Ready marker: none")
        reports = entry["reports"]
        if not reports:
            lines.append("  reports: none recorded")
        for kind in sorted(reports):
            rec = reports[kind]
            what = rec.get("state", "?") + (f"/{rec['substatus']}" if rec.get("substatus") else "")
            lines.append(
                f"  {kind}: {what} at {rec.get('at')} via {rec.get('protocol')} "
                f"(HTTP {rec.get('http_status')}, {rec.get('attempts')} attempt(s))"
            )
            if rec.get("reason"):
                lines.append(f"    reason: {rec['reason']}")
            if rec.get("description"):
                lines.append(f"    {rec['description']}")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    import sys

    from igngen.azure import health, reporter
    from igngen.jsonio import canonical_json

    dirs = args.state_dir or [health.DEFAULT_STATE_DIR, health.INITRD_STATE_DIR]
    opts = reporter.ReportOptions(
        kind="ready", vm_id=args.vm_id, vm_id_file=args.vm_id_file or reporter.DEFAULT_VM_ID_FILE
    )
    data = collect(dirs, reporter.read_vm_id(opts))
    if args.json:
        sys.stdout.buffer.write(canonical_json(data, pretty=True))
    else:
        sys.stdout.write(_human(data))
    return 0
