"""The two databases a history can live in, behind one small interface: a SQLite file (the
default: no server, one file a CI job caches or uploads) and PostgreSQL (a URL: one store
shared by many runners).

Both take the same SQL, written with ``?`` placeholders and the type names below; each
takes its write lock up front, so two jobs adding at once queue rather than fail or
interleave: SQLite's ``BEGIN IMMEDIATE``, PostgreSQL's transaction-scoped advisory lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from typing import Any

BUSY_TIMEOUT_S = 120.0  # how long a writer waits for another job's add to finish
_PG_SCHEMES = ("postgresql://", "postgres://")
_PG_LOCK = 0x636F6C64  # "cold": the advisory lock every writer of a history takes


class DatabaseError(Exception):
    """The database refused or failed (either kind), in its own words."""


class Database:
    """One connection to a history's database. The two kinds differ only in how they
    connect, their placeholders and type names, their errors, and how a writer takes the
    lock (``_begin``); the rest is DB-API and is written once, here."""

    location: str
    real: str  # the SQL type of a double
    blob: str  # the SQL type of bytes
    _placeholder = "?"
    _begin: tuple[tuple[str, tuple[Any, ...]], ...]  # a write transaction's first statements
    _errors: type[BaseException] | tuple[type[BaseException], ...]
    _db: Any  # the driver's connection, in autocommit: transactions are ours

    def _sql(self, sql: str) -> str:
        return sql.replace("?", self._placeholder)

    def execute(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            cursor = self._db.execute(self._sql(sql), tuple(args))
            return cursor.fetchall() if cursor.description else []
        except self._errors as exc:
            raise DatabaseError(_first_line(exc)) from None

    def insert(self, sql: str, args: Sequence[Any]) -> int:
        try:
            return int(self._db.execute(self._sql(sql), tuple(args)).rowcount)
        except self._errors as exc:
            raise DatabaseError(_first_line(exc)) from None

    def insert_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            with closing(self._db.cursor()) as cursor:
                cursor.executemany(self._sql(sql), list(rows))
        except self._errors as exc:
            raise DatabaseError(_first_line(exc)) from None

    @contextmanager
    def write(self) -> Iterator[None]:
        """One transaction with the writers' lock held from its start."""
        statements = iter(self._begin)
        self.execute(*next(statements))
        try:
            for statement in statements:
                self.execute(*statement)
            yield
        except BaseException:
            with suppress(Exception):  # the error that got here is the one to say
                self._db.execute("ROLLBACK")
            raise
        self.execute("COMMIT")

    def close(self) -> None:
        self._db.close()


def is_url(location: str) -> bool:
    return location.startswith(_PG_SCHEMES)


def shown(location: str) -> str:
    """The location as it may be printed: a URL without its password."""
    if not is_url(location) or "@" not in location:
        return location
    scheme, rest = location.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else location


def connect(location: str) -> Database:
    """The database at ``location``: a PostgreSQL URL, else a SQLite file (made on first
    use)."""
    if is_url(location):
        return _Postgres(location)
    return _Sqlite(Path(location))


class _Sqlite(Database):
    real = "REAL"
    blob = "BLOB"
    _begin = (("BEGIN IMMEDIATE", ()),)
    _errors = sqlite3.Error

    def __init__(self, path: Path) -> None:
        self.location = str(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            # the rollback journal, not WAL, so the store stays one file between jobs
            self._db.execute("PRAGMA journal_mode=DELETE")
            self._db.execute("PRAGMA foreign_keys=ON")
        except (sqlite3.Error, OSError) as exc:
            raise DatabaseError(str(exc)) from None


class _Postgres(Database):
    real = "DOUBLE PRECISION"
    blob = "BYTEA"
    _placeholder = "%s"
    _begin = (("BEGIN", ()), ("SELECT pg_advisory_xact_lock(?)", (_PG_LOCK,)))

    def __init__(self, url: str) -> None:
        self.location = url
        try:
            import psycopg
        except ImportError:
            raise DatabaseError(
                "a PostgreSQL history needs psycopg: pip install 'coldstart-bench[postgres]'"
            ) from None
        self._errors = psycopg.Error
        try:
            self._db = psycopg.connect(url, autocommit=True, connect_timeout=30)
        except psycopg.Error as exc:
            raise DatabaseError(_first_line(exc)) from None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
