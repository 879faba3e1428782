"""Translate configs between spec versions (pure).

Every 3.x version only adds fields and allowed values, so translating *up* is
relabelling; translating *down* is allowed when nothing newer is used. Both
directions are checked by validating the relabelled config against the target
version's rules, so the error names the offending field with its JSON pointer.
"""

from __future__ import annotations

from typing import Any

from igngen.errors import IgnitionConfigError
from igngen.ignition import spec
from igngen.ignition.validate import validate


def translate(config: dict[str, Any], to_version: str, *, source: str = "config") -> dict[str, Any]:
    if to_version not in spec.ORDER:
        raise IgnitionConfigError(f"unknown target spec {to_version!r}", source)
    out = dict(config)
    out["ignition"] = {**(config.get("ignition") or {}), "version": to_version}
    for report in validate(out):
        if report.severity == "error":
            raise IgnitionConfigError(
                f"cannot be expressed in spec {to_version}: {report.message}",
                source,
                report.pointer or "/",
            )
    return out
