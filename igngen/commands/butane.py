"""``igngen butane``: translate a Butane document to Ignition JSON, like the ``butane`` CLI.

Every variant/version in ``igngen.butane.versions`` (Butane 0.29's flatcar and
fcos ones whose target spec igngen knows), warnings as Butane gives them
(``-s`` makes the first one an error). Output is igngen's canonical JSON (sorted keys), so the bytes differ
from Butane's field order; the config is the same.
"""

from __future__ import annotations

import argparse

from igngen import log
from igngen.commands.inputs import read_input
from igngen.jsonio import canonical_json, write_output
from igngen.limits import MAX_BUTANE_BYTES
from igngen.readfile import show_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", nargs="?", default="-", help="Butane YAML file, or - for stdin")
    parser.add_argument(
        "-d", "--files-dir", metavar="DIR", help="directory for local, *_local and trees"
    )
    parser.add_argument("-p", "--pretty", action="store_true", help="indent the JSON")
    parser.add_argument("-s", "--strict", action="store_true", help="fail on any warning")
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically)")
    parser.add_argument(
        "-c", "--check", action="store_true", help="only check the document, write nothing"
    )


def run(args: argparse.Namespace) -> int:
    from igngen.butane.transpile import transpile_bytes
    from igngen.jsonio import refuse_overwriting_inputs

    refuse_overwriting_inputs({"--output": args.output}, {"the input": args.input})
    source = "stdin" if args.input == "-" else show_path(args.input)
    data = read_input(args.input, "Butane config", cap=MAX_BUTANE_BYTES)
    result = transpile_bytes(data, source=source, files_dir=args.files_dir, strict=args.strict)
    for warning in result.warnings:
        log.warning("butane", warning)
    if args.check:
        return 0
    write_output(args.output, canonical_json(result.config, pretty=args.pretty), mode=0o644)
    return 0
