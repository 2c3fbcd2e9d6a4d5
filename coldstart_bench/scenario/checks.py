"""Checks across a whole scenario, after each table is valid on its own: names used twice,
references to services, factors and levels that do not exist, and template variables
that nothing defines. Each check is one small rule; :data:`RULES` runs them in order and
the first problem found is the one reported."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from coldstart_bench.scenario.messages import PathError, did_you_mean
from coldstart_bench.scenario.schema import Scenario
from coldstart_bench.scenario.templating import variables_in
from coldstart_bench.scenario.vocabulary import (
    BUILTIN_VARIABLES,
    FACTOR_NAME,
    as_list,
    normalise_level,
)


def templated_strings(scenario: Scenario) -> Iterator[tuple[str, str, str | None]]:
    """Every templated string as (key path, text, owning service name or None)."""
    for i, svc in enumerate(scenario.services):
        base = f"services[{i}]"
        for j, arg in enumerate(svc.command):
            yield f"{base}.command[{j}]", arg, svc.name
        for key, val in svc.env.items():
            yield f"{base}.env.{key}", val, svc.name
        if svc.cwd is not None:
            yield f"{base}.cwd", svc.cwd, svc.name
        if svc.ready.path is not None:
            yield f"{base}.ready.path", svc.ready.path, svc.name
        if svc.ready.kind == "first-token":
            yield from strings_in(svc.ready.body, f"{base}.ready.body", svc.name)
        for k, cond in enumerate(svc.when):
            for j, arg in enumerate(cond.args):
                yield f"{base}.when[{k}].args[{j}]", arg, svc.name
            for key, val in cond.env.items():
                yield f"{base}.when[{k}].env.{key}", val, svc.name
    req = scenario.requests
    if req is not None:
        yield "requests.prompt", req.prompt, None
        if req.system is not None:
            yield "requests.system", req.system, None
        for j, p in enumerate(req.prompts or []):
            yield f"requests.prompts[{j}]", p, None
        for key in ("path", "body", "model"):
            val = getattr(req, key)
            if val is not None:
                yield f"requests.{key}", val, None
        for key, val in req.headers.items():
            yield f"requests.headers.{key}", val, None
        yield from strings_in(req.extra_body, "requests.extra_body")
    for key in ("setup", "prepare"):
        for i, argv in enumerate(getattr(scenario, key)):
            for j, arg in enumerate(argv):
                yield f"{key}[{i}][{j}]", arg, None
    for i, need in enumerate(scenario.requires):
        for j, arg in enumerate(need.command or []):
            yield f"requires[{i}].command[{j}]", arg, None
    if scenario.page_cache is not None:
        for j, f in enumerate(scenario.page_cache.files):
            yield f"page_cache.files[{j}]", f, None
    for key in ("ca_file", "cert_file", "key_file"):
        val = getattr(scenario.tls, key)
        if val is not None:
            yield f"tls.{key}", val, None


def strings_in(
    value: Any, path: str, owner: str | None = None
) -> Iterator[tuple[str, str, str | None]]:
    if isinstance(value, str):
        yield path, value, owner
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings_in(v, f"{path}.{k}", owner)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from strings_in(v, f"{path}[{i}]", owner)


def _service_names_differ(scenario: Scenario) -> None:
    names = [s.name for s in scenario.services]
    for i, name in enumerate(names):
        if names.index(name) != i:
            raise PathError(f"services[{i}].name", f"service name {name!r} is used twice")


def _variables_are_new_identifiers(scenario: Scenario) -> None:
    factors = scenario.factors
    for key in scenario.vars:
        if not FACTOR_NAME.match(key):
            raise PathError(
                f"vars.{key}", "variable names must be identifiers (letters, digits, '_')"
            )
        if key in BUILTIN_VARIABLES or key in factors:
            raise PathError(
                f"vars.{key}", f"'{key}' is already a built-in variable or a matrix factor"
            )


def _chaos_targets_a_service_and_a_request(scenario: Scenario) -> None:
    chaos = scenario.chaos
    if chaos is None:
        return
    names = [s.name for s in scenario.services]
    if chaos.service not in names:
        extra = did_you_mean(chaos.service, names)
        raise PathError("chaos.service", f"no service named {chaos.service!r}{extra}")
    count = scenario.requests.count if scenario.requests else 0
    if scenario.load is not None:  # under load: the K-th request the load sends
        count = scenario.load.requests or 1_000_000_000
    if chaos.at_request >= count:
        raise PathError(
            "chaos.at_request", f"the trial sends {count} request(s); at_request must be below that"
        )


def _matches_name_factors_and_levels(scenario: Scenario) -> None:
    factors = scenario.factors
    matches = [
        (f"services[{i}].when[{k}].match", cond.match)
        for i, svc in enumerate(scenario.services)
        for k, cond in enumerate(svc.when)
    ]
    matches += [(f"requires[{i}].match", need.match) for i, need in enumerate(scenario.requires)]
    matches += [(f"services[{i}].only", svc.only) for i, svc in enumerate(scenario.services)]
    if scenario.chaos is not None:
        matches.append(("chaos.match", scenario.chaos.match))
    for base, match in matches:
        for key, vals in match.items():
            where = f"{base}.{key}"
            if key not in factors:
                extra = did_you_mean(key, factors)
                raise PathError(where, f"not a factor of the matrix{extra}")
            for v in as_list(vals):
                if normalise_level(key, v) not in factors[key]:
                    raise PathError(
                        where, f"{v!r} is not a level of '{key}' (levels: {list(factors[key])})"
                    )


def _ports_differ(scenario: Scenario) -> None:
    ports = [s.port for s in scenario.services if s.port is not None]
    for i, svc in enumerate(scenario.services):
        if svc.port is not None and ports.count(svc.port) > 1:
            raise PathError(f"services[{i}].port", f"port {svc.port} is given to two services")


def _load_has_what_it_needs(scenario: Scenario) -> None:
    if "before_ready" in scenario.factors and scenario.load is None:
        raise PathError(
            "matrix.before_ready", "the before_ready factor sets [load] before_ready: add [load]"
        )
    if scenario.load is not None and scenario.requests is None:
        raise PathError("load", "the load sends the requests of [requests]: add a [requests] table")


def _requests_go_to_a_service_that_answers(scenario: Scenario) -> None:
    req = scenario.requests
    if req is None:
        return
    names = [s.name for s in scenario.services]
    if req.service is not None and req.service not in names:
        extra = did_you_mean(req.service, names)
        raise PathError("requests.service", f"no service named {req.service!r}{extra}")
    measured = scenario.measured_service
    if req.count > 0 and measured.ready.kind == "exit":
        where = f"services[{names.index(measured.name)}].ready.kind"
        raise PathError(
            where,
            "a service with kind = 'exit' has exited when it is ready, so no requests can be "
            "sent to it; set requests.count = 0 or use 'tcp', 'http' or 'log'",
        )


def _gate_names_a_factor_and_level(scenario: Scenario) -> None:
    gate, factors = scenario.gate, scenario.factors
    if gate.factor is None:
        return
    if gate.factor not in factors:
        extra = did_you_mean(gate.factor, factors)
        raise PathError("gate.factor", f"not a factor of the matrix{extra}")
    if gate.baseline_level not in factors[gate.factor]:
        raise PathError(
            "gate.baseline_level",
            f"{gate.baseline_level!r} is not a level of '{gate.factor}' "
            f"(levels: {list(factors[gate.factor])})",
        )


def _harness_factors_have_their_tables(scenario: Scenario) -> None:
    factors = scenario.factors
    if "page_cache" in factors and scenario.page_cache is None:
        raise PathError(
            "matrix.page_cache", "the page_cache factor needs [page_cache] files = [...]"
        )
    if "tls" in factors and scenario.tls.enabled:
        raise PathError("tls.enabled", "TLS is a matrix factor here; remove tls.enabled")


def _a_fleet_has_one_service_on_free_ports(scenario: Scenario) -> None:
    factors = scenario.factors
    if scenario.fleet is None:
        for name in ("replicas", "balancer"):
            if name in factors:
                raise PathError(f"matrix.{name}", f"the {name} factor needs a [fleet] table")
        return
    if len(scenario.services) != 1:
        raise PathError(
            "fleet",
            "a fleet replicates the scenario's one service; this one has "
            f"{len(scenario.services)} (fleets of several services are not supported yet)",
        )
    if scenario.services[0].port is not None:
        raise PathError("services[0].port", "a fleet's replicas each need a port: remove port")
    if scenario.chaos is not None:
        raise PathError("fleet", "[chaos] in a fleet is not supported yet")
    if scenario.fleet.scale_at_queue is not None:
        if scenario.load is None:
            raise PathError(
                "fleet.scale_at_queue",
                "replicas started on the queue need traffic that queues: add a [load]",
            )
        if scenario.fleet.stagger_ms:
            raise PathError(
                "fleet.scale_at_queue",
                "start the replicas on the queue or staggered, not both (stagger_ms)",
            )


def _template_variables_are_defined(scenario: Scenario) -> None:
    factors = scenario.factors
    known = set(BUILTIN_VARIABLES) | set(factors) | {f"ports.{s.name}" for s in scenario.services}
    for name, text in scenario.vars.items():  # built from the built-ins and factors only
        for var in variables_in(text):
            if var not in known:
                why = "another variable" if var in scenario.vars else "not a built-in or factor"
                raise PathError(
                    f"vars.{name}",
                    f"{{{var}}} is {why}; a variable may use built-in variables and factors",
                )
    known |= set(scenario.vars)
    used: set[str] = set()
    for path, text, _owner in templated_strings(scenario):
        for var in variables_in(text):
            if var not in known:
                extra = did_you_mean(var, known, "; did you mean {{{}}}?")
                raise PathError(f"@{path}", f"unknown template variable {{{var}}}{extra}")
            if var == "compile_cache_dir" and "compile_cache" not in factors:
                raise PathError(
                    f"@{path}", "{compile_cache_dir} needs the compile_cache factor in [matrix]"
                )
            used.add(var)
    if "compile_cache" in factors and "compile_cache_dir" not in used:
        raise PathError(
            "matrix.compile_cache",
            "the compile_cache factor prepares {compile_cache_dir}; give it to the server, "
            'e.g. env = { TORCHINDUCTOR_CACHE_DIR = "{compile_cache_dir}" }',
        )


Rule = Callable[[Scenario], None]

# In the order a reader meets the tables; the first problem is the one reported.
RULES: tuple[Rule, ...] = (
    _service_names_differ,
    _variables_are_new_identifiers,
    _chaos_targets_a_service_and_a_request,
    _matches_name_factors_and_levels,
    _ports_differ,
    _load_has_what_it_needs,
    _requests_go_to_a_service_that_answers,
    _gate_names_a_factor_and_level,
    _harness_factors_have_their_tables,
    _a_fleet_has_one_service_on_free_ports,
    _template_variables_are_defined,
)


def check_cross_references(scenario: Scenario) -> None:
    """Raise :class:`PathError` for the first reference that points nowhere."""
    for rule in RULES:
        rule(scenario)
