"""A gate's (or a comparison's) result in every form it is shown: the rows of the terminal
table, GitHub Markdown for a step summary, JUnit XML for test reports, CSV. Every form reads
the same cells from :func:`cells`, so they say the same thing."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

from coldstart_bench.gate.evaluate import GateResult
from coldstart_bench.gate.rule import Decision, compare_word
from coldstart_bench.report.exporters import STREAM, Output
from coldstart_bench.report.markdown import md_escape

if TYPE_CHECKING:
    from rich.console import Console

HEADS = ("verdict", "variant", "metric", "base", "new", "change", "CI", "p adj.", "detects", "n")


def interval_head(result: GateResult) -> str:
    return f"{result.level:.1%} CI".replace(".0%", "%")


def cells(d: Decision, word: str) -> list[str]:
    """verdict, variant, metric, base and new medians, change, interval, adjusted p,
    the smallest slowdown found with 80 % power, trials per side."""
    c = d.comparison
    low, high = (c.shift.low - 1) * 100, (c.shift.high - 1) * 100
    interval = f"[{low:+.1f}, {high:+.1f}] %" if abs(low) < 1e6 and abs(high) < 1e6 else "—"
    detects = f"≥ {d.detectable:.0%}" if d.detectable < 100 else "—"
    return [
        word,
        c.variant,
        c.metric,
        f"{c.base_median:,.1f}",
        f"{c.new_median:,.1f}",
        f"{c.change_pct:+.1f} %",
        interval,
        f"{d.p_adjusted:.3g}",
        detects,
        f"{c.n_base}/{c.n_new}",
    ]


def explanation(result: GateResult) -> str:
    """What the table's figures are, in one paragraph."""
    s = result.settings
    m = len(result.decisions)
    return (
        f"regression = slower by more than {s.max_regression:.0%} and significant at "
        f"{s.confidence:.0%} (one-sided Mann–Whitney U of log times, Bonferroni over {m} "
        f"comparison(s)); change = the typical ratio new/base (Hodges–Lehmann), its "
        f"{interval_head(result)} the same test inverted; detects = the smallest slowdown "
        f"found with 80 % power (a pass needs ≤ {s.detectable_bound:.0%})"
    )


