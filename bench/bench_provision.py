"""Cold `igngen provision` (directory media + the loopback IMDS simulator, no faults)
against a bare interpreter start, measured in the same run.

This is the whole boot-time path except mounting: settings, media read, one IMDS
request over HTTP (requests), render, hand-off directory written atomically.
"""

from __future__ import annotations

import json
import sys
import tempfile

from common import REPO, baseline, igngen_cmd, ratio_line, time_cmd


def run() -> list[str]:
    sys.path.insert(0, str(REPO / "tests"))
    from sim.imds import imds_server, ok

    base = baseline()
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        doc = json.loads((REPO / "examples/basic/imds.json").read_text())
        cases = [
            ("keys only (no password)", REPO / "examples/keys-only", doc),
            ("password (bcrypt, default cost)", REPO / "examples/basic", doc),
        ]
        for label, media, document in cases:
            with imds_server([ok(document)]) as srv:
                cmd = [
                    *igngen_cmd(),
                    "provision",
                    "--media",
                    str(media),
                    "--imds-url",
                    srv.url,
                    "--imds-timeout",
                    "10",
                    "--handoff-dir",
                    f"{tmp}/handoff",
                    "--image-dir",
                    f"{tmp}/no-image",
                    "--kvp-pool",
                    f"{tmp}/kvp",
                    "--state-dir",
                    f"{tmp}/state",
                ]
                t = time_cmd(cmd)
            lines.append(ratio_line(f"provision, loopback IMDS, {label}", t, base))
    return lines
