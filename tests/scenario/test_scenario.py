"""Scenario files: what valid ones expand to, and that every malformed one gets one clear
error naming the file and key path, exit code 2 and no traceback."""

from pathlib import Path

import pytest
from helpers import TESTS
from typer.testing import CliRunner

from coldstart_bench.cli.app import app
from coldstart_bench.errors import ScenarioError
from coldstart_bench.scenario.reader import parse_scenario, read_scenario

BAD = sorted((TESTS / "scenarios" / "bad").glob("*.toml"))
runner = CliRunner()


def expected_message(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} must start with '# expect: ...'"
    return first.removeprefix("# expect: ")


def test_the_corpus_is_large_enough():
    assert len(BAD) >= 30


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_malformed_scenario_gives_one_clear_error(path: Path):
    result = runner.invoke(app, ["validate", str(path)])
    output = " ".join(result.output.split())  # rich may wrap long lines
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert str(path.name) in output
    assert " ".join(expected_message(path).split()) in output


def test_a_missing_file_a_directory_and_binary_junk_are_clear_errors(tmp_path: Path):
    junk = tmp_path / "junk.toml"
    junk.write_bytes(b"\xff\xfe\x00binary")
    cases = {tmp_path / "nope.toml": "no such file", tmp_path: "is a directory", junk: "not UTF-8"}
    for path, message in cases.items():
        result = runner.invoke(app, ["validate", str(path)])
        assert result.exit_code == 2
        assert message in result.output


def test_an_unreadable_file_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "secret.toml"
    path.write_text("[[services]]\ncommand = ['x']\n")

    def deny(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    # As root (CI) a chmod 000 file is still readable, so the refusal is simulated.
    monkeypatch.setattr(Path, "read_bytes", deny)
    with pytest.raises(ScenarioError, match="cannot read the file: permission denied"):
        read_scenario(path)


def test_harness_factors_accept_booleans_and_record_on_off():
    loaded = parse_scenario(
        '[matrix]\npooling = [true, false]\nhttp2 = "on"\n[[services]]\ncommand = ["s"]\n'
    )
    assert [dict(v.factors) for v in loaded.variants] == [
        {"pooling": "on", "http2": "on"},
        {"pooling": "off", "http2": "on"},
    ]


def test_exclude_rules_match_lists_of_levels():
    loaded = parse_scenario(
        '[matrix]\nsize = ["s", "m", "l"]\ndevice = ["cpu", "cuda"]\n'
        'exclude = [{ size = ["m", "l"], device = "cpu" }]\n[[services]]\ncommand = ["s"]\n'
    )
    assert [v.id for v in loaded.variants] == [
        "size=s,device=cpu",
        "size=s,device=cuda",
        "size=m,device=cuda",
        "size=l,device=cuda",
    ]


def test_a_scenario_without_matrix_has_one_default_variant():
    loaded = parse_scenario('[[services]]\ncommand = ["s"]\n', source="x.toml")
    assert [v.id for v in loaded.variants] == ["default"]
    assert loaded.scenario.repetitions == 5
