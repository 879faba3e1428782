"""A stand-in for systemd's private D-Bus socket that answers Ignition's device waits.

tests/test_disks_ignition_stage.py runs ``main()`` in a private mount namespace (a
tmpfs on /run/systemd): ``StartUnit("<escaped path>.device")`` finishes ``done`` when
the device node exists; then Ignition's stages given on the command line run.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import threading
from typing import Any


def _pad(buf: bytearray, n: int) -> None:
    while len(buf) % n:
        buf.append(0)


def _string(buf: bytearray, text: str, length_fmt: str = "<I") -> None:
    raw = text.encode()
    if length_fmt == "<I":
        _pad(buf, 4)
    buf += struct.pack(length_fmt, len(raw)) + raw + b"\0"


def _message(
    kind: int,
    fields: list[tuple[int, str, str]],
    sig: str,
    body: bytes,
    serial: int,
    reply_to: int | None = None,
) -> bytes:
    head = bytearray(b"l" + bytes([kind, 0, 1]) + struct.pack("<II", len(body), serial))
    arr = bytearray()
    all_fields = list(fields)
    if sig:
        all_fields.append((8, "g", sig))
    for code, typ, value in all_fields:
        _pad(arr, 8)
        arr.append(code)
        _string(arr, typ, "<B")
        if typ == "g":
            _string(arr, value, "<B")
        elif typ == "u":
            _pad(arr, 4)
            arr += struct.pack("<I", int(value))
        else:
            # array offsets are relative to the message start: the header is 16 bytes (8-aligned)
            _string(arr, value)
    if reply_to is not None:
        _pad(arr, 8)
        arr += bytes([5]) + b"\x01u\x00"
        arr += struct.pack("<I", reply_to)
    head += struct.pack("<I", len(arr)) + arr
    _pad(head, 8)
    return bytes(head) + body


def _unescape(name: str) -> str:
    out, i = [], 0
    while i < len(name):
        if name.startswith("\\x", i):
            out.append(chr(int(name[i + 2 : i + 4], 16)))
            i += 4
        elif name[i] == "-":
            out.append("/")
            i += 1
        else:
            out.append(name[i])
            i += 1
    return "/" + "".join(out)


class _Peer(threading.Thread):
    def __init__(self, conn: socket.socket, log: list[str]) -> None:
        super().__init__(daemon=True)
        self.conn, self.log, self.serial = conn, log, 1000
        self.buf = b""
        self.lock = threading.Lock()

    def recv_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.conn.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def run(self) -> None:
        try:
            self.handshake()
            while True:
                self.handle(self.read_message())
        except (EOFError, OSError):
            pass

    def handshake(self) -> None:
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.conn.recv(65536)
                if not chunk:
                    raise EOFError
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            line = line.lstrip(b"\0")
            self.log.append("auth: " + line.decode(errors="replace"))
            if line == b"AUTH":  # the client asks which mechanisms there are
                self.conn.sendall(b"REJECTED EXTERNAL\r\n")
            elif line.startswith(b"AUTH"):
                self.conn.sendall(b"OK 0123456789abcdef0123456789abcdef\r\n")
            elif line.startswith(b"NEGOTIATE_UNIX_FD"):
                self.conn.sendall(b"AGREE_UNIX_FD\r\n")
            elif line.startswith(b"BEGIN"):
                return
            else:
                self.conn.sendall(b"ERROR\r\n")

    def read_message(self) -> dict[str, Any]:
        fixed = self.recv_exact(16)
        if fixed[0:1] != b"l":
            raise OSError("big-endian D-Bus messages are not handled")
        kind, flags = fixed[1], fixed[2]
        body_len, serial, fields_len = struct.unpack("<III", fixed[4:16])
        fields_raw = self.recv_exact(fields_len + (-(16 + fields_len) % 8))
        body = self.recv_exact(body_len)
        fields: dict[int, Any] = {}
        pos = 0
        while pos < fields_len:
            pos += -pos % 8
            code = fields_raw[pos]
            slen = fields_raw[pos + 1]
            typ = fields_raw[pos + 2 : pos + 2 + slen].decode()
            pos += 3 + slen
            if typ in ("s", "o"):
                pos += -pos % 4
                (n,) = struct.unpack("<I", fields_raw[pos : pos + 4])
                fields[code] = fields_raw[pos + 4 : pos + 4 + n].decode()
                pos += 5 + n
            elif typ == "g":
                n = fields_raw[pos]
                fields[code] = fields_raw[pos + 1 : pos + 1 + n].decode()
                pos += 2 + n
            elif typ == "u":
                pos += -pos % 4
                (fields[code],) = struct.unpack("<I", fields_raw[pos : pos + 4])
                pos += 4
            else:
                raise OSError(f"header field type {typ!r} not handled")
        return {"kind": kind, "flags": flags, "serial": serial, "fields": fields, "body": body}

    def strings(self, body: bytes, count: int) -> list[str]:
        out, pos = [], 0
        for _ in range(count):
            pos += -pos % 4
            (n,) = struct.unpack("<I", body[pos : pos + 4])
            out.append(body[pos + 4 : pos + 4 + n].decode())
            pos += 5 + n
        return out

    def send(self, build: Any) -> None:
        with self.lock:
            self.serial += 1
            self.conn.sendall(build(self.serial))

    def handle(self, msg: dict[str, Any]) -> None:
        if msg["kind"] != 1:  # only method calls need an answer
            return
        member = msg["fields"].get(3, "")
        self.log.append(member)
        if member == "StartUnit":
            unit, _mode = self.strings(msg["body"], 2)
            job = f"/org/freedesktop/systemd1/job/{self.serial}"
            body = bytearray()
            _string(body, job)
            self.send(lambda n: _message(2, [], "o", bytes(body), n, reply_to=msg["serial"]))
            path = _unescape(unit.rsplit(".", 1)[0])
            result = "done" if _wait_for_device(path) else "timeout"
            self.log.append(f"{unit} -> {path} {result}")
            sig = bytearray(struct.pack("<I", int(job.rsplit("/", 1)[1])))
            for text in (job, unit, result):
                _string(sig, text)
            for (
                peer
            ) in PEERS:  # JobRemoved goes to every connection (go-systemd listens on a second one)
                peer.send(
                    lambda n: _message(
                        4,
                        [
                            (1, "o", "/org/freedesktop/systemd1"),
                            (2, "s", "org.freedesktop.systemd1.Manager"),
                            (3, "s", "JobRemoved"),
                        ],
                        "uoss",
                        bytes(sig),
                        n,
                    )
                )
        elif member == "Hello":
            name = bytearray()
            _string(name, ":1.1")
            self.send(lambda n: _message(2, [], "s", bytes(name), n, reply_to=msg["serial"]))
        elif not msg["flags"] & 0x1:  # NO_REPLY_EXPECTED not set: an empty reply
            self.send(lambda n: _message(2, [], "", b"", n, reply_to=msg["serial"]))


PEERS: list[_Peer] = []


def _wait_for_device(path: str) -> bool:
    """Like a device job: wait (bounded) for the node. Without udevd here the kernel's
    partition re-read after sgdisk does not always surface loop partitions, so the
    stand-in asks for them the way udev's partition handling would (partx)."""
    import re
    import time

    for attempt in range(50):
        if os.path.exists(path):
            return True
        parent = re.match(r"(/dev/loop[0-9]+)p[0-9]+$", path)
        if parent and attempt in (5, 20):
            subprocess.run(["partx", "-u", parent.group(1)], capture_output=True)
            subprocess.run(["partx", "-a", parent.group(1)], capture_output=True)
        time.sleep(0.1)
    return False


def serve(path: str, log: list[str]) -> None:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(8)
    while True:
        conn, _ = server.accept()
        peer = _Peer(conn, log)
        PEERS.append(peer)
        peer.start()


def main() -> None:
    """Run inside the test's mount namespace: serve the socket, then exec Ignition's stages."""
    log: list[str] = []
    threading.Thread(target=serve, args=("/run/systemd/private", log), daemon=True).start()
    import time

    while not os.path.exists("/run/systemd/private"):
        time.sleep(0.01)
    env = dict(os.environ)
    rc = 0
    for stage in ("fetch-offline", "disks"):
        proc = subprocess.run([*sys.argv[1:], f"--stage={stage}"], env=env, timeout=300)
        rc = proc.returncode
        if rc:
            break
    print("FAKE-SYSTEMD " + json.dumps(log), flush=True)
    sys.exit(rc)
