"""``igngen status``: what was reported to Azure, when, and whether the Ready marker is set."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state-dir", default=None, metavar="DIR", help="default /var/lib/igngen")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    from igngen import report
    from igngen.jsonio import canonical_json

    state_dir = args.state_dir or report.DEFAULT_STATE_DIR
    marker = report.ready_marker(state_dir)
    entries = report.history(state_dir)
    if args.json:
        sys.stdout.buffer.write(
            canonical_json({"ready_marker": marker, "reports": entries}, pretty=True)
        )
        return 0
    if marker:
        sys.stdout.write(
            f"Ready: reported at {marker.get('at')} for vm {marker.get('vm_id')} "
            f"via {marker.get('protocol')}"
            + (f" (incarnation {marker['incarnation']})" if marker.get("incarnation") else "")
            + "\n"
        )
    else:
        sys.stdout.write("Ready: not reported yet\n")
    for e in entries:
        desc = f" - {e['description']}" if e.get("description") else ""
        sys.stdout.write(
            f"{e.get('at')}  {e.get('kind'):<12} {e.get('outcome')}"
            f"{' via ' + e['protocol'] if e.get('protocol') else ''}{desc}\n"
        )
    return 0
