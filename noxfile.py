"""Developer sessions: `nox -s tests`, `nox -s quick`, `nox -s lint`, `nox -s docs`,
`nox -s bench`."""

from pathlib import Path

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True

# Tables the docs site includes as they were last measured (docs/explanation/).
GENERATED = Path("docs/generated")


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite, with the reference target's stack installed."""
    session.install("-e", ".[target,dev]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def quick(session: nox.Session) -> None:
    """The edit–test loop: everything but the tests marked slow (about a minute)."""
    session.install("-e", ".[target,dev]")
    session.run("python", "-m", "pytest", "-m", "not slow", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Style, and the architecture: the import contracts in pyproject.toml."""
    session.install("-e", ".", "ruff", "import-linter")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("lint-imports")


@nox.session
def docs(session: nox.Session) -> None:
    """The docs site, built strictly into site/ (`nox -s docs -- serve` to preview)."""
    session.install("-e", ".[docs]")
    if session.posargs[:1] == ["serve"]:
        session.run("mkdocs", "serve")
    else:
        session.run("mkdocs", "build", "--strict")


def _measured(session: nox.Session, script: str, table: str, *args: str) -> None:
    """Run a benchmark, show its table, and keep it for the docs site."""
    out = session.run("python", f"benchmarks/{script}", *args, silent=True)
    print(out)
    GENERATED.mkdir(parents=True, exist_ok=True)
    (GENERATED / table).write_text(str(out), encoding="utf-8")


@nox.session
def bench(session: nox.Session) -> None:
    """Measurements of the harness itself, the first two kept as the docs' tables:
    readiness lag and per-trial overhead, our probe vs curl and a raw socket, exit timing
    vs hyperfine, --help start-up (fidelity.txt); the hostile targets and the harness's own
    hostile cases (hostile.txt); then the load client: fidelity, schedule accuracy,
    sustainable rate, CPU, observer effect; and the gate's accuracy."""
    session.install("-e", ".[target,dev]")
    _measured(session, "fidelity.py", "fidelity.txt", *session.posargs)
    _measured(session, "hostile_table.py", "hostile.txt")
    session.run("python", "benchmarks/load_bench.py")
    session.run("python", "benchmarks/gate_accuracy.py", "--png", "docs/images/gate_power.png")
