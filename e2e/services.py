"""The harness's own loopback recorder, and the request record the checks read.

``RecordingServer`` answers every request with fixed bytes and records it: the harness
test uses it to prove the ``guestfwd`` forwards on their own, before any Azure protocol.
IMDS and the Wireserver are always the project's simulators (``tests/sim``), for unit
tests, these boots and ``tools/dracut-check`` alike.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"


class RecordingServer:
    """A threaded HTTP server on 127.0.0.1 that records requests and answers each with
    ``reply`` (fixed bytes, or a function of the request)."""

    def __init__(self, reply: bytes | Callable[[Request], Reply] = b"ok\n") -> None:
        answer = reply if callable(reply) else (lambda _req, body=reply: Reply(200, body))
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                req = Request(
                    self.command, self.path, dict(self.headers.items()), self.rfile.read(length)
                )
                with outer._lock:
                    outer.requests.append(req)
                r = answer(req)
                self.send_response(r.status)
                self.send_header("Content-Type", r.content_type)
                self.send_header("Content-Length", str(len(r.body)))
                self.end_headers()
                self.wfile.write(r.body)

            do_GET = do_POST = do_PUT = _handle

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port: int = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> RecordingServer:
        self._thread.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def seen(self) -> list[Request]:
        with self._lock:
            return list(self.requests)
