"""The commit and branch a run was made from, where the user does not say: the CI's
environment (GitHub Actions, GitLab CI, or the generic ``CI_COMMIT``), else git."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

_COMMIT_VARIABLES = ("GITHUB_SHA", "CI_COMMIT_SHA", "BUILD_VCS_NUMBER", "GIT_COMMIT")
_BRANCH_VARIABLES = ("GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME", "GIT_BRANCH")


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = done.stdout.strip()
    return text if done.returncode == 0 and text and text != "HEAD" else None


def commit_and_branch(
    where: Path, environ: Mapping[str, str] | None = None
) -> tuple[str | None, str | None]:
    """(commit, branch) from the CI's variables, else from git in ``where``."""
    env = os.environ if environ is None else environ
    commit = next((env[v] for v in _COMMIT_VARIABLES if env.get(v)), None)
    branch = next((env[v] for v in _BRANCH_VARIABLES if env.get(v)), None)
    if commit is None:
        commit = _git(["rev-parse", "HEAD"], where)
    if branch is None:
        branch = _git(["rev-parse", "--abbrev-ref", "HEAD"], where)
    return commit, branch
