"""The warnings Ignition's validator gives a generated config, which Butane passes on.

Butane validates what it generates with Ignition's ``config/v3_*/types``
(v2.26.0 for Butane 0.29) and reports that validator's warnings as its own,
so ``butane -s`` fails on them. These are the ones igngen's Butane can meet
(mode-bit and decimal-mode warnings are made during the walk itself):

- ``unit.go``: an enabled unit with contents but no ``[Install]`` section;
- ``systemd.go``: an enabled ``X@Y.service`` whose template ``X@.service`` is
  in the config with contents but no ``[Install]`` section;
- ``proxy.go``: ``httpsProxy`` with a plaintext ``http://`` URL;
- ``storage.go``: user/group on a hard link; a filesystem on a disk that the
  config partitions, or on a disk with ``wipeTable`` (implicit wipe).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from igngen.butane import messages as msg

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_INSTANCE = re.compile(r"^(.+?)@(.+?)\.service$")


def unit_sections(text: str) -> list[str] | None:
    """Section names of a unit file as go-systemd's deserializer reads them (None: unparsable).

    Comment lines (``#``/``;``) and continuation lines of a value are not
    section headers; a line that opens ``[`` without closing it is an error.
    """
    sections = []
    continued = False
    for line in text.splitlines():
        stripped = line.strip()
        if continued:
            continued = stripped.endswith("\\")
            continue
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("["):
            if not stripped.endswith("]"):
                return None
            sections.append(stripped[1:-1])
            continue
        continued = stripped.endswith("\\")
    return sections


def _has_install(contents: Any) -> bool | None:
    if not isinstance(contents, str) or not contents:
        return None
    sections = unit_sections(contents)
    return None if sections is None else "Install" in sections


def warnings(config: dict[str, Any], where: Callable[[str], str]) -> list[tuple[str, str]]:
    """(location, message) of every Ignition validator warning for ``config``."""
    out: list[tuple[str, str]] = []
    units = config.get("systemd", {}).get("units", [])
    by_name = {u.get("name"): u for u in units if isinstance(u, dict)}
    for i, unit in enumerate(units):
        if unit.get("enabled") is not True:
            continue
        name = str(unit.get("name", ""))
        if _has_install(unit.get("contents")) is False:
            out.append(
                (where(f"/systemd/units/{i}/contents"), msg.NO_INSTALL_SECTION.format(name=name))
            )
        m = _INSTANCE.match(name)
        if m:
            template = f"{m.group(1)}@.service"
            if _has_install(by_name.get(template, {}).get("contents")) is False:
                text = msg.TEMPLATE_NO_INSTALL.format(template=template, name=name)
                out.append((where(f"/systemd/units/{i}/contents"), text))
    proxy = config.get("ignition", {}).get("proxy", {})
    https = proxy.get("httpsProxy")
    if isinstance(https, str):
        from urllib.parse import urlsplit  # with ipaddress, ~3 ms: only a proxy needs it

        try:
            scheme = urlsplit(https).scheme
        except ValueError:
            scheme = ""
        if scheme == "http":
            out.append((where("/ignition/proxy/httpsProxy"), msg.INSECURE_PROXY))
    storage = config.get("storage", {})
    for i, link in enumerate(storage.get("links", [])):
        if link.get("hard") is not True:
            continue
        for owner in ("user", "group"):
            for field in ("id", "name"):
                if link.get(owner, {}).get(field) is not None:
                    out.append((where(f"/storage/links/{i}/{owner}/{field}"), msg.HARD_LINK_OWNER))
    disks = {d.get("device"): d for d in storage.get("disks", [])}
    for i, fs in enumerate(storage.get("filesystems", [])):
        disk = disks.get(fs.get("device"))
        if disk is None:
            continue
        if disk.get("partitions"):
            out.append((where(f"/storage/filesystems/{i}/device"), msg.PARTITIONS_OVERWRITTEN))
        elif fs.get("wipeFilesystem") is not True and disk.get("wipeTable") is True:
            out.append((where(f"/storage/filesystems/{i}/device"), msg.IMPLICIT_WIPE))
    return out
