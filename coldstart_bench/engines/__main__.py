"""``python -m coldstart_bench.engines COMMAND ...``: an engine's preparation command (the
same as ``coldstart COMMAND``), in a process that has imported nothing of the harness."""

from __future__ import annotations

import importlib
import sys

from coldstart_bench.engines import COMMANDS


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        names = ", ".join(COMMANDS) or "(none)"
        print(f"usage: python -m coldstart_bench.engines COMMAND ...; commands: {names}",
              file=sys.stderr)  # fmt: skip
        return 2
    return int(importlib.import_module(COMMANDS[argv[0]].module).main(argv[1:]))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
