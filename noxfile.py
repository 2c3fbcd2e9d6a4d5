"""Developer sessions: `nox -s tests`, `nox -s lint`, `nox -s bench`."""

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite, with the reference target's stack installed."""
    session.install("-e", ".[target,dev]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def bench(session: nox.Session) -> None:
    """Measurements of the harness itself: readiness lag and per-trial overhead, then our
    probe vs curl and a raw socket, exit timing vs hyperfine, and --help start-up."""
    session.install("-e", ".[target,dev]")
    session.run("python", "benchmarks/fidelity.py", *session.posargs)
