"""``coldstart validate``: check a scenario file and show what it would run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from coldstart_bench.cli.common import (
    ScenarioArg,
    VarOption,
    parse_pairs,
    stdout_console,
    user_errors,
)
from coldstart_bench.cli.help import PlainCommand, command_app

if TYPE_CHECKING:
    from rich.console import Console

    from coldstart_bench.scenario.reader import LoadedScenario

app = command_app()

# A matrix larger than this is summarised: its first rows, then the level counts.
SHOWN_VARIANTS = 64
SHOWN_HEAD = 20


def load_text(load: Any) -> str:
    """A [load] table in words, e.g. "poisson 10 req/s, 40 requests per phase, from spawn"."""
    from coldstart_bench.scenario.patterns import pattern

    described = pattern(load.pattern)
    what = described.describe(load)
    size = (
        f"{load.requests} requests per phase"
        if load.requests and not described.all_at_once
        else f"{load.duration_s:g} s per phase"
        if load.duration_s
        else ""
    )
    if load.until_after_ready_s is not None:
        bound = f" (at most {size.removesuffix(' per phase')})" if size else ""
        size = f"until {load.until_after_ready_s:g} s after ready{bound}"
    parts = [what, size, f"from {load.start}", f"{load.before_ready} before ready"]
    if load.warm_after_s is not None:
        parts.append(f"then the same warm, {load.warm_after_s:g} s later")
    return ", ".join(p for p in parts if p)


def scope_text(levels: dict[str, tuple[str, ...]]) -> str:
    """Which variants a match applies to, e.g. "cache=redis|local"."""
    return ", ".join(f"{k}={'|'.join(v)}" for k, v in levels.items()) or "all variants"


def _fleet_text(spec: Any) -> str:
    """One line on a fleet: how many replicas, behind what, how they start."""
    fleet, factors = spec.fleet, spec.factors
    replicas = "/".join(factors.get("replicas", (str(fleet.replicas),)))
    balancers = " or ".join(factors.get("balancer", (fleet.balancer,)))
    start = f"one every {fleet.stagger_ms:g} ms" if fleet.stagger_ms else "all at t0"
    if fleet.scale_at_queue is not None:
        start = (
            f"the first at t0, one more while over {fleet.scale_at_queue} requests per replica wait"
        )
    checks = (
        f"; HAProxy checks each every {fleet.health_check_ms} ms" if "haproxy" in balancers else ""
    )
    where = ""
    if fleet.placement == "ray":
        cluster = fleet.ray_address or "RAY_ADDRESS's, else a one-node one of its own"
        where = f", spread over the nodes of a Ray cluster ({cluster})"
    return (
        f"{replicas} replica(s) of {spec.services[0].name}{where}, {start}, requests through "
        f"{balancers}{checks}"
    )


def _installed(program: str) -> bool:
    """Whether a command's program can be found; one named by a template variable
    (``{python}``) is known only when rendered, and is given the benefit of the doubt."""
    import shutil

    return "{" in program or shutil.which(program) is not None


def _print_variants(console: Console, loaded: LoadedScenario) -> int:
    """The variants as a table (the first ones of a long list), and whether run would refuse
    that many; returns how many there are."""
    from rich.table import Table
    from rich.text import Text

    from coldstart_bench.plan.order import MAX_TRIALS, MAX_VARIANTS

    spec = loaded.scenario
    factors = spec.factors
    count = len(loaded.variants)
    table = Table(title=f"{count:,} variant(s)", title_justify="left", highlight=False)
    table.add_column("#", justify="right")
    for name in factors:
        table.add_column(Text(name))
    if not factors:
        table.add_column("variant")
    shown = loaded.variants if count <= SHOWN_VARIANTS else loaded.variants[:SHOWN_HEAD]
    for v in shown:
        cells = [Text(v.factors[n]) for n in factors] if factors else [Text("default")]
        table.add_row(str(v.index), *cells)
    if len(shown) < count:
        table.add_row("…", *[Text("…") for _ in factors or [0]])
    console.print(table)
    if len(shown) < count:
        levels = ", ".join(f"{name} ({len(lv)})" for name, lv in factors.items())
        console.print(f"{count - len(shown):,} more; levels per factor: {levels}", markup=False)
    trials = count * (spec.repetitions + spec.warmup_trials)
    if count > MAX_VARIANTS or trials > MAX_TRIALS:
        console.print(
            f"[yellow]coldstart run refuses this scenario[/]: {count:,} variants, {trials:,} "
            f"trials (limits {MAX_VARIANTS:,} and {MAX_TRIALS:,}); narrow it with exclude "
            "rules or --variant, or run it with --allow-large"
        )
    return count


@app.command(cls=PlainCommand)
@user_errors
def validate(scenario: ScenarioArg, var: VarOption = None) -> None:
    """Check a scenario file and show the variants it expands to.

    With --var, as `coldstart run` would run it with the same --var."""
    from rich.markup import escape

    from coldstart_bench.results.redact import redact_argv
    from coldstart_bench.scenario.matrix import MatrixTooLarge
    from coldstart_bench.scenario.reader import read_scenario, with_vars
    from coldstart_bench.scenario.vocabulary import match_levels

    loaded = with_vars(read_scenario(scenario), parse_pairs(var or [], "--var"))
    spec = loaded.scenario
    console = stdout_console()
    heading = f"[bold]{escape(loaded.name)}[/]"
    console.print(f"{heading}: {escape(spec.description)}" if spec.description else heading)
    count: int | None = None
    try:
        count = _print_variants(console, loaded)
    except MatrixTooLarge as exc:
        console.print(f"[yellow]coldstart run refuses this scenario[/]: {escape(str(exc))}")
    services = " → ".join(f"{s.name} (ready: {s.ready.kind})" for s in spec.services)
    console.print(f"services: {services}", markup=False)
    if spec.fleet is not None:
        console.print(f"fleet: {_fleet_text(spec)}", markup=False)
    if spec.requests is not None and spec.load is not None:
        console.print(f"load: {load_text(spec.load)}", markup=False)
    elif spec.requests is not None and spec.requests.count:
        r = spec.requests
        mode = "streaming" if r.stream and r.kind != "http" else "non-streaming"
        console.print(
            f"requests: {r.count} × {r.kind} ({mode}) to {spec.measured_service.name}", markup=False
        )
    for i, argv in enumerate(spec.setup):
        console.print(f"setup[{i}] (once per run): {' '.join(redact_argv(argv))}", markup=False)
    for what, argv in [
        *(("setup", a) for a in spec.setup),
        *(("prepare", a) for a in spec.prepare),
    ]:
        if argv and not _installed(argv[0]):
            console.print(
                f"[yellow]{what}: {escape(argv[0])!r} is not installed (not on PATH)[/]: "
                "coldstart run stops there unless an earlier setup command makes it",
                highlight=False,
            )
    for i, need in enumerate(spec.requires):
        check = f"program {need.program}" if need.program else " ".join(need.command or [])
        scope = scope_text(need.levels)
        console.print(f"requires[{i}] ({scope}): {check}; else skipped", markup=False)
    for svc in spec.services:
        if svc.only:
            scope = scope_text(match_levels(svc.only))
            console.print(f"service {svc.name} starts only where {scope}", markup=False)
    if spec.chaos is not None:
        c = spec.chaos
        scope = scope_text(c.levels)
        console.print(
            f"chaos ({scope}): {c.action} {c.service} before request {c.at_request}",
            markup=False,
        )
    if count is not None:
        trials = count * (spec.repetitions + spec.warmup_trials)
        console.print(
            f"trials: {count:,} variant(s) × ({spec.repetitions} repetitions + "
            f"{spec.warmup_trials} warm-up) = {trials:,}"
        )
