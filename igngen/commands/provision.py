"""``igngen provision``: read the Azure media and IMDS, hand the configs to Ignition (initramfs)."""

from __future__ import annotations

import argparse

from igngen import paths
from igngen.seconds import seconds_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--media",
        default=None,
        metavar="DEV|DIR|auto",
        help="provisioning media: a device, a directory holding ovf-env.xml, or auto (default)",
    )
    parser.add_argument(
        "--media-wait",
        type=seconds_argument,
        default=None,
        metavar="SECONDS",
        help="how long to wait for the media to appear (default 60)",
    )
    parser.add_argument(
        "--imds-url",
        default=None,
        metavar="URL",
        help="IMDS base URL (default http://169.254.169.254; '' disables IMDS)",
    )
    parser.add_argument(
        "--imds-timeout",
        type=seconds_argument,
        default=None,
        metavar="SECONDS",
        help="total time budget for IMDS (default 300)",
    )
    parser.add_argument(
        "--wireserver",
        default=None,
        metavar="URL",
        help="Wireserver for a pre-provisioned VM's Ready for the pool "
        "(default auto: DHCP option 245, else 168.63.129.16)",
    )
    parser.add_argument(
        "--pps-timeout",
        type=seconds_argument,
        default=None,
        metavar="SECONDS",
        help="how long a pre-provisioned VM polls for its re-provisioning data (default 86400)",
    )
    parser.add_argument(
        "--handoff-dir",
        default=None,
        metavar="DIR",
        help=f"Ignition system config directory to write (default {paths.HANDOFF_DIR})",
    )
    parser.add_argument(
        "--layout",
        choices=("sysdir", "runtime"),
        default=None,
        help="sysdir: a full IGNITION_SYSTEM_CONFIG_DIR incl. the image's base configs "
        "(Ignition <= 2.26, default); runtime: only igngen's files (/run/ignition, Ignition >= 2.27)",
    )
    parser.add_argument(
        "--image-dir",
        default=None,
        metavar="DIR",
        help="the image's own Ignition config directory to carry over "
        f"(default {paths.IGNITION_IMAGE_DIR})",
    )
    parser.add_argument(
        "--waagent-conf",
        metavar="FILE",
        default=None,
        help="the image's waagent.conf (default: /etc/waagent.conf or /usr/share/waagent/waagent.conf "
        "in the initramfs, else Flatcar's shipped values)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="igngen settings (default /etc/igngen/igngen.yaml if present)",
    )
    parser.add_argument(
        "--templates",
        metavar="DIR",
        action="append",
        default=[],
        help="template directory (repeatable)",
    )
    parser.add_argument(
        "--kvp-pool",
        default=None,
        metavar="PATH",
        help=f"Hyper-V KVP pool for telemetry (default {paths.KVP_POOL}; '' disables)",
    )
    parser.add_argument(
        "--state-dir",
        default=None,
        metavar="DIR",
        help=f"where the failure reason is recorded (default {paths.INITRD_STATE_DIR})",
    )


def run(args: argparse.Namespace) -> int:
    from igngen import log
    from igngen.boot.sequence import (
        ProvisionOptions,
        deadline,
        options_from_settings,
        provision,
        record_failure,
    )
    from igngen.errors import IgngenError
    from igngen.failures import from_error
    from igngen.settings import Settings, default_path, load
    from igngen.watchdog import Watchdog

    # Until the settings are read, the defaults say where a failure is recorded: a
    # broken settings file must reach KVP and the failure reporter like any other failure.
    opts = ProvisionOptions(
        **{
            k: v
            for k, v in (("state_dir", args.state_dir), ("kvp_pool", args.kvp_pool))
            if v is not None
        }
    )
    try:
        config = default_path(args.config)
        settings = load(config) if config else Settings()
        opts = options_from_settings(
            settings,
            media=args.media,
            media_wait=args.media_wait,
            imds_url=args.imds_url,
            imds_timeout=args.imds_timeout,
            handoff_dir=args.handoff_dir,
            layout=args.layout,
            image_dir=args.image_dir,
            kvp_pool=args.kvp_pool,
            state_dir=args.state_dir,
            template_dirs=tuple(args.templates) or None,
            waagent_conf=(args.waagent_conf,) if args.waagent_conf else None,
        )
        from igngen.boot.pool import options_from_settings as pps_options

        opts = opts._replace(
            pps=pps_options(settings, wireserver=args.wireserver, timeout=args.pps_timeout)
        )
        seconds, detail = deadline(opts)
        log.info(
            "provision", "starting", media=opts.media, handoff=opts.handoff_dir, deadline=seconds
        )
        with Watchdog(seconds, "provisioning", detail=detail):
            provision(opts, settings)
    except IgngenError as exc:
        record_failure(opts, from_error(exc))
        raise
    except BaseException as exc:
        # A bug, Ctrl-C or a closed stream: still one named reason for KVP and the reporter.
        record_failure(opts, from_error(exc))
        raise
    log.info("provision", "done")
    return 0
