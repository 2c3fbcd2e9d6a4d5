"""Reading a scenario file: TOML → a validated :class:`~coldstart_bench.scenario.schema.Scenario`
with its variants, or one :class:`ScenarioError` that lists every problem."""

from __future__ import annotations

import dataclasses
import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from coldstart_bench.errors import ScenarioError
from coldstart_bench.scenario.checks import check_cross_references
from coldstart_bench.scenario.matrix import (
    EXPAND_LIMIT,
    Variant,
    combinations,
    expand_variants,
    iter_variants,
)
from coldstart_bench.scenario.messages import PathError, did_you_mean, path_problem, problems
from coldstart_bench.scenario.schema import Scenario


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario together with where it came from."""

    scenario: Scenario
    path: Path
    text: str

    @property
    def name(self) -> str:
        return self.scenario.name or self.path.stem

    @property
    def combinations(self) -> int:
        """The matrix's combinations of levels, before exclude rules: counted, not made."""
        return combinations(self.scenario)

    @functools.cached_property
    def variants(self) -> tuple[Variant, ...]:
        """Made when first asked for; a matrix over :data:`EXPAND_LIMIT` combinations raises
        :class:`MatrixTooLarge` instead of filling the memory."""
        return tuple(expand_variants(self.scenario))


def read_scenario(path: str | Path) -> LoadedScenario:
    """Read, parse and validate a scenario file; raise :class:`ScenarioError` on any problem."""
    file = Path(path)
    source = str(path)
    if not file.exists():
        raise ScenarioError(source, ["no such file"])
    if file.is_dir():
        raise ScenarioError(source, ["is a directory; expected a scenario .toml file"])
    try:
        raw = file.read_bytes()
    except PermissionError:
        raise ScenarioError(source, ["cannot read the file: permission denied"]) from None
    except OSError as exc:
        raise ScenarioError(source, [f"cannot read the file: {exc.strerror or exc}"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(source, [f"not UTF-8 text (byte {exc.start})"]) from None
    return parse_scenario(text, source=source, path=file)


def with_vars(loaded: LoadedScenario, overrides: Mapping[str, str]) -> LoadedScenario:
    """The scenario with some of its ``[vars]`` set to other values (``coldstart run
    --var``). Only declared variables can be set, so a typo cannot pass silently."""
    if not overrides:
        return loaded
    declared = loaded.scenario.vars
    for key in overrides:
        if key not in declared:
            extra = did_you_mean(key, declared)
            known = ", ".join(declared) or "none"
            raise ScenarioError(
                str(loaded.path), [f"--var {key}: not a [vars] name{extra}; declared: {known}"]
            )
    scenario = loaded.scenario.model_copy(update={"vars": {**declared, **overrides}})
    try:
        check_cross_references(scenario)
    except PathError as exc:
        raise ScenarioError(str(loaded.path), [f"--var: {path_problem(exc)}"]) from None
    return dataclasses.replace(loaded, scenario=scenario)


def parse_scenario(
    text: str, *, source: str = "<scenario>", path: Path | None = None
) -> LoadedScenario:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, [f"TOML syntax error: {exc}"]) from None
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(source, problems(exc, Scenario)) from None
    try:
        check_cross_references(scenario)
    except PathError as exc:
        raise ScenarioError(source, [path_problem(exc)]) from None
    if combinations(scenario) <= EXPAND_LIMIT and next(iter_variants(scenario), None) is None:
        raise ScenarioError(source, ["matrix.exclude: the exclude rules remove every variant"])
    return LoadedScenario(scenario=scenario, path=path or Path(source), text=text)
