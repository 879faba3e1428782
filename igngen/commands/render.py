"""``igngen render``: the offline pipeline from files (what provisioning would hand to Ignition)."""

from __future__ import annotations

import argparse

from igngen import log
from igngen.commands.inputs import add_input_arguments, load_settings, render_inputs
from igngen.jsonio import (
    atomic_write,
    canonical_json,
    refuse_overwriting_inputs,
    write_all,
    write_output,
    write_stdout,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_input_arguments(parser)
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--fragment-only",
        action="store_true",
        help="print only igngen's fragment, not the config merged with custom data",
    )
    what.add_argument(
        "--handin",
        action="store_true",
        help="print the user config handed to Ignition (fragment + custom data as merge references)",
    )
    parser.add_argument(
        "--handoff",
        metavar="FILE",
        help="also write the hand-in config (what Ignition receives) to FILE",
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write to FILE (atomically, mode 0600)"
    )
    parser.add_argument("-p", "--pretty", action="store_true", help="indent the JSON")


def run(args: argparse.Namespace) -> int:
    from igngen.render.pipeline import render

    refuse_overwriting_inputs(
        {"--output": args.output, "--handoff": args.handoff},
        {
            "--ovf": args.ovf,
            "--imds": args.imds,
            "--config": args.config,
            "--customdata": args.customdata,
            "--waagent-conf": args.waagent_conf,
        },
    )
    settings = load_settings(args)
    inputs = render_inputs(args)
    result = render(inputs, settings)
    for warning in result.warnings:
        log.warning("render", warning)
    if args.fragment_only:
        config = result.fragment
    elif args.handin:
        config = result.handin
    else:
        config = result.final
    # Validate everything before writing anything: no half-written outputs.
    data = canonical_json(config, pretty=args.pretty)
    handin_data = canonical_json(result.handin, pretty=args.pretty) if args.handoff else None
    if handin_data is None:
        write_output(args.output, data, mode=0o600)
    elif args.output:
        write_all([(args.handoff, handin_data, 0o600), (args.output, data, 0o600)])
    else:
        atomic_write(args.handoff, handin_data, mode=0o600)
        write_stdout(data)
    return 0
