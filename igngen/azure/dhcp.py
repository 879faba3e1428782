"""The Wireserver address from DHCP option 245 in lease files (pure parsing + directory scan).

Azure's DHCP server hands out the Wireserver's IPv4 address as four raw bytes in
option 245. systemd-networkd records it as ``OPTION_245=a83f8110`` in
``/run/systemd/netif/leases/<ifindex>``; dhclient as
``option unknown-245 a8:3f:81:10;`` inside ``lease { … }`` blocks, where
expired leases are skipped and the last valid one wins.
"""

from __future__ import annotations

import os
import re
import time

NETWORKD_LEASES = "/run/systemd/netif/leases"
DHCLIENT_LEASES = ("/var/lib/dhcp", "/var/lib/dhclient", "/var/lib/NetworkManager")

_NETWORKD = re.compile(r"^OPTION_245=([0-9a-fA-F]{8})\s*$", re.M)
_DHCLIENT_245 = re.compile(r"option\s+unknown-245\s+([0-9a-fA-F]{1,2}(?::[0-9a-fA-F]{1,2}){3})\s*;")
_EXPIRE = re.compile(
    r"expire\s+(?:\d+\s+(\d{4})/(\d{2})/(\d{2})\s+(\d{2}):(\d{2}):(\d{2})|never)\s*;"
)


def _ip(raw: bytes) -> str | None:
    if len(raw) != 4 or raw == b"\0\0\0\0":
        return None
    return ".".join(str(b) for b in raw)


def from_networkd(text: str) -> str | None:
    match = _NETWORKD.search(text)
    return _ip(bytes.fromhex(match.group(1))) if match else None


def from_dhclient(text: str, *, now: float | None = None) -> str | None:
    now = time.time() if now is None else now
    found = None
    for block in re.findall(r"lease\s*\{(.*?)\}", text, re.S):
        option = _DHCLIENT_245.search(block)
        if not option:
            continue
        expire = _EXPIRE.search(block)
        if expire and expire.group(1):
            stamp = time.mktime(time.strptime("/".join(expire.groups()), "%Y/%m/%d/%H/%M/%S"))
            if stamp < now:
                continue
        ip = _ip(bytes(int(part, 16) for part in option.group(1).split(":")))
        if ip:
            found = ip
    return found


def discover(
    *, networkd_dir: str = NETWORKD_LEASES, dhclient_dirs: tuple[str, ...] = DHCLIENT_LEASES
) -> str | None:
    """The Wireserver address from the first lease that carries option 245, or None."""
    try:
        for name in sorted(os.listdir(networkd_dir)):
            with open(os.path.join(networkd_dir, name), encoding="utf-8", errors="replace") as fh:
                ip = from_networkd(fh.read())
            if ip:
                return ip
    except OSError:
        pass
    for directory in dhclient_dirs:
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for name in names:
            if "lease" not in name:
                continue
            try:
                with open(os.path.join(directory, name), encoding="utf-8", errors="replace") as fh:
                    ip = from_dhclient(fh.read())
            except OSError:
                continue
            if ip:
                return ip
    return None
