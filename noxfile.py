"""Developer sessions: `nox -s tests`, `nox -s quick`, `nox -s lint`, `nox -s bench`."""

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True


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
def bench(session: nox.Session) -> None:
    """Measurements of the harness itself: readiness lag and per-trial overhead, our probe
    vs curl and a raw socket, exit timing vs hyperfine, --help start-up; then the load
    client: fidelity, schedule accuracy, sustainable rate, CPU, observer effect."""
    session.install("-e", ".[target,dev]")
    session.run("python", "benchmarks/fidelity.py", *session.posargs)
    session.run("python", "benchmarks/load_bench.py")
