"""``igngen validate FILE…``: check Ignition configs 3.0.0-3.5.0; every report has a JSON pointer."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files", nargs="+", metavar="FILE", help="Ignition config ('-' reads stdin)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print errors only, no warnings")


def run(args: argparse.Namespace) -> int:
    import json

    from igngen.commands.inputs import read_input
    from igngen.errors import EX_DATAERR
    from igngen.ignition.schema import validate_with_jsonschema
    from igngen.ignition.validate import declared_version, validate

    failed = False
    out = []
    for name in args.files:
        data = read_input(name, "config")
        source = "stdin" if name == "-" else name
        try:
            config = json.loads(data.decode("utf-8"))
        except UnicodeDecodeError as exc:
            out.append(f"{source}: error: not UTF-8 at byte {exc.start}")
            failed = True
            continue
        except json.JSONDecodeError as exc:
            out.append(f"{source}:{exc.lineno}:{exc.colno}: error: invalid JSON ({exc.msg})")
            failed = True
            continue
        reports = [(r.severity, r.pointer, r.message) for r in validate(config)]
        version = declared_version(config)
        if not any(s == "error" for s, _, _ in reports) and version is not None:
            # Structural rules once more through jsonschema and the generated schema.
            reports += [("error", p, m) for p, m in validate_with_jsonschema(config, version)]
        for severity, pointer, message in reports:
            if severity == "error":
                failed = True
            elif args.quiet:
                continue
            out.append(f"{source}#{pointer}: {severity}: {message}")
    if out:
        sys.stderr.write("\n".join(out) + "\n")
    return EX_DATAERR if failed else 0
