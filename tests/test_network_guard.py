import socket

import pytest
from support.netguard import ForbiddenNetworkAccess


@pytest.mark.parametrize("addr", [("169.254.169.254", 80), ("168.63.129.16", 80), ("10.0.0.1", 80)])
def test_non_loopback_connect_fails_loudly(addr: tuple[str, int]) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with pytest.raises(ForbiddenNetworkAccess):
        s.connect(addr)
    s.close()


def test_dns_lookup_fails_loudly() -> None:
    with pytest.raises(ForbiddenNetworkAccess):
        socket.getaddrinfo("example.com", 80)


def test_loopback_is_allowed() -> None:
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    c = socket.create_connection(srv.getsockname(), timeout=2)
    c.close()
    srv.close()
