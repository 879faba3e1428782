"""Leveled, one-line-per-step logs on stderr (journald in the initrd).

The standard ``logging`` package is deliberately not used: igngen runs once per
boot inside the initramfs where start-up time matters, and every line we emit
has the same shape: ``igngen: <level> <step>: <message> [key=value ...]``.
When stderr is connected to journald (``JOURNAL_STREAM`` set) each line is
prefixed with the syslog priority ``<N>`` so journald records the level.

Never pass a secret to these functions; values are escaped to one line.
"""

from __future__ import annotations

import os
import sys
import time

from igngen.errors import _one_line, strip_userinfo

LEVELS = {"debug": 7, "info": 6, "notice": 5, "warning": 4, "error": 3}
_threshold = LEVELS.get(os.environ.get("IGNGEN_LOG_LEVEL", "info").lower(), 6)
_journal = bool(os.environ.get("JOURNAL_STREAM"))
_started = time.monotonic()


def set_level(name: str) -> None:
    global _threshold
    _threshold = LEVELS[name]


def _emit(level: str, step: str, message: str, fields: dict[str, object]) -> None:
    prio = LEVELS[level]
    if prio > _threshold:
        return
    extra = "".join(f" {k}={_one_line(str(v))}" for k, v in fields.items())
    elapsed = time.monotonic() - _started
    prefix = f"<{prio}>" if _journal else ""
    text = strip_userinfo(f"{_one_line(message)}{extra}")
    line = f"{prefix}igngen: {level} {step}: {text} t={elapsed:.3f}s\n"
    try:
        sys.stderr.write(line)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def debug(step: str, message: str, **fields: object) -> None:
    _emit("debug", step, message, fields)


def info(step: str, message: str, **fields: object) -> None:
    _emit("info", step, message, fields)


def notice(step: str, message: str, **fields: object) -> None:
    _emit("notice", step, message, fields)


def warning(step: str, message: str, **fields: object) -> None:
    _emit("warning", step, message, fields)


def error(step: str, message: str, **fields: object) -> None:
    _emit("error", step, message, fields)
