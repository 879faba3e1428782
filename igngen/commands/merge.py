"""``igngen merge PARENT CHILD…``: merge Ignition configs the way Ignition does (children win)."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "configs", nargs="+", metavar="CONFIG", help="parent first, then children ('-' reads stdin)"
    )
    parser.add_argument(
        "--spec", help="translate the result to this spec version (default: the newest input's)"
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically)")
    parser.add_argument("-p", "--pretty", action="store_true", help="indent the JSON")


def run(args: argparse.Namespace) -> int:
    import json

    from igngen.commands.inputs import read_input
    from igngen.errors import IgnitionConfigError, UsageError
    from igngen.ignition.merge import merge
    from igngen.ignition.translate import translate
    from igngen.ignition.validate import check
    from igngen.jsonio import atomic_write, canonical_json

    if len(args.configs) < 2:
        raise UsageError("merge needs a parent and at least one child")
    result = None
    for name in args.configs:
        source = "stdin" if name == "-" else name
        data = read_input(name, "config")
        try:
            config = json.loads(data.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise IgnitionConfigError(f"not UTF-8 at byte {exc.start}", source) from None
        except json.JSONDecodeError as exc:
            raise IgnitionConfigError(
                f"invalid JSON ({exc.msg})", f"{source}:{exc.lineno}:{exc.colno}"
            ) from None
        check(config, source=source)
        result = config if result is None else merge(result, config)
    assert result is not None
    if args.spec:
        result = translate(result, args.spec)
    out = canonical_json(result, pretty=args.pretty)
    if args.output:
        atomic_write(args.output, out, mode=0o600)
    else:
        sys.stdout.buffer.write(out)
    return 0
