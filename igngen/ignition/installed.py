"""Which Ignition release the initramfs carries (edge): ``ignition -version``, bounded.

``igngen provision`` uses the answer to choose its output spec
(:func:`igngen.ignition.spec.choose_output_spec`). Any failure (no binary, a hang,
garbage) is "unknown", never an error: the default output spec is read by every
Ignition igngen supports.
"""

from __future__ import annotations

import os
import time

from igngen import paths
from igngen.ignition.spec import ignition_release
from igngen.limits import IGNITION_VERSION_BYTES, IGNITION_VERSION_SECONDS

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess

DEFAULT_BINARY = paths.IGNITION_BINARY


def release(binary: str = DEFAULT_BINARY) -> tuple[str | None, str]:
    """(release or None, why) for the Ignition at ``binary``."""
    if not os.access(binary, os.X_OK) or os.path.isdir(binary):
        return None, f"{binary}: not an executable"
    import subprocess  # only when there is a binary to ask

    try:
        proc = subprocess.Popen(
            [binary, "-version"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
    except OSError as exc:
        return None, f"{binary} -version: {exc.strerror}"
    try:
        text, finished = _answer(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()
    if not finished:
        return None, f"{binary} -version: no answer within {IGNITION_VERSION_SECONDS:g} s"
    found = ignition_release(text)
    if found is None:
        return None, f"{binary} -version: no release in its answer"
    return found, f"{binary} -version"


def _answer(proc: subprocess.Popen[bytes]) -> tuple[str, bool]:
    """At most IGNITION_VERSION_BYTES of the output, and whether it ended in time: a
    binary that talks for ever or never stops costs neither memory nor more time."""
    import select  # loaded by subprocess already

    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + IGNITION_VERSION_SECONDS
    data = b""
    while len(data) < IGNITION_VERSION_BYTES:
        left = deadline - time.monotonic()
        if left <= 0:
            return data.decode("utf-8", "replace"), False
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, IGNITION_VERSION_BYTES - len(data))
        if not chunk:
            return data.decode("utf-8", "replace"), True
        data += chunk
    return data.decode("utf-8", "replace"), True  # enough to find a release line in
