"""The Wireserver address from DHCP option 245 in lease files (pure parsing + a small read).

Azure's DHCP server hands out option 245: the Wireserver IPv4 address as four
raw bytes (azure-protocol sheet §3.1). Two lease formats carry it on the
images igngen targets:

- systemd-networkd (Flatcar): ``/run/systemd/netif/leases/<ifindex>``, a
  ``KEY=value`` file with ``OPTION_245=a83f8110``;
- ISC dhclient: ``lease { … option unknown-245 a8:3f:81:10; … expire … }``
  blocks, where expired leases are skipped and the last valid one wins (as
  WALinuxAgent does). dhclient writes the value as colon-separated hex, one or
  two digits per byte, or as a quoted string when the bytes happen to print.

Nothing here is trusted blindly: the address must be a plain unicast IPv4
address, or it is ignored.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Sequence

NETWORKD_LEASE_DIR = "/run/systemd/netif/leases"
DHCLIENT_LEASE_GLOBS: tuple[tuple[str, str], ...] = (
    ("/var/lib/dhclient", ".lease"),
    ("/var/lib/dhclient", ".leases"),
    ("/var/lib/dhcp", ".leases"),
)

# Every pattern stays on one line ([ \t], never \s, which spans newlines) and the lease
# blocks are cut out by find(): a crafted 1 MiB lease file (runs of blank lines, "lease {"
# without "}") then costs linear time, where a backtracking regex took minutes.
_NETWORKD = re.compile(r"^OPTION_245=([0-9A-Fa-f]{8})[ \t\r]*$", re.M)
_OPTION_HEX = re.compile(
    r"^[ \t]*option[ \t]+unknown-245[ \t]+([0-9A-Fa-f]{1,2}(?::[0-9A-Fa-f]{1,2}){3})[ \t]*;",
    re.M,
)
_OPTION_STR = re.compile(r'^[ \t]*option[ \t]+unknown-245[ \t]+"((?:[^"\\\n]|\\.)*)"[ \t]*;', re.M)
_EXPIRE = re.compile(
    r"^[ \t]*expire[ \t]+(?:\d{1,2}[ \t]+(\d{4})/(\d{1,2})/(\d{1,2})[ \t]+(\d{1,2}):(\d{2}):(\d{2})"
    r"|(never))[ \t]*;",
    re.M,
)
_LEASE_OPEN = re.compile(r"lease[ \t\r\n]{0,64}\{")
_OCTAL = re.compile(r"[0-7]{1,3}")


def _lease_blocks(text: str) -> list[str]:
    """The bodies of ``lease { ... }`` blocks, in order (blocks do not nest)."""
    blocks: list[str] = []
    pos = 0
    while True:
        opening = _LEASE_OPEN.search(text, pos)
        if opening is None:
            return blocks
        close = text.find("}", opening.end())
        if close == -1:
            return blocks  # an unterminated last block (a lease being written) is ignored
        blocks.append(text[opening.end() : close])
        pos = close + 1


def _address(raw: bytes) -> str | None:
    if len(raw) != 4:
        return None
    first = raw[0]
    # 0/8, loopback, multicast and reserved/broadcast are never a Wireserver.
    if first in (0, 127) or first >= 224:
        return None
    return ".".join(str(b) for b in raw)


def from_networkd(text: str) -> str | None:
    """The address in a systemd-networkd lease file, or None."""
    match = _NETWORKD.search(text)
    return _address(bytes.fromhex(match.group(1))) if match else None


def _unescape(quoted: str) -> bytes:
    out = bytearray()
    i = 0
    while i < len(quoted):
        ch = quoted[i]
        if ch == "\\" and i + 1 < len(quoted):
            octal = _OCTAL.match(quoted, i + 1)
            if octal:
                out.append(int(octal.group(0), 8) & 0xFF)
                i += 1 + len(octal.group(0))
                continue
            out += quoted[i + 1].encode("latin-1", "replace")
            i += 2
            continue
        out += ch.encode("latin-1", "replace")
        i += 1
    return bytes(out)


def _expired(block: str, now: float) -> bool:
    match = _EXPIRE.search(block)
    if match is None or match.group(7):
        return False
    import calendar

    y, mo, d, h, mi, s = (int(g) for g in match.groups()[:6])
    try:
        when = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
    except (ValueError, OverflowError):
        return True
    return when <= now


def from_dhclient(text: str, *, now: float | None = None) -> str | None:
    """The option-245 address of the last unexpired lease in a dhclient lease file, or None."""
    now = time.time() if now is None else now
    found = None
    for block in _lease_blocks(text):
        if _expired(block, now):
            continue
        hexed = _OPTION_HEX.search(block)
        if hexed:
            raw = bytes(int(part, 16) for part in hexed.group(1).split(":"))
        else:
            quoted = _OPTION_STR.search(block)
            if not quoted:
                continue
            raw = _unescape(quoted.group(1))
        address = _address(raw)
        if address:
            found = address
    return found


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as fh:
            return fh.read(256 * 1024).decode("utf-8", "replace")
    except OSError:
        return None


def _listdir(directory: str) -> list[str]:
    try:
        return sorted(os.listdir(directory))
    except OSError:
        return []


def discover(
    *,
    networkd_dirs: Sequence[str] = (NETWORKD_LEASE_DIR,),
    dhclient_files: Iterable[str] | None = None,
    now: float | None = None,
) -> tuple[str, str] | None:
    """(address, lease file) from the first lease carrying option 245; networkd first (Flatcar)."""
    for directory in networkd_dirs:
        for name in _listdir(directory):
            path = os.path.join(directory, name)
            text = _read(path)
            address = from_networkd(text) if text else None
            if address:
                return address, path
    if dhclient_files is None:
        dhclient_files = [
            os.path.join(d, n)
            for d, suffix in DHCLIENT_LEASE_GLOBS
            for n in _listdir(d)
            if n.endswith(suffix)
        ]
    for path in dhclient_files:
        text = _read(path)
        address = from_dhclient(text, now=now) if text else None
        if address:
            return address, path
    return None
