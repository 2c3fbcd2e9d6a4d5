"""``{trial_tmp}``: a private temporary directory for one trial, for a server's ``TMPDIR``.

A server writes more than its logs: torch.compile's build artifacts (vLLM on CPU: ~150 MB
per start), IPC sockets, lock files. Left in the machine's shared ``/tmp`` they pile up
over a run, and a later trial may find them (a warm cache no one asked for). The directory
has a short path under the system's temporary directory (a Unix socket path must fit in
108 bytes; a run directory's may not), is empty at spawn and is removed after the
teardown — by the guardian should the harness be killed first.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from coldstart_bench.proc.guardian import TRIAL_TMP_PREFIX, Guardian
from coldstart_bench.scenario.reader import LoadedScenario
from coldstart_bench.scenario.templating import variables_in


def wanted(loaded: LoadedScenario) -> bool:
    """Whether the scenario names ``{trial_tmp}`` (only then is one made)."""
    return "trial_tmp" in variables_in(loaded.text)


def make(trial: int, guardian: Guardian | None) -> Path:
    path = Path(tempfile.mkdtemp(prefix=f"{TRIAL_TMP_PREFIX}{trial:04d}-"))
    if guardian is not None:
        guardian.remove_if_killed(path)
    return path


def remove(path: Path) -> str | None:
    """Remove it (again: nothing); a note when something could not be removed."""
    if not path.exists():
        return None
    problems: list[str] = []
    shutil.rmtree(path, onerror=lambda _f, p, exc: problems.append(f"{p}: {exc[1]}"))
    if problems:
        return f"{{trial_tmp}} {path} not fully removed: {problems[0]}"
    return None
