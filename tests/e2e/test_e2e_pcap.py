"""The pcap/DHCP decoder the boot tests read the guest's DHCP traffic with (no VM)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from e2e import pcap


def _frame(options: bytes, *, sport: int = 68, dport: int = 67, flags: int = 0) -> bytes:
    bootp = bytes([1, 1, 6, 0]) + bytes(BOOTP_REST) + pcap.DHCP_COOKIE + options
    udp = struct.pack("!HHHH", sport, dport, 8 + len(bootp), 0) + bootp
    ip = (
        struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, flags, 64, 17, 0,
                    bytes(4), b"\xff" * 4)
        + udp
    )  # fmt: skip
    return b"\xff" * 6 + b"\x52\x54\x00\x12\x34\x56" + b"\x08\x00" + ip


BOOTP_REST = pcap.BOOTP_FIXED - 4


def _pcap(frames: list[bytes], *, magic: bytes = b"\xd4\xc3\xb2\xa1", order: str = "<") -> bytes:
    out = magic + struct.pack(order + "HHiIII", 2, 4, 0, 0, 65535, pcap.LINKTYPE_ETHERNET)
    for i, f in enumerate(frames):
        out += struct.pack(order + "IIII", 100 + i, 500, len(f), len(f)) + f
    return out


def test_request_with_hostname(tmp_path: Path) -> None:
    opts = b"\x35\x01\x03" + b"\x0c\x09e2e-pw-vm" + b"\xff"
    path = tmp_path / "c.pcap"
    path.write_bytes(_pcap([_frame(opts), _frame(b"\x35\x01\x05\xff", sport=67, dport=68)]))
    sent, answer = pcap.dhcp_messages(path)
    assert (sent.kind, sent.from_client, sent.hostname) == ("REQUEST", True, "e2e-pw-vm")
    assert sent.seconds == pytest.approx(100.0005)
    assert (answer.kind, answer.from_client, answer.hostname) == ("ACK", False, None)


def test_big_endian_nanosecond_capture_and_split_option(tmp_path: Path) -> None:
    # RFC 3396: one option in two pieces is one value; pad bytes are skipped.
    opts = b"\x00\x35\x01\x01" + b"\x0c\x03e2e" + b"\x00" + b"\x0c\x04-box" + b"\xff"
    path = tmp_path / "c.pcap"
    path.write_bytes(_pcap([_frame(opts)], magic=b"\xa1\xb2\x3c\x4d", order=">"))
    (msg,) = pcap.dhcp_messages(path)
    assert (msg.kind, msg.hostname) == ("DISCOVER", "e2e-box")
    assert msg.seconds == pytest.approx(100.0000005)


def test_other_traffic_fragments_and_torn_records_are_skipped(tmp_path: Path) -> None:
    dhcp = _frame(b"\x35\x01\x01\xff")
    other_port = _frame(b"\x35\x01\x01\xff", sport=1234, dport=67)
    fragment = _frame(b"\x35\x01\x01\xff", flags=0x2000)
    arp = b"\xff" * 12 + b"\x08\x06" + bytes(28)
    cut_option = _frame(b"\x35\x01\x03\x0c\x20short")  # length says 32, 5 bytes follow
    data = _pcap([arp, other_port, fragment, cut_option, dhcp])
    path = tmp_path / "c.pcap"
    path.write_bytes(data + struct.pack("<IIII", 1, 0, 400, 400) + b"torn")
    kinds = [(m.kind, m.hostname) for m in pcap.dhcp_messages(path)]
    assert kinds == [("REQUEST", None), ("DISCOVER", None)]


def test_not_a_pcap_or_not_ethernet(tmp_path: Path) -> None:
    path = tmp_path / "c.pcap"
    path.write_bytes(b"GIF89a" + bytes(30))
    with pytest.raises(pcap.PcapError, match="magic"):
        pcap.dhcp_messages(path)
    path.write_bytes(b"\xd4\xc3\xb2\xa1" + struct.pack("<HHiIII", 2, 4, 0, 0, 65535, 101))
    with pytest.raises(pcap.PcapError, match="link type 101"):
        pcap.dhcp_messages(path)
