"""Cold `igngen render` against a bare interpreter start, measured in the same run,
from the editable .venv and from a regular install (common.installs).

Target (issues 2 and 14): without a password, render costs at most 3x `python -c pass`
of a regular install. With a password the hash dominates; its cost is set by the
bcrypt cost factor.
"""

from __future__ import annotations

from common import REPO, install_lines, installs, ratio_line, time_install


def run() -> list[str]:
    keys_only = str(REPO / "examples/keys-only/ovf-env.xml")
    basic = str(REPO / "examples/basic/ovf-env.xml")
    imds = str(REPO / "examples/basic/imds.json")
    lines = []
    for inst in installs():
        base, tag = install_lines(inst)
        t = time_install(inst, ["render", "--ovf", keys_only])
        lines.append(ratio_line(f"{tag}render, no password (target <= 3x)", t, base))
        t = time_install(inst, ["render", "--ovf", keys_only, "--fragment-only"])
        lines.append(ratio_line(f"{tag}render --fragment-only, no password", t, base))
        t = time_install(inst, ["render", "--ovf", basic, "--imds", imds])
        lines.append(
            ratio_line(f"{tag}render, password (bcrypt, default cost) + IMDS + custom data", t, base)
        )
    return lines
