"""Butane variants and versions igngen translates, described as data.

Each entry names the Ignition spec it produces, the Butane base it is built
on and the sugar it allows, as in Butane 0.29 (``config/{fcos,flatcar}/v*``
and ``base/v0_*``); a new version is a new row (STYLE: versions as small
units, shared logic). A row whose target spec igngen's spec table does not
know yet is kept in ``PENDING`` and becomes active, unchanged, once that spec
is added to ``igngen.ignition.spec.VERSIONS``.
"""

from __future__ import annotations

from igngen.ignition import spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from igngen.records import NamedTuple


class Variant(NamedTuple):
    variant: str
    version: str
    spec: str
    base: str  # Butane's base package (v0_4 … v0_8_exp)
    # Luks fields a variant refuses (Butane's FieldFilters), with the reason.
    refused_luks: tuple[tuple[str, str], ...] = ()
    # fcos sugar: boot_device fields beyond layout/mirror/luks.{tang,threshold,tpm2},
    # and whether grub.users exists.
    boot_device: tuple[str, ...] = ()
    grub: bool = False
    # fcos 1.6+: with_mount_unit only under /etc or /var; partitions reused by label warn.
    fcos_checks_1_6: bool = False
    # fcos 1.7+: boot_device.mirror without layout is an error, not a warning.
    mirror_layout_error: bool = False

    @property
    def unit_contents_local(self) -> bool:
        """base v0_5 added *_local for units, drop-ins and SSH keys."""
        return self.base >= "v0_5"

    @property
    def tree_ownership(self) -> bool:
        """base v0_7 added user/group/file_mode/dir_mode to storage.trees."""
        return self.base >= "v0_7"

    @property
    def quadlets(self) -> bool:
        """base v0_8_exp added systemd.quadlets."""
        return self.base >= "v0_8"

    @property
    def fcos(self) -> bool:
        return self.variant == "fcos"


_CLEVIS_REFUSED = (("clevis", "clevis is not supported in this spec version"),)
_CEX_REFUSED = (("cex", "cex is not currently supported on the target platform"),)

_FCOS_1_6 = Variant(
    "fcos",
    "1.6.0",
    "3.5.0",
    "v0_6",
    boot_device=("discard", "cex", "device", "s390x"),
    grub=True,
    fcos_checks_1_6=True,
)

_ALL = (
    Variant("flatcar", "1.0.0", "3.3.0", "v0_4", refused_luks=_CLEVIS_REFUSED),
    Variant("flatcar", "1.1.0", "3.4.0", "v0_5", refused_luks=_CLEVIS_REFUSED),
    Variant("flatcar", "1.2.0-experimental", "3.7.0-experimental", "v0_8_exp", _CEX_REFUSED),
    Variant("fcos", "1.4.0", "3.3.0", "v0_4"),
    Variant("fcos", "1.5.0", "3.4.0", "v0_5", boot_device=("discard",), grub=True),
    _FCOS_1_6,
    # What fcos 1.7.0 changed from 1.6.0: spec, base and the mirror-without-layout rule.
    _FCOS_1_6._replace(version="1.7.0", spec="3.6.0", base="v0_7", mirror_layout_error=True),
)

VARIANTS = {(v.variant, v.version): v for v in _ALL if v.spec in spec.VERSIONS}
# Butane versions whose target spec igngen does not know yet: refused with that reason.
PENDING = {(v.variant, v.version): v for v in _ALL if v.spec not in spec.VERSIONS}


def supported() -> str:
    return ", ".join(f"{a} {b}" for a, b in VARIANTS)