def gate_markdown(result: GateResult) -> str:
    icon = {"pass": "✅", "fail": "❌", "inconclusive": "⚠️"}[result.verdict]
    heads = [h if h != "CI" else interval_head(result) for h in HEADS]
    lines = [
        f"## {icon} cold-start gate: {result.verdict}",
        "",
        f"{md_escape(result.new_label)} vs baseline {md_escape(result.base_label)}; "
        f"{md_escape(explanation(result))}.",
        "",
    ]
    for line in _notes(result):
        lines += [f"**{md_escape(line)}**", ""]
    for f in result.failing:
        lines += [f"**{f.verdict}: {md_escape(f.variant)}: {md_escape(f.sentence())}**", ""]
    if result.decisions:
        lines += [
            "| " + " | ".join(heads) + " |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
    for d in result.decisions:
        lines.append("| " + " | ".join(md_escape(c) for c in cells(d, result.shown(d))) + " |")
    if result.budgets:
        lines += [
            "",
            "| budget | variant | metric | new median | limit |",
            "|---|---|---|---:|---:|",
        ]
        for variant, metric, median, limit, ok in result.budgets:
            lines.append(
                f"| {'ok' if ok else 'over budget'} | {md_escape(variant)} | {metric} | "
                f"{median:,.1f} | {limit:,.1f} |"
            )
    notes = [d for d in result.decisions if d.verdict in ("inconclusive", "warning")]
    notes = [] if result.drifted else notes
    if notes or result.unmatched:
        lines.append("")
        lines += [
            f"- {md_escape(d.comparison.variant)} {d.comparison.metric}: {md_escape(d.reason)}"
            for d in notes
        ]
        lines += [f"- unmatched: {md_escape(u)}" for u in result.unmatched]
    return "\n".join(lines) + "\n"


def _notes(result: GateResult) -> list[str]:
    lines = (
        result.drift_line(),
        result.trial_machine_line(),
        result.sequential,
        result.decided_by,
        result.busy,
        result.baseline_note,
    )
    return [line for line in lines if line]


def gate_junit(result: GateResult) -> str:
    """One test case per gated (variant, metric) and per budget; an inconclusive gate is an
    error, with why (the machine, the power, the trials)."""
    first_run = not result.decisions and result.baseline_note is not None
    cases = len(result.decisions) + len(result.budgets) + len(result.failing) + first_run
    drift = result.drift_line() if result.drifted else None
    failures = 0 if drift else sum(d.verdict == "regression" for d in result.decisions)
    failures += sum(not ok for *_r, ok in result.budgets)
    failures += sum(f.verdict == "regression" for f in result.failures)
    errors = sum(d.verdict == "inconclusive" or drift is not None for d in result.decisions)
    errors += sum(f.verdict == "inconclusive" for f in result.failures)
    suite = ET.Element(
        "testsuite", name="coldstart gate", tests=str(cases), failures=str(failures),
        errors=str(errors),
    )  # fmt: skip
    for d in result.decisions:
        c = d.comparison
        case = ET.SubElement(suite, "testcase", classname=f"coldstart.{c.variant}", name=c.metric)
        text = " ".join(f"{h}={v}" for h, v in zip(HEADS, cells(d, result.shown(d)), strict=True))
        if drift is not None:
            ET.SubElement(case, "error", message=drift).text = text
        elif d.verdict == "regression":
            ET.SubElement(case, "failure", message=d.reason).text = text
        elif d.verdict == "inconclusive":
            ET.SubElement(case, "error", message=d.reason).text = text
        else:
            ET.SubElement(case, "system-out").text = f"{d.verdict}: {d.reason}; {text}"
    for f in result.failing:
        case = ET.SubElement(suite, "testcase", classname=f"coldstart.{f.variant}",
                             name="failed trials")  # fmt: skip
        if f.verdict == "regression":
            ET.SubElement(case, "failure", message=f.sentence()).text = f.sentence()
        elif f.verdict == "inconclusive":
            ET.SubElement(case, "error", message=f.sentence()).text = f.sentence()
    if first_run:  # nothing compared: one passing case that says why
        case = ET.SubElement(suite, "testcase", classname="coldstart", name="baseline")
        ET.SubElement(case, "system-out").text = result.baseline_note
    for variant, metric, median, limit, ok in result.budgets:
        case = ET.SubElement(
            suite, "testcase", classname=f"coldstart.{variant}", name=f"{metric} budget"
        )
        message = f"median {median:.1f} ms vs budget {limit:.1f} ms"
        if not ok:
            ET.SubElement(case, "failure", message=message).text = message
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


COMPARE_CSV_COLUMNS = (
    "variant", "metric", "n_base", "n_new", "base_median", "new_median", "ratio", "ci_low",
    "ci_high", "ci_level", "p_slower_adjusted", "p_faster_adjusted", "detectable", "verdict",
)  # fmt: skip


def compare_markdown(result: GateResult) -> str:
    heads = [h if h != "CI" else interval_head(result) for h in HEADS]
    lines = [f"_{md_escape(explanation(result))}_", ""]
    lines += [f"**{md_escape(line)}**\n" for line in _notes(result)]
    lines += [f"**{md_escape(f.variant)}: {md_escape(f.sentence())}**\n" for f in result.failing]
    lines += ["| " + " | ".join(heads) + " |", "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for d in result.decisions:
        word = "not judged" if result.drifted else compare_word(d)
        lines.append("| " + " | ".join(md_escape(c) for c in cells(d, word)) + " |")
    return "\n".join(lines) + "\n" + "".join(f"\nunmatched: {u}" for u in result.unmatched)


def compare_csv(result: GateResult) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COMPARE_CSV_COLUMNS)
    for d in result.decisions:
        c = d.comparison
        writer.writerow(
            [c.variant, c.metric, c.n_base, c.n_new, c.base_median, c.new_median, c.ratio,
             c.shift.low, c.shift.high, c.shift.level, d.p_adjusted, d.p_faster_adjusted,
             d.detectable, compare_word(d)]
        )  # fmt: skip
    return buffer.getvalue()


# The exporters of a gate's or a comparison's result (report.exporters.Exporter).


class GateMarkdownExporter:
    """The gate as a GitHub step summary."""

    format = "md"

    def export(self, result: GateResult) -> list[Output]:
        return [Output.text("gate.md", gate_markdown(result))]


class GateJunitExporter:
    """The gate as JUnit XML: a test case per comparison and per budget."""

    format = "junit"

    def export(self, result: GateResult) -> list[Output]:
        return [Output.text("gate.xml", gate_junit(result))]


class CompareMarkdownExporter:
    format = "md"

    def export(self, result: GateResult) -> list[Output]:
        return [Output.text("compare.md", compare_markdown(result))]


class CompareCsvExporter:
    format = "csv"

    def export(self, result: GateResult) -> list[Output]:
        return [Output.text("compare.csv", compare_csv(result))]


class GateTerminalExporter:
    """The table of every comparison, then the machine, the budgets and every verdict that
    is not a pass with its reason, as ``console`` prints them (colours on a terminal).
    ``words``: compare's slower / faster / no change."""

    format = "terminal"

    def __init__(self, console: Console, title: str, words: bool = False) -> None:
        self.console, self.title, self.words = console, title, words

    def export(self, result: GateResult) -> list[Output]:
        from rich.table import Table
        from rich.text import Text

        out = self.console
        table = Table(title=self.title, title_justify="left", header_style="bold",
                      caption_justify="left")  # fmt: skip
        for head in HEADS:
            shown = interval_head(result) if head == "CI" else head
            table.add_column(shown, justify="left" if head in HEADS[:3] else "right")
        style = {"regression": "red", "slower": "red", "warning": "yellow",
                 "inconclusive": "yellow", "can't tell": "yellow", "pass": "green",
                 "faster": "green"}  # fmt: skip
        with out.capture() as captured:
            for d in result.decisions:
                word = (
                    "not judged" if result.drifted
                    else compare_word(d) if self.words else d.verdict
                )  # fmt: skip
                row = cells(d, word)
                table.add_row(Text(row[0], style=style.get(row[0], "")), Text(row[1]), *row[2:])
            table.caption = explanation(result)
            if result.decisions:
                out.print(table)
            for line in _notes(result):
                if line:
                    out.print(line, markup=False, style="yellow" if result.drifted else None)
            for f in result.failing:
                out.print(f"{f.verdict}: {f.variant}: {f.sentence()}", markup=False,
                          style="red" if f.verdict == "regression" else "yellow")  # fmt: skip
            for variant, metric, median, limit, ok in result.budgets:
                word = "ok" if ok else "[red]over budget[/]"
                out.print(
                    f"budget {metric} {median:,.1f} ≤ {limit:,.1f} ms: {word} ({variant})",
                    highlight=False,
                )
            for d in [] if result.drifted else result.decisions:
                if d.verdict in ("inconclusive", "warning", "regression"):
                    out.print(
                        f"{d.verdict}: {d.comparison.variant} {d.comparison.metric}: {d.reason}",
                        markup=False,
                    )
            for note in result.unmatched:
                out.print(f"unmatched: {note}", markup=False)
        return [Output.text(STREAM, captured.get())]


# The gate's JSON, key by key (the CLI reference shows it): schema_version 1.
GATE_JSON_FIELDS: dict[str, str] = {
    "schema_version": "1",
    "kind": "`coldstart-bench.gate` or `coldstart-bench.compare`",
    "verdict": "`pass`, `fail` or `inconclusive`",
    "exit_code": "the command's exit code: 0 pass, 1 fail, 4 inconclusive",
    "base / new": "what was compared: a run directory, or a factor's level",
    "settings": "metrics, max_regression, confidence, detectable_bound (a pass needs "
    "`detectable` ≤ it), allow_drift, require_wall, per_trial_machine",
    "notes": "lines that qualify the verdict: the machine check, the sequential test, which "
    "measure decided, what a history's baseline was",
    "comparisons": "one per gated variant and metric: variant, metric, verdict (`pass`, "
    "`warning`, `regression`, `inconclusive`, `not judged`), reason, n_base, n_new, "
    "base_median, new_median, ratio, ci_low, ci_high, ci_level, p_adjusted, detectable, "
    "machine_slope (the per-trial calibration's slope, null where not applied)",
    "failures": "per variant whose candidate failed trials: variant, verdict, base_failed, "
    "base_n, new_failed, new_n, p_adjusted, first_error",
    "budgets": "variant, metric, median, limit, ok",
    "unmatched": "variants only one side has",
}


def gate_json(result: GateResult, kind: str = "coldstart-bench.gate") -> str:
    """One machine-readable verdict object (:data:`GATE_JSON_FIELDS`)."""
    s = result.settings
    document = {
        "schema_version": 1,
        "kind": kind,
        "verdict": result.verdict,
        "exit_code": result.exit_code,
        "base": result.base_label,
        "new": result.new_label,
        "settings": {
            "metrics": list(s.metrics),
            "max_regression": s.max_regression,
            "confidence": s.confidence,
            "detectable_bound": s.detectable_bound,
            "allow_drift": s.allow_drift,
            "require_wall": s.require_wall,
            "per_trial_machine": s.per_trial_machine,
        },
        "notes": _notes(result),
        "comparisons": [
            {
                "variant": d.comparison.variant,
                "metric": d.comparison.metric,
                "verdict": result.shown(d),
                "reason": d.reason,
                "n_base": d.comparison.n_base,
                "n_new": d.comparison.n_new,
                "base_median": d.comparison.base_median,
                "new_median": d.comparison.new_median,
                "ratio": _finite(d.comparison.ratio),
                "ci_low": _finite(d.comparison.shift.low),
                "ci_high": _finite(d.comparison.shift.high),
                "ci_level": d.comparison.shift.level,
                "p_adjusted": d.p_adjusted,
                "detectable": _finite(d.detectable),
                "machine_slope": _machine_slope(d),
            }
            for d in result.decisions
        ],
        "failures": [
            {
                "variant": f.variant,
                "verdict": f.verdict,
                "base_failed": f.base_failed,
                "base_n": f.base_n,
                "new_failed": f.new_failed,
                "new_n": f.new_n,
                "p_adjusted": f.p_adjusted,
                "first_error": f.first_error,
            }
            for f in result.failing
        ],
        "budgets": [
            {"variant": v, "metric": m, "median": med, "limit": lim, "ok": ok}
            for v, m, med, lim, ok in result.budgets
        ],
        "unmatched": list(result.unmatched),
    }
    return json.dumps(document, indent=2) + "\n"


def _machine_slope(decision: Decision) -> float | None:
    machine = decision.comparison.machine
    return None if machine is None else round(machine.slope, 4)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


class GateJsonExporter:
    format = "json"

    def __init__(self, kind: str = "coldstart-bench.gate") -> None:
        self.kind = kind

    def export(self, result: GateResult) -> list[Output]:
        name = "compare.json" if self.kind.endswith("compare") else "gate.json"
        return [Output.text(name, gate_json(result, self.kind))]
