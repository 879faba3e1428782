"""Loopback HTTP listeners the guest reaches through ``guestfwd``.

``RecordingServer`` answers every request with a scripted reply and records it; it
proves the forward on its own and stands in where a project simulator is not needed.
The project's Azure simulators (``tests/sim/imds.py``, ``tests/sim/wireserver.py``) are
started by the tests the same way: bound to 127.0.0.1 on a free port.
"""

from __future__ import annotations

import json
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


def imds_server(instance: dict[str, object]) -> RecordingServer:
    """Minimal IMDS: the instance document (or a sub-path of it) to ``Metadata: true`` GETs."""

    def reply(req: Request) -> Reply:
        if req.headers.get("Metadata", req.headers.get("metadata")) != "true":
            return Reply(400, b'{"error": "Bad request. Required metadata header not specified"}')
        path = req.path.split("?", 1)[0].rstrip("/")
        if not path.startswith("/metadata/instance"):
            return Reply(404, b"{}")
        node: object = instance
        for part in [x for x in path.removeprefix("/metadata/instance").split("/") if x]:
            if not isinstance(node, dict) or part not in node:
                return Reply(404, b"{}")
            node = node[part]
        if "format=text" in req.path:
            return Reply(200, str(node).encode())
        return Reply(200, json.dumps(node).encode(), "application/json")

    return RecordingServer(reply)


def wireserver_server(goal_state: bytes) -> RecordingServer:
    """Minimal Wireserver: versions, goal state, and 200 to every health report."""

    def reply(req: Request) -> Reply:
        if req.method == "GET" and "comp=versions" in req.path:
            body = (
                b'<?xml version="1.0" encoding="utf-8"?><Versions><Preferred><Version>2012-11-30'
                b"</Version></Preferred><Supported><Version>2012-11-30</Version></Supported></Versions>"
            )
            return Reply(200, body, "text/xml")
        if req.method == "GET" and "comp=goalstate" in req.path:
            return Reply(200, goal_state, "text/xml")
        if req.method == "POST":
            return Reply(200, b"")
        return Reply(404, b"")

    return RecordingServer(reply)
