"""One trial as its metrics see it (:mod:`.metrics`): the values several of them share —
its first request, its later answered ones, the latencies of its load phases — each computed
once when first read, and the per-trial functions of the metrics that need more than a
field."""

from __future__ import annotations

import functools
from collections.abc import Callable

from coldstart_bench.analysis.load import goodput, latency_from_arrival, time_to_steady
from coldstart_bench.analysis.stats import percentile
from coldstart_bench.results.schema import LoadRecord, RequestRecord, ServiceRecord, TrialRecord


class TrialView:
    """One trial's values that several metrics share, each computed once when first read:
    its first request, its later answered ones, the latencies of its load phases."""

    def __init__(self, trial: TrialRecord) -> None:
        self.trial = trial

    @functools.cached_property
    def first(self) -> RequestRecord | None:
        return self.trial.requests[0] if self.trial.requests else None

    @functools.cached_property
    def later(self) -> list[RequestRecord]:
        """Requests 2..n of the trial that were answered."""
        return [r for r in self.trial.requests[1:] if r.status == "ok"]

    @functools.cached_property
    def startup_services(self) -> list[ServiceRecord]:
        """The services started for the trial, each once (a chaos restart's instance is a
        later record of the same name)."""
        seen: dict[str, ServiceRecord] = {}
        for service in self.trial.services:
            seen.setdefault(service.name, service)
        return list(seen.values())

    @functools.cached_property
    def cpu_measured(self) -> bool:
        return any(s.cpu is not None for s in self.startup_services)

    def cpu_sum(self, field: str) -> float | None:
        """A CPU-work figure summed over the start-up's services (None unless each has
        it: a sum of some of them would be no figure of the start-up)."""
        values = [getattr(s.cpu, field) if s.cpu is not None else None for s in
                  self.startup_services]  # fmt: skip
        if not values or any(v is None for v in values):
            return None
        return round(sum(values), 3)

    @property
    def pooled(self) -> bool:
        return self.trial.factors.get("pooling", "on") != "off"

    @functools.cached_property
    def loaded(self) -> bool:
        """A load trial, with the settings its figures are judged by."""
        return bool(self.trial.load) and self.trial.load_settings is not None

    def _phase(self, name: str) -> list[LoadRecord]:
        return [r for r in self.trial.load if r.phase == name]

    @functools.cached_property
    def cold(self) -> list[LoadRecord]:
        return self._phase("cold")

    @functools.cached_property
    def cold_latency(self) -> list[float]:
        return [v for r in self.cold if (v := latency_from_arrival(r)) is not None]

    @functools.cached_property
    def warm_latency(self) -> list[float]:
        return [v for r in self._phase("warm") if (v := latency_from_arrival(r)) is not None]

    @functools.cached_property
    def cold_p95(self) -> float | None:
        return percentile(self.cold_latency, 95)

    @functools.cached_property
    def warm_p95(self) -> float | None:
        return percentile(self.warm_latency, 95)


def first_field(field: str) -> Callable[[TrialView], float | None]:
    def value(view: TrialView) -> float | None:
        return getattr(view.first, field) if view.first is not None else None

    return value


def first_success(view: TrialView) -> float | None:
    answered = [
        r.request.start_ms + (r.request.total_ms or 0.0)
        for r in view.cold
        if r.request.status == "ok"
    ]
    return min(answered) if answered else None


def penalty(view: TrialView) -> float | None:
    cold, warm = view.cold_p95, view.warm_p95
    return cold / warm if cold and warm else None


def excess(view: TrialView) -> float | None:
    cold, warm = view.cold_p95, view.warm_p95
    return cold - warm if cold is not None and warm is not None else None


def steady(view: TrialView) -> float | None:
    judged = view.trial.load_settings
    assert judged is not None
    return time_to_steady(view.cold, view.warm_p95, judged.steady_margin, judged.steady_window)


def goodput_of(view: TrialView) -> float | None:
    assert view.trial.load_settings is not None
    return goodput(view.cold, view.trial.load_settings)
