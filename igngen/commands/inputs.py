"""Shared command-line options and file reading for commands that take provisioning inputs."""

from __future__ import annotations

import argparse

from igngen import limits
from igngen.readfile import read_file, read_stdin, show_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from igngen.render.pipeline import RenderInputs
    from igngen.settings import Settings


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
        parser.add_argument(
            "--ignition",
            metavar="RELEASE",
            help="the Ignition release that will read the output (e.g. 2.26.0): without "
            "--spec or output.spec, the output spec follows it as in `igngen provision`",
        )


def read_input(path: str, what: str, *, cap: int = limits.MAX_CONFIG_BYTES) -> bytes:
    """A command's input file (or ``-``: stdin), regular files only, at most ``cap`` bytes."""
    if path == "-":
        return read_stdin(what, cap=cap)
    return read_file(path, what, cap=cap)


def load_settings(args: argparse.Namespace) -> Settings:
    # Imported here: `validate`, `merge` and `butane` use this module only to read files.
    from igngen import settings

    loaded = settings.load(args.config) if args.config else settings.Settings()
    return loaded.with_spec(getattr(args, "spec", None))


def _target_ignition(args: argparse.Namespace) -> str | None:
    release: str | None = getattr(args, "ignition", None)
    if release is None:
        return None
    from igngen.errors import UsageError
    from igngen.ignition.spec import ignition_tuple

    try:
        ignition_tuple(release)
    except ValueError as exc:
        raise UsageError(str(exc), "--ignition") from None
    return release


def render_inputs(args: argparse.Namespace) -> RenderInputs:
    """The pipeline's inputs from the shared options (render, explain)."""
    from igngen.render.pipeline import RenderInputs

    return RenderInputs(
        ovf=read_input(args.ovf, "ovf-env.xml", cap=limits.MAX_OVF_BYTES),
        ovf_source=show_path(args.ovf),
        imds=read_input(args.imds, "IMDS document", cap=limits.MAX_IMDS_BYTES)
        if args.imds
        else None,
        imds_source=show_path(args.imds) if args.imds else "imds",
        customdata=read_input(args.customdata, "custom data", cap=limits.MAX_CUSTOMDATA_BYTES)
        if args.customdata
        else None,
        customdata_source="stdin"
        if args.customdata == "-"
        else (show_path(args.customdata) if args.customdata else "customdata"),
        template_dirs=tuple(getattr(args, "templates", ()) or ()),
        waagent_conf=read_input(
            args.waagent_conf, "waagent.conf", cap=limits.MAX_WAAGENT_CONF_BYTES
        )
        if args.waagent_conf
        else None,
        waagent_conf_source=show_path(args.waagent_conf) if args.waagent_conf else "waagent.conf",
        target_ignition=_target_ignition(args),
    )
