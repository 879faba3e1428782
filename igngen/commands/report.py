"""``igngen report ready|provisioning|failure``: tell the Azure Wireserver (and KVP) how provisioning went."""

from __future__ import annotations

import argparse

from igngen import paths
from igngen.seconds import seconds_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=("ready", "provisioning", "failure"))
    parser.add_argument(
        "--description",
        metavar="TEXT",
        help="text for provisioning/failure (failure default: igngen's recorded reason, "
        "else the failed unit's last error in the journal)",
    )
    parser.add_argument(
        "--wireserver",
        metavar="URL|auto",
        help="Wireserver address (default auto: DHCP option 245, else 168.63.129.16)",
    )
    parser.add_argument(
        "--protocol",
        choices=("auto", "goalstate", "json"),
        help="auto (default): JSON endpoint, goal-state protocol when the host lacks it",
    )
    parser.add_argument(
        "--state-dir",
        metavar="DIR",
        help=f"where the Ready marker is kept (default {paths.READY_STATE_DIR})",
    )
    parser.add_argument(
        "--timeout",
        type=seconds_argument,
        metavar="SECONDS",
        help="total time budget (default 1200 for ready, 60 provisioning, 300 failure)",
    )
    parser.add_argument("--force", action="store_true", help="report Ready even if already done")
    parser.add_argument(
        "--kvp-pool",
        metavar="PATH",
        help=f"Hyper-V KVP pool (default {paths.KVP_POOL}; '' disables)",
    )
    parser.add_argument("--vm-id", metavar="ID", help="VM id (default: the SMBIOS system UUID)")
    parser.add_argument(
        "--vm-id-file", metavar="PATH", help="file holding the VM id (default the DMI product_uuid)"
    )
    parser.add_argument(
        "--reason-file",
        metavar="PATH",
        help=f"failure reason written by igngen provision (default {paths.FAILURE_REASON})",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="igngen settings (default /etc/igngen/igngen.yaml if present)",
    )


def run(args: argparse.Namespace) -> int:
    import sys

    from igngen.azure import reporter
    from igngen.settings import default_path, load

    sections: dict[str, object] = {}
    source = "defaults"
    config = default_path(args.config)
    if config:
        settings = load(config)
        sections, source = dict(settings.sections), settings.source
    opts = reporter.options_from_settings(
        args.kind,
        sections,  # type: ignore[arg-type]
        source,
        description=args.description,
        wireserver=args.wireserver,
        protocol=args.protocol,
        timeout=args.timeout,
        state_dir=args.state_dir,
        force=args.force or None,
        vm_id=args.vm_id,
        vm_id_file=args.vm_id_file,
        kvp_pool=args.kvp_pool,
        reason_file=args.reason_file,
    )
    outcome = reporter.run(opts)
    sys.stdout.write(outcome.message + "\n")
    return 0
