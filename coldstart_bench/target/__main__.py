"""``python -m coldstart_bench.target [serve|make-model] ...`` — the same as ``coldstart serve``
and ``coldstart make-model``; with no sub-command, ``serve``."""

from coldstart_bench.target.commands import main

raise SystemExit(main())
