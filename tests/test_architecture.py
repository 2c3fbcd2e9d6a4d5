"""The layout keeps its promises: the import contracts in pyproject.toml hold, no module
imports itself round a cycle, modules stay small, and the target's commands are the ones
``coldstart --help`` names."""

from __future__ import annotations

import subprocess
import sys

import grimp
import pytest
from helpers import REPO

from coldstart_bench.target_commands import TARGET_COMMANDS

PACKAGE = REPO / "coldstart_bench"
LONG_MODULE_LINES = 400
# A module longer than that says why in its first lines, in a comment starting so:
LONG_MODULE_REASON = "# Longer than 400 lines:"


def test_the_import_contracts_hold():
    done = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command as m; m()"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def strongly_connected(graph: grimp.ImportGraph) -> list[set[str]]:
    """Tarjan's algorithm over the module graph: every group of modules that import each
    other round a cycle (a group of one is no cycle unless it imports itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == module:
                    break
            groups.append(group)

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return groups


def test_no_module_imports_itself_round_a_cycle():
    # Imports made only for type checking count too: a cycle hidden behind
    # TYPE_CHECKING is still two modules that cannot be understood one without the other.
    graph = grimp.build_graph("coldstart_bench", exclude_type_checking_imports=False)
    # The package's own __init__ names its public members lazily (for type checkers);
    # every other edge counts.
    graph.remove_module("coldstart_bench")
    cycles = [g for g in strongly_connected(graph) if len(g) > 1]
    assert cycles == []


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for module in ("a", "b", "c"):
        graph.add_module(module)
    graph.add_import(importer="a", imported="b")
    graph.add_import(importer="b", imported="a")
    graph.add_import(importer="c", imported="a")
    assert [g for g in strongly_connected(graph) if len(g) > 1] == [{"a", "b"}]


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_a_long_module_says_why(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    if len(lines) > LONG_MODULE_LINES:
        head = "\n".join(lines[:15])
        assert LONG_MODULE_REASON in head, f"{len(lines)} lines and no reason given"


def test_help_lists_the_target_and_engine_commands_entry_hands_on():
    from coldstart_bench.cli.app import COMMANDS
    from coldstart_bench.engines import COMMANDS as ENGINE_COMMANDS

    listed = [e.name for e in COMMANDS if e.panel == "Targets"]
    assert listed == [*TARGET_COMMANDS, *ENGINE_COMMANDS]
    assert {e.module for e in COMMANDS if e.name in ENGINE_COMMANDS} == {"engines"}


def test_an_engine_command_runs_without_the_harness_cli():
    # `coldstart prepare-vllm --help` goes to the engine before typer is imported
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "coldstart_bench", "prepare-vllm", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "prepare-vllm" in done.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert "typer" not in imported and "coldstart_bench.cli.app" not in imported
