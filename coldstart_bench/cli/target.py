"""The reference target's commands as ``coldstart --help`` lists them. ``coldstart`` hands
them to the target before this CLI is imported (``entry.py``), so a server's cold start
never pays for typer; reached here by another route, they do the same in a fresh
interpreter — the harness never imports the target."""

from __future__ import annotations

from coldstart_bench.cli.help import forwarding_app
from coldstart_bench.target_commands import TARGET_COMMANDS

app = forwarding_app(
    TARGET_COMMANDS,
    "coldstart_bench.target",
    lambda name: f"The target command {name} (coldstart {name} --help for its options).",
)
