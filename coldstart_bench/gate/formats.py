"""Gate and compare results as files: GitHub Markdown for a step summary, JUnit XML for
test reports, CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from xml.etree import ElementTree as ET

from coldstart_bench.gate.decide import GateResult, compare_verdict
from coldstart_bench.gate.rule import Comparison
from coldstart_bench.report.markdown import md_escape


def gate_markdown(result: GateResult) -> str:
    s = result.settings
    icon = {"pass": "✅", "fail": "❌", "inconclusive": "⚠️"}[result.verdict]
    lines = [
        f"## {icon} cold-start gate: {result.verdict}",
        "",
        f"{md_escape(result.new_label)} vs baseline {md_escape(result.base_label)}; "
        f"regression = slower "
        f"by more than {s.max_regression:.0%} **and** significant at {s.confidence:.0%} "
        f"(one-sided Mann–Whitney U, Holm-corrected over {len(result.decisions)} comparison(s)).",
        "",
        "| verdict | variant | metric | base median | new median | change | 95 % CI "
        "| p (adj.) | n base/new | outliers |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for d in result.decisions:
        c = d.comparison
        lines.append(
            f"| {d.verdict} | {md_escape(c.variant)} | {c.metric} | {c.base_median:,.1f} | "
            f"{c.new_median:,.1f} | {c.change_pct:+.1f} % | "
            f"[{(c.ratio_low - 1) * 100:+.1f}, {(c.ratio_high - 1) * 100:+.1f}] % | "
            f"{d.p_adjusted:.3g} | {c.n_base}/{c.n_new} | {c.outliers_base}/{c.outliers_new} |"
        )
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
    if notes or result.unmatched:
        lines.append("")
        lines += [
            f"- {md_escape(d.comparison.variant)} {d.comparison.metric}: {md_escape(d.reason)}"
            for d in notes
        ]
        lines += [f"- unmatched: {md_escape(u)}" for u in result.unmatched]
    return "\n".join(lines) + "\n"


def gate_junit(result: GateResult) -> str:
    """One test case per gated (variant, metric) and per budget."""
    cases = len(result.decisions) + len(result.budgets)
    failures = sum(d.verdict == "regression" for d in result.decisions)
    failures += sum(not ok for *_r, ok in result.budgets)
    errors = sum(d.verdict == "inconclusive" for d in result.decisions)
    suite = ET.Element(
        "testsuite",
        name="coldstart gate",
        tests=str(cases),
        failures=str(failures),
        errors=str(errors),
    )
    for d in result.decisions:
        c = d.comparison
        case = ET.SubElement(suite, "testcase", classname=f"coldstart.{c.variant}", name=c.metric)
        if d.verdict == "regression":
            ET.SubElement(case, "failure", message=d.reason).text = d.reason
        elif d.verdict == "inconclusive":
            ET.SubElement(case, "error", message=d.reason).text = d.reason
        else:
            ET.SubElement(case, "system-out").text = f"{d.verdict}: {d.reason}"
    for variant, metric, median, limit, ok in result.budgets:
        case = ET.SubElement(
            suite, "testcase", classname=f"coldstart.{variant}", name=f"{metric} budget"
        )
        message = f"median {median:.1f} ms vs budget {limit:.1f} ms"
        if not ok:
            ET.SubElement(case, "failure", message=message).text = message
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


COMPARE_CSV_COLUMNS = (
    "variant",
    "metric",
    "n_base",
    "n_new",
    "base_median",
    "new_median",
    "ratio",
    "ci_low",
    "ci_high",
    "p_two_sided",
    "verdict",
)


def compare_cells(c: Comparison) -> list[str]:
    """A comparison's figures as the terminal and Markdown show them."""
    return [
        f"{c.base_median:,.1f}",
        f"{c.new_median:,.1f}",
        f"{c.ratio:.3f}",
        f"[{c.ratio_low:.3f}, {c.ratio_high:.3f}]",
        f"{c.p_two_sided:.3g}",
    ]


def compare_markdown(rows: Sequence[Comparison], alpha: float, unmatched: Sequence[str]) -> str:
    heads = ["variant", "metric", "base", "new", "ratio", "95 % CI", "p", "verdict"]
    lines = ["| " + " | ".join(heads) + " |", "|---|---|---:|---:|---:|---:|---:|---|"]
    for c in rows:
        cells = " | ".join(compare_cells(c))
        lines.append(
            f"| {md_escape(c.variant)} | {c.metric} | {cells} | {compare_verdict(c, alpha)} |"
        )
    return "\n".join(lines) + "\n" + "".join(f"\nunmatched: {u}" for u in unmatched)


def compare_csv(rows: Sequence[Comparison], alpha: float) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COMPARE_CSV_COLUMNS)
    for c in rows:
        writer.writerow(
            [
                c.variant,
                c.metric,
                c.n_base,
                c.n_new,
                c.base_median,
                c.new_median,
                c.ratio,
                c.ratio_low,
                c.ratio_high,
                c.p_two_sided,
                compare_verdict(c, alpha),
            ]
        )
    return buffer.getvalue()
