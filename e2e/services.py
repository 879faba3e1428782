"""Loopback HTTP listeners the guest reaches through ``guestfwd``.

``RecordingServer`` answers every request with a scripted reply and records it; it
proves the forward on its own and stands in where a project simulator is not needed.
The project's Azure simulators (``tests/sim/imds.py``, ``tests/sim/wireserver.py``) are
started by the tests the same way: bound to 127.0.0.1 on a free port.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class RecordingServer:
    """A threaded HTTP server on 127.0.0.1 that records requests and replies ``body``."""

    def __init__(self, body: bytes = b"ok\n", *, status: int = 200) -> None:
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
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

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
