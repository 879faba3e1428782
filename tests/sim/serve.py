"""The simulators as a process, for shell tools (``tools/dracut-check``):

    python3 -m sim.serve imds DOCUMENT PORT_FILE [--requests N] [--timeout S]

serves the instance document in DOCUMENT as IMDS does (400 without ``Metadata: true``,
404 off the instance path) on 127.0.0.1, writes the port to PORT_FILE, and exits after
N requests (default 1) or S seconds (default 60), whichever comes first: a tool that
forgets it never leaves a listener behind. Standard library only (the tool may run it
with an image's bare python3).
"""

from __future__ import annotations

import argparse
import json
import os
import time

from sim.imds import imds_routes, ok


def main() -> int:
    parser = argparse.ArgumentParser(prog="python3 -m sim.serve")
    parser.add_argument("kind", choices=["imds"])
    parser.add_argument("document")
    parser.add_argument("port_file")
    parser.add_argument("--requests", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    with open(args.document, "rb") as fh:
        doc = json.load(fh)
    with imds_routes({"/metadata/instance": [ok(doc)]}) as server:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as fh:
            fh.write(str(server.httpd.server_address[1]))
        os.replace(tmp, args.port_file)  # the reader never sees half a number
        end = time.monotonic() + args.timeout
        while len(server.requests) < args.requests and time.monotonic() < end:
            time.sleep(0.05)
        time.sleep(0.2)  # let the last answer leave before the listener closes
    return 0 if len(server.requests) >= args.requests else 1


if __name__ == "__main__":
    raise SystemExit(main())
