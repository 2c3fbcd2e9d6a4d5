"""The engines' preparation commands as ``coldstart --help`` lists them. ``coldstart`` hands
them to the engine before this CLI is imported (``entry.py``); reached by another route,
they do the same in a fresh interpreter."""

from __future__ import annotations

import os
import sys

import typer

from coldstart_bench.cli.help import command_app
from coldstart_bench.engines import COMMANDS

app = command_app()

_FORWARD = {"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []}


def _forward(name: str) -> None:
    def command(ctx: typer.Context) -> None:
        argv = [sys.executable, "-m", "coldstart_bench.engines", name, *ctx.args]
        os.execv(sys.executable, argv)

    command.__doc__ = f"{COMMANDS[name].summary} (coldstart {name} --help for its options)"
    app.command(name, context_settings=_FORWARD, add_help_option=False)(command)


for _name in COMMANDS:
    _forward(_name)
