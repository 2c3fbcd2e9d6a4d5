"""Follow the data of ``coldstart report`` through the code: which of the package's modules
it passes through, how often a renderer (``report``, ``cli``) calls back into an
``analysis`` function, and how often it computes a statistic itself — a figure computed by
the code that draws it, instead of read from what the analysis computed.

    python benchmarks/data_walk.py [RUN ...]      (default: the old run kept in tests/data)

Counted are direct calls from a function of ``coldstart_bench.report`` or
``coldstart_bench.cli`` to a module-level function of ``coldstart_bench.analysis`` (methods
of the analysis's result records, such as an effect wording itself, are not computations);
the analysis's own entry points (``analyse``, ``summarise_run``) are listed apart, and so
are look-ups in the metrics' vocabulary (``analysis.metrics``: a metric's words, columns and
number format, which compute nothing). And direct
calls from those renderers to a statistic of numpy, pandas, scipy, matplotlib or the
standard library's ``statistics`` (a median, mean, percentile, quantile, deviation, a box
plot that computes its own quartiles): every one is a number computed outside
``analysis/``. Give runs of every kind (load, chains, idle gaps) to draw every plot.
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
VOCABULARY = "coldstart_bench.analysis.metrics"
# Statistics by the names their libraries give them.
STATISTICS = {
    "median", "nanmedian", "mean", "nanmean", "average", "percentile", "nanpercentile",
    "quantile", "nanquantile", "std", "nanstd", "var", "nanvar", "boxplot", "boxplot_stats",
    "describe", "sem", "skew", "kurt", "fmean", "pstdev", "stdev", "bootstrap",
}  # fmt: skip
LIBRARIES = ("numpy", "pandas", "scipy", "matplotlib", "statistics")
RENDERERS = ("coldstart_bench.report.", "coldstart_bench.cli.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="*", default=[str(OLD_RUN)])
    args = parser.parse_args(argv)
    from typer.testing import CliRunner

    from coldstart_bench.cli.app import app

    modules: set[str] = set()
    climbs: Counter[str] = Counter()
    entries: Counter[str] = Counter()
    lookups: Counter[str] = Counter()
    computed: Counter[str] = Counter()

    def profile(frame: FrameType, event: str, _arg: Any) -> None:
        if event != "call":
            return
        callee = frame.f_globals.get("__name__", "")
        if callee.startswith(LIBRARIES) and frame.f_code.co_name in STATISTICS:
            # the first caller outside the libraries (a decorator's wrapper, a dispatcher
            # and the statistic's own helpers are theirs); a statistic computed inside
            # another (a box plot's percentiles) is that one's
            caller = frame.f_back
            while caller is not None and caller.f_globals.get("__name__", "").startswith(LIBRARIES):
                if caller.f_code.co_name in STATISTICS:
                    return
                caller = caller.f_back
            source = caller.f_globals.get("__name__", "") if caller is not None else ""
            if source.startswith(RENDERERS):
                computed[
                    f"{source}:{caller.f_code.co_qualname} → {callee}.{frame.f_code.co_name}"
                ] += 1  # type: ignore[union-attr]
            return
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
        if callee == VOCABULARY:
            lookups[where] += 1
        else:
            (entries if name in ENTRIES else climbs)[where] += 1

    for run in args.runs:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "report"
            sys.setprofile(profile)
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    result = CliRunner().invoke(app, ["report", run, "--out", str(out)])
            finally:
                sys.setprofile(None)
        if result.exit_code != 0:
            print(result.output)
            return 1
    print(f"coldstart report {' '.join(args.runs)}")
    print(f"  modules of coldstart_bench passed through: {len(modules)}")
    print(f"  entries into the analysis: {sum(entries.values())}")
    for where, n in sorted(entries.items()):
        print(f"    {n:3d}  {where}")
    print(f"  look-ups in the metrics' vocabulary: {sum(lookups.values())}")
    for where, n in sorted(lookups.items()):
        print(f"    {n:3d}  {where}")
    print(f"  renderer → analysis function calls (climbs back up): {sum(climbs.values())}")
    for where, n in sorted(climbs.items()):
        print(f"    {n:3d}  {where}")
    print(f"  statistics computed by a renderer: {sum(computed.values())}")
    for where, n in sorted(computed.items()):
        print(f"    {n:3d}  {where}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
