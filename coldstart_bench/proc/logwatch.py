"""Keeps the logs of a trial's services within their cap while the services run: a server
flooding its output would otherwise fill the results disk before the trial ends, and the
trial's record could not be written."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path

from coldstart_bench.results.logs import punch_middle

CHECK_INTERVAL_S = 0.2


class LogWatch:
    """Every :data:`CHECK_INTERVAL_S`, frees the middle of each watched log that has grown
    past the cap (:func:`~coldstart_bench.results.logs.punch_middle`): a stat a log, and
    nothing more, while the server writes nothing unusual."""

    def __init__(self) -> None:
        self._logs: list[tuple[Path, Callable[[], int | None]]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, path: Path, read_upto: Callable[[], int | None] = lambda: None) -> None:
        """Cap ``path``; ``read_upto`` says how far the log's readers have read (what they
        have yet to read is kept), None when nothing reads it."""
        self._logs.append((path, read_upto))
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="log-watch", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(CHECK_INTERVAL_S):
            for path, read_upto in list(self._logs):
                with contextlib.suppress(OSError):
                    punch_middle(path, upto=read_upto())
