"""From a validated scenario and a trial to what that trial runs: its rendered commands,
environment, readiness rules and requests (and the run-level setup and checks)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from coldstart_bench.host.cpus import affinity_cpus
from coldstart_bench.host.paths import default_cache_dir
from coldstart_bench.plan.fleet import fleet_spec
from coldstart_bench.plan.order import TrialSpec
from coldstart_bench.plan.specs import (
    PHASES_ENV,
    ChaosSpec,
    LoadSpec,
    OtlpTarget,
    ProbeSettings,
    ReadySpec,
    RequestSpec,
    ServiceSpec,
    TlsFiles,
    TrialSetup,
)
from coldstart_bench.scenario.matrix import Variant
from coldstart_bench.scenario.reader import LoadedScenario
from coldstart_bench.scenario.schema import Requests, Scenario, Service
from coldstart_bench.scenario.templating import render, variables_in
from coldstart_bench.scenario.vocabulary import OTLP_VARIABLES, match_levels

LOCAL_HOST = "127.0.0.1"


def tls_on(scenario: Scenario, variant: Variant) -> bool:
    return variant.factors.get("tls") == "on" or scenario.tls.enabled


def needs_tls_files(loaded: LoadedScenario) -> bool:
    """Whether any trial uses TLS or names a certificate variable (then the run makes them)."""
    scenario = loaded.scenario
    if any(tls_on(scenario, v) for v in loaded.variants):
        return True
    return any(v.startswith("tls_") for v in variables_in(loaded.text))


@dataclass(frozen=True)
class RenderContext:
    run_dir: Path
    trial_dir: Path
    scenario_dir: Path
    python: str
    ports: Mapping[str, int]
    tls: TlsFiles | None = None
    cache_dir: Path = field(default_factory=default_cache_dir)
    trial_tmp: Path | None = None  # made by the run only for a scenario that names it
    # {cpus} and {free_cpus}: what the machine can give, measured once as the run starts
    # (run/machine.cpu_share); outside a run, the CPUs this process may use.
    cpus: int = field(default_factory=affinity_cpus)
    free_cpus: int | None = None
    otlp: OtlpTarget | None = None  # the trial's span receiver, where it runs one


@dataclass(frozen=True)
class RunCommand:
    """A rendered run-level command (``setup`` or a ``requires`` check) and the variants
    that asked for it; the same command for several variants runs once."""

    argv: tuple[str, ...]
    variants: tuple[str, ...]
    index: int  # position in the scenario's list


def run_level_context(
    loaded: LoadedScenario, run_dir: Path, tls: TlsFiles | None, cpus: tuple[int, int] | None = None
) -> RenderContext:
    """For commands that run once per run: no trial directory of their own, placeholder
    ports (a port is a trial's, not the run's). ``cpus``: (usable, free) as measured."""
    ports = {s.name: s.port or 0 for s in loaded.scenario.services}
    ctx = RenderContext(run_dir, run_dir, loaded.path.parent.resolve(), sys.executable, ports, tls)
    return replace(ctx, cpus=cpus[0], free_cpus=cpus[1]) if cpus else ctx


def wants_spans(loaded: LoadedScenario) -> bool:
    """Whether a trial runs an OTLP receiver: a service takes its phases from spans, or
    the scenario names the receiver's variables."""
    return any(s.spans == "otlp" for s in loaded.scenario.services) or bool(
        OTLP_VARIABLES & set(variables_in(loaded.text))
    )


def uses_cpu_variables(loaded: LoadedScenario) -> bool:
    """Whether the scenario names {cpus} or {free_cpus} (then the run measures them)."""
    return bool({"cpus", "free_cpus"} & set(variables_in(loaded.text)))


