"""The options ``coldstart gate`` and ``coldstart compare`` share, and how they become a
comparison's settings: the same names, the same defaults (the scenario's ``[gate]`` table,
else the built-in ones), so that both judge a comparison alike."""

from __future__ import annotations

from typing import Annotated, Any

import typer

MetricOption = Annotated[
    list[str] | None,
    typer.Option(
        "--metric",
        metavar="METRIC",
        help="A metric to compare, e.g. ready_ms, or a start-up phase as phase:NAME "
        "(repeatable; default: the scenario's [gate] metrics, else cold_ttft_ms).",
    ),
]
MaxRegressionOption = Annotated[
    str | None,
    typer.Option(
        "--max-regression",
        metavar="PERCENT",
        help="The largest slowdown tolerated, e.g. 5% (default: the scenario's [gate], else 5%).",
    ),
]
PerTrialMachineOption = Annotated[
    bool | None,
    typer.Option(
        "--per-trial-machine/--no-per-trial-machine",
        help="Read each trial's times at its side's typical machine speed, by the "
        "calibration before it (default), or as measured.",
        show_default=False,
    ),
]
MaxDetectableOption = Annotated[
    str | None,
    typer.Option(
        "--max-detectable",
        metavar="PERCENT",
        help="A pass needs the comparison able to find a slowdown this large with 80 % power, "
        "e.g. 15% (default: the scenario's [gate], else 2 × --max-regression).",
    ),
]
ConfidenceOption = Annotated[
    float | None,
    typer.Option(
        "--confidence",
        metavar="C",
        help="Confidence of the tests and intervals, e.g. 0.95 (default: the scenario's "
        "[gate], else 0.95).",
    ),
]


def parse_budgets(items: list[str]) -> dict[str, float]:
    from coldstart_bench.errors import GateInputError

    budgets = {}
    for item in items:
        metric, sep, value = item.partition("=")
        try:
            budgets[metric.strip()] = float(value.strip().removesuffix("ms"))
        except ValueError:
            sep = ""
        if not sep:
            raise GateInputError(
                f"--budget expects metric=ms, e.g. cold_ttft_ms=1500; got {item!r}"
            )
    return budgets


def fraction(text: str | None, option: str) -> float | None:
    if text is None:
        return None
    from coldstart_bench.errors import GateInputError
    from coldstart_bench.scenario.schema import parse_fraction

    try:
        return parse_fraction(text)
    except ValueError as exc:
        raise GateInputError(f"{option}: {exc}") from None


def settings_of(
    run: Any,
    metric: list[str] | None,
    max_regression: str | None,
    confidence: float | None,
    **more: Any,
) -> Any:
    """The comparison's settings: the command line over the scenario's [gate] table."""
    from coldstart_bench.errors import GateInputError
    from coldstart_bench.gate.evaluate import settings_for

    if confidence is not None and not 0.5 < confidence < 1:
        raise GateInputError("--confidence must be between 0.5 and 1, e.g. 0.95")
    overrides = {
        "metrics": tuple(metric or ()),
        "max_regression": fraction(max_regression, "--max-regression"),
        "confidence": confidence,
        **more,
    }
    return settings_for(run, overrides)
