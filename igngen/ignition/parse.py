"""Bytes → Ignition config dict, with located errors (pure).

JSON syntax errors carry ``source:line:column``; everything after parsing
carries ``source#/json/pointer``. The declared version is checked here:
spec 3.x versions igngen knows are accepted; spec 1.x/2.x configs are
recognised and refused with a clear message (Flatcar's Ignition translates
them itself at boot; igngen does not translate them).
"""

from __future__ import annotations

import json

from igngen.errors import IgnitionConfigError
from igngen.ignition import spec
from igngen.safejson import loads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def parse(data: bytes, *, source: str) -> dict[str, Any]:
    """Parse one config; raise :class:`IgnitionConfigError` naming where it is wrong."""
    if not data.strip():
        raise IgnitionConfigError("config is empty", source)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IgnitionConfigError(f"not UTF-8 (byte {exc.start})", source) from None
    try:
        config = loads(text)
    except json.JSONDecodeError as exc:
        line, column = _position(text, exc.pos)
        raise IgnitionConfigError(f"invalid JSON: {exc.msg}", f"{source}:{line}:{column}") from None
    if not isinstance(config, dict):
        raise IgnitionConfigError("config must be a JSON object", source, "/")
    version = detect_version(config, source=source)
    if version.startswith(spec.LEGACY_PREFIXES):
        raise IgnitionConfigError(
            f"spec {version} (Ignition 1.x/2.x format) is not handled by igngen; Flatcar's "
            "Ignition accepts and translates it at boot, but igngen does not translate it",
            source,
            "/ignition/version",
        )
    return config


def detect_version(config: dict[str, Any], *, source: str) -> str:
    """The declared spec version; raise if it is missing or unknown (legacy ones are returned)."""
    ign = config.get("ignition")
    version = ign.get("version") if isinstance(ign, dict) else None
    if not isinstance(version, str):
        raise IgnitionConfigError("ignition.version is missing", source, "/ignition/version")
    if version in spec.ORDER or version.startswith(spec.LEGACY_PREFIXES):
        return version
    raise IgnitionConfigError(
        f"unsupported config version {version!r} (known: {', '.join(spec.VERSIONS)})",
        source,
        "/ignition/version",
    )
