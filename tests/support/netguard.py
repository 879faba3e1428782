"""The test-wide network guard: only loopback (127.0.0.0/8, ::1) and AF_UNIX sockets.

``install()`` patches ``socket`` in this process (tests/conftest.py calls it); the
``childguard/sitecustomize.py`` beside this file calls it in every Python the tests
start, found through ``PYTHONPATH``, so an ``igngen`` command run as a subprocess
cannot reach IMDS, the Wireserver or any other host either. Kept free of imports
from the test tree: child processes load this file by path.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any


class ForbiddenNetworkAccess(AssertionError):
    """A test tried to reach something other than loopback."""


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
    return _real_sendto(self, data, *args)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if host not in (None, "localhost", b"localhost"):
        try:
            ipaddress.ip_address(host.decode() if isinstance(host, bytes) else str(host))
        except ValueError:
            raise ForbiddenNetworkAccess(
                f"test tried to resolve {host!r}: no DNS in tests"
            ) from None
    return _real_getaddrinfo(host, *args, **kwargs)


def install() -> None:
    # The stubs type these methods on _socket.socket; ours take the public subclass.
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign,assignment]
    socket.socket.sendto = _guarded_sendto  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = _guarded_getaddrinfo
