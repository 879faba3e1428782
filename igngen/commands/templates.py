"""``igngen templates list|show``: which templates exist, where each comes from, what it uses."""

from __future__ import annotations

import argparse
import sys

from igngen.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("list", "show"), help="list all, or show one")
    parser.add_argument("name", nargs="?", help="template file name (for show), e.g. 40-sshd.bu")
    parser.add_argument(
        "--templates",
        metavar="DIR",
        action="append",
        default=[],
        help="search DIR before the system directories (repeatable; first wins)",
    )
    parser.add_argument(
        "--config", metavar="FILE", help="igngen settings (YAML): templates.dirs and .disabled"
    )


def run(args: argparse.Namespace) -> int:
    from igngen.commands.inputs import load_settings
    from igngen.render.templating import BUILTIN, discover

    settings = load_settings(args)
    found = discover([*args.templates, *settings.template_dirs])
    by_settings = set(settings.disabled_templates)
    out = sys.stdout
    if args.action == "list":
        if args.name:
            raise UsageError("'list' takes no template name", "igngen templates")
        width = max((len(n) for n in found), default=0)
        for name, template in found.items():
            origin = "built-in" if template.origin == BUILTIN else template.origin
            if template.disabled_by_file:
                why = "marker" if template.marker else "empty file"
                out.write(f"{name:<{width}}  disabled ({why} in {origin})\n")
                continue
            if name in by_settings:
                out.write(f"{name:<{width}}  disabled (templates.disabled in the settings)\n")
                continue
            _, description = template.header()
            out.write(f"{name:<{width}}  {origin}  {description}\n")
            out.write(f"{'':<{width}}    variables: {', '.join(template.variables()) or '-'}\n")
        return 0
    if not args.name:
        raise UsageError("'show' needs a template name", "igngen templates")
    chosen = found.get(args.name)
    if chosen is None:
        raise UsageError(
            f"no template {args.name!r} (have: {', '.join(found) or 'none'})", "igngen templates"
        )
    origin = "built-in" if chosen.origin == BUILTIN else chosen.origin
    when, description = chosen.header()
    out.write(f"# name: {chosen.name}\n# from: {origin}\n")
    if chosen.disabled_by_file:
        out.write("# disabled (empty file or .disabled marker)\n")
        return 0
    if description:
        out.write(f"# description: {description}\n")
    if when is not None:
        out.write(f"# rendered only when: {'not ' if when[0] else ''}{when[1]}\n")
    each = chosen.each()
    if each is not None:
        out.write(f"# rendered once for each item of: {each} (as item)\n")
    out.write(f"# variables: {', '.join(chosen.variables()) or '-'}\n")
    out.write(chosen.text if chosen.text.endswith("\n") else chosen.text + "\n")
    return 0
