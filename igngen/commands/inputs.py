"""Shared command-line options and file reading for commands that take provisioning inputs."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from igngen.pipeline import RenderInputs
    from igngen.settings import Settings

from igngen.errors import MissingInputError


def add_input_arguments(parser: argparse.ArgumentParser, *, templates: bool = True) -> None:
    parser.add_argument("--ovf", required=True, metavar="FILE", help="ovf-env.xml to read")
    parser.add_argument("--imds", metavar="FILE", help="IMDS instance document (JSON)")
    parser.add_argument("--config", metavar="FILE", help="igngen settings (YAML)")
    parser.add_argument(
        "--customdata",
        metavar="FILE|-",
        help="custom data to use instead of the OVF CustomData / IMDS userData ('-' reads stdin)",
    )
    parser.add_argument(
        "--waagent-conf",
        metavar="FILE",
        help="the image's waagent.conf (ResourceDisk.* settings; the shipped copy disables "
        "the agent's provisioning); default: Flatcar's shipped values",
    )
    if templates:
        from igngen.settings import OUTPUT_SPECS

        parser.add_argument(
            "--templates",
            metavar="DIR",
            action="append",
            default=[],
            help="template directory searched before the built-in ones (repeatable)",
        )
        parser.add_argument(
            "--spec", choices=OUTPUT_SPECS, help="Ignition spec version of the output"
        )


def read_input(path: str, what: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise MissingInputError(f"{what} not found", path) from None
    except IsADirectoryError:
        raise MissingInputError(f"{what} is a directory", path) from None
    except OSError as exc:
        raise MissingInputError(f"cannot read {what}: {exc.strerror}", path) from None


def load_settings(args: argparse.Namespace) -> Settings:
    # Imported here: `validate`, `merge` and `butane` use this module only to read files.
    from igngen import settings

    loaded = settings.load(args.config) if args.config else settings.Settings()
    return loaded.with_spec(getattr(args, "spec", None))


def render_inputs(args: argparse.Namespace) -> RenderInputs:
    """The pipeline's inputs from the shared options (render, explain)."""
    from igngen.pipeline import RenderInputs

    return RenderInputs(
        ovf=read_input(args.ovf, "ovf-env.xml"),
        ovf_source=args.ovf,
        imds=read_input(args.imds, "IMDS document") if args.imds else None,
        imds_source=args.imds or "imds",
        customdata=read_input(args.customdata, "custom data") if args.customdata else None,
        customdata_source="stdin" if args.customdata == "-" else (args.customdata or "customdata"),
        template_dirs=tuple(getattr(args, "templates", ()) or ()),
        waagent_conf=read_input(args.waagent_conf, "waagent.conf") if args.waagent_conf else None,
        waagent_conf_source=args.waagent_conf or "waagent.conf",
    )
