"""The one HTTP primitive every Azure client uses (edge: sockets).

Why not ``requests``: its timeouts are per socket operation, so a server that
sends the status line and then one header byte every few seconds, or an endless
run of ``100 Continue``, keeps a call alive far past any budget, and its
exceptions are classified by message text. Boot-critical code needs one
deadline for the whole request, and IMDS and the Wireserver speak the plainest
HTTP/1.1 there is: one request per connection, no proxy, no redirects, no
compression, bodies of a few KiB. That is a small, exact client:

- :func:`request` sends one request and reads one answer under a single
  deadline that covers name lookup, connect, sending, the status line, every
  header, any 1xx answers and the body (``Content-Length``, ``chunked`` or
  read-to-close). Every socket wait is clipped to what is left of it.
- Every transport or protocol failure raises :class:`Retry` with a
  :class:`RetryKind`; nothing else escapes (no ``OSError``, no parser error).
  A body over the caller's cap raises :class:`TooLarge`.
- :func:`with_retries` runs attempts with jittered exponential backoff inside
  a total budget and raises :class:`BudgetSpent` naming the last failure of each kind seen.

Callers turn statuses into outcomes: :class:`Retry` (busy, restarting),
:class:`Fatal` (a request that will not heal) or :class:`Gone` (410 on the
health POST, where the goal state must be fetched again). Endpoint URLs are
parsed by ``igngen.azure.urls``.
"""

from __future__ import annotations

import enum
import os
import socket
import time
from collections.abc import Callable, Mapping

from igngen.azure.urls import Url, parse_url

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple, NoReturn, TypeVar

    T = TypeVar("T")
else:
    from igngen.records import NamedTuple

# Bounds on what a server may send (IMDS and Wireserver answers are a few KiB).
MAX_STATUS_LINE = 8 * 1024  # longest status line, header line or chunk-size line
MAX_HEADER_BYTES = 64 * 1024  # all header lines of one answer together
MAX_HEADERS = 100  # header fields in one answer
MAX_INFORMATIONAL = 8  # 1xx answers before the real one (a 100-Continue flood is refused)
MAX_TRAILER_BYTES = 8 * 1024  # trailer section after the last chunk
RECV_SIZE = 65536
# A connect that has not finished in this long will not: the endpoints are one hop away.
DEFAULT_CONNECT_TIMEOUT = 5.0


class RetryKind(enum.Enum):
    """Why an attempt failed in a way that another attempt may not.

    The value is the phrase used in logs and in the final one-line error.
    """

    LOOKUP = "address lookup failed"
    REFUSED = "connection refused"
    CONNECT = "connect failed"
    CONNECT_TIMEOUT = "connect timed out"
    SEND = "sending the request failed"
    RESET = "connection reset"
    TIMEOUT = "request deadline reached"
    CLOSED = "connection closed early"
    PROTOCOL = "malformed HTTP answer"
    STATUS = "busy HTTP status"
    BODY = "unusable answer"


class HttpOutcome(Exception):
    """Base of the typed outcomes; ``str()`` is one line without secrets."""


class Retry(HttpOutcome):
    """Worth another attempt (transport/protocol failure, busy status, unusable body)."""

    def __init__(self, kind: RetryKind, detail: str = "", *, immediate: bool = False) -> None:
        super().__init__(kind, detail)
        self.kind = kind
        self.detail = detail
        self.immediate = immediate  # retry at once, without backoff (the caller bounds how often)

    def __str__(self) -> str:
        return f"{self.kind.value} ({self.detail})" if self.detail else self.kind.value


class Fatal(HttpOutcome):
    """Another attempt will not help (a refused request, an answer over the size cap)."""

    def __init__(self, detail: str, *, status: int | None = None) -> None:
        super().__init__(detail, status)
        self.detail = detail
        self.status = status

    def __str__(self) -> str:
        return self.detail


class TooLarge(Fatal):
    """The answer's body is over the caller's cap."""


class Gone(HttpOutcome):
    """HTTP 410: the resource the request named changed (the goal state's incarnation)."""


class BudgetSpent(Exception):
    """No attempt succeeded within the total budget."""

    def __init__(self, attempts: int, last: str, earlier: tuple[str, ...]) -> None:
        super().__init__(attempts, last, earlier)
        self.attempts = attempts
        self.last = last
        self.earlier = earlier

    def __str__(self) -> str:
        also = f" (earlier: {', '.join(self.earlier)})" if self.earlier else ""
        return f"{self.attempts} attempt(s); last: {self.last}{also}"


class Response(NamedTuple):
    status: int
    reason: str
    headers: Mapping[str, str]  # lower-case names; repeated fields joined with ", "
    body: bytes


