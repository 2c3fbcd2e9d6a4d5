"""The command line as a user meets it: help in panels, one way to name a run, the
same options alike everywhere, version, and `python -m`."""

import subprocess
import sys

from helpers import REPO
from typer import main as typer_main
from typer.testing import CliRunner

from coldstart_bench import __version__
from coldstart_bench.cli.app import app

runner = CliRunner()


def test_help_lists_the_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "validate" in result.output and "run" in result.output


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"coldstart-bench {__version__}"


def test_python_dash_m_works_like_the_script():
    done = subprocess.run(
        [sys.executable, "-m", "coldstart_bench", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0
    assert "Usage: coldstart" in done.stdout


def after_help(expression: str) -> str:
    """What ``expression`` prints in a fresh interpreter that has just shown
    ``coldstart --help`` (the modules it loaded are in ``sys.modules``)."""
    code = (
        "import sys; from coldstart_bench.cli.app import app\n"
        "try:\n    app(['--help'], prog_name='coldstart')\nexcept SystemExit:\n    pass\n"
        f"print({expression})"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    return done.stdout + done.stderr


def test_help_does_not_import_heavy_libraries():
    heavy = "('pandas', 'matplotlib', 'httpx', 'pydantic', 'torch', 'numpy')"
    printed = after_help(f"'HEAVY', [m for m in {heavy} if m in sys.modules]")
    assert "HEAVY []" in printed, printed


def test_help_groups_the_commands_in_panels():
    result = runner.invoke(app, ["--help"])
    text = result.output
    panels = [text.index(f"\n{p}:\n") for p in ("Measure", "Analyse", "CI", "Targets")]
    assert panels == sorted(panels)
    assert text.index("  gate ") > panels[2] and text.index("  report ") > panels[1]


def test_each_listed_summary_is_the_first_sentence_of_its_command_help():
    from coldstart_bench.cli.app import COMMANDS, RootGroup

    group = typer_main.get_command(app)
    assert isinstance(group, RootGroup)
    for entry in COMMANDS:
        if entry.panel == "Targets":
            continue  # argparse programs of the target; their help is their own
        command = group.get_command(None, entry.name)  # type: ignore[arg-type]
        first = " ".join((command.help or "").split("\n\n")[0].split())
        assert first == entry.summary, entry.name


def every_command_help() -> dict[str, str]:
    from coldstart_bench.cli.app import COMMANDS

    names = [[e.name] for e in COMMANDS if e.panel != "Targets"]
    names += [["baseline", sub] for sub in ("save", "list", "rm")]
    helps = {}
    for name in names:
        result = runner.invoke(app, [*name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        helps[" ".join(name)] = result.output
    return helps


def test_help_names_arguments_as_a_user_writes_them():
    for name, text in every_command_help().items():
        usage = text.splitlines()[0]
        assert "{" not in usage, (name, usage)
        assert "<path>" not in text and "<list[" not in text and "<str>" not in text, name


def test_a_run_is_spelt_one_way_and_gate_and_compare_share_their_options():
    helps = every_command_help()
    for name in ("report", "gate", "baseline save", "merge"):
        assert "RUN" in helps[name].splitlines()[0], name
    assert "BASE_RUN NEW_RUN" in helps["compare"].splitlines()[0]
    for text in helps.values():
        assert "RUN_DIR" not in text and "RUN_OR_NAME" not in text

    def option_lines(text: str, option: str) -> str:
        lines = text.split("Options:")[1].splitlines()
        start = next(i for i, line in enumerate(lines) if line.strip().startswith(option))
        block = [lines[start]]
        for line in lines[start + 1 :]:
            if line.strip().startswith("-"):
                break
            block.append(line)
        return " ".join(" ".join(block).split())

    for option in ("--metric", "--max-regression", "--confidence", "--results-dir"):
        assert option_lines(helps["gate"], option) == option_lines(helps["compare"], option)
    assert "-n" not in helps["connbench"].split()  # -n is run's repetitions


def test_help_builds_no_command_module():
    mine = "('coldstart_bench.cli.app', 'coldstart_bench.cli.help')"
    printed = after_help(
        f"'LOADED', sorted(m for m in sys.modules if m.startswith('coldstart_bench.cli.') "
        f"and m not in {mine})"
    )
    assert "LOADED []" in printed, printed


def test_a_variant_filter_splits_levels_at_commas_but_also_matches_a_level_with_one():
    from coldstart_bench.cli.common import parse_variant_filters

    assert parse_variant_filters(["f=a,b", "g=c"]) == {"f": ["a", "b", "a,b"], "g": ["c"]}
