"""``igngen validate FILE…``: check Ignition configs (spec 3.x) the way Ignition would.

Each problem is printed as ``file#/json/pointer: message`` (JSON syntax errors
as ``file:line:column``): errors on stdout, warnings on stderr. Exit 65 when
any file has an error (with ``--strict``: or a warning), else 0. Structure is
checked with the JSON Schema generated from igngen's spec data, then Ignition's
semantic rules. Verdicts are Ignition's: a field newer than the declared
version is a warning (Ignition drops it), as are unknown fields. The declared
version must be one the target Ignition (``--ignition``, default Flatcar's
current release) accepts: 2.26 refuses 3.4.0-experimental, 2.14 refuses 3.4.0+.
"""

from __future__ import annotations

import argparse
import sys

from igngen.commands.inputs import read_input
from igngen.errors import EX_DATAERR, IgnitionConfigError
from igngen.readfile import show_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from igngen.ignition.spec import DEFAULT_IGNITION

    parser.add_argument("files", nargs="+", metavar="FILE", help="config file ('-' for stdin)")
    parser.add_argument("--spec", metavar="VERSION", help="also require this declared spec version")
    parser.add_argument(
        "--ignition",
        metavar="RELEASE",
        default=DEFAULT_IGNITION,
        help=f"the Ignition release that will read the config (default {DEFAULT_IGNITION}); "
        "decides which spec versions are accepted",
    )
    parser.add_argument(
        "--strict", action="store_true", help="treat warnings as errors (as butane -s does)"
    )


def run(args: argparse.Namespace) -> int:
    from igngen.errors import UsageError
    from igngen.ignition import spec
    from igngen.ignition.parse import parse
    from igngen.ignition.validate import validate

    try:
        spec.ignition_tuple(args.ignition)
    except ValueError as exc:
        raise UsageError(str(exc), "--ignition") from None
    failed = False
    for path in args.files:
        name = "stdin" if path == "-" else show_path(path)
        try:
            config = parse(read_input(path, "config"), source=name)
        except IgnitionConfigError as exc:
            sys.stdout.write(f"{exc}\n")
            failed = True
            continue
        declared = config["ignition"]["version"]
        refused = spec.acceptance_problem(declared, args.ignition)
        if refused is not None:
            sys.stdout.write(f"{name}#/ignition/version: {refused}\n")
            failed = True
            continue
        for report in validate(config, name, version=args.spec, newer="warning"):
            line = f"{name}#{report.pointer}: {report.message}\n"
            if report.severity == "error" or args.strict:
                failed = True
                sys.stdout.write(
                    line if report.severity == "error" else f"warning (strict): {line}"
                )
            else:
                sys.stderr.write(f"warning: {line}")
    return EX_DATAERR if failed else 0
