"""One number per metric and variant: the terminal, summary.md, summary.csv, the HTML page,
`coldstart compare` and `coldstart gate` all show the value the analysis computed once."""

from __future__ import annotations

import csv
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from helpers import toy_command
from typer.testing import CliRunner

from coldstart_bench.cli.app import app
from coldstart_bench.report.columns import ms
from coldstart_bench.report.html import format_cell

# metric → the summary table's column for its median
COLUMNS = {
    "ready_ms": "ready p50",
    "cold_ttft_ms": "cold TTFT p50",
    "first_ttft_ms": "1st req TTFT",
    "later_connect_ms": "later connect",
    "later_ttft_ms": "later TTFT",
}


class Tables(HTMLParser):
    """Every <table> of a page as rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def markdown_rows(text: str) -> list[list[str]]:
    return [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("|") and not line.startswith("|--") and "---" not in line
    ]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("one")
    scenario = tmp / "one.toml"
    scenario.write_text(f"""
name = "one-number"
repetitions = 5
[[services]]
command = {toy_command("--ttft-ms", "4", "--itl-ms", "1", "--tokens", "3")}
ready = {{ kind = "http", path = "/health" }}
[requests]
count = 4
[matrix]
pooling = ["on", "off"]
""")
    result = CliRunner().invoke(
        app, ["run", str(scenario), "--results-dir", str(tmp), "--run-id", "one", "-q"]
    )
    assert result.exit_code == 0, result.output
    return tmp / "one", result.output


def test_every_output_shows_the_medians_of_summary_csv(run: tuple[Path, str], tmp_path: Path):
    run_dir, terminal = run
    report = run_dir / "report"
    with open(report / "summary.csv", encoding="utf-8") as f:
        computed = {(r["variant"], r["metric"]): float(r["median"]) for r in csv.DictReader(f)}
    variants = ["pooling=on", "pooling=off"]

    md = markdown_rows((report / "summary.md").read_text(encoding="utf-8"))
    heads, md_rows = md[0], {f"pooling={row[0]}": row for row in md[1:]}
    page = Tables()
    page.feed((report / "report.html").read_text(encoding="utf-8"))
    summary_table, stats_table = page.tables[0], page.tables[1]
    assert summary_table[0] == heads
    html_rows = {f"pooling={row[0]}": row for row in summary_table[1:]}
    html_stats = {(row[0], row[1]): row[3] for row in stats_table[1:]}
    term_rows = {
        f"pooling={cells[0]}": cells
        for line in terminal.splitlines()
        if (cells := [c.strip() for c in line.strip("│ ").split("│")])[0] in ("on", "off")
    }

    for variant in variants:
        for metric, column in COLUMNS.items():
            value = computed[(variant, metric)]
            at = heads.index(column)
            shown = ms(value)
            assert md_rows[variant][at] == shown, (variant, metric, "summary.md")
            assert html_rows[variant][at] == shown, (variant, metric, "HTML summary")
            assert term_rows[variant][at] == shown, (variant, metric, "terminal")
            assert html_stats[(variant, metric)] == format_cell(value), (variant, metric)

    # compare and gate, the run against itself: both sides are the same median
    out = tmp_path / "compare"
    metrics = [a for m in COLUMNS for a in ("--metric", m)]
    compared = CliRunner().invoke(
        app, ["compare", str(run_dir), str(run_dir), *metrics, "--out", str(out)]
    )
    assert compared.exit_code == 0, compared.output
    with open(out / "compare.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(variants) * len(COLUMNS)
    for row in rows:
        value = computed[(row["variant"], row["metric"])]
        assert float(row["base_median"]) == pytest.approx(value, rel=1e-12)
        assert float(row["new_median"]) == pytest.approx(value, rel=1e-12)

    summary = tmp_path / "gate.md"
    gated = CliRunner().invoke(
        app, ["gate", str(run_dir), "--baseline", str(run_dir), *metrics, "--summary", str(summary)]
    )
    # A run against itself: never a regression; 5 trials a side over these comparisons are
    # too few to rule one out, so "inconclusive" is as right as "pass".
    assert gated.exit_code in (0, 4), gated.output
    gate_rows = markdown_rows(summary.read_text(encoding="utf-8"))
    checked = 0
    for row in gate_rows[1:]:
        variant, metric, base = row[1], row[2], row[3]
        assert base == f"{computed[(variant, metric)]:,.1f}", row
        checked += 1
    assert checked == len(variants) * len(COLUMNS)


def test_later_connect_is_the_median_of_each_trials_mean_connect(run: tuple[Path, str]):
    """The definition written in the README: per trial, the mean connect over requests
    2..n (0 ms on a reused connection); per variant, the median over trials."""
    import json
    import statistics

    run_dir, _ = run
    per_trial: dict[str, list[float]] = {}
    for line in (run_dir / "trials.jsonl").read_text().splitlines():
        trial = json.loads(line)
        later = [r["connect_ms"] or 0.0 for r in trial["requests"][1:]]
        per_trial.setdefault(trial["variant"], []).append(statistics.fmean(later))
    with open(run_dir / "report" / "summary.csv", encoding="utf-8") as f:
        medians = {
            r["variant"]: float(r["median"])
            for r in csv.DictReader(f)
            if r["metric"] == "later_connect_ms"
        }
    for variant, values in per_trial.items():
        assert medians[variant] == pytest.approx(statistics.median(values), rel=1e-12)
    assert medians["pooling=on"] == 0.0 and medians["pooling=off"] > 0.0
    assert re.fullmatch(r"pooling=(on|off)", next(iter(per_trial)))
