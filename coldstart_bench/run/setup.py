"""Before the first trial: the programs every variant needs (a missing one is bad input),
``requires`` checks (which variants can run here at all) and ``setup`` commands (once per
run, like hyperfine's ``--setup``)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from coldstart_bench.errors import ColdstartError
from coldstart_bench.plan.order import TrialSpec
from coldstart_bench.plan.render import (
    RenderContext,
    render_trial,
    requirement_checks,
    run_level_context,
    setup_commands,
)
from coldstart_bench.proc.commands import CommandFailed, run_logged
from coldstart_bench.proc.guardian import Guardian
from coldstart_bench.results.logs import log_tail
from coldstart_bench.scenario.matrix import Variant
from coldstart_bench.scenario.reader import LoadedScenario

CHECK_TIMEOUT_S = 120.0


class SetupError(ColdstartError):
    """A setup command failed: the run cannot be completed, no trial can run."""

    exit_code = 3


def unmet_requirements(
    loaded: LoadedScenario,
    variants: Sequence[Variant],
    ctx: RenderContext,
    log_path: Path,
    guardian: Guardian | None = None,
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
                run_logged(
                    check.argv, log_path, CHECK_TIMEOUT_S, f"requires[{check.index}]", guardian
                )
                ok, detail = True, ""
            except CommandFailed as exc:
                ok = False
                said = log_tail(log_path, lines=1).strip()
                silent = str(exc).split("; last log lines:")[0]  # it printed nothing
                detail = said if said and not said.startswith("$ ") else silent
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
    guardian: Guardian | None = None,
) -> int:
    """Run each distinct ``setup`` command of these variants once; returns how many ran."""
    commands = setup_commands(loaded, variants, ctx)
    for command in commands:
        if announce:
            announce(command.argv)
        try:
            run_logged(
                command.argv,
                log_path,
                loaded.scenario.setup_timeout_s,
                f"setup[{command.index}]",
                guardian,
            )
        except CommandFailed as exc:
            raise SetupError(f"{exc}\n(full output: {log_path})") from None
    return len(commands)


def check_programs(loaded: LoadedScenario, variants: Sequence[Variant]) -> None:
    """Fail before the first trial, with exit code 2, on what no trial could survive: a
    program that is not installed."""
    missing: dict[str, str] = {}
    ctx = run_level_context(loaded, Path("/nonexistent-run"), None)
    for variant in variants:
        trial = TrialSpec(0, variant, 0, False)
        for service in render_trial(loaded, trial, ctx).services:
            program = service.argv[0]
            where = (
                service.cwd
                if service.cwd and not os.path.isabs(program) and "/" in program
                else None
            )
            found = shutil.which(program, path=service.env.get("PATH")) or (
                os.path.exists(os.path.join(where, program)) if where else False
            )
            if not found:
                missing.setdefault(program, service.name)
    if missing:
        listing = "; ".join(f"{prog!r} (service {svc!r})" for prog, svc in missing.items())
        raise ColdstartError(
            f"{loaded.path}: program not found: {listing}. Is it installed and on PATH?"
        )
