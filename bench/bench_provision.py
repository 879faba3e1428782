"""Cold `igngen provision` (directory media + the loopback IMDS simulator) against a
bare interpreter start, measured in the same run; then the same against an IMDS
that cuts its first answer short (one glitch, then OK), against the no-fault run.

This is the whole boot-time path except mounting: settings, media read, one IMDS
request over HTTP (igngen/azure/http.py), render, hand-off directory written
atomically. The glitch costs one jittered backoff step (0.5-1 s by default): that
is the price of not hammering a restarting IMDS, and the line shows it.
"""

from __future__ import annotations

import json
import sys
import tempfile

from common import REPO, Install, bare_lines, installs, ratio_line, time_install

TARGET = 5.0  # without a password, regular install (issue 14)


def run() -> list[str]:
    sys.path.insert(0, str(REPO / "tests"))
    lines = []
    for inst in installs():
        lines += _run(inst)
    return lines


def _run(inst: Install) -> list[str]:
    from sim.http import Raw, ScriptedServer
    from sim.imds import imds_server, ok

    tag = f"[{inst.label}] "
    lines = bare_lines(inst)
    with tempfile.TemporaryDirectory() as tmp:
        doc = json.loads((REPO / "examples/basic/imds.json").read_text())
        # The keys-only media carries no custom data, so its IMDS must not claim any
        # (igngen refuses a VM whose custom data went missing).
        keys_doc = json.loads(json.dumps(doc))
        keys_doc["extended"]["compute"]["hasCustomData"] = False
        cases = [
            ("keys only (no password)", REPO / "examples/keys-only", keys_doc, TARGET),
            ("password (bcrypt, default cost)", REPO / "examples/basic", doc, None),
        ]

        def command(media: object, url: str) -> list[str]:
            return [
                "provision",
                *("--media", str(media), "--imds-url", url, "--imds-timeout", "10"),
                *("--handoff-dir", f"{tmp}/handoff", "--image-dir", f"{tmp}/no-image"),
                *("--kvp-pool", f"{tmp}/kvp", "--state-dir", f"{tmp}/state"),
            ]

        clean = 0.0
        for label, media, document, target in cases:
            with imds_server([ok(document)]) as srv:
                t, base = time_install(inst, command(media, srv.url))
            clean = t
            lines.append(ratio_line(f"{tag}provision, loopback IMDS, {label}", t, base, target))
        body = json.dumps(doc).encode()
        cut = Raw([b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:40]])
        served = [0]

        def glitch_then_ok(_request: object) -> object:
            # Every provision run sees one cut body, then the document.
            served[0] += 1
            return cut if served[0] % 2 else ok(doc)

        with ScriptedServer(glitch_then_ok) as srv:  # type: ignore[arg-type]
            t, base = time_install(inst, command(REPO / "examples/basic", srv.url))
        lines.append(
            ratio_line(f"{tag}provision, IMDS cuts its first body then answers, password", t, base)
            + f"; {t / clean:.2f}x the same without the glitch"
        )
    return lines
