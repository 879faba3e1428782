"""Butane variants and versions igngen translates, described as data.

Each entry names the Ignition spec it produces and the sugar it allows;
a new version is a new row (STYLE: versions as small units, shared logic).
"""

from __future__ import annotations

from typing import NamedTuple


class Variant(NamedTuple):
    variant: str
    version: str
    spec: str
    # base v0_5 (flatcar 1.1, fcos 1.5) added *_local for units, drop-ins and keys.
    unit_contents_local: bool
    clevis: bool
    # Keys of the fcos variant that have no Flatcar/igngen translation.
    fcos_only: tuple[str, ...]


VARIANTS = {
    ("flatcar", "1.0.0"): Variant("flatcar", "1.0.0", "3.3.0", False, False, ()),
    ("flatcar", "1.1.0"): Variant("flatcar", "1.1.0", "3.4.0", True, False, ()),
    ("fcos", "1.4.0"): Variant("fcos", "1.4.0", "3.3.0", False, True, ("boot_device",)),
    ("fcos", "1.5.0"): Variant("fcos", "1.5.0", "3.4.0", True, True, ("boot_device", "grub")),
}


def supported() -> str:
    return ", ".join(f"{a} {b}" for a, b in VARIANTS)
