"""The ``coldstart`` executable. The reference target's commands (``serve``, ``make-model``
...) go straight to it and an engine's preparation (``prepare-vllm``) straight to that
engine, so a server's cold start never includes the harness's CLI imports."""

from __future__ import annotations

import sys

from coldstart_bench.target_commands import TARGET_COMMANDS


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else None
    if command in TARGET_COMMANDS:
        from coldstart_bench.target.commands import main as target_main

        raise SystemExit(target_main(sys.argv[1:]))
    from coldstart_bench.engines import COMMANDS as ENGINE_COMMANDS

    if command in ENGINE_COMMANDS:
        from coldstart_bench.engines.__main__ import main as engine_main

        raise SystemExit(engine_main(sys.argv[1:]))
    from coldstart_bench.cli.app import main as cli_main

    cli_main()
