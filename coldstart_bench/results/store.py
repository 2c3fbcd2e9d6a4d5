"""A run on disk: ``results/<run-id>/run.json`` + ``trials.jsonl`` + ``logs/``.

``trials.jsonl`` is append-only: each finished trial is written as one line, flushed and
fsynced before the next trial starts, so an interrupted or killed run keeps everything it
measured. ``run.json`` (metadata) is replaced atomically (temp file + rename), never
edited in place. The reader tolerates a half-written last line and says so.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import errno
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coldstart_bench.errors import ResultsNotWritable, RunDirError
from coldstart_bench.host import processes
from coldstart_bench.results.run_file import (
    RUN_KIND,
    PlannedVariant,
    RunFileError,
    RunMetadata,
    parse_run_file,
)
from coldstart_bench.results.schema import (
    SCHEMA_VERSION,
    TrialRecord,
)
from coldstart_bench.results.trials_file import check_regular, read_trials

RUN_FILE = "run.json"
TRIALS_FILE = "trials.jsonl"


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` so that readers see the old file or the new one, never a mix."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` so that readers see the old file or the new one, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; results are meant to be shared
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def safe_name(text: str, fallback: str = "run") -> str:
    """A file-name-safe slug: no separators, no leading dots, nothing to escape the folder."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    return slug[:80] or fallback


def new_run_dir(results_dir: Path, scenario_name: str, run_id: str | None = None) -> Path:
    """Create a fresh run directory; never reuse one that holds results. Where none can be
    made (``results_dir`` is a file, read-only, a dangling link) raises
    :class:`ResultsNotWritable`."""
    try:
        return _new_run_dir(results_dir, scenario_name, run_id)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ResultsNotWritable(
            f"cannot create a run directory in {results_dir}: {reason}"
        ) from None


def _new_run_dir(results_dir: Path, scenario_name: str, run_id: str | None) -> Path:
    if results_dir.is_symlink() and not results_dir.exists():
        target = os.readlink(results_dir)
        raise ResultsNotWritable(f"{results_dir} links to {target}, which does not exist")
    if results_dir.exists() and not results_dir.is_dir():
        raise ResultsNotWritable(f"{results_dir} is not a directory")
    results_dir.mkdir(parents=True, exist_ok=True)
    if run_id is not None:
        run_dir = results_dir / safe_name(run_id)
        if run_dir.exists() and any(run_dir.iterdir()):
            raise RunDirError(f"{run_dir} already exists and is not empty; choose another --run-id")
        run_dir.mkdir(parents=True, exist_ok=True)
        return run_dir
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = f"{safe_name(scenario_name)}-{stamp}"
    for n in range(1, 1000):
        run_dir = results_dir / (base if n == 1 else f"{base}-{n}")
        try:
            run_dir.mkdir()
            return run_dir
        except FileExistsError:
            continue
    raise RunDirError(f"could not create a run directory under {results_dir}")


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


# Errors that say the results cannot be written where they go (not a bug of ours).
UNWRITABLE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.EACCES})
RESERVE_FILE = ".coldstart-reserve"


def not_writable(exc: OSError, run_dir: Path) -> ResultsNotWritable:
    reason = exc.strerror or str(exc)
    return ResultsNotWritable(f"cannot write the results in {run_dir}: {reason}")


def process_identity(pid: int) -> dict[str, Any]:
    """What tells a process apart on this machine over time: its pid, its start (in clock
    ticks since boot) and the boot it belongs to. run.json keeps the harness's, so a reader
    can tell a run still going from one whose harness was killed."""
    return {"pid": pid, "start_ticks": processes.start_ticks(pid), "boot_id": processes.boot_id()}


def owner_gone(metadata: RunMetadata) -> bool:
    """Whether the harness that wrote a ``running`` run.json is gone (killed, and its
    pid was reused); False where it cannot be told (another machine or boot, no record)."""
    owner = metadata.owner
    if metadata.status != "running" or owner is None:
        return False
    if owner.boot_id is None or owner.boot_id != processes.boot_id():
        return False  # another machine's, or before a reboot: nothing here to ask
    return owner.pid is None or processes.start_ticks(owner.pid) != owner.start_ticks


