"""``igngen explain``: each provisioning value, where it came from, and why it is there."""

from __future__ import annotations

import argparse
import sys

from igngen.commands.inputs import add_input_arguments, read_input


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_input_arguments(parser, templates=False)


def run(args: argparse.Namespace) -> int:
    from igngen.commands.inputs import load_settings
    from igngen.pipeline import RenderInputs, parse_model

    settings = load_settings(args)
    inputs = RenderInputs(
        ovf=read_input(args.ovf, "ovf-env.xml"),
        ovf_source=args.ovf,
        imds=read_input(args.imds, "IMDS document") if args.imds else None,
        imds_source=args.imds or "imds",
        customdata=read_input(args.customdata, "custom data") if args.customdata else None,
        customdata_source="stdin" if args.customdata == "-" else (args.customdata or "customdata"),
    )
    model = parse_model(inputs)
    rows = model.explain()
    rows.append(("password hash scheme", settings.hashing.scheme, settings.source))
    rows.append(("groups", ", ".join(settings.groups) or "none", settings.source))
    rows.append(("sshd drop-in", settings.sshd_dropin_path, settings.source))
    rows.append(("sudoers drop-in", settings.sudoers_path, settings.source))
    rows.append(("output spec", settings.spec, settings.source))
    width = max(len(r[0]) for r in rows)
    out = [
        f"{name:<{width}}  {value}\n{'':<{width}}    from {source}\n"
        for name, value, source in rows
    ]
    for warning in model.warnings:
        out.append(f"warning: {warning}\n")
    sys.stdout.write("".join(out))
    return 0