class _Deadline:
    __slots__ = ("at", "clock")

    def __init__(self, at: float, clock: Callable[[], float]) -> None:
        self.at = at
        self.clock = clock

    def left(self, phase: str) -> float:
        remaining = self.at - self.clock()
        if remaining <= 0:
            raise Retry(RetryKind.TIMEOUT, phase)
        return remaining


def _lookup(host: str, port: int, deadline: _Deadline) -> tuple[int, tuple[object, ...]]:
    """The first address for ``host``; IP literals without any resolver call."""
    flags = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV
    info: list[tuple[object, ...]]
    try:
        # bytes, not str: a str host goes through the idna codec (encodings.idna and
        # stringprep imported at every boot) even for the address literals Azure uses.
        literal = host.encode("ascii") if host.isascii() else host
        info = list(socket.getaddrinfo(literal, port, type=socket.SOCK_STREAM, flags=flags))
    except (socket.gaierror, UnicodeError):
        info = _resolve_bounded(host, port, deadline)
    family, _, _, _, address = info[0]
    assert isinstance(family, int) and isinstance(address, tuple)
    return family, address


def _resolve_bounded(host: str, port: int, deadline: _Deadline) -> list[tuple[object, ...]]:
    # getaddrinfo has no timeout of its own; a name (never the Azure defaults, which are
    # addresses) is resolved in a worker thread that the deadline stops waiting for.
    import threading

    box: list[object] = []

    def work() -> None:
        try:
            box.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError) as exc:
            box.append(exc)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(deadline.left("address lookup"))
    if not box:
        raise Retry(RetryKind.TIMEOUT, "address lookup")
    result = box[0]
    if isinstance(result, BaseException) or not result:
        raise Retry(RetryKind.LOOKUP, host)
    assert isinstance(result, list)
    return result


