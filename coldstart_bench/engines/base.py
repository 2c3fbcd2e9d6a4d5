"""What an engine says about itself: its log-phase preset, the command that prepares it,
its scenarios and its guide (see the package's docstring).

A preset is a named set of ``log_phases`` for a server that prints its start-up but reports
no phases: ``log_phases = "vllm"`` instead of the list. Each pattern was read off the
server's own output (the version named), and each phase ends at the first line that
matches. A pattern with a named group ``seconds`` (or ``ms``) also records the duration the
server printed for that step itself, beside the one measured from the log lines' arrival.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PresetPhase:
    name: str
    until: str
    covers: str  # what happens in it, for the docs


@dataclass(frozen=True)
class LogPhasePreset:
    name: str
    server: str  # which server and version the patterns were read from
    phases: tuple[PresetPhase, ...]


@dataclass(frozen=True)
class Preparation:
    """A command that prepares an engine once (a venv of its own, a converted model):
    ``coldstart NAME`` runs ``main(argv)`` of ``module``, and ``NAME --check`` says
    whether it is done (a scenario's ``[[requires]]`` runs that)."""

    command: str
    module: str
    summary: str


@dataclass(frozen=True)
class Engine:
    """A real server measured as it is: how its start-up is read, how it is prepared, the
    scenarios that measure it and the guide that explains them."""

    name: str
    title: str
    preset: LogPhasePreset | None
    scenarios: tuple[str, ...]  # under scenarios/
    guide: str  # under docs/
    preparation: Preparation | None = None
