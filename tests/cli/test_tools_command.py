"""`coldstart merge` and `coldstart connbench` as a user types them."""

from __future__ import annotations

from pathlib import Path

from helpers import Server, toy_scenario
from typer.testing import CliRunner

from coldstart_bench import read_run
from coldstart_bench.cli.app import app


def test_shards_run_apart_merge_into_the_whole_run(tmp_path: Path, write_scenario):
    path = write_scenario(
        toy_scenario(repetitions=3, matrix={"pooling": ["on", "off"]}, requests={"kind": "http"})
    )
    results = str(tmp_path / "r")
    runner = CliRunner()
    for i in (1, 2):
        done = runner.invoke(
            app,
            [
                "run",
                str(path),
                "--shard",
                f"{i}/2",
                "--seed",
                "5",
                "-q",
                "--no-report",
                "--results-dir",
                results,
                "--run-id",
                f"s{i}",
            ],
        )
        assert done.exit_code == 0, done.output
    no_seed = runner.invoke(app, ["run", str(path), "--shard", "1/2", "--results-dir", results])
    assert no_seed.exit_code == 2 and "--seed" in no_seed.output
    merged = runner.invoke(
        app, ["merge", f"{results}/s1", f"{results}/s2", "--out", f"{results}/all"]
    )
    assert merged.exit_code == 0, merged.output
    run = read_run(tmp_path / "r" / "all")
    assert sorted(t.trial for t in run.trials) == list(range(6))
    assert [m["shard"] for m in run.metadata.merged_from] == [[1, 2], [2, 2]]
    twice = runner.invoke(app, ["merge", f"{results}/s1", f"{results}/s1", "--out", f"{results}/x"])
    assert twice.exit_code == 2 and "not distinct shards" in twice.output


def test_connbench_prints_the_figures_and_refuses_a_bare_address(toy: Server, trustme_certs):
    port = toy("--tls-cert", str(trustme_certs.cert), "--tls-key", str(trustme_certs.key))
    url = f"https://127.0.0.1:{port}/health"
    printed = CliRunner().invoke(
        app, ["connbench", url, "--requests", "5", "--cacert", str(trustme_certs.ca)]
    )
    assert printed.exit_code == 0, printed.output
    assert "TLS share of connection set-up" in printed.output
    bad = CliRunner().invoke(app, ["connbench", "127.0.0.1:1"])
    assert bad.exit_code == 2 and "give a full URL" in bad.output
