"""``coldstart merge``: put the shards of one run (``coldstart run --shard I/N`` on several
CI jobs or machines) back together as one run directory."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from coldstart_bench.errors import ColdstartError
from coldstart_bench.results.store import RunWriter, new_run_dir, read_run, utc_now


def merge_runs(run_dirs: Sequence[Path], out: Path) -> Path:
    if len(run_dirs) < 2:
        raise ColdstartError("merge needs at least two run directories")
    runs = [read_run(d) for d in run_dirs]
    first = runs[0].metadata
    sha = first.scenario.sha256
    for run in runs[1:]:
        other = run.metadata
        if other.scenario.sha256 != sha:
            raise ColdstartError(
                f"{run.run_dir}: ran another scenario (or another version of it) than "
                f"{runs[0].run_dir}; only shards of the same scenario can be merged"
            )
        if other.seed != first.seed:
            raise ColdstartError(
                f"{run.run_dir}: seed {other.seed} differs from {first.seed}; "
                "shards of one run share the seed"
            )
    seen: dict[int, Path] = {}
    trials = []
    for run in runs:
        for trial in run.trials:
            if trial.trial in seen:
                raise ColdstartError(
                    f"trial {trial.trial} is in both {seen[trial.trial]} and {run.run_dir}: "
                    "these are not distinct shards"
                )
            seen[trial.trial] = run.run_dir
            trials.append(trial)
    trials.sort(key=lambda t: t.trial)
    out.parent.mkdir(parents=True, exist_ok=True)
    run_dir = new_run_dir(out.parent, "merged", out.name).resolve()
    statuses = {r.metadata.status for r in runs}
    metadata = {
        **{k: v for k, v in first.to_dict().items() if k not in ("schema_version", "kind")},
        "run_id": run_dir.name,
        "status": "complete" if statuses == {"complete"} else "partial",
        "merged_at": utc_now(),
        "merged_from": [
            {
                "run_dir": str(r.run_dir),
                "run_id": r.metadata.run_id,
                "shard": r.metadata.plan.shard,
                "status": r.metadata.status,
                "trials": len(r.trials),
                "host": r.metadata.environment.get("hostname"),
            }
            for r in runs
        ],
        "problems": [p for r in runs for p in r.problems],
    }
    writer = RunWriter(run_dir, metadata)
    for trial in trials:
        writer.append(trial)
    writer.finish(trials_done=len(trials))
    (run_dir / "merged.json").write_text(json.dumps(metadata["merged_from"], indent=2) + "\n")
    return run_dir
