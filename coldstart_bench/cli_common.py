"""Helpers shared by the CLI modules: consoles and turning user errors into exit codes."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import typer

F = TypeVar("F", bound=Callable[..., Any])


def stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def stdout_console() -> Any:
    """A terminal gets tables at its own width; a log file or CI step gets them unwrapped."""
    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else 200)


def user_errors(func: F) -> F:
    """Print a user error as one paragraph and exit with its code; never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from coldstart_bench.errors import ColdstartError

        try:
            return func(*args, **kwargs)
        except ColdstartError as exc:
            from rich.markup import escape

            stderr_console().print(
                f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]
