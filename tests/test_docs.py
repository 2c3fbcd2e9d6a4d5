"""The docs site builds strictly from this checkout, its references cover every command,
every scenario key and every results field, its scenario examples are valid, and the
README stays a front page."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO

from coldstart_bench.cli.app import COMMANDS
from coldstart_bench.results import schema as results_schema
from coldstart_bench.scenario import schema
from coldstart_bench.scenario.reader import parse_scenario
from coldstart_bench.scenario.settings import LoadSettings
from coldstart_bench.scenario.vocabulary import HARNESS_FACTOR_DOCS, HARNESS_FACTORS

DOCS = REPO / "docs"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=280,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def text_of(page: Path) -> str:
    """A built page's text, tags and entities left out."""
    html = page.read_text(encoding="utf-8")
    return re.sub(r"<[^>]+>", " ", html).replace("&quot;", '"').replace("&amp;", "&")


def test_every_command_has_its_help_in_the_site(site: Path):
    page = text_of(site / "reference" / "cli.html")
    for entry in COMMANDS:
        assert f"coldstart {entry.name}" in page, entry.name
        assert "usage: coldstart" in page.lower()
    for sub in ("save", "list", "rm"):
        assert f"coldstart baseline {sub}" in page


def scenario_models() -> list[type]:
    found = [schema.Scenario]
    for model in found:
        for info in model.model_fields.values():
            for arg in _types_in(info.annotation):
                if isinstance(arg, type) and issubclass(arg, schema._Model) and arg not in found:
                    found.append(arg)
    return found


def _types_in(annotation: object) -> list[object]:
    import typing

    args = typing.get_args(annotation)
    return [annotation, *(t for a in args for t in _types_in(a))]


def test_every_scenario_key_is_described_and_in_the_site(site: Path):
    page = text_of(site / "reference" / "scenario.html")
    models = scenario_models()
    assert len(models) >= 12  # every table a scenario can hold
    for model in models:
        for name, info in model.model_fields.items():
            assert info.description, f"{model.__name__}.{name} has no docstring"
            assert f" {name} " in page, f"{model.__name__}.{name}"
    for factor in HARNESS_FACTORS:
        assert factor in page
    assert set(HARNESS_FACTOR_DOCS) == set(HARNESS_FACTORS)


def test_every_results_field_is_described_and_in_the_site(site: Path):
    sys.path.insert(0, str(DOCS / "hooks"))
    try:
        from reference import _attribute_docstrings
    finally:
        sys.path.remove(str(DOCS / "hooks"))
    page = text_of(site / "reference" / "results.html")
    records = [
        c
        for c in vars(results_schema).values()
        if dataclasses.is_dataclass(c) and c.__module__ == results_schema.__name__
    ]
    for record in [*records, LoadSettings]:
        if record is results_schema.ConnectionSamples:
            continue  # connbench's samples, never stored in a run
        described = _attribute_docstrings(record)
        for field in dataclasses.fields(record):
            assert described.get(field.name), f"{record.__name__}.{field.name} has no docstring"
            assert f" {field.name} " in page, f"{record.__name__}.{field.name}"


def test_the_scenario_examples_in_the_docs_are_valid():
    guide = (DOCS / "how-to" / "write-a-scenario.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", guide, flags=re.S)
    example = next(b for b in blocks if "[[services.when]]" in b)
    loaded = parse_scenario(example, source="write-a-scenario.md")
    assert len(loaded.variants) == 12  # 2 × 2 × 2 × 2 minus the four with tls=on,pooling=off
    assert loaded.scenario.setup == [["make-model", "--out", "{model_dir}"]]
    assert loaded.scenario.requires[0].levels == {"device": ("cuda",)}
    assert loaded.scenario.prepare == [["sync"]]


def test_the_readme_is_a_front_page_with_the_two_commands():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 300
    assert (
        "python3 -m pip install -e '.[target]' && coldstart run scenarios/quickstart.toml" in readme
    )
    assert "python3 -m pip install -e '.[target,dev]' && python3 -m pytest" in readme
    for link in re.findall(r"\]\(((?:docs/|CONTRIBUTING)[^)#]+)", readme):
        assert (REPO / link).exists(), link
