"""A fuzzer over scenario structures: a valid scenario mutated at random places (a value
of another type, an unknown or misspelt key, a key removed, an odd number, a stray
template variable). Every outcome is either a valid scenario or one ScenarioError whose
problems name a key path — never another exception, never a traceback from the CLI."""

from __future__ import annotations

import copy
import math
import re
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from coldstart_bench.cli.app import app
from coldstart_bench.errors import ScenarioError
from coldstart_bench.scenario.reader import parse_scenario

BASE: dict[str, Any] = {
    "name": "fuzz",
    "repetitions": 3,
    "warmup_trials": 1,
    "seed": 7,
    "vars": {"model": "tiny"},
    "setup": [["true"]],
    "matrix": {"pooling": ["on", "off"], "warmup": ["none", "startup"]},
    "services": [
        {
            "name": "llm",
            "command": ["server", "--port", "{port}", "--warmup", "{warmup}"],
            "env": {"THREADS": "2"},
            "ready": {"kind": "http", "path": "/health", "timeout_s": 30},
            "stop_grace_s": 5,
            "when": [{"match": {"warmup": "startup"}, "args": ["--eager"]}],
        }
    ],
    "requests": {"kind": "openai-chat", "count": 2, "max_tokens": 8, "prompts": ["a", "b"]},
    "gate": {"metrics": ["cold_ttft_ms"], "max_regression": "5%"},
}

TEXT = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=12)
SCALARS = st.one_of(
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    TEXT,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), inner, max_size=3),
    ),
    max_leaves=6,
)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "0.0"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f'"{k}" = {toml_value(v)}' for k, v in value.items()) + "}"
    raise TypeError(type(value))


def to_toml(data: dict[str, Any]) -> str:
    return "\n".join(f'"{k}" = {toml_value(v)}' for k, v in data.items()) + "\n"


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            found += paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += paths(v, (*prefix, i))
    return found


def container(data: Any, path: tuple) -> Any:
    for step in path[:-1]:
        data = data[step]
    return data


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        targets = paths(data)
        if not targets:
            break
        path = draw(st.sampled_from(targets))
        parent = container(data, path)
        kind = draw(st.sampled_from(["replace", "delete", "unknown", "typo", "template"]))
        key = path[-1]
        if kind == "replace":
            parent[key] = draw(VALUES)
        elif kind == "delete":
            del parent[key]
        elif kind == "unknown" and isinstance(parent, dict):
            parent[draw(st.from_regex(r"[a-z_]{1,10}", fullmatch=True))] = draw(VALUES)
        elif kind == "typo" and isinstance(parent, dict) and isinstance(key, str) and len(key) > 2:
            parent[key[:-1] + draw(st.sampled_from("xyz"))] = parent.pop(key)
        elif kind == "template":
            parent[key] = "{" + draw(st.from_regex(r"[a-z_]{1,8}", fullmatch=True)) + "}"
    return data


KEY_PATH = re.compile(r"^[\w.\[\]-]+: |^TOML syntax error|^the scenario|^[\w.\[\]-]+ ")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated())
def test_any_mutation_is_valid_or_one_clear_error(data: dict[str, Any]):
    text = to_toml(data)
    try:
        parse_scenario(text, source="fuzz.toml")
    except ScenarioError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem and "Traceback" not in problem
            assert KEY_PATH.match(problem), problem
        assert exc.exit_code == 2


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=mutated())
def test_the_cli_exits_2_without_a_traceback(data: dict[str, Any], tmp_path: Path):
    path = tmp_path / "fuzz.toml"
    path.write_text(to_toml(data))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
