"""The ``coldstart`` command. Each command parses its arguments and calls a typed entry
point; its module (and every heavy import) is loaded only when that command runs, so
``coldstart --help`` builds none of them (:class:`~coldstart_bench.cli.help.PanelGroup`)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from coldstart_bench._version import __version__
from coldstart_bench.cli.help import Entry, PanelGroup
from coldstart_bench.engines import COMMANDS as ENGINE_COMMANDS

# Every command: its panel, and the summary --help lists (its docstring's first sentence).
COMMANDS: tuple[Entry, ...] = (
    Entry("run", "Measure", "Start the scenario's services cold for every trial, time "
          "everything, print a table and write the report.", "run"),
    Entry("validate", "Measure", "Check a scenario file and show the variants it expands "
          "to.", "validate"),
    Entry("profile", "Measure", "Profile one cold start under py-spy, pyinstrument and "
          "import timing, beside trials without a profiler.", "profile"),
    Entry("connbench", "Measure", "Connection set-up figures for one endpoint: connect, "
          "TLS, and what a pool saves.", "tools"),
    Entry("report", "Analyse", "Write the report of a run: tables, CSV, PNG plots and one "
          "HTML page.", "run"),
    Entry("compare", "Analyse", "Compare two runs variant by variant, with the statistics "
          "the gate uses.", "gate"),
    Entry("merge", "Analyse", "Merge the shards of one run into one run directory.",
          "tools"),
    Entry("gate", "CI", "Pass or fail a run against a baseline, the history, or its A/B "
          "levels against each other.", "gate"),
    Entry("baseline", "CI", "Save, list and remove named baselines.", "baseline"),
    Entry("history", "CI", "Keep runs in a history store and find where a metric "
          "stepped.", "history"),
    Entry("serve", "Targets", "The reference server: an OpenAI-compatible server "
          "of a generated torch model.", "target"),
    Entry("serve-gateway", "Targets", "The reference gateway: an OpenAI-compatible "
          "proxy with a cache.", "target"),
    Entry("make-model", "Targets", "Write a generated model for the reference "
          "server.", "target"),
    Entry("check-device", "Targets", "Say whether CUDA can be used here, and why "
          "not.", "target"),
)  # fmt: skip
# Each engine's preparation (coldstart_bench/engines/<name>/), forwarded to it.
COMMANDS += tuple(
    Entry(p.command, "Targets", p.summary, "engines") for p in ENGINE_COMMANDS.values()
)


class RootGroup(PanelGroup):
    entries = COMMANDS


app = typer.Typer(
    name="coldstart",
    cls=RootGroup,
    help="Benchmark and profile the cold start of model-serving stacks: time to ready, "
    "connect/TLS, model-load phases and time to the first streamed token.",
    epilog="Exit codes: 0 done (gate: pass); 1 trials failed (gate: a regression or a budget "
    "exceeded); 2 bad input; 3 an output that cannot be written; 4 the gate cannot decide; 70 "
    "an internal error (a bug of coldstart's, never 1). Each command has its own --help. "
    "Documentation: https://coldstart-bench.github.io/coldstart-bench/",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"coldstart-bench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """coldstart-bench"""


def main() -> None:
    """Entry point of the ``coldstart`` script and ``python -m coldstart_bench``."""
    try:
        app(prog_name="coldstart")
    except KeyboardInterrupt:  # Ctrl-C outside a run (a run handles it itself)
        sys.exit(130)
