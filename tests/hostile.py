"""Hostile web servers for the fetcher's and the watch's tests: raw sockets on loopback, each
misbehaving in one way a real server can (dripping its headers, never answering)."""

from __future__ import annotations

import re
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator

Behaviour = Callable[[socket.socket, threading.Event], None]


class RawServer:
    """A TCP server on 127.0.0.1 whose every connection gets `behaviour` on its own thread;
    it notes when each connection came and when the client went away."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.stop = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted: list[float] = []  # time.monotonic() of each connection
        self.gone: list[float] = []  # when the client closed it
        self.connected = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def url(self, path: str = "/", scheme: str = "http", host: str = "localhost") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def wait_for(self, connections: int, timeout: float = 10.0) -> None:
        with self.connected:
            if not self.connected.wait_for(lambda: len(self.accepted) >= connections, timeout):
                came = len(self.accepted)
                raise AssertionError(f"{connections} connections expected, {came} came")

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            with self.connected:
                self.accepted.append(time.monotonic())
                self.connected.notify_all()
            thread = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)  # started first: close() may join it at any moment

    def _handle(self, conn: socket.socket) -> None:
        try:
            self.behaviour(conn, self.stop)
        except OSError:
            pass
        finally:
            self.gone.append(time.monotonic())
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        for conn in self._conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in self._threads:
            thread.join(5)


def read_request(conn: socket.socket) -> bytes:
    """The request's head, read up to its blank line."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def drip_headers(conn: socket.socket, stop: threading.Event) -> None:
    """A status line and headers that never end, one byte a second, for as long as the client
    stays; the client's leaving is seen as a failed send or a closed read."""
    read_request(conn)
    conn.settimeout(0)
    for byte in b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Slow: " + b"a" * 100_000:
        try:
            conn.sendall(bytes([byte]))
            if conn.recv(1) == b"":  # nothing to read on a live connection; b"" once closed
                return
        except BlockingIOError:
            pass
        if stop.wait(1.0):
            return


def silent(conn: socket.socket, stop: threading.Event) -> None:
    """Accepts, then says nothing at all (not even a TLS handshake) until the client leaves."""
    conn.settimeout(0.2)
    while not stop.is_set():
        try:
            if conn.recv(4096) == b"":
                return
        except TimeoutError:
            continue


def gzipped(pieces: Iterator[bytes], level: int = 9) -> bytes:
    """A gzip stream of the pieces, compressed as they come (never all in memory at once)."""
    z = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return b"".join(z.compress(p) for p in pieces) + z.flush()


def repeated(block: bytes, total: int) -> Iterator[bytes]:
    """`block` repeated up to `total` bytes, a block at a time."""
    for _ in range(total // len(block)):
        yield block


def peak_rss_kb() -> int:
    """This process's peak resident memory (VmHWM), in kB."""
    with open("/proc/self/status") as f:
        return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))  # type: ignore[union-attr]


def rss_kb() -> int:
    with open("/proc/self/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))  # type: ignore[union-attr]


def reset_peak_rss() -> bool:
    """The peak brought down to what is resident now (Linux), so a peak measured after shows
    what happened since; False when the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False
