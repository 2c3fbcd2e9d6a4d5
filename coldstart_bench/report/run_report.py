"""The one object a run's exporters are handed: the run's analysis, the headline as the
report words it, the plots (drawn once, for the PNG files and the HTML page alike) and the
profile session the run belongs to, if any."""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from coldstart_bench.analysis.run_analysis import RunAnalysis


@dataclass(frozen=True)
class Plot:
    name: str
    title: str
    png: bytes

    mime: str = "image/png"

    @property
    def data_uri(self) -> str:
        return f"data:{self.mime};base64," + base64.b64encode(self.png).decode("ascii")


@dataclass(frozen=True)
class ProfileView:
    """What the report shows of a ``coldstart profile`` session."""

    variant: str
    until: str
    overhead: list[tuple[str, str, str, str]]  # profiler, status, ok/n, median ms
    hot: list[tuple[str, list[tuple[str, str, str]]]]  # profiler, rows (name, self, total)
    images: list[Plot]
    links: list[tuple[str, str]]  # label, relative href
    messages: list[str]


@dataclass
class RunReport:
    """A run's report before it is written: what every exporter reads."""

    analysis: RunAnalysis
    headline: str  # the machine's busy line, then the headline's sentences
    profile: ProfileView | None = None
    draw: Callable[[RunAnalysis], list[Plot]] | None = field(default=None, repr=False)

    @functools.cached_property
    def plots(self) -> list[Plot]:
        """The plots, drawn the first time an exporter asks."""
        return self.draw(self.analysis) if self.draw is not None else []
