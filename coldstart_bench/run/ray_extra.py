"""Ray, imported from the optional ``ray`` extra by what needs it: the executor that spreads
trials over a cluster (:mod:`.ray`) and a fleet placed on one (:mod:`.ray_fleet`)."""

from __future__ import annotations

from typing import Any

from coldstart_bench.errors import ColdstartError


def import_ray(needed_by: str = "--executor ray") -> Any:
    """Ray, from the optional ``ray`` extra; else a :class:`ColdstartError` that says what
    needed it and how to install it."""
    try:
        import ray
    except ImportError:
        raise ColdstartError(
            f"{needed_by} needs Ray: python3 -m pip install -e '.[ray]' (or pip install ray)"
        ) from None
    return ray
