"""The history in PostgreSQL: a real server from Debian's packages (started here, as the
``postgres`` user where the tests run as root), one database per test. The same store as
the SQLite file: a run added twice is there once, two jobs adding at once both kept, and
the gate judges against it."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import coldstart_argv
from typer.testing import CliRunner

from coldstart_bench.cli.app import app
from coldstart_bench.history.entry import entry_of, packed_run
from coldstart_bench.history.store import HistoryError, HistoryStore
from coldstart_bench.proc.ports import free_port
from coldstart_bench.results.store import read_run

psycopg = pytest.importorskip("psycopg")
GOLDEN_RUN = Path(__file__).parents[1] / "data" / "run-0e8cffb"
BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
pytestmark = pytest.mark.skipif(
    not BINARIES, reason="needs PostgreSQL (apt-get install postgresql)"
)


def _as_postgres(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: there, run it as the ``postgres`` user."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server on a free port of 127.0.0.1, for this module's tests: its URL.
    Autovacuum off, so that no worker of its starts (or outlives) a test."""
    bin_dir = Path(BINARIES[-1])
    data = Path(tempfile.mkdtemp(prefix="coldstart-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    subprocess.run(
        _as_postgres([str(bin_dir / "initdb"), "-D", str(data / "db"), "-A", "trust",
                      "-U", "postgres", "--no-sync"]),
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    port = free_port()
    server = subprocess.Popen(
        _as_postgres([str(bin_dir / "postgres"), "-D", str(data / "db"), "-p", str(port),
                      "-k", str(data), "-c", "listen_addresses=127.0.0.1",
                      "-c", "autovacuum=off", "-c", "fsync=off"]),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    deadline = time.monotonic() + 60
    while True:
        try:
            psycopg.connect(url, connect_timeout=2).close()
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise
            time.sleep(0.2)
    try:
        yield url
    finally:
        os.killpg(server.pid, signal.SIGINT)  # fast shutdown: backends end, then the server
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def database(postgres_server: str, request: pytest.FixtureRequest) -> str:
    """A fresh database for one test: its URL."""
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:40].lower()
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    return postgres_server.rsplit("/", 1)[0] + "/" + name


def test_a_run_is_added_once_and_read_back_as_it_was(database: str):
    run = read_run(GOLDEN_RUN)
    entry, values = entry_of(run, "c1", "main")
    with HistoryStore(database) as store:
        assert store.add(entry, values, packed_run(run)) is True
        assert store.add(entry, values, packed_run(run)) is False
        (stored,) = store.runs()
        assert stored.entry == entry
        assert sorted(store.values(run.name, "cold_ttft_ms")) == sorted(
            (entry.run_key, v.variant, v.metric, v.value, v.calibration_ms)
            for v in values
            if v.metric == "cold_ttft_ms"
        )
        kept = store.run_file(entry.run_key)
    assert kept is not None and len(kept["trials"]) == len(run.trials)


def test_two_jobs_adding_at_once_keep_both_runs_once(database: str, tmp_path: Path):
    copies = []
    for name in ("a", "b"):  # two runs: the golden run under two ids
        copy = tmp_path / name
        shutil.copytree(GOLDEN_RUN, copy)
        text = (copy / "run.json").read_text().replace('"run_id": "', f'"run_id": "{name}-', 1)
        (copy / "run.json").write_text(text)
        copies.append(copy)
    jobs = [
        subprocess.Popen(
            coldstart_argv("history", "add", str(run), "--history", database, "--commit", c),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for run, c in ((copies[0], "c1"), (copies[1], "c2"), (copies[0], "c1"))
    ]
    outputs = [job.communicate(timeout=120) for job in jobs]
    assert all(job.returncode == 0 for job in jobs), outputs
    with HistoryStore(database) as store:
        runs = store.runs()
        counts = store.values(runs[0].entry.scenario)
    assert sorted(r.entry.commit or "" for r in runs) == ["c1", "c2"]
    assert sorted(r.added for r in runs) == [1, 2]
    assert len(counts) == 2 * len(entry_of(read_run(GOLDEN_RUN), None, None)[1])


def test_the_gate_reads_a_postgres_history_and_its_first_run_passes(database: str):
    gate = ["gate", str(GOLDEN_RUN), "--history", database, "--add"]
    first = CliRunner().invoke(app, gate)
    assert first.exit_code == 0, first.output
    assert "no earlier run of" in first.output
    with HistoryStore(database) as store:
        (stored,) = store.runs()
    assert stored.entry.verdict == "pass"


def test_a_server_that_cannot_be_reached_is_exit_2_without_the_password():
    url = f"postgresql://coldstart:s3cret@127.0.0.1:{free_port()}/history"
    with pytest.raises(HistoryError) as raised:
        HistoryStore(url)
    assert "s3cret" not in str(raised.value) and "coldstart:***@" in str(raised.value)
    listed = CliRunner().invoke(app, ["history", "list", "--history", url])
    assert listed.exit_code == 2 and "s3cret" not in listed.output
