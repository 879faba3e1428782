import socket
from pathlib import Path

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


def test_python_subprocesses_are_guarded_too(tmp_path: Path) -> None:
    """The igngen commands the tests run as subprocesses get the same guard."""
    import subprocess
    import sys

    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    code = (
        "import socket\n"
        f"socket.create_connection(('127.0.0.1', {port}), timeout=2).close()\n"
        "print('loopback ok')\n"
        "socket.create_connection(('169.254.169.254', 80), timeout=2)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    srv.close()
    assert proc.stdout == "loopback ok\n"
    assert proc.returncode != 0 and "ForbiddenNetworkAccess" in proc.stderr, proc.stderr
    assert "169.254.169.254" in proc.stderr


def test_igngen_provision_with_its_default_imds_is_stopped(tmp_path: Path) -> None:
    """A test that forgot --imds-url would have reached the real IMDS."""
    import subprocess
    import sys

    from support.ovf_builder import ovf_xml

    (tmp_path / "media").mkdir()
    (tmp_path / "media/ovf-env.xml").write_bytes(ovf_xml())
    proc = subprocess.run(
        [sys.executable, "-m", "igngen", "provision", "--media", str(tmp_path / "media"),
         "--imds-timeout", "5", "--handoff-dir", str(tmp_path / "out"), "--kvp-pool", ""],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "ForbiddenNetworkAccess" in proc.stderr and "169.254.169.254" in proc.stderr