class RunWriter:
    """Writes one run's files as the run goes. A trial line is written whole or not at
    all: a write that fails (a full disk) is cut back to the last whole line. Space for
    the final ``run.json`` is held from the start in a reserve file, so that even a full
    disk's run says how it ended."""

    def __init__(self, run_dir: Path, metadata: dict[str, Any]) -> None:
        self.run_dir = run_dir
        self.metadata = {
            "schema_version": SCHEMA_VERSION,
            "kind": RUN_KIND,
            **metadata,
            "owner": process_identity(os.getpid()),
        }
        try:
            self._fd: int | None = os.open(
                run_dir / TRIALS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666
            )
            text = self.write_metadata()
            reserve = max(64 << 10, 4 * len(text))
            (run_dir / RESERVE_FILE).write_bytes(b"\0" * reserve)
        except OSError as exc:
            if exc.errno in UNWRITABLE_ERRNOS:
                raise not_writable(exc, run_dir) from None
            raise

    def write_metadata(self) -> str:
        text = json.dumps(self.metadata, indent=2, default=str) + "\n"
        atomic_write_text(self.run_dir / RUN_FILE, text)
        return text

    def append(self, record: TrialRecord) -> None:
        """Append one trial line and fsync it; raise :class:`ResultsNotWritable`, leaving
        whole lines only, if it cannot be written."""
        assert self._fd is not None
        data = (json.dumps(record.to_dict(), separators=(",", ":"), default=str) + "\n").encode()
        size = os.fstat(self._fd).st_size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            os.fsync(self._fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, size)
            if exc.errno in UNWRITABLE_ERRNOS:
                raise not_writable(exc, self.run_dir) from None
            raise

    def finish(self, **fields: Any) -> None:
        """The final ``run.json``, written into the space the reserve held."""
        self.metadata.update(fields)
        (self.run_dir / RESERVE_FILE).unlink(missing_ok=True)
        try:
            self.write_metadata()
        except OSError as exc:
            if exc.errno in UNWRITABLE_ERRNOS:
                raise not_writable(exc, self.run_dir) from None
            raise
        finally:
            self.close()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@dataclass
class RunData:
    """A run read back from disk: its typed ``run.json`` and its trials."""

    run_dir: Path
    metadata: RunMetadata
    trials: list[TrialRecord]
    problems: list[str] = field(default_factory=list)

    @property
    def measured(self) -> list[TrialRecord]:
        """Trials that count: warm-up trials are discarded by design."""
        return [t for t in self.trials if not t.warmup]

    # What readers take from run.json beyond its fields, derived in one place.

    @property
    def name(self) -> str:
        """The scenario's name (the run directory's where run.json has none)."""
        return self.metadata.scenario.name or self.run_dir.name

    @property
    def status(self) -> str:
        """How the run ended (``complete``, ``interrupted``...), as run.json says; a run that
        says ``running`` whose harness is gone is ``abandoned`` (see :func:`read_run`)."""
        return self.metadata.status

    @property
    def planned_variants(self) -> list[PlannedVariant]:
        """The variants the run planned, in the scenario's order."""
        return list(self.metadata.plan.variants)

    @property
    def variant_order(self) -> list[str]:
        return [v.id for v in self.planned_variants]

    @property
    def request_prompts(self) -> list[str]:
        """The prompt of each request of a trial, in order, as the scenario ran ([] when
        the scenario sends none, or run.json does not say)."""
        table = self.metadata.scenario.as_run.get("requests") or {}
        if not isinstance(table, dict):
            return []
        prompts = table.get("prompts") or [table.get("prompt")]
        count = table.get("count")
        if not isinstance(count, int) or not all(isinstance(p, str) for p in prompts):
            return []
        return [prompts[i % len(prompts)] for i in range(count)]

    @property
    def gate_table(self) -> dict[str, Any]:
        """The scenario's ``[gate]`` table as the run recorded it ({} when none)."""
        table = self.metadata.scenario.as_run.get("gate")
        return dict(table) if isinstance(table, dict) else {}


def read_run(run_dir: str | Path) -> RunData:
    """A run directory with every trial record in memory."""
    run = read_run_file(run_dir)
    trials, problems = read_trials(run.run_dir / TRIALS_FILE)
    return dataclasses.replace(run, trials=trials, problems=problems)


def read_run_file(run_dir: str | Path) -> RunData:
    """A run directory's ``run.json`` alone (``trials`` empty: :func:`iter_trials` streams
    them). A run whose harness is gone while it says ``running`` is ``abandoned``."""
    directory = Path(run_dir)
    if not directory.is_dir():
        raise RunDirError(f"{directory}: no such run directory")
    meta_path = directory / RUN_FILE
    if not meta_path.exists() and not meta_path.is_symlink():
        raise RunDirError(f"{directory}: not a coldstart run (no {RUN_FILE})")
    check_regular(meta_path)
    try:
        raw = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunDirError(f"{meta_path}: not valid JSON ({exc})") from None
    except OSError as exc:
        raise RunDirError(f"{meta_path}: cannot be read ({exc.strerror or exc})") from None
    try:
        metadata = parse_run_file(raw, str(meta_path))
    except RunFileError as exc:
        raise RunDirError(str(exc)) from None
    check_regular(directory / TRIALS_FILE)
    if owner_gone(metadata):  # killed: every reader sees it so, and the space it held for
        metadata = metadata.with_status("abandoned")  # its last words is free now
        with contextlib.suppress(OSError):
            (directory / RESERVE_FILE).unlink(missing_ok=True)
    return RunData(run_dir=directory, metadata=metadata, trials=[])
