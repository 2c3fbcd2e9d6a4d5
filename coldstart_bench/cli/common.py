"""What the command modules share: consoles, turning user errors into exit codes, the
options several commands take, and parsers for ``NAME=VALUE`` style arguments."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import click
import typer

from coldstart_bench.errors import ColdstartError

F = TypeVar("F", bound=Callable[..., Any])

ScenarioArg = Annotated[
    Path, typer.Argument(metavar="SCENARIO", help="Scenario file (TOML).", show_default=False)
]
# "A run" wherever a command reads one: a run directory, or a saved baseline's name
# (resolved by results.baselines.resolve_run, under --results-dir).
RUN_HELP = "A run directory (results/<run-id>) or the name of a saved baseline."
RunArg = Annotated[str, typer.Argument(metavar="RUN", help=RUN_HELP, show_default=False)]
ResultsDirOption = Annotated[
    Path,
    typer.Option(
        "--results-dir", metavar="DIR", help="Where run directories and saved baselines are."
    ),
]
VarOption = Annotated[
    list[str] | None,
    typer.Option("--var", metavar="NAME=VALUE", help="Set a [vars] value (repeatable)."),
]
OtlpExportOption = Annotated[
    str | None,
    typer.Option(
        "--otlp-export",
        metavar="URL",
        help="Also send every trial as a trace over OTLP/HTTP to this collector "
        "(e.g. http://127.0.0.1:4318).",
    ),
]


def export_traces(err: Any, trials: Any, run_id: str, url: str) -> None:
    """Send a run's trials as traces (``--otlp-export``); a collector that cannot be
    reached is a warning: the run and its report stand without it."""
    from coldstart_bench.report.otlp_export import export_trials, traces_url

    try:
        spans = export_trials(trials, run_id, url)
    except OSError as exc:
        err.print(f"warning: traces not exported: {exc}", style="yellow", markup=False)
        return
    err.print(f"traces: {spans:,} spans sent to {traces_url(url)}", markup=False)


RunIdOption = Annotated[
    str | None, typer.Option("--run-id", metavar="NAME", help="Name of the run directory.")
]
VariantOption = Annotated[
    list[str] | None,
    typer.Option(
        "--variant",
        metavar="FACTOR=LEVEL",
        help="Only variants with this level (repeatable; LEVEL may be a,b; a level that "
        "contains a comma matches whole).",
    ),
]


def named_run(ref: str, results_dir: Path) -> Any:
    """The run a ``RUN`` argument names; lines of trials.jsonl it could not read are said
    on stderr (they are left out of every figure)."""
    from coldstart_bench.results.baselines import resolve_run

    run = resolve_run(ref, results_dir)
    err = stderr_console()
    for problem in run.problems:
        err.print(f"note: {run.run_dir}: {problem} (left out)", style="yellow", markup=False)
    return run


def named_digest(ref: str, results_dir: Path) -> Any:
    """The run a ``RUN`` argument names, streamed for its statistics without keeping its
    records (:func:`~coldstart_bench.analysis.digest.read_digest`); unreadable lines said
    on stderr as by :func:`named_run`."""
    from coldstart_bench.analysis.digest import read_digest
    from coldstart_bench.results.baselines import resolve_run_dir

    read = read_digest(resolve_run_dir(ref, results_dir), keep=0)
    err = stderr_console()
    for problem in read.run.problems:
        err.print(f"note: {read.run.run_dir}: {problem} (left out)", style="yellow", markup=False)
    return read


def stderr_console() -> Any:
    """Messages and paths; in a log file or CI step never wrapped (a path cut at 80
    columns cannot be pasted back)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=not sys.stderr.isatty())


def stdout_console() -> Any:
    """A terminal gets tables at its own width; a log file or CI step gets them unwrapped."""
    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else 200)


# Exit code of an error of ours (a bug), never 1: CI reads 1 as "regression" or "failed".
EXIT_INTERNAL = 70  # EX_SOFTWARE of sysexits.h


def user_errors(func: F) -> F:
    """Print a user error as one paragraph and exit with its code; never a traceback. Any
    other exception is a bug of ours: one line saying so and where its traceback was
    written, and exit :data:`EXIT_INTERNAL`."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ColdstartError as exc:
            from rich.markup import escape

            stderr_console().print(
                f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(exc.exit_code) from None
        except (typer.Exit, typer.Abort, click.exceptions.ClickException):
            raise
        except Exception as exc:
            where = _write_traceback(exc)
            stderr_console().print(
                f"internal error (a bug in coldstart, not in your input): "
                f"{type(exc).__name__}: {exc}; traceback in {where} — please report it",
                style="bold red",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(EXIT_INTERNAL) from None

    return wrapper  # type: ignore[return-value]


def _write_traceback(exc: BaseException) -> str:
    import tempfile
    import traceback

    text = "".join(traceback.format_exception(exc))
    try:
        fd, path = tempfile.mkstemp(prefix="coldstart-internal-error-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        return path
    except OSError:
        return "(not written: " + text.strip().splitlines()[-1] + ")"


def parse_pairs(items: list[str], option: str) -> dict[str, str]:
    """``NAME=VALUE`` arguments as a mapping (the value may be empty)."""
    pairs: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ColdstartError(f"{option} expects name=value, got {item!r}")
        pairs[key.strip()] = value
    return pairs


def parse_variant_filters(items: list[str]) -> dict[str, list[str]]:
    """``--variant FACTOR=LEVEL[,LEVEL]`` arguments as factor → wanted levels. The whole
    value is a candidate too, so a level that itself contains a comma (``x,y``) is found."""
    wanted: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ColdstartError(f"--variant expects factor=level, got {item!r}")
        levels = wanted.setdefault(key.strip(), [])
        levels.extend(v.strip() for v in value.split(","))
        if "," in value:
            levels.append(value.strip())
    return wanted


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    index, sep, count = text.partition("/")
    if not sep or not index.isdigit() or not count.isdigit() or int(count) < 1:
        raise ColdstartError(f"--shard expects I/N, e.g. 2/4; got {text!r}")
    return int(index), int(count)
