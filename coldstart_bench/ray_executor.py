"""``coldstart run --executor ray``: every trial is a Ray task that runs the same launch and
probe code on the node it lands on; this process (the driver) alone writes the results.

A trial must have its node to itself, so each task asks for one unit of the custom
resource ``coldstart_slot``: start every node with ``--resources '{"coldstart_slot": 1}'``
(a local cluster started by ``coldstart`` gets it automatically). Variants whose ``device``
factor is ``cuda`` also ask for a GPU; where the cluster has none they are recorded as
skipped. Ray is imported only here, from the optional ``ray`` extra.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from coldstart_bench.errors import ColdstartError
from coldstart_bench.plan import TrialSpec
from coldstart_bench.records import TrialRecord
from coldstart_bench.scenario import LoadedScenario
from coldstart_bench.tlsgen import TlsFiles

SLOT = "coldstart_slot"


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ColdstartError(
            "--executor ray needs Ray: python3 -m pip install -e '.[ray]' (or pip install ray)"
        ) from None
    return ray


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
) -> dict[str, Any]:
    """Runs on a Ray worker: rebuild the trial from plain values and run it."""
    from coldstart_bench.runner import run_trial
    from coldstart_bench.scenario import parse_scenario

    loaded = parse_scenario(text, source=scenario_path, path=Path(scenario_path))
    variant = next(v for v in loaded.variants if v.index == variant_index)
    files = TlsFiles(*(Path(p) for p in tls)) if tls else None
    trial = TrialSpec(index, variant, repetition, warmup)
    return run_trial(loaded, trial, Path(run_dir), run_id, files).to_dict()


def needs_gpu(trial: TrialSpec) -> bool:
    return trial.variant.factors.get("device") == "cuda"


def run_on_ray(
    loaded: LoadedScenario,
    plan: Sequence[TrialSpec],
    run_dir: Path,
    run_id: str,
    tls: TlsFiles | None,
    address: str | None,
    skipped: dict[str, str],
    on_start: Callable[[TrialSpec], None],
    on_record: Callable[[TrialSpec, TrialRecord], None],
) -> None:
    ray = _import_ray()
    if address:
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
    else:  # a local one-node cluster, with its one slot
        ray.init(
            resources={SLOT: 1},
            ignore_reinit_error=True,
            log_to_driver=False,
            include_dashboard=False,
        )
    try:
        resources = ray.cluster_resources()
        if resources.get(SLOT, 0) < 1:
            raise ColdstartError(
                f"no node of the Ray cluster at {address} offers the '{SLOT}' resource; start "
                f"each node with: ray start ... --resources '{{\"{SLOT}\": 1}}'"
            )
        gpus = resources.get("GPU", 0)
        remote = ray.remote(_remote_trial)
        pending: dict[Any, TrialSpec] = {}
        tls_paths = (str(tls.ca), str(tls.cert), str(tls.key)) if tls else None
        for trial in plan:
            reason = skipped.get(trial.variant.id)
            if reason is None and needs_gpu(trial) and gpus < 1:
                reason = "no node of the Ray cluster has a GPU"
                skipped[trial.variant.id] = reason
            if reason is not None:
                from coldstart_bench.runner import skipped_trial

                on_start(trial)
                on_record(trial, skipped_trial(trial, run_id, reason))
                continue
            options = {"num_cpus": 0, "resources": {SLOT: 1}, "max_retries": 0}
            if needs_gpu(trial):
                options["num_gpus"] = 1
            ref = remote.options(**options).remote(
                loaded.text,
                str(loaded.path),
                trial.variant.index,
                trial.repetition,
                trial.warmup,
                trial.index,
                str(run_dir),
                run_id,
                tls_paths,
            )
            pending[ref] = trial
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
                for ref in done:
                    trial = pending.pop(ref)
                    on_start(trial)
                    try:
                        record = TrialRecord.from_dict(ray.get(ref))
                    except Exception as exc:  # the task itself died: say so, keep going
                        from coldstart_bench.runner import skipped_trial

                        failed = skipped_trial(trial, run_id, f"Ray task failed: {exc}")
                        record = TrialRecord.from_dict({**failed.to_dict(), "status": "failed"})
                    on_record(trial, record)
        except BaseException:
            for ref in pending:  # Ctrl-C: cancel what has not finished, keep what has
                ray.cancel(ref, force=True)
            time.sleep(0.2)
            raise
    finally:
        ray.shutdown()
