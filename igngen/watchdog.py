"""One deadline over a whole command, and SIGTERM turned into a reason (POSIX, main thread).

Every wait inside ``igngen provision`` has its own budget; this is the net under
them. When the deadline passes or systemd sends SIGTERM (its start timeout, a
shutdown), the running step is interrupted with an exception the caller turns
into a recorded, one-line reason, instead of a boot that hangs or dies silently.

The signal handlers raise a BaseException subclass so that no ``except
Exception`` or ``except IgngenError`` on the way can swallow it; the context
manager converts it into a typed error once the stack has unwound to it.
"""

from __future__ import annotations

import signal
import time
from types import FrameType, TracebackType

from igngen.errors import EX_TEMPFAIL, IgngenError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# The armed watchdog, so that a step that learns it must wait longer (a pre-provisioned
# VM waiting in its pool) can extend the one deadline instead of escaping it.
_active: list[Watchdog] = []


class DeadlineError(IgngenError):
    """The command ran out of its total time, or was told to stop."""

    exit_code = EX_TEMPFAIL

    def __init__(self, message: str, location: str = "", *, terminated: bool = False) -> None:
        super().__init__(message, location)
        self.terminated = terminated  # SIGTERM, not the deadline


class _Expired(BaseException):
    def __init__(self, why: str, *, terminated: bool = False) -> None:
        super().__init__(why)
        self.why = why
        self.terminated = terminated


class Watchdog:
    """``with Watchdog(seconds, what): ...`` raises DeadlineError when time is up or on SIGTERM."""

    def __init__(self, seconds: float, what: str, *, detail: str = "") -> None:
        self.seconds = seconds
        self.what = what
        self.detail = detail
        self._saved: dict[int, Any] = {}
        self._started = 0.0
        self._armed = False

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        if not self._armed:
            return  # tripped while leaving: the work is done
        self._armed = False
        self._disarm_timer()
        detail = f" ({self.detail})" if self.detail else ""
        raise _Expired(f"timeout: {self.what} did not finish within {self.seconds:g} s{detail}")

    def _on_term(self, signum: int, frame: FrameType | None) -> None:
        if not self._armed:
            return
        self._armed = False
        self._disarm_timer()
        spent = time.monotonic() - self._started
        raise _Expired(
            f"terminated: {self.what} got SIGTERM after {spent:.0f} s "
            "(a unit start timeout or a shutdown)",
            terminated=True,
        )

    def extend(self, seconds: float, why: str) -> None:
        """Move the deadline ``seconds`` later (the rest of the budget still applies after)."""
        if not self._armed or seconds <= 0:
            return
        left = signal.getitimer(signal.ITIMER_REAL)[0]
        signal.setitimer(signal.ITIMER_REAL, max(left, 1e-6) + seconds)
        self.seconds += seconds
        self.detail = (
            f"{self.detail} + {why} {seconds:g} s" if self.detail else f"{why} {seconds:g} s"
        )

    @staticmethod
    def _disarm_timer() -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)

    def __enter__(self) -> Watchdog:
        self._started = time.monotonic()
        self._armed = True
        _active.append(self)
        self._saved[signal.SIGALRM] = signal.signal(signal.SIGALRM, self._on_alarm)
        self._saved[signal.SIGTERM] = signal.signal(signal.SIGTERM, self._on_term)
        try:
            # A zero budget would disarm setitimer; the smallest positive one fires at once.
            signal.setitimer(signal.ITIMER_REAL, max(self.seconds, 1e-6))
        except _Expired as exc:  # tripped before the body began
            self._armed = False
            self._leave()
            raise DeadlineError(exc.why, terminated=exc.terminated) from None
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # The alarm can trip at any bytecode until it is disarmed, this method included.
        try:
            self._armed = False
            self._leave()
        except _Expired as late:
            exc = late
            self._leave()
        if isinstance(exc, _Expired):
            raise DeadlineError(exc.why, terminated=exc.terminated) from None

    def _leave(self) -> None:
        self._disarm_timer()
        if self in _active:
            _active.remove(self)
        for signum, handler in self._saved.items():
            signal.signal(signum, handler)


def extend(seconds: float, why: str) -> bool:
    """Extend the armed watchdog's deadline; False when none is armed (a direct call)."""
    if not _active:
        return False
    _active[-1].extend(seconds, why)
    return True
