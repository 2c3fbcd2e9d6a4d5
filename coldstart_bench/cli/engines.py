"""The engines' preparation commands as ``coldstart --help`` lists them. ``coldstart`` hands
them to the engine before this CLI is imported (``entry.py``); reached by another route,
they do the same in a fresh interpreter."""

from __future__ import annotations

from coldstart_bench.cli.help import forwarding_app
from coldstart_bench.engines import COMMANDS

app = forwarding_app(
    list(COMMANDS),
    "coldstart_bench.engines",
    lambda name: f"{COMMANDS[name].summary} (coldstart {name} --help for its options)",
)
