"""The ``coldstart`` command: one Typer app per command module, joined here. A command
parses its arguments and calls a typed entry point; every module with real work (and
every heavy import) is loaded inside the command that needs it, so ``coldstart --help``
stays fast."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from coldstart_bench._version import __version__
from coldstart_bench.cli import gate, profile, run, tools, validate

app = typer.Typer(
    name="coldstart",
    help="Benchmark and profile the cold start of model-serving stacks: time to ready, "
    "connect/TLS, model-load phases and time to the first streamed token.",
    # entry.py hands these to the target before this app is imported (and a test checks
    # that the list here is entry.TARGET_COMMANDS).
    epilog="The reference target has commands of its own, run without the harness: "
    "serve, serve-gateway, make-model, check-device (e.g. coldstart serve --help).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
for commands in (validate.app, run.app, profile.app, gate.app, tools.app):
    app.add_typer(commands)


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
