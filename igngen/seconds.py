"""Time budgets given by people: finite, not negative, at most a named maximum.

``float()`` alone takes "nan", "inf" and "-1"; a NaN deadline never compares as
reached (a retry loop that never ends) and a negative one busy-loops. Every
budget on the command line and in the settings file goes through here.
"""

from __future__ import annotations

import argparse
import math

from igngen.limits import MAX_SECONDS


def check_seconds(value: object, maximum: float = MAX_SECONDS) -> float:
    """A number (a settings value) as float seconds, or ValueError saying what a budget must be."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("expected a number of seconds")
    if isinstance(value, int):
        # A huge int would overflow float(); anything this big is refused anyway.
        if abs(value) > 10 * maximum:
            raise ValueError(f"expected at most {maximum:g} seconds")
        value = float(value)
    if not math.isfinite(value):
        raise ValueError("expected a number of seconds that is finite")
    if value < 0:
        raise ValueError("expected a number of seconds that is not negative")
    if value > maximum:
        raise ValueError(f"expected at most {maximum:g} seconds")
    return value


def seconds_argument(text: str) -> float:
    """argparse ``type=``: bad budgets are usage errors (exit 2), never silently accepted."""
    try:
        if len(text) > 32:
            raise ValueError("expected a number of seconds")
        try:
            value = float(text)
        except ValueError:
            raise ValueError("expected a number of seconds") from None
        return check_seconds(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc} (got {text[:32]!r})") from None
