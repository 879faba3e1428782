"""Translate a config between spec versions, one adjacent step at a time (pure).

Up: every field of an older spec exists unchanged in the next one, so a step
up only rewrites ``ignition.version`` (after the config validated at its own
version). Down: a step from V to the previous version is allowed only when the
config uses nothing V introduced: fields (``spec._DELTAS``) and value rules
(URL schemes, hash functions, filesystem formats in ``spec``). Each step
re-validates at the step's target, so the first thing the older spec cannot
express is reported with its JSON pointer. 3.4.0-experimental sits between
3.3.0 and 3.4.0 (Ignition 2.14's view: 3.3.0's fields plus ``arn:`` URLs).
Below 3.6.0 Ignition masks setuid/setgid/sticky bits, so a mode using them
cannot move down (it would silently lose them).
"""

from __future__ import annotations

import copy

from igngen.errors import IgnitionConfigError
from igngen.ignition import spec
from igngen.ignition.validate import check, declared_version, validate

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def translate(config: dict[str, Any], to_version: str, *, source: str = "config") -> dict[str, Any]:
    """``config`` at spec ``to_version`` (a new dict); raise naming the field that cannot move."""
    if to_version not in spec.ORDER:
        raise IgnitionConfigError(f"unknown target spec {to_version!r}", source)
    check(config, source=source)
    current = declared_version(config)
    assert current is not None
    out = copy.deepcopy(config)
    start, goal = spec.ORDER[current], spec.ORDER[to_version]
    step = 1 if goal >= start else -1
    for index in range(start + step, goal + step, step):
        target = spec.VERSIONS[index]
        out["ignition"]["version"] = target
        if step < 0:
            if spec.masks_special_bits(target) and not spec.masks_special_bits(
                spec.VERSIONS[index + 1]
            ):
                _refuse_special_bits(out, current, to_version, source)
            for report in validate(out, source, schema=False):
                if report.severity == "error":
                    raise IgnitionConfigError(
                        f"cannot translate {current} to {to_version}: {report.message}",
                        source,
                        report.pointer,
                    )
    return out


def _refuse_special_bits(config: dict[str, Any], current: str, goal: str, source: str) -> None:
    storage = config.get("storage")
    if not isinstance(storage, dict):
        return
    for kind in ("files", "directories"):
        entries = storage.get(kind)
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            mode = entry.get("mode") if isinstance(entry, dict) else None
            if isinstance(mode, int) and mode & 0o7000:
                raise IgnitionConfigError(
                    f"cannot translate {current} to {goal}: mode {mode:#o} has setuid/setgid/"
                    f"sticky bits, which Ignition masks in spec {goal} configs",
                    source,
                    f"/storage/{kind}/{i}/mode",
                )
