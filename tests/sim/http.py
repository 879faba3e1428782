"""A scripted HTTP server on 127.0.0.1 for protocol tests (IMDS, Wireserver).

Each request takes the next step of a script (the last step repeats):
``Reply(status, body, headers, delay)``, ``Reset()`` (close without answering),
``Drip(status, body, interval)`` (send the body one byte at a time) or
``Hang(seconds)`` (accept and say nothing) or ``Raw(parts, end)`` (bytes on the
wire exactly as given, with pauses between them, then close, reset or hang: for
broken framing, dripped status lines and headers, 1xx floods). Requests are recorded.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Reset:
    pass


@dataclass
class Drip:
    status: int
    body: bytes
    interval: float


@dataclass
class Hang:
    seconds: float


@dataclass
class Raw:
    """Bytes sent as they are (no status line or headers added); a float is a pause."""

    parts: list[bytes | float]
    end: str = "close"  # "close", "reset" (RST) or "hang" (until the server stops)


Step = Reply | Reset | Drip | Hang | Raw

_LINGER_RESET = b"\x01\x00\x00\x00\x00\x00\x00\x00"


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


class ScriptedServer:
    def __init__(self, script: list[Step] | Callable[[Request], Step], *, port: int = 0) -> None:
        self.script = script
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                req = Request(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    time.monotonic(),
                )
                step = server._next(req)
                if isinstance(step, Reset):
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
                    self.close_connection = True
                    return
                if isinstance(step, Raw):
                    self._raw(step)
                    return
                if isinstance(step, Hang):
                    server._stop.wait(step.seconds)
                    self.close_connection = True
                    return
                if isinstance(step, Reply) and step.delay:
                    server._stop.wait(step.delay)
                status = step.status
                payload = step.body
                self.send_response(status)
                for k, v in getattr(step, "headers", {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if isinstance(step, Drip):
                    for i in range(len(payload)):
                        if server._stop.wait(step.interval):
                            return
                        try:
                            self.wfile.write(payload[i : i + 1])
                            self.wfile.flush()
                        except OSError:
                            return
                else:
                    self.wfile.write(payload)

            def _raw(self, step: Raw) -> None:
                self.close_connection = True
                for part in step.parts:
                    if isinstance(part, float):
                        if server._stop.wait(part):
                            return
                        continue
                    try:
                        self.connection.sendall(part)
                    except OSError:
                        return
                if step.end == "hang":
                    server._stop.wait()
                elif step.end == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)

            do_GET = _handle
            do_POST = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def _next(self, req: Request) -> Step:
        with self._lock:
            self.requests.append(req)
            if callable(self.script):
                return self.script(req)
            if len(self.script) > 1:
                return self.script.pop(0)
            return self.script[0]

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        assert isinstance(host, str)  # AF_INET: (str, int); the stubs also allow bytes
        return f"http://{host}:{port}"

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def free_port_refusing() -> str:
    """A loopback URL where nothing listens (connection refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"
