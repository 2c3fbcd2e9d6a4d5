"""The ``coldstart`` executable. ``serve`` and ``make-model`` belong to the reference target
and go straight to it, so a server's cold start never includes the harness's CLI imports."""

from __future__ import annotations

import sys

from coldstart_bench.target_commands import TARGET_COMMANDS


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in TARGET_COMMANDS:
        from coldstart_bench.target.commands import main as target_main

        raise SystemExit(target_main(sys.argv[1:]))
    from coldstart_bench.cli.app import main as cli_main

    cli_main()
