"""Cold `igngen render` against a bare interpreter start, measured in the same run.

Target (issue 2): without a password, render costs at most 3x `python -c pass`.
With a password the hash dominates; its cost is set by the bcrypt cost factor.
"""

from __future__ import annotations

from common import REPO, baseline, igngen_cmd, ratio_line, time_cmd


def run() -> list[str]:
    base = baseline()
    keys_only = REPO / "examples/keys-only/ovf-env.xml"
    basic = REPO / "examples/basic/ovf-env.xml"
    lines = []
    t = time_cmd([*igngen_cmd(), "render", "--ovf", str(keys_only)])
    lines.append(ratio_line("render, no password (target <= 3x)", t, base))
    t = time_cmd([*igngen_cmd(), "render", "--ovf", str(keys_only), "--fragment-only"])
    lines.append(ratio_line("render --fragment-only, no password", t, base))
    t = time_cmd([*igngen_cmd(), "render", "--ovf", str(basic), "--imds", str(REPO / "examples/basic/imds.json")])
    lines.append(ratio_line("render, password (bcrypt, default cost) + IMDS + custom data", t, base))
    return lines
