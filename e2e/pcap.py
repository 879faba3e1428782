"""DHCP messages out of the pcap file QEMU's ``filter-dump`` writes for the guest NIC.

Only what the tests ask is decoded: Ethernet II → IPv4 → UDP between ports 68 and 67
→ BOOTP with the DHCP magic cookie → options. Anything else in the capture (ssh, the
relayed IMDS/Wireserver TCP streams, ARP) is skipped, as is a packet cut short by the
capture's ``maxlen``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

# pcap magic numbers: microsecond and nanosecond timestamps, either byte order.
_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
LINKTYPE_ETHERNET = 1
ETHERTYPE_IPV4 = 0x0800
IPPROTO_UDP = 17
DHCP_COOKIE = b"\x63\x82\x53\x63"
BOOTP_FIXED = 236  # op … file, before the magic cookie
# DHCP message types (RFC 2132, option 53)
MESSAGE_TYPES = {
    1: "DISCOVER",
    2: "OFFER",
    3: "REQUEST",
    4: "DECLINE",
    5: "ACK",
    6: "NAK",
    7: "RELEASE",
    8: "INFORM",
}
OPTION_HOSTNAME = 12
OPTION_MESSAGE_TYPE = 53


class PcapError(ValueError):
    pass


@dataclass(frozen=True)
class DhcpMessage:
    seconds: float  # capture timestamp
    from_client: bool  # sent from port 68 to port 67
    kind: str  # DISCOVER, REQUEST, …
    options: dict[int, bytes]

    @property
    def hostname(self) -> str | None:
        raw = self.options.get(OPTION_HOSTNAME)
        return None if raw is None else raw.decode("ascii", "replace")


def packets(data: bytes) -> list[tuple[float, bytes]]:
    """(timestamp, frame) for every record of a pcap file whose link type is Ethernet."""
    if len(data) < 24 or data[:4] not in _MAGICS:
        raise PcapError("not a pcap file (bad magic number)")
    order, unit = _MAGICS[data[:4]]
    (linktype,) = struct.unpack_from(order + "I", data, 20)
    if linktype != LINKTYPE_ETHERNET:
        raise PcapError(f"link type {linktype}, expected Ethernet ({LINKTYPE_ETHERNET})")
    out: list[tuple[float, bytes]] = []
    offset = 24
    while offset + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack_from(order + "IIII", data, offset)
        offset += 16
        frame = data[offset : offset + caplen]
        if len(frame) < caplen:
            break  # QEMU was killed mid-record: the last one is torn
        out.append((sec + frac * unit, frame))
        offset += caplen
    return out


def dhcp_message(seconds: float, frame: bytes) -> DhcpMessage | None:
    """The DHCP message in one Ethernet frame, or None when the frame carries none."""
    if len(frame) < 14 or struct.unpack_from("!H", frame, 12)[0] != ETHERTYPE_IPV4:
        return None
    ip = frame[14:]
    if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != IPPROTO_UDP:
        return None
    if struct.unpack_from("!H", ip, 6)[0] & 0x3FFF:
        return None  # a fragment: DHCP over fragmented IP is not something we decode
    header = (ip[0] & 0x0F) * 4
    udp = ip[header:]
    if len(udp) < 8:
        return None
    sport, dport = struct.unpack_from("!HH", udp, 0)
    if {sport, dport} != {67, 68}:
        return None
    bootp = udp[8:]
    if len(bootp) < BOOTP_FIXED + 4 or bootp[BOOTP_FIXED : BOOTP_FIXED + 4] != DHCP_COOKIE:
        return None
    options = _options(bootp[BOOTP_FIXED + 4 :])
    kind_raw = options.get(OPTION_MESSAGE_TYPE, b"")
    kind = MESSAGE_TYPES.get(kind_raw[0], f"type-{kind_raw[0]}") if kind_raw else "BOOTP"
    return DhcpMessage(seconds, sport == 68, kind, options)


def _options(raw: bytes) -> dict[int, bytes]:
    options: dict[int, bytes] = {}
    i = 0
    while i < len(raw):
        code = raw[i]
        if code == 255:
            break
        if code == 0:  # pad
            i += 1
            continue
        if i + 1 >= len(raw):
            break
        length = raw[i + 1]
        value = raw[i + 2 : i + 2 + length]
        if len(value) < length:
            break  # cut by the capture's maxlen
        # RFC 3396: a repeated option is one long option split in pieces.
        options[code] = options.get(code, b"") + value
        i += 2 + length
    return options


def dhcp_messages(path: Path) -> list[DhcpMessage]:
    """Every DHCP message in the capture, in capture order."""
    found = (dhcp_message(t, frame) for t, frame in packets(path.read_bytes()))
    return [m for m in found if m is not None]
