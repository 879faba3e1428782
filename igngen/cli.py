"""Command-line entry point: dispatch to one subcommand module, errors to one line.

Only the chosen subcommand's module is imported, so ``igngen render`` does not
pay for the HTTP stack and ``igngen report`` does not pay for YAML.
Each module in ``igngen.commands`` provides ``add_arguments(parser)`` and
``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from igngen import __version__
from igngen.errors import EX_SOFTWARE, EX_USAGE, IgngenError, internal_reason

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    # What a command module provides; only the type checker needs the class.
    class Command(Protocol):
        def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

        def run(self, args: argparse.Namespace) -> int: ...


# name -> (module, one-line help). Order is the order shown in --help.
COMMANDS: dict[str, tuple[str, str]] = {
    "provision": (
        "igngen.commands.provision",
        "early boot: read the Azure media and IMDS, hand the config to Ignition",
    ),
    "report": (
        "igngen.commands.report",
        "report ready / provisioning / failure to the Azure Wireserver",
    ),
    "status": ("igngen.commands.status", "show what was reported to Azure and the Ready marker"),
    "render": ("igngen.commands.render", "render the Ignition config from ovf-env.xml (+ IMDS)"),
    "explain": ("igngen.commands.explain", "show each provisioning value and where it came from"),
    "validate": ("igngen.commands.validate", "validate Ignition configs (spec 3.x)"),
    "merge": ("igngen.commands.merge", "merge Ignition configs with Ignition's semantics"),
    "butane": (
        "igngen.commands.butane",
        "translate Butane YAML (flatcar 1.0/1.1, fcos 1.4/1.5) to Ignition",
    ),
    "templates": (
        "igngen.commands.templates",
        "list the Butane templates and where each comes from",
    ),
}
# (The explain/render modules share option handling in igngen.commands.inputs.)


def _top_help() -> str:
    width = max(len(n) for n in COMMANDS)
    lines = [
        "usage: igngen [--version] COMMAND [ARGS...]",
        "",
        "Azure provisioning data to Ignition configs, for Ignition-based systems.",
        "",
        "commands:",
    ]
    lines += [f"  {name:<{width}}  {desc}" for name, (_, desc) in COMMANDS.items()]
    lines += ["", "Run 'igngen COMMAND --help' for a command's options."]
    return "\n".join(lines) + "\n"


def _columns() -> int:
    """The terminal width as shutil.get_terminal_size() finds it (COLUMNS, then the
    terminal, else 80), without importing shutil (and bz2, lzma, fnmatch with it)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's own formatter; argparse builds one per option it adds, and each would
    import shutil for the terminal width: given here, start-up skips that import."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        super().__init__(
            prog, indent_increment, max_help_position, _columns() - 2 if width is None else width
        )


def _load(name: str) -> Command:
    module = importlib.import_module(COMMANDS[name][0])
    return module


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        sys.stdout.write(_top_help())
        return 0 if args else EX_USAGE
    if args[0] == "--version":
        sys.stdout.write(f"igngen {__version__}\n")
        return 0
    name = args[0]
    if name not in COMMANDS:
        sys.stderr.write(f"igngen: error: unknown command {name!r} (see 'igngen --help')\n")
        return EX_USAGE
    command = _load(name)
    parser = argparse.ArgumentParser(
        prog=f"igngen {name}", description=COMMANDS[name][1], formatter_class=_HelpFormatter
    )
    command.add_arguments(parser)
    ns = parser.parse_args(args[1:])
    try:
        return command.run(ns)
    except IgngenError as exc:
        sys.stderr.write(f"igngen: error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("igngen: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if os.environ.get("IGNGEN_DEBUG"):
            raise
        sys.stderr.write(f"igngen: {internal_reason(exc)} (set IGNGEN_DEBUG=1 for a traceback)\n")
        return EX_SOFTWARE
