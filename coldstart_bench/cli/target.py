"""The reference target's commands as ``coldstart --help`` lists them. ``coldstart`` hands
them to the target before this CLI is imported (``entry.py``), so a server's cold start
never pays for typer; reached here by another route, they do the same in a fresh
interpreter — the harness never imports the target."""

from __future__ import annotations

import os
import sys

import typer

from coldstart_bench.cli.help import command_app
from coldstart_bench.target_commands import TARGET_COMMANDS

app = command_app()

_FORWARD = {"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []}


def _forward(name: str) -> None:
    def command(ctx: typer.Context) -> None:
        argv = [sys.executable, "-m", "coldstart_bench.target", name, *ctx.args]
        os.execv(sys.executable, argv)

    command.__doc__ = f"The target command {name} (coldstart {name} --help for its options)."
    app.command(name, context_settings=_FORWARD, add_help_option=False)(command)


for _name in TARGET_COMMANDS:
    _forward(_name)
