"""Commands run to their end (setup, prepare, requires checks): output appended to a log,
in a session of their own so a timeout or Ctrl-C stops all of it."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from coldstart_bench.proc.guardian import Guardian
from coldstart_bench.proc.signals import shielded
from coldstart_bench.results.logs import log_tail
from coldstart_bench.results.redact import redact_argv


class CommandFailed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)


def run_logged(
    argv: Sequence[str],
    log_path: Path,
    timeout_s: float,
    label: str,
    guardian: Guardian | None = None,
) -> None:
    """Run a command to its end with its output appended to ``log_path``, in its own
    session so a timeout can kill all of it, known to the run's ``guardian`` (so a
    SIGKILLed harness takes it along). Raises :class:`CommandFailed` with a reason (and
    the log's last lines) unless it exits 0."""
    if guardian is not None:
        guardian.ensure_started()
    with open(log_path, "ab") as log:
        log.write(f"$ {' '.join(redact_argv(argv))}\n".encode())
        log.flush()
        process: subprocess.Popen[bytes] | None = None
        try:
            with shielded():  # a Ctrl-C inside Popen would lose a running child's pid
                process = subprocess.Popen(
                    list(argv),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                if guardian is not None:
                    guardian.watch(process.pid)
        except (FileNotFoundError, PermissionError) as exc:
            raise CommandFailed(f"{label}: cannot run {argv[0]!r}: {exc.strerror}") from None
        except BaseException:  # the deferred Ctrl-C: the child is known, stop it
            if process is not None:
                _kill_group(process)
            raise
        try:
            code = process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            raise CommandFailed(f"{label}: still running after {timeout_s:g} s") from None
        except BaseException:
            _kill_group(process)
            raise
    if code != 0:
        raise CommandFailed(
            f"{label} ({' '.join(redact_argv(argv))}) exited with code {code}; "
            f"last log lines:\n{log_tail(log_path)}"
        )


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, 9)
    process.wait()
