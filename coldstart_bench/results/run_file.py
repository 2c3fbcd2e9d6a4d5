"""``run.json`` typed, like the trial records: what a run says about itself — its scenario,
its plan, its machine, how it ended. Read once and validated (:func:`parse_run_file`), so a
hand-edited or foreign file is one line of error, not a traceback in whichever reader
touches it first; every reader then takes attributes, not ``.get`` chains.

Keys this version does not know are kept (a newer writer's), and every key that a version
of the tool wrote is optional but ``kind``: an interrupted run's ``run.json`` has only what
was known when it started.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

RUN_KIND = "coldstart-bench.run"


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, use_attribute_docstrings=True)


class ScenarioInfo(_Part):
    """The scenario the run ran."""

    name: str | None = None
    """Its `name`."""
    path: str | None = None
    """The file it was read from."""
    sha256: str | None = None
    """The file's hash: two runs of the same scenario have the same."""
    as_written: dict[str, Any] = {}
    """What the file says, defaults left out (secrets redacted)."""
    as_run: dict[str, Any] = {}
    """Every value as run, defaults included (secrets redacted)."""


class PlannedVariant(_Part):
    """One variant of the matrix."""

    id: str
    """E.g. `warmup=none,pooling=on`."""
    factors: dict[str, str] = {}
    """Factor → level."""


class PlanInfo(_Part):
    """The trials the run planned."""

    variants: list[PlannedVariant] = []
    """The variants in the scenario's order."""
    repetitions: int | None = None
    """Measured trials per variant (a sequential run's most)."""
    warmup_trials: int | None = None
    """Discarded trials per variant, run first."""
    trials: int | None = None
    """Trials planned in all."""
    order: list[list[Any]] = []
    """[variant, repetition, warm-up] in the order they ran."""
    shard: list[int] | None = None
    """[I, N]: this run was shard I of N."""


class Owner(_Part):
    """The harness process that wrote the run (to tell a run still going from one whose
    harness was killed)."""

    pid: int | None = None
    start_ticks: int | None = None
    boot_id: str | None = None


class RunMetadata(_Part):
    """Everything ``run.json`` holds."""

    kind: str
    """Always `coldstart-bench.run`."""
    schema_version: int | None = None
    """The results format's version."""
    run_id: str = ""
    """The run directory's name."""
    tool: str | None = None
    tool_version: str | None = None
    status: str = "unknown"
    """`running`, `complete`, `interrupted`, `gave-up` (its trials kept failing the same
    way), `crashed`, `partial` (merged shards), or `abandoned` (its harness is gone: read
    so, never written)."""
    started_at: str | None = None
    finished_at: str | None = None
    seed: int | None = None
    """The seed of the trial order and of Poisson arrivals."""
    command: list[str] = []
    """The command line (secrets redacted)."""
    executor: str | None = None
    """`local` or `ray`."""
    scenario: ScenarioInfo = ScenarioInfo()
    plan: PlanInfo = PlanInfo()
    environment: dict[str, Any] = {}
    """The machine and versions (secret environment values redacted)."""
    skipped_variants: dict[str, str] = {}
    """Variant → why it was not run."""
    stop_rule: dict[str, Any] | None = None
    """A sequential run's design (`kind`, `factor`, `baseline_level`, ...)."""
    cpus: dict[str, Any] | None = None
    """The usable and free CPUs measured as the run started."""
    owner: Owner | None = None
    interrupted_by: str | None = None
    counts: dict[str, int] | None = None
    """Measured trials per status."""
    trials_done: int | None = None
    stopped_early: str | None = None
    """Why a sequential run stopped before its last round."""
    gave_up: str | None = None
    """Why the run stopped before its plan was done: its trials kept failing the same way
    (status `gave-up`; `coldstart run --keep-going` runs every trial anyway)."""
    merged_at: str | None = None
    merged_from: list[dict[str, Any]] | None = None
    problems: list[str] = Field(default_factory=list)

    def with_status(self, status: str) -> RunMetadata:
        return self.model_copy(update={"status": status})

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


EMPTY = RunMetadata(kind=RUN_KIND)


class RunFileError(ValueError):
    """``run.json`` is not a run file this version can read; the message is one line."""


def parse_run_file(data: object, where: str) -> RunMetadata:
    """``run.json``'s parsed JSON as a :class:`RunMetadata`, or :class:`RunFileError` saying
    in one line what is wrong and where."""
    if not isinstance(data, dict):
        raise RunFileError(
            f"{where}: not a coldstart run file (a JSON {_kind(data)}, not an object)"
        )
    if data.get("kind") != RUN_KIND:
        raise RunFileError(f"{where}: not a coldstart run file")
    try:
        return RunMetadata.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(p) for p in first["loc"])
        raise RunFileError(
            f"{where}: {path}: {first['msg']} (got {_shown(first.get('input'))})"
        ) from None


def _kind(value: object) -> str:
    return {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
