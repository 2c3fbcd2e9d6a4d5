"""``coldstart run --executor ray``: every trial is a Ray task that runs the same trial
code on the node it lands on; this process (the driver) alone writes the results.

A trial must have its node to itself, so each task asks for one unit of the custom
resource ``coldstart_slot``: start every node with ``--resources '{"coldstart_slot": 1}'``
(a local cluster started by ``coldstart`` gets it automatically). Variants whose ``device``
factor is ``cuda`` also ask for a GPU; where the cluster has none they are recorded as
skipped. Ray is imported only here, from the optional ``ray`` extra.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from coldstart_bench.errors import ColdstartError
from coldstart_bench.plan.order import TrialSpec
from coldstart_bench.plan.specs import TlsFiles
from coldstart_bench.results.schema import TrialRecord
from coldstart_bench.run.executors import TrialStarted
from coldstart_bench.run.ray_extra import import_ray
from coldstart_bench.run.trial import RunContext, failed_trial, run_trial, skipped_trial
from coldstart_bench.scenario.reader import parse_scenario

SLOT = "coldstart_slot"


def _remote_trial(
    text: str,
    scenario_path: str,
    variant_index: int,
    repetition: int,
    warmup: bool,
    index: int,
    run_dir: str,
    run_id: str,
    tls: tuple[str, str, str] | None,
    calibrate: bool = True,
) -> dict[str, Any]:
    """Runs on a Ray worker: rebuild the trial from plain values and run it."""
    loaded = parse_scenario(text, source=scenario_path, path=Path(scenario_path))
    variant = next(v for v in loaded.variants if v.index == variant_index)
    files = TlsFiles(*(Path(p) for p in tls)) if tls else None
    trial = TrialSpec(index, variant, repetition, warmup)
    context = RunContext(loaded, Path(run_dir), run_id, files, calibrate=calibrate)
    return run_trial(context, trial).to_dict()


def needs_gpu(trial: TrialSpec) -> bool:
    return trial.variant.factors.get("device") == "cuda"


class RayExecutor:
    """Each trial is a Ray task holding one ``coldstart_slot``: one trial per node at a
    time. Trials start whenever the cluster has a free node, so it does not report starts."""

    name = "ray"

    def __init__(self, address: str | None = None) -> None:
        self.address = address

    def execute(
        self, context: RunContext, trials: Sequence[TrialSpec], started: TrialStarted
    ) -> Iterator[TrialRecord]:
        ray = import_ray()
        if self.address:
            ray.init(address=self.address, ignore_reinit_error=True, log_to_driver=False)
        else:  # a local one-node cluster, with its one slot
            ray.init(
                resources={SLOT: 1},
                ignore_reinit_error=True,
                log_to_driver=False,
                include_dashboard=False,
            )
        try:
            yield from self._execute(ray, context, trials)
        finally:
            ray.shutdown()

    def _execute(
        self, ray: Any, context: RunContext, trials: Sequence[TrialSpec]
    ) -> Iterator[TrialRecord]:
        resources = ray.cluster_resources()
        if resources.get(SLOT, 0) < 1:
            raise ColdstartError(
                f"no node of the Ray cluster at {self.address} offers the '{SLOT}' resource; "
                f"start each node with: ray start ... --resources '{{\"{SLOT}\": 1}}'"
            )
        gpus = resources.get("GPU", 0)
        remote = ray.remote(_remote_trial)
        pending: dict[Any, TrialSpec] = {}
        tls = context.tls
        tls_paths = (str(tls.ca), str(tls.cert), str(tls.key)) if tls else None
        loaded = context.loaded
        for trial in trials:
            if needs_gpu(trial) and gpus < 1:
                yield skipped_trial(trial, context.run_id, "no node of the Ray cluster has a GPU")
                continue
            options: dict[str, Any] = {"num_cpus": 0, "resources": {SLOT: 1}, "max_retries": 0}
            if needs_gpu(trial):
                options["num_gpus"] = 1
            ref = remote.options(**options).remote(
                loaded.text,
                str(loaded.path),
                trial.variant.index,
                trial.repetition,
                trial.warmup,
                trial.index,
                str(context.run_dir),
                context.run_id,
                tls_paths,
                context.calibrate,
            )
            pending[ref] = trial
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
                for ref in done:
                    trial = pending.pop(ref)
                    try:
                        record = TrialRecord.from_dict(ray.get(ref))
                    except Exception as exc:  # the task itself died: say so, keep going
                        record = failed_trial(trial, context.run_id, f"Ray task failed: {exc}")
                    yield record
        except BaseException:
            for ref in pending:  # Ctrl-C: cancel what has not finished, keep what has
                ray.cancel(ref, force=True)
            time.sleep(0.2)
            raise
