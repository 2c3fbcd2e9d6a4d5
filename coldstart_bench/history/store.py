"""The history store: one SQLite file (a CI job caches or uploads it whole).

Adding a run is one transaction, taken with the write lock up front (``BEGIN IMMEDIATE``):
two jobs adding at once queue rather than fail, a run added twice is there once (its key
is the table's primary key), and a writer killed mid-add leaves the file as it was — SQLite
rolls the journal back at the next open. The rollback journal, not WAL, so the store stays
one file between jobs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from coldstart_bench.errors import ColdstartError
from coldstart_bench.history.entry import RunEntry, TrialValue

HISTORY_ENV = "COLDSTART_HISTORY"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 120.0  # how long a writer waits for another job's add to finish

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS runs (
        run_key TEXT PRIMARY KEY, run_id TEXT NOT NULL, scenario TEXT NOT NULL,
        commit_sha TEXT, branch TEXT, started_at TEXT NOT NULL, status TEXT NOT NULL,
        trials INTEGER NOT NULL, added INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS trial_values (
        run_key TEXT NOT NULL REFERENCES runs(run_key), variant TEXT NOT NULL,
        trial INTEGER NOT NULL, metric TEXT NOT NULL, value REAL NOT NULL,
        calibration_ms REAL, PRIMARY KEY (run_key, variant, trial, metric))""",
    "CREATE INDEX IF NOT EXISTS runs_by_scenario ON runs (scenario, started_at)",
    "CREATE INDEX IF NOT EXISTS values_by_metric ON trial_values (metric, variant)",
)


class HistoryError(ColdstartError):
    """A history store that cannot be opened, read or written."""


@dataclass(frozen=True)
class StoredRun:
    """A run as the history holds it, in the order the history keeps (its start)."""

    entry: RunEntry
    added: int  # the order it was added in (1 = first)


class HistoryStore:
    """``with HistoryStore(path) as store:`` — the file is made on first use."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=DELETE")
            self._db.execute("PRAGMA foreign_keys=ON")
            with self._write():
                for statement in _SCHEMA:
                    self._db.execute(statement)
                self._db.execute(
                    "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
                    (str(SCHEMA_VERSION),),
                )
            (version,) = self._db.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'"
            ).fetchone()
        except (sqlite3.Error, OSError) as exc:
            raise HistoryError(
                f"{self.path}: not a history store this version can use ({exc})"
            ) from None
        if int(version) > SCHEMA_VERSION:
            raise HistoryError(
                f"{self.path}: written by a newer coldstart (history schema {version}; this "
                f"one reads {SCHEMA_VERSION})"
            )

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _write(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def add(self, entry: RunEntry, values: Sequence[TrialValue]) -> bool:
        """Add a run and its figures in one transaction; False where it was there already."""
        try:
            with self._write():
                (count,) = self._db.execute("SELECT count(*) FROM runs").fetchone()
                inserted = self._db.execute(
                    "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (entry.run_key, entry.run_id, entry.scenario, entry.commit, entry.branch,
                     entry.started_at, entry.status, entry.trials, count + 1),
                ).rowcount  # fmt: skip
                if inserted:
                    self._db.executemany(
                        "INSERT INTO trial_values VALUES (?, ?, ?, ?, ?, ?)",
                        ((entry.run_key, v.variant, v.trial, v.metric, v.value, v.calibration_ms)
                         for v in values),
                    )  # fmt: skip
        except sqlite3.Error as exc:
            raise HistoryError(f"{self.path}: cannot add the run ({exc})") from None
        return bool(inserted)

    def runs(self, scenario: str | None = None, branch: str | None = None) -> list[StoredRun]:
        """The runs, oldest first (by their start, then the order they were added)."""
        where, args = _filters(scenario=scenario, branch=branch)
        rows = self._db.execute(
            "SELECT run_key, run_id, scenario, commit_sha, branch, started_at, status, trials,"
            f" added FROM runs {where} ORDER BY started_at, added",
            args,
        ).fetchall()
        return [StoredRun(RunEntry(*row[:8]), row[8]) for row in rows]

    def values(
        self,
        scenario: str,
        metric: str | None = None,
        variant: str | None = None,
        branch: str | None = None,
    ) -> list[tuple[str, str, str, float, float | None]]:
        """(run_key, variant, metric, value, calibration_ms) of every trial figure of the
        scenario's runs, in the runs' order."""
        where, args = _filters(
            **{"r.scenario": scenario, "v.metric": metric, "v.variant": variant, "r.branch": branch}
        )
        return self._db.execute(
            "SELECT v.run_key, v.variant, v.metric, v.value, v.calibration_ms FROM trial_values v"
            f" JOIN runs r ON r.run_key = v.run_key {where} ORDER BY r.started_at, r.added,"
            " v.variant, v.trial",
            args,
        ).fetchall()

    def metrics(self, scenario: str) -> list[tuple[str, str]]:
        """(variant, metric) pairs the scenario's runs hold."""
        return self._db.execute(
            "SELECT DISTINCT v.variant, v.metric FROM trial_values v JOIN runs r"
            " ON r.run_key = v.run_key WHERE r.scenario = ? ORDER BY v.variant, v.metric",
            (scenario,),
        ).fetchall()


def _filters(**conditions: str | None) -> tuple[str, tuple[str, ...]]:
    used = [(column, value) for column, value in conditions.items() if value is not None]
    if not used:
        return "", ()
    return "WHERE " + " AND ".join(f"{c} = ?" for c, _v in used), tuple(v for _c, v in used)
