"""The docs site's references, generated from the code at every build so they cannot drift
from it (an mkdocs hook):

- ``reference/cli.md``: every command's ``--help``, as the CLI prints it;
- ``reference/scenario.md``: every scenario key, from the schema's pydantic models (type,
  default, bounds, and the field's docstring), the harness factors and built-in variables;
- ``reference/results.md``: every field of the results format, from the record types'
  attribute docstrings, the format's version history, and the per-trial metrics.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import itertools
import subprocess
import sys
import textwrap
import types
import typing
from typing import Any

from mkdocs.structure.files import File, Files

GENERATED = {
    "reference/cli.md": "cli_reference",
    "reference/scenario.md": "scenario_reference",
    "reference/results.md": "results_reference",
}


def on_config(config: Any) -> Any:
    """Each engine's guide in the how-to section of the navigation, where the nav does not
    list it yet: a new engine needs no edit of mkdocs.yml."""
    from coldstart_bench.engines import ENGINES

    for section in config["nav"] or []:
        if isinstance(section, dict) and "How-to guides" in section:
            guides = section["How-to guides"]
            listed = {next(iter(g.values())) for g in guides if isinstance(g, dict)}
            for engine in ENGINES.values():
                if engine.guide not in listed:
                    guides.append({f"Measure {engine.title}": engine.guide})
    return config


def on_files(files: Files, config: Any) -> Files:
    for path, make in GENERATED.items():
        files.append(File.generated(config, path, content=globals()[make]()))
    return files


# --- the command line ----------------------------------------------------------------------


def cli_reference() -> str:
    from typer.testing import CliRunner

    from coldstart_bench.cli.app import COMMANDS, app
    from coldstart_bench.cli.help import PANELS

    runner = CliRunner()

    def help_of(*words: str) -> str:
        result = runner.invoke(app, [*words, "--help"], prog_name="coldstart")
        if result.exit_code != 0:
            raise RuntimeError(f"coldstart {' '.join(words)} --help failed: {result.output}")
        return result.output

    out = [
        "# Command line",
        "",
        "Generated from the CLI itself: each section is what `coldstart COMMAND --help` prints.",
        "",
        "```text",
        help_of().rstrip(),
        "```",
        "",
    ]
    for panel in PANELS:
        out += [f"## {panel}", ""]
        for entry in (e for e in COMMANDS if e.panel == panel):
            out += [f"### coldstart {entry.name}", "", entry.summary, ""]
            target = panel == "Targets"
            text = _target_help(entry.name) if target else help_of(entry.name)
            out += ["```text", text.rstrip(), "```", ""]
            if entry.name == "baseline":
                for sub in ("save", "list", "rm"):
                    out += [f"#### coldstart baseline {sub}", ""]
                    out += ["```text", help_of("baseline", sub).rstrip(), "```", ""]
    return "\n".join(out + _gate_json_reference())


def _gate_json_reference() -> list[str]:
    from coldstart_bench.gate.formats import GATE_JSON_FIELDS

    out = [
        "## The verdict as JSON",
        "",
        "`coldstart gate --json` and `coldstart compare --json` print one object instead of "
        "the table (`coldstart_bench/gate/formats.py`); its exit code is the command's.",
        "",
        "| key | what it holds |",
        "|---|---|",
    ]
    out += [f"| `{key}` | {_cell(text)} |" for key, text in GATE_JSON_FIELDS.items()]
    return [*out, ""]


def _target_help(name: str) -> str:
    """The reference target's commands are argparse programs run without the harness."""
    done = subprocess.run(
        [sys.executable, "-m", "coldstart_bench.target", name, "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "88", "PATH": "/usr/bin:/bin"},
    )
    if done.returncode != 0:
        raise RuntimeError(f"coldstart {name} --help failed: {done.stderr}")
    return done.stdout


# --- the scenario file ---------------------------------------------------------------------


def scenario_reference() -> str:
    from coldstart_bench.engines import ENGINES, PRESETS
    from coldstart_bench.scenario import schema
    from coldstart_bench.scenario.patterns import PATTERNS
    from coldstart_bench.scenario.vocabulary import (
        BUILTIN_VARIABLES,
        HARNESS_FACTOR_DOCS,
        HARNESS_FACTORS,
    )

    tables = [
        ("Top level", schema.Scenario),
        ("[[services]]", schema.Service),
        ("ready = { ... } (in a service)", schema.ReadyRule),
        ("log_phases = [{ ... }] (in a service)", schema.LogPhase),
        ("[[services.when]]", schema.ConditionalArgs),
        ("[requests]", schema.Requests),
        ("[load]", schema.LoadConfig),
        ("[load.slo]", schema.SloConfig),
        ("[[requires]]", schema.Requirement),
        ("[page_cache]", schema.PageCacheConfig),
        ("[tls]", schema.TlsConfig),
        ("[gate]", schema.GateConfig),
        ("[chaos]", schema.ChaosConfig),
        ("[fleet]", schema.FleetConfig),
    ]
    out = [
        "# Scenario file",
        "",
        "Generated from the scenario schema (`coldstart_bench/scenario/schema.py`): every key "
        "a scenario file may hold, its type, its default and what it does. Unknown keys are "
        "errors (with the nearest valid key suggested). A value described as *templated* may "
        "use `{variables}` (listed at the end).",
        "",
    ]
    for title, model in tables:
        out += [f"## {title}", ""]
        doc = model.__dict__.get("__doc__")  # its own, not BaseModel's
        if doc and model is not schema.Scenario:
            out += [" ".join(doc.split()), ""]
        out += ["| key | type | default | what it does |", "|---|---|---|---|"]
        for name, info in model.model_fields.items():
            key = f"`{name}`"
            kind = _type_text(info.annotation)
            bounds = _bounds(info.metadata)
            default = "required" if info.is_required() else _default_text(info)
            text = " ".join((info.description or "").split())
            out.append(f"| {key} | {kind}{bounds} | {default} | {_cell(text)} |".replace("\n", " "))
        out.append("")
    out += [
        "## Harness factors",
        "",
        "A matrix factor with one of these names is acted on by the harness itself (any "
        "other factor is only a template variable).",
        "",
        "| factor | levels | what the harness does |",
        "|---|---|---|",
    ]
    for name, levels in HARNESS_FACTORS.items():
        shown = " / ".join(f"`{lv}`" for lv in levels) or "any number ≥ 0"
        out.append(f"| `{name}` | {shown} | {_cell(HARNESS_FACTOR_DOCS[name])} |")
    out += [
        "",
        "## Load patterns",
        "",
        "`[load] pattern` takes one of these (each is a module of "
        "`coldstart_bench/scenario/patterns/`).",
        "",
        "| pattern | what it sends | needs | its own keys | drawn as |",
        "|---|---|---|---|---|",
    ]
    for described in PATTERNS.values():
        needs = ", ".join(f"`{k}`" for k in described.needs) or "—"
        keys = ", ".join(f"`{k}`" for k in sorted(described.keys)) or "—"
        drawn = {"timeline": "arrivals since ready", "ranked": "requests fastest first"}
        out.append(
            f"| `{described.name}` | {_cell(described.doc)} | {needs} | {keys} | "
            f"{drawn[described.panel]} |"
        )
    out += ["", "## Engines", ""]
    out += [
        "Real servers with a home of their own in `coldstart_bench/engines/`: how their "
        "start-up is read, how they are prepared, the scenarios that measure them.",
        "",
        "| engine | log_phases preset | prepared by | scenarios | guide |",
        "|---|---|---|---|---|",
    ]
    for engine in ENGINES.values():
        preset = f"`{engine.preset.name}`" if engine.preset else "—"
        prepared = f"`coldstart {engine.preparation.command}`" if engine.preparation else "—"
        scenarios = ", ".join(f"`scenarios/{name}`" for name in engine.scenarios)
        out.append(
            f"| {engine.title} | {preset} | {prepared} | {scenarios} | "
            f"[{engine.guide}](../{engine.guide}) |"
        )
    out += ["", "## log_phases presets", ""]
    out += [
        '`log_phases = "NAME"` stands for the list below. Each phase ends at the first line '
        "of the server's output that matches; a `seconds` group is the server's own figure for "
        "it, recorded beside ours.",
        "",
    ]
    for preset in PRESETS.values():
        out += [f"### `{preset.name}`", "", f"Written against {preset.server}.", ""]
        out += ["| phase | ends at the first line matching | covers |", "|---|---|---|"]
        out += [f"| `{p.name}` | `{_cell(p.until)}` | {_cell(p.covers)} |" for p in preset.phases]
        out.append("")
    out += [
        "",
        "## Template variables",
        "",
        "Besides every matrix factor and every `[vars]` name; `{ports.NAME}` is another "
        "service's port; `{{` and `}}` write literal braces.",
        "",
        "| variable | value |",
        "|---|---|",
    ]
    out += [f"| `{{{name}}}` | {_cell(text)} |" for name, text in BUILTIN_VARIABLES.items()]
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _type_text(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_text(args[0])
    if origin in (types.UnionType, typing.Union):
        members = [a for a in args if a is not type(None)]
        if set(members) == LEVEL_TYPES:
            return "level"
        if set(members) == LEVEL_TYPES | {list[LEVEL]}:
            return "level or list of levels"
        return " or ".join(dict.fromkeys(_type_text(a) for a in members))
    if origin is typing.Literal:
        return " \\| ".join(f'`"{a}"`' for a in args)
    if origin is list:
        return f"list of {_type_text(args[0])}"
    if origin is dict:
        return f"table of {_type_text(args[1])}"
    names = {str: "string", int: "integer", float: "number", bool: "boolean"}
    if annotation in names:
        return names[annotation]
    if annotation is Any:
        return "any"
    if inspect.isclass(annotation):
        return "table"
    return str(annotation)


LEVEL_TYPES = {str, int, float, bool}  # a factor's level, as a scenario may write it
LEVEL = str | int | float | bool


def _bounds(metadata: list[Any]) -> str:
    words = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<", "min_length": "at least"}
    found = []
    for item in metadata:
        for attr, word in words.items():
            value = getattr(item, attr, None)
            if value is not None:
                found.append(f"{word} {value:,}" if attr != "min_length" else f"{word} {value}")
    return f" ({', '.join(found)})" if found else ""


def _default_text(info: Any) -> str:
    value = info.default
    if value is None:
        return "unset"
    if hasattr(value, "model_dump"):
        return "see its table"
    if value in ({}, [], ""):
        return "empty"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    return f"`{value}`"


# --- the results format --------------------------------------------------------------------


def results_reference() -> str:
    from coldstart_bench.analysis.metrics import METRICS
    from coldstart_bench.results import run_file, schema
    from coldstart_bench.scenario.settings import LoadSettings

    records = [
        schema.TrialRecord,
        schema.ServiceRecord,
        schema.CpuWork,
        schema.RequestRecord,
        schema.PhaseRecord,
        schema.LoadRecord,
        schema.NodeIdentity,
        LoadSettings,
        schema.PageCacheState,
        schema.CompileCacheState,
        schema.ChaosOutcome,
        schema.EscapedProcess,
        schema.MachineSample,
        schema.FleetRecord,
    ]
    module_doc = inspect.getdoc(schema) or ""
    out = [
        "# Results format",
        "",
        "Generated from the record types (`coldstart_bench/results/schema.py`). Every line of "
        "`trials.jsonl` is one trial record; nested records appear as JSON objects, tuples as "
        f"arrays. The current version is **{schema.SCHEMA_VERSION}**.",
        "",
        '--8<-- "snippets/results-layout.md"',
        "",
        "## Versions",
        "",
        module_doc[module_doc.index("Schema history") :].replace(":data:", ""),
        "",
    ]
    for record in records:
        out += [f"## {record.__name__}", ""]
        doc = record.__dict__.get("__doc__")
        if doc and not doc.startswith(record.__name__ + "("):
            out += [" ".join(doc.split()), ""]
        described = _attribute_docstrings(record)
        hints = typing.get_type_hints(record)
        out += ["| field | type | meaning |", "|---|---|---|"]
        for f in dataclasses.fields(record):
            text = " ".join(described.get(f.name, "").split())
            out.append(f"| `{f.name}` | {_record_type(hints[f.name])} | {_cell(text)} |")
        out.append("")
    out += [
        "## run.json",
        "",
        "One per run, replaced atomically as the run goes (`coldstart_bench/results/run_file.py`)"
        "; read back and validated by every command that reads a run. Every key but `kind` "
        "may be missing (a run interrupted early); keys this version does not know are kept.",
        "",
    ]
    for model in (
        run_file.RunMetadata,
        run_file.ScenarioInfo,
        run_file.PlanInfo,
        run_file.PlannedVariant,
        run_file.Owner,
    ):
        out += [f"### {model.__name__}", "", " ".join((model.__doc__ or "").split()), ""]
        out += ["| key | type | meaning |", "|---|---|---|"]
        for name, info in model.model_fields.items():
            text = " ".join((info.description or "").split())
            out.append(f"| `{name}` | {_type_text(info.annotation)} | {_cell(text)} |")
        out.append("")
    out += [
        "## Per-trial metrics",
        "",
        "Every figure a report shows is a statistic (median, p95, bootstrap interval) over a "
        "variant's measured ok trials of one of these per-trial values "
        "(`coldstart_bench/analysis/metrics.py`, one record each); `--metric` takes these "
        "names. *Effects*: factor effects are computed for it; *0 by construction*: a level "
        "can make it exactly 0 by how it works, so a ratio to it is no finding.",
        "",
        "| metric | one trial's value | unit | better | effects |",
        "|---|---|---|---|---|",
    ]
    for m in METRICS:
        notes = ["yes" if m.effect_rank is not None else ""]
        if m.zero_by_construction:
            notes.append("0 by construction")
        if m.gated_by_default:
            notes.append("gated by default")
        out.append(
            f"| `{m.name}` | {_cell(m.wording)} | {m.unit} | {m.better} | "
            f"{_cell(', '.join(n for n in notes if n))} |"
        )
    return "\n".join(out) + "\n"


def _attribute_docstrings(cls: type) -> dict[str, str]:
    """field → the string literal written right after it (an attribute docstring)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    found = {}
    for node, after in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            found[node.target.id] = inspect.cleandoc(after.value.value)
    return found


def _record_type(hint: Any) -> str:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        kinds = [_record_type(a) for a in args if a is not type(None)]
        return " or ".join(kinds) + " or null"
    if origin is tuple:
        return f"array of {_record_type(args[0])}"
    if origin is typing.Literal:
        return " \\| ".join(f'`"{a}"`' for a in args)
    if origin is dict:
        return "object"
    if dataclasses.is_dataclass(hint):
        return f"[{hint.__name__}](#{hint.__name__.lower()})"
    names = {str: "string", int: "integer", float: "number", bool: "boolean"}
    return names.get(hint, str(hint).replace("typing.", ""))
