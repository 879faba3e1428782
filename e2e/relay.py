"""Byte relay for QEMU ``guestfwd=...-cmd:``: stdin/stdout ↔ a TCP port on 127.0.0.1.

slirp starts one relay per guest connection with the connection on fd 0/1, so every
HTTP request from the guest becomes its own loopback connection to the simulator (a
chardev-based ``guestfwd`` would funnel all of them into one long-lived stream, and
two chardev forwards on port 80 collide in QEMU 7.2). The target is always loopback.
Standard library only: it runs under the host's python3, outside any venv.
"""

from __future__ import annotations

import os
import selectors
import socket
import sys


def relay(port: int) -> None:
    conn = socket.create_connection(("127.0.0.1", port), timeout=30)
    conn.setblocking(False)
    os.set_blocking(0, False)
    sel = selectors.DefaultSelector()
    sel.register(0, selectors.EVENT_READ, "guest")
    sel.register(conn, selectors.EVENT_READ, "host")
    open_ends = 2
    while open_ends:
        ready = sel.select(timeout=120)
        if not ready:
            return  # idle for two minutes: give up
        for key, _ in ready:
            if key.data == "guest":
                try:
                    data = os.read(0, 65536)
                except BlockingIOError:
                    continue
                if data:
                    _send_all(conn, data)
                else:
                    sel.unregister(0)
                    conn.shutdown(socket.SHUT_WR)
                    open_ends -= 1
            else:
                try:
                    data = conn.recv(65536)
                except BlockingIOError:
                    continue
                if data:
                    _write_all(1, data)
                else:
                    return  # the server is done: closing our end closes the guest's


def _send_all(conn: socket.socket, data: bytes) -> None:
    conn.setblocking(True)
    conn.sendall(data)
    conn.setblocking(False)


def _write_all(fd: int, data: bytes) -> None:
    os.set_blocking(fd, True)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


if __name__ == "__main__":
    relay(int(sys.argv[1]))
