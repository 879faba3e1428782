"""Tell systemd a long start is alive: ``EXTEND_TIMEOUT_USEC`` over ``$NOTIFY_SOCKET`` (edge).

igngen-provision.service's ``TimeoutStartSec`` is sized for a normal provisioning.
A pre-provisioned VM waits in its pool far longer; each poll sends a heartbeat
that moves systemd's start timeout to "now + a little", so systemd's backstop
still kills igngen within minutes if it ever stops polling (stuck where no
signal reaches it). Needs ``NotifyAccess=main`` on the unit; without a socket
(tests, a shell) it does nothing. Never raises: it is a courtesy to the manager.
"""

from __future__ import annotations

import os
import socket


def extend_timeout(seconds: float, *, env: dict[str, str] | None = None) -> bool:
    """Ask for at least ``seconds`` more of start time; True when the message was sent."""
    address = (os.environ if env is None else env).get("NOTIFY_SOCKET", "")
    if not address or seconds <= 0:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace
    elif not address.startswith("/"):
        return False
    message = f"EXTEND_TIMEOUT_USEC={int(seconds * 1_000_000)}".encode("ascii")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.settimeout(1.0)
            sock.sendto(message, address)
    except OSError:
        return False
    return True
