"""A request's whole-time bound. httpx bounds each network operation (connect, one read),
not a request: a server that sends a token every 50 ms and never ends its stream keeps
every read short and the request open forever. The watchdog, a thread of the probe's own,
shuts the probe's connections down when a request's deadline passes, so the blocked read
returns at once."""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class Watchdog:
    """Started before t0 (:meth:`start`), so its thread costs the cold start nothing; armed
    and disarmed around each request."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._deadline: float | None = None
        self._sockets: list[socket.socket] = []
        self._thread: threading.Thread | None = None
        self._closed = False
        self.fired = False

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="probe-watchdog", daemon=True)
            self._thread.start()

    def watch(self, sock: socket.socket) -> None:
        """A connection the probe opened; shut down with the others when a deadline passes."""
        with self._condition:
            self._sockets = [s for s in self._sockets if s.fileno() != -1]
            self._sockets.append(sock)

    def arm(self, seconds: float) -> None:
        self.start()
        with self._condition:
            self._deadline = time.perf_counter() + seconds
            self.fired = False
            self._condition.notify()

    def disarm(self) -> bool:
        """Stop watching the current request; True if its deadline had passed."""
        with self._condition:
            self._deadline = None
            return self.fired

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        with self._condition:
            while not self._closed:
                if self._deadline is None:
                    self._condition.wait()
                    continue
                remaining = self._deadline - time.perf_counter()
                if remaining > 0:
                    self._condition.wait(remaining)
                    continue
                self._deadline = None
                self.fired = True
                for sock in self._sockets:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
