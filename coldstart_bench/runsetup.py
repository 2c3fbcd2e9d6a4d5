"""Run-level commands, before the first trial: ``requires`` checks (which variants can run
here at all) and ``setup`` commands (once per run, like hyperfine's ``--setup``)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from coldstart_bench.errors import ColdstartError
from coldstart_bench.launch import log_tail
from coldstart_bench.plan import RenderContext, requirement_checks, setup_commands
from coldstart_bench.scenario import LoadedScenario, Variant
from coldstart_bench.signals import shielded

SETUP_TIMEOUT_S = 3600.0
CHECK_TIMEOUT_S = 120.0


class SetupError(ColdstartError):
    """A setup command failed; no trial can run."""

    exit_code = 1


class CommandFailed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)


def run_logged(argv: Sequence[str], log_path: Path, timeout_s: float, label: str) -> None:
    """Run a command to its end with its output appended to ``log_path``, in its own
    session so a timeout can kill all of it. Raises :class:`CommandFailed` with a reason
    (and the log's last lines) unless it exits 0."""
    with open(log_path, "ab") as log:
        log.write(f"$ {' '.join(argv)}\n".encode())
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
            f"{label} ({' '.join(argv)}) exited with code {code}; "
            f"last log lines:\n{log_tail(log_path)}"
        )


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, 9)
    process.wait()


def unmet_requirements(
    loaded: LoadedScenario, variants: Sequence[Variant], ctx: RenderContext, log_path: Path
) -> dict[str, str]:
    """variant id → why it cannot run here, for every variant with a failing check."""
    skipped: dict[str, str] = {}
    needs = loaded.scenario.requires
    for check in requirement_checks(loaded, variants, ctx):
        need = needs[check.index]
        if need.program is not None:
            ok = shutil.which(check.argv[0]) is not None
            detail = f"{check.argv[0]!r} is not installed (not on PATH)"
        else:
            try:
                run_logged(check.argv, log_path, CHECK_TIMEOUT_S, f"requires[{check.index}]")
                ok, detail = True, ""
            except CommandFailed as exc:
                ok = False
                said = log_tail(log_path, lines=1).strip()
                detail = said if said and not said.startswith("$ ") else str(exc).split("\n")[0]
        if not ok:
            reason = f"{need.reason}: {detail}" if need.reason else detail
            for variant in check.variants:
                skipped.setdefault(variant, reason)
    return skipped


def run_setup(
    loaded: LoadedScenario,
    variants: Sequence[Variant],
    ctx: RenderContext,
    log_path: Path,
    announce: Callable[[Sequence[str]], None] | None = None,
) -> int:
    """Run each distinct ``setup`` command of these variants once; returns how many ran."""
    commands = setup_commands(loaded, variants, ctx)
    for command in commands:
        if announce:
            announce(command.argv)
        try:
            run_logged(command.argv, log_path, SETUP_TIMEOUT_S, f"setup[{command.index}]")
        except CommandFailed as exc:
            raise SetupError(f"{exc}\n(full output: {log_path})") from None
    return len(commands)
