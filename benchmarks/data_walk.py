"""Follow the data of ``coldstart report`` through the code: which of the package's modules
it passes through, and how often a renderer (``report``, ``cli``) calls back into an
``analysis`` function — a figure computed by the code that draws it, instead of read from
what the analysis computed.

    python benchmarks/data_walk.py [RUN]      (default: the old run kept in tests/data)

Counted are direct calls from a function of ``coldstart_bench.report`` or
``coldstart_bench.cli`` to a module-level function of ``coldstart_bench.analysis`` (methods
of the analysis's result records, such as an effect wording itself, are not computations);
the analysis's own entry points (``analyse``, ``summarise_run``) are listed apart.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OLD_RUN = REPO / "tests" / "data" / "run-0e8cffb"
ENTRIES = {"analyse", "summarise_run"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", nargs="?", default=str(OLD_RUN))
    args = parser.parse_args(argv)
    from typer.testing import CliRunner

    from coldstart_bench.cli.app import app

    modules: set[str] = set()
    climbs: Counter[str] = Counter()
    entries: Counter[str] = Counter()

    def profile(frame: FrameType, event: str, _arg: Any) -> None:
        if event != "call":
            return
        callee = frame.f_globals.get("__name__", "")
        if not callee.startswith("coldstart_bench."):
            return
        modules.add(callee)
        caller = frame.f_back
        if caller is None or not callee.startswith("coldstart_bench.analysis."):
            return
        source = caller.f_globals.get("__name__", "")
        if not source.startswith(("coldstart_bench.report.", "coldstart_bench.cli.")):
            return
        name = frame.f_code.co_qualname
        if "." in name or name.startswith("<"):
            return  # a method of a result record, or code inside a function
        where = f"{source} → {callee}.{name}"
        (entries if name in ENTRIES else climbs)[where] += 1

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report"
        sys.setprofile(profile)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                result = CliRunner().invoke(app, ["report", args.run, "--out", str(out)])
        finally:
            sys.setprofile(None)
    if result.exit_code != 0:
        print(result.output)
        return 1
    print(f"coldstart report {args.run}")
    print(f"  modules of coldstart_bench passed through: {len(modules)}")
    print(f"  entries into the analysis: {sum(entries.values())}")
    for where, n in sorted(entries.items()):
        print(f"    {n:3d}  {where}")
    print(f"  renderer → analysis function calls (climbs back up): {sum(climbs.values())}")
    for where, n in sorted(climbs.items()):
        print(f"    {n:3d}  {where}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
