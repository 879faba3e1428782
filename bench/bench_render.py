"""Cold `igngen render` against a bare interpreter start, measured in the same run,
from the editable .venv and from a regular install (common.installs).

Target (issues 2 and 14): without a password, render costs at most 3x `python -c pass`
of a regular install. With a password the hash dominates; its cost is set by the
bcrypt cost factor.
"""

from __future__ import annotations

from common import REPO, bare_lines, installs, ratio_line, time_install

# The target holds for the regular install (what users run); the editable .venv is shown
# for comparison (its .pth finder slows the bare start too).
TARGET = 3.0


def run() -> list[str]:
    keys_only = str(REPO / "examples/keys-only/ovf-env.xml")
    basic = str(REPO / "examples/basic/ovf-env.xml")
    imds = str(REPO / "examples/basic/imds.json")
    lines = []
    for inst in installs():
        tag = f"[{inst.label}] "
        lines += bare_lines(inst)
        t, base = time_install(inst, ["render", "--ovf", keys_only])
        lines.append(ratio_line(f"{tag}render, no password", t, base, TARGET))
        t, base = time_install(inst, ["render", "--ovf", keys_only, "--fragment-only"])
        lines.append(ratio_line(f"{tag}render --fragment-only, no password", t, base))
        t, base = time_install(inst, ["render", "--ovf", basic, "--imds", imds])
        lines.append(
            ratio_line(
                f"{tag}render, password (bcrypt, default cost) + IMDS + custom data", t, base
            )
        )
    return lines