def _run_commands(
    loaded: LoadedScenario,
    variants: Sequence[Variant],
    ctx: RenderContext,
    commands: Sequence[tuple[int, Sequence[str], Mapping[str, tuple[str, ...]]]],
) -> list[RunCommand]:
    found: dict[tuple[int, tuple[str, ...]], list[str]] = {}
    for variant in variants:
        values = _common_values(loaded, TrialSpec(0, variant, 0, False), ctx)
        for index, argv, match in commands:
            if variant.matches(match):
                key = (index, tuple(render(a, values) for a in argv))
                found.setdefault(key, []).append(variant.id)
    return [RunCommand(argv, tuple(vs), index) for (index, argv), vs in found.items()]


def setup_commands(
    loaded: LoadedScenario, variants: Sequence[Variant], ctx: RenderContext
) -> list[RunCommand]:
    """The scenario's ``setup`` commands as rendered for these variants, each distinct one
    once, in the order of the file (a command templated on a factor runs once per level)."""
    cmds = [(i, argv, {}) for i, argv in enumerate(loaded.scenario.setup)]
    return sorted(_run_commands(loaded, variants, ctx, cmds), key=lambda c: c.index)


def requirement_checks(
    loaded: LoadedScenario, variants: Sequence[Variant], ctx: RenderContext
) -> list[RunCommand]:
    """The ``requires`` checks that apply to these variants (``program`` checks come back
    as a one-element argv holding the program name)."""
    cmds = [
        (i, need.command if need.command is not None else [need.program], need.levels)
        for i, need in enumerate(loaded.scenario.requires)
    ]
    return sorted(_run_commands(loaded, variants, ctx, cmds), key=lambda c: c.index)


def _common_values(loaded: LoadedScenario, trial: TrialSpec, ctx: RenderContext) -> dict[str, str]:
    scenario = loaded.scenario
    values = {
        "python": ctx.python,
        "run_dir": str(ctx.run_dir),
        "trial_dir": str(ctx.trial_dir),
        "scenario_dir": str(ctx.scenario_dir),
        "cache_dir": str(ctx.cache_dir),
        "cpus": str(ctx.cpus),
        "free_cpus": str(ctx.free_cpus if ctx.free_cpus is not None else ctx.cpus),
        # A run-level command has no trial: the run directory's tmp stands in (never made).
        "trial_tmp": str(ctx.trial_tmp or ctx.run_dir / "tmp"),
        "host": scenario.requests.host if scenario.requests else LOCAL_HOST,
        "scheme": "https" if tls_on(scenario, trial.variant) else "http",
        "variant": trial.variant.id,
        "replica": "1",
        "repetition": str(trial.repetition),
        "trial": str(trial.index),
        "tls_cert": _tls_path(scenario.tls.cert_file, ctx.tls.cert if ctx.tls else None),
        "tls_key": _tls_path(scenario.tls.key_file, ctx.tls.key if ctx.tls else None),
        "tls_ca": _tls_path(scenario.tls.ca_file, ctx.tls.ca if ctx.tls else None),
    }
    compile_cache = trial.variant.factors.get("compile_cache")
    if compile_cache is not None:
        where = ctx.trial_dir if compile_cache == "cold" else ctx.run_dir
        values["compile_cache_dir"] = str(where / "compile-cache")
    # Outside a trial (validation, program checks) the receiver's values are placeholders.
    otlp = ctx.otlp or OtlpTarget(f"http://{LOCAL_HOST}:0", "0" * 32, "0" * 16)
    values["otlp_endpoint"] = otlp.endpoint
    values["otlp_traces_endpoint"] = otlp.traces_url
    values["traceparent"] = otlp.traceparent
    values.update(trial.variant.factors)
    values.update({f"ports.{name}": str(port) for name, port in ctx.ports.items()})
    measured = scenario.measured_service.name
    values["port"] = str(ctx.ports[measured])
    values["service"] = measured
    # A variable may be built from the built-in ones and the factors, e.g. "{cache_dir}/vllm".
    values.update({name: render(text, values) for name, text in scenario.vars.items()})
    return values


def _tls_path(configured: str | None, generated: Path | None) -> str:
    if configured is not None:
        return configured
    return str(generated) if generated is not None else ""


