"""`{trial_tmp}`: a private temporary directory per trial, for a server's TMPDIR (vLLM writes
~150 MB of compiled artifacts and its IPC files there on each start)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from helpers import run_options

from coldstart_bench.run.session import run_scenario
from coldstart_bench.scenario.reader import read_scenario

# A one-shot service that says what it found in its TMPDIR, then leaves a file there.
REPORT_TMPDIR = (
    "import os, sys, tempfile; d = tempfile.gettempdir(); "
    "open(sys.argv[1], 'a').write('%s %d' % (d, len(os.listdir(d))) + os.linesep); "
    "open(os.path.join(d, 'artifact.bin'), 'wb').write(b'x' * 4096)"
)


def test_each_trial_gets_an_empty_directory_that_is_gone_after_it(tmp_path: Path, write_scenario):
    seen = tmp_path / "seen.txt"
    path = write_scenario(f"""
        repetitions = 2
        [[services]]
        command = ["{{python}}", "-c", "{REPORT_TMPDIR}", "{seen}"]
        env = {{ TMPDIR = "{{trial_tmp}}" }}
        ready = {{ kind = "exit" }}
    """)
    outcome = run_scenario(read_scenario(path), run_options(tmp_path / "results"))

    assert [t.status for t in outcome.trials] == ["ok", "ok"]
    reports = [line.split() for line in seen.read_text().splitlines()]
    directories = [Path(d) for d, _ in reports]
    assert len(set(directories)) == 2
    assert [int(files) for _, files in reports] == [0, 0]  # empty at spawn
    for directory in directories:
        assert directory.parent == Path(tempfile.gettempdir())
        assert directory.name.startswith("coldstart-trial-")
        assert not directory.exists()
    assert not any(t.notes for t in outcome.trials)
