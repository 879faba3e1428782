"""Which Ignition release the initramfs carries (edge): ``ignition -version``, bounded.

``igngen provision`` uses the answer to choose its output spec
(:func:`igngen.ignition.spec.choose_output_spec`). Any failure (no binary, a hang,
garbage) is "unknown", never an error: the default output spec is read by every
Ignition igngen supports.
"""

from __future__ import annotations

import os
import subprocess

from igngen import paths
from igngen.ignition.spec import ignition_release
from igngen.limits import IGNITION_VERSION_BYTES, IGNITION_VERSION_SECONDS

DEFAULT_BINARY = paths.IGNITION_BINARY


def release(binary: str = DEFAULT_BINARY) -> tuple[str | None, str]:
    """(release or None, why) for the Ignition at ``binary``."""
    if not os.access(binary, os.X_OK):
        return None, f"{binary}: not an executable"
    try:
        proc = subprocess.run(
            [binary, "-version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=IGNITION_VERSION_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, f"{binary} -version: no answer within {IGNITION_VERSION_SECONDS:g} s"
    except OSError as exc:
        return None, f"{binary} -version: {exc.strerror}"
    text = (proc.stdout + proc.stderr)[:IGNITION_VERSION_BYTES].decode("utf-8", "replace")
    found = ignition_release(text)
    if found is None:
        return None, f"{binary} -version: no release in its answer"
    return found, f"{binary} -version"
