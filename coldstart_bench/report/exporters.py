"""One interface for every form a result is shown in (hyperfine's ``Exporter`` is the
model): an exporter takes the whole result and gives what it writes — files by name, or a
stream for the terminal. A run's report (:class:`~.build.RunReport`) has the terminal,
Markdown, CSV, PNG and HTML exporters; a gate's result (``gate.formats``) the terminal,
Markdown, JUnit, CSV and JSON ones. Whoever calls them decides where the outputs go."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeVar

R_contra = TypeVar("R_contra", contravariant=True)

STREAM = ""  # the name of an output that is not a file: the terminal


@dataclass(frozen=True)
class Output:
    """What an exporter gives: the file's name (:data:`STREAM`: the terminal) and its
    bytes."""

    name: str
    data: bytes

    @classmethod
    def text(cls, name: str, text: str) -> Output:
        return cls(name, text.encode("utf-8"))


class Exporter(Protocol[R_contra]):
    """One output format of a result."""

    format: str
    """Its name, as ``--format`` takes it (``html``, ``md``, ``csv``, ``junit``...)."""

    def export(self, result: R_contra) -> list[Output]:
        """Everything this format writes of ``result``."""
        ...
