"""How ``coldstart``'s help reads: commands in panels, each command module loaded only when
that command runs (so ``coldstart --help`` builds none of them), and usage lines that name
arguments as a reader writes them (``RUN``, not ``{RUN}`` or ``RUN <path>``)."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import typer
import typer.core


@dataclass(frozen=True)
class Entry:
    """One command of ``coldstart``: where it lives, its panel and the summary its help
    starts with (a test keeps the two equal)."""

    name: str
    panel: str
    summary: str
    module: str  # the command is in coldstart_bench.cli.<module>


PANELS = ("Measure", "Analyse", "CI", "Targets")


class PlainCommand(typer.core.TyperCommand):
    """A command whose usage and arguments are named by their metavar alone."""

    def collect_usage_pieces(self, ctx: typer.Context) -> list[str]:
        return [_unbraced(piece) for piece in super().collect_usage_pieces(ctx)]

    def format_options(self, ctx: typer.Context, formatter: Any) -> None:
        args, opts = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                name = param.metavar or (param.name or "").upper()
                if param.nargs != 1 and not name.endswith("..."):
                    name += "..."
                args.append((name, getattr(param, "help", None) or ""))
            else:
                opts.append(record)
        if args:
            with formatter.section("Arguments"):
                formatter.write_dl(args)
        if opts:
            with formatter.section("Options"):
                formatter.write_dl(opts)


def _unbraced(piece: str) -> str:
    """``{RUN}`` → ``RUN`` and ``{RUN}...`` → ``RUN...``: braces are not shell syntax."""
    if piece.startswith("{") and "}" in piece:
        inner, _, rest = piece[1:].partition("}")
        return inner + rest
    return piece


class PanelGroup(typer.core.TyperGroup):
    """A group that lists its commands under panels. With ``entries``, it is the root:
    each command is built from its module the first time it is asked for."""

    entries: Sequence[Entry] = ()

    def list_commands(self, ctx: typer.Context) -> list[str]:
        if not self.entries:
            return super().list_commands(ctx)
        return [e.name for e in self.entries]

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:
        entry = next((e for e in self.entries if e.name == cmd_name), None)
        if entry is None:
            return super().get_command(ctx, cmd_name)
        module = importlib.import_module(f"coldstart_bench.cli.{entry.module}")
        command = typer.main.get_command(module.app)
        if isinstance(command, typer.core.TyperGroup):  # a module of several commands
            return command.get_command(ctx, cmd_name)
        return command

    def format_commands(self, ctx: typer.Context, formatter: Any) -> None:
        rows: dict[str, list[tuple[str, str]]] = {}
        if self.entries:
            for e in self.entries:
                rows.setdefault(e.panel, []).append((e.name, e.summary))
        else:
            for name in self.list_commands(ctx):
                command = self.get_command(ctx, name)
                if command is not None and not command.hidden:
                    rows.setdefault("Commands", []).append(
                        (name, command.get_short_help_str(formatter.width - 20))
                    )
        for panel in [p for p in PANELS if p in rows] + [p for p in rows if p not in PANELS]:
            with formatter.section(panel):
                formatter.write_dl(rows[panel])


def command_app(**settings: Any) -> typer.Typer:
    """The Typer app of one command module: plain help, like the root's."""
    return typer.Typer(rich_markup_mode=None, add_completion=False, **settings)


_FORWARD = {"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []}


def forwarding_app(names: Sequence[str], module: str, summary: Callable[[str], str]) -> Any:
    """A command app whose commands hand their whole command line to ``python -m module``
    in a fresh interpreter (the target's and the engines' commands: what runs there must
    not pay for this CLI)."""
    app = command_app()

    def forward(name: str) -> None:
        def command(ctx: typer.Context) -> None:
            argv = [sys.executable, "-m", module, name, *ctx.args]
            os.execv(sys.executable, argv)

        command.__doc__ = summary(name)
        app.command(name, context_settings=_FORWARD, add_help_option=False)(command)

    for name in names:
        forward(name)
    return app
