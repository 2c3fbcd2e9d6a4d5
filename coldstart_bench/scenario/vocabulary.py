"""The words a scenario may use: the factors the harness acts on, the built-in template
variables, and how factor levels are written (``true``/``on``, ``1``/``"1"``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from coldstart_bench.scenario.messages import PathError, did_you_mean

# Factors the harness itself acts on; any other factor is only a template variable.
HARNESS_FACTORS: dict[str, tuple[str, ...]] = {
    "pooling": ("on", "off"),
    "tls": ("on", "off"),
    "http2": ("on", "off"),
    "page_cache": ("cold", "warm"),
    "before_ready": ("hold", "retry"),  # [load]: what arrivals before ready do
    "compile_cache": ("cold", "warm"),  # what {compile_cache_dir} holds at spawn
    "idle_s": (),  # seconds of silence before each request after the first (any number ≥ 0)
    "replicas": (),  # [fleet]: how many replicas start at once (1 to 32)
    "balancer": ("haproxy", "first-ready", "round-robin", "least-outstanding"),  # [fleet]
}
# What the harness does with each (the scenario reference shows these).
HARNESS_FACTOR_DOCS: dict[str, str] = {
    "pooling": "on: one keep-alive connection for the trial's requests; off: a fresh connection "
    "per request; a number N: pooling with at most N connections",
    "tls": "on: https, with certificate verification against [tls] ca_file or a throw-away CA",
    "http2": "on: HTTP/2 (negotiated by ALPN over TLS)",
    "page_cache": "cold: the [page_cache] files are evicted (posix_fadvise DONTNEED) before the "
    "spawn; warm: they are read first; the fraction resident is recorded",
    "before_ready": "sets [load] before_ready (hold or retry), to compare both in one run",
    "compile_cache": "cold: {compile_cache_dir} is a new, empty directory for each trial, "
    "removed after it; warm: one directory for the whole run, filled by a warm-up trial or a "
    "setup command; what it held at spawn and what the server added are recorded",
    "idle_s": "seconds of silence before each request after the first (instead of "
    "[requests] pause_ms)",
    "replicas": "sets [fleet] replicas: how many replicas of the service start at once",
    "balancer": "sets [fleet] balancer: haproxy, first-ready, round-robin or least-outstanding",
}

# Variables every template may use, besides the matrix factors and [vars].
BUILTIN_VARIABLES: dict[str, str] = {
    "port": "the port of this service (in [requests]: of the measured service)",
    "host": "the host the probe connects to (127.0.0.1 unless [requests] host is set)",
    "scheme": "http, or https when TLS is on",
    "python": "the Python interpreter running coldstart",
    "run_dir": "absolute path of this run's results directory",
    "trial_dir": "absolute path of this trial's directory (logs, phase files)",
    "scenario_dir": "absolute path of the directory holding the scenario file",
    "cache_dir": "a per-user cache for generated models ($COLDSTART_CACHE_DIR, else "
    "$XDG_CACHE_HOME/coldstart-bench, else ~/.cache/coldstart-bench)",
    "cpus": "the CPUs coldstart may use (its affinity, within a cgroup CPU quota)",
    "free_cpus": "of those, how many other work left free as the run started (at least 1; "
    "the busy share of all CPUs over 0.5 s): a thread count that fits a busy machine",
    "compile_cache_dir": "with the compile_cache factor, a directory for a server's compile "
    "cache (TORCHINDUCTOR_CACHE_DIR, TRITON_CACHE_DIR, VLLM_CACHE_ROOT): cold, a new empty one "
    "per trial; warm, one for the whole run",
    "trial_tmp": "a private temporary directory for this trial (give it to the server as TMPDIR): "
    "empty at spawn, removed after the teardown (by the guardian if coldstart is killed)",
    "tls_cert": "server certificate (PEM): [tls] cert_file, or one generated for the run",
    "tls_key": "server private key (PEM): [tls] key_file, or one generated for the run",
    "tls_ca": "CA certificate that signed tls_cert: [tls] ca_file, or the generated one",
    "service": "the name of this service",
    "replica": "with [fleet]: this replica's number (1 to N)",
    "variant": "the variant id, e.g. pooling=on,tls=off",
    "repetition": "the repetition number of this trial (0-based)",
    "trial": "the trial's position in the run (0-based)",
    "otlp_endpoint": "the trial's OTLP/HTTP receiver, e.g. http://127.0.0.1:PORT (where a "
    'service has spans = "otlp" or the scenario names an otlp variable)',
    "otlp_traces_endpoint": "the same with /v1/traces, as OTEL_EXPORTER_OTLP_TRACES_ENDPOINT "
    "and vLLM's --otlp-traces-endpoint take it",
    "traceparent": "a W3C trace context in the trial's trace (00-TRACE-SPAN-01): spans under "
    "it are the trial's",
}
OTLP_VARIABLES = frozenset({"otlp_endpoint", "otlp_traces_endpoint", "traceparent"})

_ON_OFF_ALIASES = {True: "on", False: "off", "true": "on", "false": "off", "on": "on", "off": "off"}
SERVICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
FACTOR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_REPETITIONS = 10_000

Scalar = str | int | float | bool


def scalar_text(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def match_levels(match: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """A ``match`` table as factor → levels in their normalised text form."""
    return {k: tuple(normalise_level(k, v) for v in as_list(vals)) for k, vals in match.items()}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def normalise_level(factor: str, value: Scalar) -> str:
    if factor in HARNESS_FACTORS and HARNESS_FACTORS[factor] == ("on", "off"):
        key = value.lower() if isinstance(value, str) else value
        if key in _ON_OFF_ALIASES:
            return _ON_OFF_ALIASES[key]
    return scalar_text(value)


def check_matrix(matrix: dict[str, Any]) -> None:
    """The ``[matrix]`` table: identifier names, scalar levels without repeats, the
    harness factors' own levels, and ``exclude`` rules naming real factors and levels."""
    levels: dict[str, list[str]] = {}
    for name, values in matrix.items():
        if name == "exclude":
            continue
        if not FACTOR_NAME.match(name):
            raise PathError(name, "factor names must be identifiers (letters, digits, '_')")
        if name in BUILTIN_VARIABLES:
            raise PathError(
                name, f"'{name}' is a built-in template variable; pick another factor name"
            )
        items = as_list(values)
        if not items:
            raise PathError(name, "a factor needs at least one level")
        for i, item in enumerate(items):
            if not isinstance(item, str | int | float | bool):
                raise PathError(
                    f"{name}[{i}]",
                    f"expected a string, number or boolean, got {type(item).__name__}",
                )
        texts = [normalise_level(name, v) for v in items]
        if len(set(texts)) != len(texts):
            raise PathError(name, f"levels repeat: {texts}")
        if name == "replicas":
            for i, item in enumerate(items):
                if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= 32:
                    raise PathError(
                        f"{name}[{i}]", f"replicas takes a whole number 1 to 32, got {item!r}"
                    )
        if name == "idle_s":
            for i, item in enumerate(items):
                if isinstance(item, bool) or not isinstance(item, int | float) or item < 0:
                    raise PathError(
                        f"{name}[{i}]", f"idle_s takes seconds (a number ≥ 0), got {item!r}"
                    )
        allowed = HARNESS_FACTORS.get(name)
        if allowed:
            for i, t in enumerate(texts):
                if name == "pooling" and t.isdigit() and int(t) >= 1:
                    continue  # pooling on, with a pool of this many connections
                if t not in allowed:
                    raise PathError(
                        f"{name}[{i}]",
                        f"the harness factor '{name}' takes "
                        f"{' or '.join(map(repr, allowed))}"
                        f"{' (or a pool size, e.g. 4)' if name == 'pooling' else ''}, "
                        f"got {items[i]!r}",
                    )
        levels[name] = texts
    if not levels and "exclude" not in matrix:
        return
    if not levels:
        raise PathError("exclude", "exclude rules need at least one factor in [matrix]")
    rules = matrix.get("exclude", [])
    if not isinstance(rules, list):
        raise PathError(
            "exclude", "expected a list of tables like [{ pooling = 'off', tls = 'on' }]"
        )
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict) or not rule:
            raise PathError(f"exclude[{i}]", "expected a non-empty table like { pooling = 'off' }")
        for key, vals in rule.items():
            if key not in levels:
                extra = did_you_mean(key, levels)
                raise PathError(f"exclude[{i}].{key}", f"not a factor of the matrix{extra}")
            for v in as_list(vals):
                if not isinstance(v, str | int | float | bool):
                    raise PathError(f"exclude[{i}].{key}", "expected a level or a list of levels")
                if normalise_level(key, v) not in levels[key]:
                    raise PathError(
                        f"exclude[{i}].{key}",
                        f"{v!r} is not a level of '{key}' (levels: {levels[key]})",
                    )