def render_trial(loaded: LoadedScenario, trial: TrialSpec, ctx: RenderContext) -> TrialSetup:
    scenario = loaded.scenario
    common = _common_values(loaded, trial, ctx)
    fleet = fleet_spec(scenario, trial.variant, ctx.ports, ctx.trial_dir)
    if fleet is not None:
        service = scenario.services[0]
        services = tuple(
            _render_service(service, scenario, trial, ctx, common, (name, i))
            for i, name in enumerate(fleet.replicas, 1)
        )
        if services[0].ready.kind == "http":  # HAProxy checks what the harness checks
            fleet = replace(fleet, check_path=services[0].ready.path)
    else:
        services = tuple(
            _render_service(s, scenario, trial, ctx, common)
            for s in scenario.services
            if trial.variant.matches(match_levels(s.only))
        )
    if fleet is not None and fleet.balancer_port is not None:  # requests go through HAProxy
        common = {**common, "port": str(fleet.balancer_port)}
    requests: tuple[RequestSpec, ...] = ()
    load = None
    if scenario.requests is not None and scenario.load is not None:
        load = _render_load(scenario, trial, common)
    elif scenario.requests is not None:
        requests = tuple(_render_requests(scenario.requests, common))
    tls = tls_on(scenario, trial.variant)
    pooling = trial.variant.factors.get("pooling", "on")
    probe = ProbeSettings(
        pooling=pooling != "off",
        pool_size=int(pooling) if pooling.isdigit() else None,
        http2=trial.variant.factors.get("http2") == "on",
        tls=tls,
        ca_file=(render(common["tls_ca"], common) or None) if tls else None,
        insecure=scenario.tls.insecure,
        server_name=scenario.tls.server_name,
        pause_ms=_pause_ms(scenario, trial),
    )
    page_cache_mode = trial.variant.factors.get("page_cache")
    page_cache_files: tuple[str, ...] = ()
    if page_cache_mode and scenario.page_cache is not None:
        page_cache_files = tuple(render(f, common) for f in scenario.page_cache.files)
    chaos = None
    if scenario.chaos is not None and trial.variant.matches(scenario.chaos.levels):
        c = scenario.chaos
        chaos = ChaosSpec(
            c.service, c.at_request, c.action, c.recovery_timeout_s, c.retry_interval_ms
        )
    return TrialSetup(
        fleet=fleet,
        chaos=chaos,
        load=load,
        timeout_s=scenario.trial_timeout_s,
        services=services,
        requests=requests,
        probe=probe,
        prepare=tuple(tuple(render(a, common) for a in argv) for argv in scenario.prepare),
        prepare_timeout_s=scenario.prepare_timeout_s,
        page_cache_mode=page_cache_mode,  # type: ignore[arg-type]
        page_cache_files=page_cache_files,
        compile_cache_mode=trial.variant.factors.get("compile_cache"),  # type: ignore[arg-type]
        compile_cache_dir=common.get("compile_cache_dir"),
    )


def _pause_ms(scenario: Scenario, trial: TrialSpec) -> float:
    """Silence before each request after the first: the ``idle_s`` factor, else
    ``[requests] pause_ms``."""
    idle = trial.variant.factors.get("idle_s")
    if idle is not None:
        return float(idle) * 1000
    return scenario.requests.pause_ms if scenario.requests else 0.0