class _Reader:
    """Buffered reads from a socket, every wait clipped to the request deadline."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self.sock = sock
        self.deadline = deadline
        self.buf = bytearray()
        self.eof = False

    def _fill(self, phase: str) -> None:
        if self.eof:
            raise Retry(RetryKind.CLOSED, phase)
        self.sock.settimeout(self.deadline.left(phase))
        try:
            chunk = self.sock.recv(RECV_SIZE)
        except TimeoutError:
            raise Retry(RetryKind.TIMEOUT, phase) from None
        except ConnectionResetError:
            raise Retry(RetryKind.RESET, phase) from None
        except OSError as exc:
            raise Retry(RetryKind.RESET, f"{phase}: {exc.strerror or type(exc).__name__}") from None
        if not chunk:
            self.eof = True
            raise Retry(RetryKind.CLOSED, phase)
        self.buf += chunk

    def line(self, phase: str, limit: int = MAX_STATUS_LINE) -> bytes:
        """One CRLF- (or LF-) terminated line without its terminator."""
        start = 0
        while True:
            end = self.buf.find(b"\n", start)
            if end >= 0:
                if end > limit:
                    raise Retry(RetryKind.PROTOCOL, f"{phase} longer than {limit} bytes")
                line = bytes(self.buf[:end])
                del self.buf[: end + 1]
                return line[:-1] if line.endswith(b"\r") else line
            if len(self.buf) > limit:
                raise Retry(RetryKind.PROTOCOL, f"{phase} longer than {limit} bytes")
            start = len(self.buf)
            self._fill(phase)

    def exactly(self, size: int, phase: str) -> bytes:
        while len(self.buf) < size:
            self._fill(phase)
        data = bytes(self.buf[:size])
        del self.buf[:size]
        return data

    def to_close(self, limit: int, phase: str) -> bytes:
        while True:
            if len(self.buf) > limit:
                raise TooLarge(f"answer is over the {limit}-byte limit")
            try:
                self._fill(phase)
            except Retry as exc:
                if self.eof and exc.kind is RetryKind.CLOSED:
                    data = bytes(self.buf)
                    self.buf.clear()
                    return data
                raise


def _status_line(line: bytes) -> tuple[int, str]:
    parts = line.split(b" ", 2)
    if (
        len(parts) < 2
        or parts[0] not in (b"HTTP/1.1", b"HTTP/1.0")
        or len(parts[1]) != 3
        or not parts[1].isdigit()
    ):
        raise Retry(RetryKind.PROTOCOL, "not an HTTP/1.x status line")
    reason = parts[2].decode("latin-1") if len(parts) > 2 else ""
    return int(parts[1]), reason


def _headers(reader: _Reader) -> dict[str, str]:
    headers: dict[str, str] = {}
    total = 0
    count = 0
    while True:
        line = reader.line("headers")
        if not line:
            return headers
        total += len(line) + 2
        count += 1
        if total > MAX_HEADER_BYTES or count > MAX_HEADERS:
            raise Retry(RetryKind.PROTOCOL, "header section too large")
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip() or line[:1] in (b" ", b"\t"):
            raise Retry(RetryKind.PROTOCOL, "malformed header line")
        key = name.decode("latin-1").lower()
        text = value.strip(b" \t").decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text


def _content_length(value: str) -> int:
    values = {v.strip() for v in value.split(",")}
    if len(values) != 1:
        raise Retry(RetryKind.PROTOCOL, "conflicting Content-Length")
    text = values.pop()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise Retry(RetryKind.PROTOCOL, "malformed Content-Length")
    return int(text)


def _chunked(reader: _Reader, limit: int) -> bytes:
    body = bytearray()
    while True:
        size_line = reader.line("chunk size").split(b";", 1)[0].strip(b" \t")
        if not size_line or len(size_line) > 16 or size_line.strip(b"0123456789abcdefABCDEF"):
            raise Retry(RetryKind.PROTOCOL, "malformed chunk size")
        size = int(size_line, 16)
        if size == 0:
            break
        if len(body) + size > limit:
            raise TooLarge(f"answer is over the {limit}-byte limit")
        body += reader.exactly(size, "body")
        if reader.line("chunk end", 2):
            raise Retry(RetryKind.PROTOCOL, "chunk not followed by CRLF")
    trailers = 0
    while line := reader.line("trailer"):
        trailers += len(line) + 2
        if trailers > MAX_TRAILER_BYTES:
            raise Retry(RetryKind.PROTOCOL, "trailer section too large")
    return bytes(body)


def _body(
    reader: _Reader, method: str, status: int, headers: Mapping[str, str], limit: int
) -> bytes:
    if method == "HEAD" or status in (204, 304):
        return b""
    coding = headers.get("content-encoding", "identity").strip().lower()
    if coding not in ("", "identity"):
        # We ask for identity; decoding anything else would need a decompression bound too.
        raise Retry(RetryKind.PROTOCOL, f"unexpected Content-Encoding {coding[:40]!r}")
    transfer = headers.get("transfer-encoding")
    if transfer is not None:
        if transfer.strip().lower() != "chunked":
            raise Retry(RetryKind.PROTOCOL, "unsupported Transfer-Encoding")
        return _chunked(reader, limit)
    declared = headers.get("content-length")
    if declared is not None:
        size = _content_length(declared)
        if size > limit:
            raise TooLarge(f"answer of {size} bytes is over the {limit}-byte limit")
        return reader.exactly(size, "body")
    return reader.to_close(limit, "body")


def _connect(url: Url, deadline: _Deadline, connect_timeout: float) -> socket.socket:
    family, address = _lookup(url.host, url.port, deadline)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(min(connect_timeout, deadline.left("connect")))
        sock.connect(address)
    except TimeoutError:
        sock.close()
        raise Retry(RetryKind.CONNECT_TIMEOUT) from None
    except ConnectionRefusedError:
        sock.close()
        raise Retry(RetryKind.REFUSED) from None
    except OSError as exc:
        sock.close()
        raise Retry(RetryKind.CONNECT, exc.strerror or type(exc).__name__) from None
    except BaseException:
        sock.close()
        raise
    if url.scheme == "https":
        return _wrap_tls(sock, url.host, deadline)
    return sock


def _wrap_tls(sock: socket.socket, host: str, deadline: _Deadline) -> socket.socket:
    import ssl  # only for an https endpoint in the settings; Azure's endpoints are http

    try:
        sock.settimeout(deadline.left("TLS handshake"))
        return ssl.create_default_context().wrap_socket(sock, server_hostname=host)
    except TimeoutError:
        sock.close()
        raise Retry(RetryKind.TIMEOUT, "TLS handshake") from None
    except (OSError, ValueError) as exc:
        sock.close()
        raise Retry(RetryKind.CONNECT, f"TLS: {type(exc).__name__}") from None


def request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    deadline: float,
    max_body: int,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    clock: Callable[[], float] = time.monotonic,
    want_body: bool = True,
) -> Response:
    """One HTTP/1.1 exchange that ends by ``deadline`` (a ``clock()`` value) whatever the peer does.

    Raises :class:`Retry` (any transport or protocol failure, the deadline),
    :class:`TooLarge` (body over ``max_body``) or :class:`Fatal` (``url`` unusable).
    Statuses, 3xx included, are returned, never followed. With ``want_body`` false the
    body is not read at all (its status is the whole answer, as for a health POST).
    """
    try:
        target = parse_url(url)
    except ValueError as exc:
        raise Fatal(f"unusable endpoint URL: {exc}") from None
    limit = _Deadline(deadline, clock)
    limit.left("connect")
    lines = [f"{method} {target.target} HTTP/1.1", f"Host: {target.netloc}"]
    sent = {k.lower() for k in (headers or {})}
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if "accept-encoding" not in sent:
        lines.append("Accept-Encoding: identity")
    if body is not None or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body or b'')}")
    lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    sock = _connect(target, limit, connect_timeout)
    try:
        try:
            sock.settimeout(limit.left("sending"))
            sock.sendall(head + (body or b""))
        except TimeoutError:
            raise Retry(RetryKind.TIMEOUT, "sending") from None
        except OSError as exc:
            raise Retry(RetryKind.SEND, exc.strerror or type(exc).__name__) from None
        reader = _Reader(sock, limit)
        for _ in range(MAX_INFORMATIONAL + 1):
            status, reason = _status_line(reader.line("status line"))
            answer_headers = _headers(reader)
            if status >= 200 or status < 100:
                break
            if status == 101:
                raise Retry(RetryKind.PROTOCOL, "unexpected protocol switch")
        else:
            raise Retry(RetryKind.PROTOCOL, f"more than {MAX_INFORMATIONAL} 1xx answers")
        if status < 100:
            raise Retry(RetryKind.PROTOCOL, f"status {status}")
        data = _body(reader, method, status, answer_headers, max_body) if want_body else b""
        return Response(status, reason, answer_headers, data)
    finally:
        sock.close()


# --- retries within a total budget -------------------------------------------


class RetryPolicy(NamedTuple):
    """Backoff inside a total budget: jittered ``initial`` doubling up to ``cap``."""

    total: float
    initial: float = 1.0
    cap: float = 30.0


class Timing(NamedTuple):
    """How long one endpoint is waited for: the whole budget (every attempt and pause
    between them), one connect, one request (connect to the last body byte, never past
    the budget), and the jittered backoff between attempts. IMDS, the PPS poll and the
    Wireserver each have one (``DEFAULT_TIMING`` in their client modules)."""

    total_timeout: float
    connect_timeout: float
    request_timeout: float
    backoff_initial: float
    backoff_max: float

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(self.total_timeout, self.backoff_initial, self.backoff_max)

    def with_total(self, seconds: float) -> Timing:
        return self._replace(total_timeout=seconds)


def jittered_pause(backoff: float, cap: float) -> float:
    # 50-100 % of the step: VMs restarting together must not retry in lockstep.
    return min(backoff, cap) * (0.5 + _fraction() / 2)


def _fraction() -> float:
    """A number in [0, 1] that differs between VMs. From getrandom without blocking, not
    the random module (its import, hashlib's sha512, bisect and math, costs every boot
    for one number per retry) and not os.urandom, which blocks until the kernel's pool is
    ready: early in an initramfs that wait has no bound. Before then, the clock's
    nanoseconds are spread enough to keep VMs out of lockstep."""
    try:
        data = os.getrandom(2, os.GRND_NONBLOCK)
    except (AttributeError, OSError):  # no getrandom here, or the pool is not ready
        data = (time.time_ns() & 0xFFFF).to_bytes(2, "big")
    return int.from_bytes(data, "big") / 0xFFFF


def with_retries(
    attempt: Callable[[float], T],
    policy: RetryPolicy,
    *,
    on_retry: Callable[[int, Retry, float], None] = lambda n, r, left: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    start: float | None = None,
) -> T:
    """Call ``attempt(deadline)`` until it returns, within ``policy.total`` seconds.

    :class:`Retry` is retried (at once when ``immediate``, else after a jittered
    backoff that never passes the deadline); anything else propagates. When the
    budget is spent, :class:`BudgetSpent` names the last failure and the kinds
    seen before it.
    """
    deadline = (clock() if start is None else start) + policy.total
    backoff = policy.initial
    attempts = 0
    last: Retry | None = None
    kinds: dict[str, str] = {}  # kind -> the latest failure text of that kind, first-seen order
    while clock() < deadline:
        attempts += 1
        try:
            return attempt(deadline)
        except Retry as exc:
            last = exc
            kinds[exc.kind.value] = str(exc)
            left = max(0.0, deadline - clock())
            on_retry(attempts, exc, left)
            if exc.immediate:
                continue
        pause = jittered_pause(backoff, policy.cap)
        if clock() + pause >= deadline:
            break
        sleep(pause)
        backoff *= 2
    _spent(attempts, last, kinds)


def _spent(attempts: int, last: Retry | None, kinds: dict[str, str]) -> NoReturn:
    last_text = str(last) if last else "no attempt made"
    last_kind = last.kind.value if last else ""
    # The last attempt is often cut short by the deadline itself; the earlier failures say
    # more, so each other kind is named by its own latest text (e.g. "HTTP 410 …"), not
    # only by its kind.
    raise BudgetSpent(
        attempts, last_text, tuple(text for k, text in kinds.items() if k != last_kind)
    )
