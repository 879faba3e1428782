"""``igngen validate FILE…``: check Ignition configs (3.0.0-3.5.0) the way Ignition would.

Each problem is printed as ``file#/json/pointer: message`` (JSON syntax errors
as ``file:line:column``): errors on stdout, warnings on stderr. Exit 65 when
any file has an error, else 0. Structure is checked with the JSON Schema
generated from igngen's spec data, then Ignition's semantic rules; a field newer
than the declared version is an error (Ignition would silently drop it).
"""

from __future__ import annotations

import argparse
import sys

from igngen.commands.inputs import read_input
from igngen.errors import EX_DATAERR, IgnitionConfigError
from igngen.readfile import show_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="config file ('-' for stdin)")
    parser.add_argument("--spec", metavar="VERSION", help="also require this declared spec version")


def run(args: argparse.Namespace) -> int:
    from igngen.ignition import spec
    from igngen.ignition.parse import parse
    from igngen.ignition.validate import validate

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
        if declared == "3.4.0-experimental":
            sys.stderr.write(
                f"warning: {name}#/ignition/version: spec {declared} is accepted only by "
                "Ignition 2.11 to 2.14; use 3.3.0 or 3.4.0\n"
            )
        elif spec.ORDER.get(declared, 0) > spec.ORDER["3.3.0"]:
            sys.stderr.write(
                f"warning: {name}#/ignition/version: spec {declared} needs Ignition "
                f"{spec.FIRST_IGNITION[declared]} or newer (Ignition 2.14 accepts up to 3.3.0)\n"
            )
        for report in validate(config, name, version=args.spec):
            line = f"{name}#{report.pointer}: {report.message}\n"
            if report.severity == "error":
                failed = True
                sys.stdout.write(line)
            else:
                sys.stderr.write(f"warning: {line}")
    return EX_DATAERR if failed else 0