def _render_service(
    service: Service,
    scenario: Scenario,
    trial: TrialSpec,
    ctx: RenderContext,
    common: dict[str, str],
    replica: tuple[str, int] | None = None,
) -> ServiceSpec:
    """A service as a trial starts it; ``replica``: as replica (name, number) of a fleet."""
    name, number = replica if replica is not None else (service.name, 1)
    values = {
        **common,
        "port": str(ctx.ports.get(name, 0)),
        "service": name,
        "replica": str(number),
    }
    argv = [render(a, values) for a in service.command]
    env: dict[str, str] = dict(os.environ) if service.inherit_env else {}
    if service.spans == "otlp" and ctx.otlp is not None:
        env.update(ctx.otlp.environment(name))
    env.update({k: render(v, values) for k, v in service.env.items()})
    for rule in service.when:
        if trial.variant.matches(rule.levels):
            argv += [render(a, values) for a in rule.args]
            env.update({k: render(v, values) for k, v in rule.env.items()})
    phases_path = ctx.trial_dir / f"phases-{name}.jsonl"
    env[PHASES_ENV] = str(phases_path)
    is_measured = service.name == scenario.measured_service.name
    rule = service.ready
    https = rule.scheme == "https" or (
        rule.scheme == "auto" and is_measured and tls_on(scenario, trial.variant)
    )
    ready = ReadySpec(
        kind=rule.kind,
        host=LOCAL_HOST,
        port=ctx.ports.get(name, 0),
        timeout_s=rule.timeout_s,
        interval_ms=rule.interval_ms,
        path=render(rule.url_path, values),
        status=rule.status,
        https=https,
        pattern=rule.pattern,
        exit_code=rule.exit_code,
        body=json.dumps({**_render_deep(rule.body, values), "stream": True}).encode()
        if rule.kind == "first-token"
        else b"",
    )
    return ServiceSpec(
        name=name,
        argv=tuple(argv),
        env=env,
        cwd=render(service.cwd, values) if service.cwd is not None else None,
        port=ctx.ports.get(name, 0),
        ready=ready,
        stop_signal=service.signal_number,
        stop_grace_s=service.stop_grace_s,
        log_path=ctx.trial_dir / f"{name}.log",
        phases_path=phases_path,
        log_phases=tuple((p.name, p.until) for p in service.log_phases),
        spans=service.spans == "otlp",
    )


def _render_deep(value: Any, values: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return render(value, values)
    if isinstance(value, dict):
        return {k: _render_deep(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_deep(v, values) for v in value]
    return value


def _render_load(scenario: Scenario, trial: TrialSpec, values: dict[str, str]) -> LoadSpec:
    """The load of a trial: one request template per prompt (the load cycles them)."""
    load, req = scenario.load, scenario.requests
    assert load is not None and req is not None
    prompts = len(req.prompts) if req.prompts else 1
    templates = _render_requests(req.model_copy(update={"count": prompts}), values)
    before_ready = trial.variant.factors.get("before_ready")
    return LoadSpec(
        templates=tuple(templates),
        settings=load.settings(
            before_ready,  # type: ignore[arg-type]
            seed=(scenario.seed or 0) * 1_000_003 + trial.index,
        ),
    )


def _render_requests(req: Requests, values: dict[str, str]) -> list[RequestSpec]:
    host = req.host if ":" not in req.host else f"[{req.host}]"
    path = render(req.path or req.default_path, values)
    url = f"{values['scheme']}://{host}:{values['port']}{path}"
    headers = {k: render(v, values) for k, v in req.headers.items()}
    if req.kind != "http":
        headers.setdefault("Content-Type", "application/json")
        if req.stream:
            headers.setdefault("Accept", "text/event-stream")
    extra = _render_deep(req.extra_body, values)
    specs = []
    for i in range(req.count):
        prompt = render(req.prompt_for(i), values)
        body: bytes | None
        if req.kind == "http":
            body = render(req.body, values).encode("utf-8") if req.body is not None else None
        else:
            payload: dict[str, Any] = {"model": render(req.model, values)}
            if req.kind == "openai-chat":
                messages = [{"role": "user", "content": prompt}]
                if req.system is not None:
                    messages.insert(0, {"role": "system", "content": render(req.system, values)})
                payload["messages"] = messages
            else:
                payload["prompt"] = prompt
            payload["max_tokens"] = req.max_tokens
            payload["stream"] = req.stream
            if req.temperature is not None:
                payload["temperature"] = req.temperature
            payload.update(extra)
            body = json.dumps(payload).encode("utf-8")
        specs.append(
            RequestSpec(
                index=i,
                kind=req.kind,
                method=req.http_method,
                url=url,
                headers=headers,
                body=body,
                stream=req.stream,
                expect_status=req.expect_status,
                timeout_s=req.timeout_s,
            )
        )
    return specs
