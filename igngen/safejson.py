"""``json.loads`` with igngen's bounds (pure): nesting depth, integer size, lone surrogates.

Every JSON input (Ignition configs, custom data, IMDS documents, igngen's own
state files) is parsed here. What the bounds refuse is reported as a
:class:`json.JSONDecodeError` at the offending position, so each caller's
existing "invalid JSON" handling turns it into its own located, typed error:

- nesting deeper than ``MAX_JSON_DEPTH`` is found by a linear scan *before*
  parsing, so no parser or later recursive walk can hit ``RecursionError``;
- an integer longer than ``MAX_INT_DIGITS`` digits (Python's ``int()`` is
  quadratic on those, and Ignition's Go ``int`` cannot hold them);
- a ``\\uD800``-``\\uDFFF`` escape that is not part of a surrogate pair: Go's
  decoder turns it into U+FFFD while Python keeps a lone surrogate that cannot
  be encoded as UTF-8 again, so validate, render and merge all refuse it here;
- ``NaN``/``Infinity``, which are not JSON (Python accepts them, Go does not), and
  numbers too big for a float (``1e400``), which would be written back as ``Infinity``.
"""

from __future__ import annotations

import json
import re
from functools import cache
from itertools import accumulate

from igngen.limits import MAX_INT_DIGITS, MAX_JSON_DEPTH

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
# +1 / -1 per bracket byte, indexed by byte value (a tuple lookup runs at C speed in map()).
_DELTA = tuple(1 if b in b"[{" else -1 if b in b"]}" else 0 for b in range(256))
# An escape \uD800-\uDFFF preceded by an even number of backslashes (so it is an escape).
# These two as text: compiled (and cached by ``re``) on first use.
_SURROGATE = r"(?<!\\)(?:\\\\)*(\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[dD][89a-fA-F][0-9a-fA-F]{2})"
_LONG_DIGITS = f"[0-9]{{{MAX_INT_DIGITS + 1}}}"


@cache
def _string() -> re.Pattern[str]:
    """A JSON string, possessive so that an unterminated one cannot backtrack (compiled
    on first use: only large or escaped inputs need it, and most runs have none)."""
    return re.compile(r'"(?:[^"\\]++|\\.)*+"', re.S)


class _Refused(ValueError):
    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


def _check_depth(text: str) -> None:
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return
    # Strings removed (they may hold brackets), then a running sum over the brackets.
    brackets = (
        _string().sub("", text).encode("utf-8", "surrogatepass").translate(None, _NOT_BRACKETS)
    )
    if not brackets:
        return
    deepest = max(accumulate(map(_DELTA.__getitem__, brackets)))
    if deepest <= MAX_JSON_DEPTH:
        return
    # Only to word the error: find where the limit is crossed in the original text.
    depth = 0
    pos = 0
    while pos < len(text):
        ch = text[pos]
        if ch == '"':
            match = _string().match(text, pos)
            if match is None:
                return  # unterminated string: the parser reports it
            pos = match.end()
            continue
        if ch in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise _Refused(f"nested deeper than {MAX_JSON_DEPTH} levels", pos)
        elif ch in "]}":
            depth -= 1
        pos += 1


def _check_surrogates(text: str) -> None:
    if "\\u" not in text and "\\U" not in text:
        return
    for match in re.finditer(_SURROGATE, text):
        if len(match.group(1)) == 6:  # a lone half, not a high+low pair
            raise _Refused(
                f"lone surrogate escape {match.group(1)!r} (not a character)", match.start(1)
            )


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON value", -1)


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Refused(f"integer longer than {MAX_INT_DIGITS} digits", -1)
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if value in (_INF, -_INF):
        raise _Refused(f"number {text[:20]!r} is out of range", -1)
    return value


_INF = float("inf")


def loads(text: str) -> Any:
    """Parse JSON text; a refused input raises :class:`json.JSONDecodeError` at its position."""
    try:
        _check_depth(text)
        _check_surrogates(text)
        return json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except _Refused as exc:
        pos = exc.pos
        if pos < 0:
            pos = _locate(text, exc.message)
        raise json.JSONDecodeError(exc.message, text, pos) from None
    except RecursionError:  # pragma: no cover - the depth scan runs first
        raise json.JSONDecodeError(f"nested deeper than {MAX_JSON_DEPTH} levels", text, 0) from None


def _locate(text: str, message: str) -> int:
    """Where a hook's refusal happened (hooks are not told their position)."""
    skeleton = _string().sub(lambda m: " " * len(m.group(0)), text)
    if message.startswith("integer"):
        match = re.search(_LONG_DIGITS, skeleton)
    elif message.startswith("number"):
        match = re.search(r"[0-9.]+[eE]\+?[0-9]{3,}", skeleton)
    else:
        match = re.search(r"NaN|-?Infinity", skeleton)
    return match.start() if match else 0
