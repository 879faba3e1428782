"""Custom data / userData intake: what the user handed Azure, and what to do with it (pure).

Detection follows Flatcar's patched Ignition (patch 0011) so that anything it
would leave to coreos-cloudinit is left alone here too: a first line that is
exactly ``#cloud-config``, a ``#!`` script, or a MIME document whose
``Content-Type`` is ``multipart/mixed`` — also after gzip decompression.
Spec 1.x/2.x configs (which Flatcar's Ignition still translates) are detected
and passed through untouched. Anything that claims to be Ignition JSON but is
invalid is an error with its JSON pointer: Ignition would fail the boot on it.

Butane YAML (a mapping with a top-level ``variant`` key, which Ignition 2.27+
accepts itself) is translated with igngen's Butane, with a note naming the
variant, version and Ignition spec; the result is then handled like Ignition
JSON custom data (``raw`` is the translated JSON). See README, "Custom data".
"""

from __future__ import annotations

import json
import re

from igngen.errors import CustomDataError, IgnitionConfigError
from igngen.ignition import spec
from igngen.limits import MAX_DECOMPRESSED
from igngen.safejson import loads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple
else:
    from igngen.records import NamedTuple

__all__ = ["MAX_DECOMPRESSED", "CustomData", "classify"]

# As text: compiled (and cached by ``re``) only when custom data is classified.
_BUTANE_VARIANT = r"(?m)^variant[ \t]*:"

EMPTY = "empty"
IGNITION = "ignition"
LEGACY_IGNITION = "legacy-ignition"  # spec 1.x / 2.x
CLOUD_CONFIG = "cloud-config"
SCRIPT = "script"
MIME = "mime-multipart"

_MIME_CT = rb"(?im)^content-type:[^\n]*multipart/mixed"


class CustomData(NamedTuple):
    kind: str
    raw: bytes  # exactly what the user gave (possibly gzip-compressed)
    gzipped: bool
    config: dict[str, Any] | None = None  # parsed Ignition config (kind ignition/legacy)
    version: str | None = None
    note: str = ""

    @property
    def is_ignition(self) -> bool:
        return self.kind == IGNITION


def _decompress(data: bytes, source: str) -> bytes:
    from igngen.ignition.dataurl import gunzip

    try:
        return gunzip(data)
    except IgnitionConfigError as exc:
        raise CustomDataError(
            exc.message.replace("gzip data", "gzip custom data"), source
        ) from None


def _non_ignition_kind(data: bytes) -> str | None:
    first = data.split(b"\n", 1)[0].rstrip()
    if first == b"#cloud-config":
        return CLOUD_CONFIG
    if data.startswith(b"#!"):
        return SCRIPT
    header = data.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    if re.search(_MIME_CT, header):
        return MIME
    return None


def _butane(text: str, source: str) -> CustomData:
    """Butane YAML custom data, translated as ``igngen butane`` would (no files directory)."""
    from igngen.butane.transpile import transpile_bytes
    from igngen.errors import ButaneError
    from igngen.jsonio import canonical_json

    try:
        result = transpile_bytes(text, source=source)
    except ButaneError as exc:
        raise CustomDataError(f"Butane custom data: {exc.message}", exc.location) from None
    note = (
        f"custom data is Butane YAML ({result.variant}): translated by igngen's Butane"
        f" to Ignition spec {result.spec}"
    )
    if result.warnings:
        extra = len(result.warnings) - 3
        note += "; " + "; ".join(result.warnings[:3]) + (f" (+{extra} more)" if extra > 0 else "")
    raw = canonical_json(result.config)
    return CustomData(IGNITION, raw, False, result.config, result.spec, note=note)


def classify(data: bytes, *, source: str = "customdata", butane: bool = True) -> CustomData:
    """What custom data is. ``butane=False`` (for referenced configs, which Ignition
    parses as JSON only) treats Butane YAML as the invalid JSON it is there."""
    gzipped = data[:2] == b"\x1f\x8b"
    body = _decompress(data, source) if gzipped else data
    if not body.strip():
        # Whitespace-only data would fail Ignition's JSON parse; nothing in it can be
        # meant as a config, so it is treated like 0 bytes (no user config).
        return CustomData(
            EMPTY,
            data,
            gzipped,
            note="custom data is only whitespace; treated as empty (Ignition alone would reject it)"
            if body
            else "",
        )
    kind = _non_ignition_kind(body)
    if kind is not None:
        return CustomData(
            kind,
            data,
            gzipped,
            note=f"custom data is a {kind} document, not Ignition: left for coreos-cloudinit "
            "(no user config is claimed, as Flatcar's Ignition does)",
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CustomDataError(
            f"neither Ignition JSON nor a cloud-config/script/MIME document "
            f"(not UTF-8 at byte {exc.start})",
            source,
        ) from None
    try:
        config = loads(text)
    except json.JSONDecodeError as exc:
        if butane and re.search(_BUTANE_VARIANT, text):
            return _butane(text, source)
        raise CustomDataError(
            f"not valid Ignition JSON ({exc.msg}) and not a cloud-config/script/MIME document",
            f"{source}:{exc.lineno}:{exc.colno}",
        ) from None
    if not isinstance(config, dict):
        raise CustomDataError("Ignition config must be a JSON object", f"{source}#")
    if butane and "variant" in config and "ignition" not in config:
        return _butane(text, source)  # Butane written as JSON (JSON is YAML)
    version = (
        config.get("ignition", {}).get("version")
        if isinstance(config.get("ignition"), dict)
        else None
    )
    if not isinstance(version, str):
        raise CustomDataError(
            "not an Ignition config: ignition.version is missing", f"{source}#/ignition/version"
        )
    if version.startswith(spec.LEGACY_PREFIXES):
        return CustomData(
            LEGACY_IGNITION,
            data,
            gzipped,
            config,
            version,
            note=f"custom data is an Ignition spec {version} config: igngen neither translates it "
            "nor embeds it as a merge reference (Flatcar's Ignition translates 1.x/2.x only as the "
            "top-level user config), so it must reach Ignition as the user config itself, with "
            "igngen's fragment as a base config",
        )
    if version not in spec.ORDER:
        raise CustomDataError(
            f"unsupported Ignition config version {version!r} (known: {', '.join(spec.VERSIONS)})",
            f"{source}#/ignition/version",
        )
    from igngen.ignition.validate import validate

    warnings: list[str] = []
    refused = spec.acceptance_problem(version, spec.DEFAULT_IGNITION)
    if refused is not None:
        # Fine on an image whose Ignition still takes it (2.14 and 3.4.0-experimental).
        warnings.append(f"#/ignition/version: {refused}")
    for report in validate(config, source, schema=False, newer="warning"):
        if report.severity == "error":
            raise CustomDataError(
                f"invalid Ignition config: {report.message}", f"{source}#{report.pointer}"
            )
        # A field newer than the declared spec: Ignition drops it with a warning, so do we.
        warnings.append(f"#{report.pointer}: {report.message}")
    note = "; ".join(warnings[:3]) + (f" (+{len(warnings) - 3} more)" if len(warnings) > 3 else "")
    return CustomData(IGNITION, data, gzipped, config, version, note=note)
