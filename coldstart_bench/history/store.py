"""The history store: a SQLite file (a CI job caches or uploads it whole) or a PostgreSQL
database (a URL; one store for many runners), the same tables in both.

Adding a run is one transaction, taken with the write lock up front: two jobs adding at
once queue rather than fail, a run added twice is there once (its key is the table's
primary key), and a writer killed mid-add leaves the store as it was — SQLite rolls its
journal back at the next open, PostgreSQL drops the open transaction with the connection.

Beside its figures a run keeps its own ``run.json`` and trials, compressed, so that the
gate can judge a new run against the runs before it with the same statistics as against a
run directory (``coldstart gate --history``).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coldstart_bench.errors import ColdstartError
from coldstart_bench.history.database import DatabaseError, connect, shown
from coldstart_bench.history.entry import RunEntry, TrialValue

HISTORY_ENV = "COLDSTART_HISTORY"
SCHEMA_VERSION = 2


def _schema(real: str, blob: str) -> tuple[str, ...]:
    return (
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE IF NOT EXISTS runs (
            run_key TEXT PRIMARY KEY, run_id TEXT NOT NULL, scenario TEXT NOT NULL,
            commit_sha TEXT, branch TEXT, started_at TEXT NOT NULL, status TEXT NOT NULL,
            trials INTEGER NOT NULL, added INTEGER NOT NULL, verdict TEXT)""",
        f"""CREATE TABLE IF NOT EXISTS trial_values (
            run_key TEXT NOT NULL REFERENCES runs(run_key), variant TEXT NOT NULL,
            trial INTEGER NOT NULL, metric TEXT NOT NULL, value {real} NOT NULL,
            calibration_ms {real}, PRIMARY KEY (run_key, variant, trial, metric))""",
        f"""CREATE TABLE IF NOT EXISTS run_files (
            run_key TEXT PRIMARY KEY REFERENCES runs(run_key), data {blob} NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS runs_by_scenario ON runs (scenario, started_at)",
        "CREATE INDEX IF NOT EXISTS values_by_metric ON trial_values (metric, variant)",
    )


# What a store of an older schema needs to become this one (version → statements).
_MIGRATIONS = {1: ("ALTER TABLE runs ADD COLUMN verdict TEXT",)}


class HistoryError(ColdstartError):
    """A history store that cannot be opened, read or written."""


@dataclass(frozen=True)
class StoredRun:
    """A run as the history holds it, in the order the history keeps (its start)."""

    entry: RunEntry
    added: int  # the order it was added in (1 = first)


class HistoryStore:
    """``with HistoryStore(location) as store:`` — a PostgreSQL URL, or a SQLite file (made
    on first use)."""

    def __init__(self, location: str | Path) -> None:
        self.location = str(location)
        self.shown = shown(self.location)
        try:
            self._db = connect(self.location)
            with self._db.write():
                for statement in _schema(self._db.real, self._db.blob):
                    self._db.execute(statement)
                self._db.insert(
                    "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
                    (str(SCHEMA_VERSION),),
                )
                ((version,),) = self._db.execute(
                    "SELECT value FROM meta WHERE key = 'schema_version'"
                )
                for old in range(int(version), SCHEMA_VERSION):
                    for statement in _MIGRATIONS[old]:
                        self._db.execute(statement)
                if int(version) < SCHEMA_VERSION:
                    self._db.execute(
                        "UPDATE meta SET value = ? WHERE key = 'schema_version'",
                        (str(SCHEMA_VERSION),),
                    )
        except (DatabaseError, OSError, ValueError) as exc:
            raise HistoryError(
                f"{self.shown}: not a history store this version can use ({exc})"
            ) from None
        if int(version) > SCHEMA_VERSION:
            self._db.close()
            raise HistoryError(
                f"{self.shown}: written by a newer coldstart (history schema {version}; this "
                f"one reads {SCHEMA_VERSION})"
            )

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def add(
        self, entry: RunEntry, values: Sequence[TrialValue], run_file: bytes | None = None
    ) -> bool:
        """Add a run, its figures and its file (:func:`pack_run`) in one transaction; False
        where it was there already."""
        try:
            with self._db.write():
                ((count,),) = self._db.execute("SELECT count(*) FROM runs")
                inserted = self._db.insert(
                    "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (entry.run_key, entry.run_id, entry.scenario, entry.commit, entry.branch,
                     entry.started_at, entry.status, entry.trials, count + 1, entry.verdict),
                )  # fmt: skip
                if inserted:
                    self._db.insert_many(
                        "INSERT INTO trial_values VALUES (?, ?, ?, ?, ?, ?)",
                        ((entry.run_key, v.variant, v.trial, v.metric, v.value, v.calibration_ms)
                         for v in values),
                    )  # fmt: skip
                    if run_file is not None:
                        self._db.insert("INSERT INTO run_files VALUES (?, ?)",
                                        (entry.run_key, run_file))  # fmt: skip
        except DatabaseError as exc:
            raise HistoryError(f"{self.shown}: cannot add the run ({exc})") from None
        return bool(inserted)

    def set_verdict(self, run_key: str, verdict: str) -> None:
        """Record the gate's verdict on a run the history holds."""
        try:
            with self._db.write():
                self._db.insert("UPDATE runs SET verdict = ? WHERE run_key = ?", (verdict, run_key))
        except DatabaseError as exc:
            raise HistoryError(f"{self.shown}: cannot record the verdict ({exc})") from None

    def runs(self, scenario: str | None = None, branch: str | None = None) -> list[StoredRun]:
        """The runs, oldest first (by their start, then the order they were added)."""
        where, args = _filters(scenario=scenario, branch=branch)
        rows = self._read(
            "SELECT run_key, run_id, scenario, commit_sha, branch, started_at, status, trials,"
            f" verdict, added FROM runs {where} ORDER BY started_at, added",
            args,
        )
        return [StoredRun(RunEntry(*row[:9]), row[9]) for row in rows]

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
        return self._read(  # type: ignore[return-value]
            "SELECT v.run_key, v.variant, v.metric, v.value, v.calibration_ms FROM trial_values v"
            f" JOIN runs r ON r.run_key = v.run_key {where} ORDER BY r.started_at, r.added,"
            " v.variant, v.trial",
            args,
        )

    def metrics(self, scenario: str) -> list[tuple[str, str]]:
        """(variant, metric) pairs the scenario's runs hold."""
        return self._read(  # type: ignore[return-value]
            "SELECT DISTINCT v.variant, v.metric FROM trial_values v JOIN runs r"
            " ON r.run_key = v.run_key WHERE r.scenario = ? ORDER BY v.variant, v.metric",
            (scenario,),
        )

    def run_file(self, run_key: str) -> dict[str, Any] | None:
        """The run's own ``run.json`` and trials as it was added ({"run": …, "trials":
        […]}), or None for a run added without them (history schema 1)."""
        rows = self._read("SELECT data FROM run_files WHERE run_key = ?", (run_key,))
        if not rows:
            return None
        try:
            unpacked = json.loads(zlib.decompress(bytes(rows[0][0])))
        except (zlib.error, ValueError) as exc:
            raise HistoryError(
                f"{self.shown}: the stored run {run_key} is damaged ({exc})"
            ) from None
        return unpacked if isinstance(unpacked, dict) else None

    def _read(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._db.execute(sql, args)
        except DatabaseError as exc:
            raise HistoryError(f"{self.shown}: cannot read the history ({exc})") from None


def _filters(**conditions: str | None) -> tuple[str, tuple[str, ...]]:
    used = [(column, value) for column, value in conditions.items() if value is not None]
    if not used:
        return "", ()
    return "WHERE " + " AND ".join(f"{c} = ?" for c, _v in used), tuple(v for _c, v in used)
