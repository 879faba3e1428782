"""Test-wide guards.

Network: tests may only talk to loopback (127.0.0.0/8, ::1) or to AF_UNIX
sockets. Any other connect/sendto from this process fails loudly, so a test can
never reach the real IMDS (169.254.169.254), Wireserver (168.63.129.16) or any
other host. Tests that use network namespaces of their own run their traffic in
subprocesses inside those namespaces.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))


from support.netguard import ForbiddenNetworkAccess


def _allowed(family: int, address: Any) -> bool:
    if family == getattr(socket, "AF_UNIX", object()):
        return True
    if family not in (socket.AF_INET, socket.AF_INET6):
        return False
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, bytes):
        host = host.decode()
    if host in ("localhost",):
        return True
    try:
        ip = ipaddress.ip_address(str(host).split("%", 1)[0])
    except ValueError:
        return False  # names other than localhost are never resolved here
    return ip.is_loopback


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_sendto = socket.socket.sendto
_real_getaddrinfo = socket.getaddrinfo


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if not _allowed(self.family, address):
        raise ForbiddenNetworkAccess(
            f"test tried to connect to {address!r}: only loopback is allowed"
        )
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    if not _allowed(self.family, address):
        raise ForbiddenNetworkAccess(
            f"test tried to connect to {address!r}: only loopback is allowed"
        )
    return _real_connect_ex(self, address)


def _guarded_sendto(self: socket.socket, data: Any, *args: Any) -> int:
    address = args[-1]
    if not _allowed(self.family, address):
        raise ForbiddenNetworkAccess(f"test tried to send to {address!r}: only loopback is allowed")
    return _real_sendto(self, data, *args)  # type: ignore[arg-type]


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if host not in (None, "localhost", b"localhost"):
        try:
            ipaddress.ip_address(host.decode() if isinstance(host, bytes) else str(host))
        except ValueError:
            raise ForbiddenNetworkAccess(
                f"test tried to resolve {host!r}: no DNS in tests"
            ) from None
    return _real_getaddrinfo(host, *args, **kwargs)


def pytest_configure(config: pytest.Config) -> None:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    socket.socket.sendto = _guarded_sendto  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = _guarded_getaddrinfo


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
