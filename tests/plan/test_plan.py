from collections import Counter
from dataclasses import replace
from pathlib import Path

from coldstart_bench.plan.order import TrialSpec, plan_trials
from coldstart_bench.plan.render import RenderContext, render_trial
from coldstart_bench.scenario.matrix import Variant, filter_variants
from coldstart_bench.scenario.reader import parse_scenario

VARIANTS = [Variant(i, {"f": str(i)}) for i in range(4)]


def test_every_round_runs_every_variant_once():
    plan = plan_trials(VARIANTS, repetitions=5, warmup_trials=0, seed=1)
    assert len(plan) == 20
    for r in range(5):
        block = plan[r * 4 : (r + 1) * 4]
        assert sorted(t.variant.index for t in block) == [0, 1, 2, 3]
        assert {t.repetition for t in block} == {r}


def test_the_order_is_shuffled_and_reproducible_from_the_seed():
    a = [t.variant.index for t in plan_trials(VARIANTS, 10, 0, seed=7)]
    b = [t.variant.index for t in plan_trials(VARIANTS, 10, 0, seed=7)]
    c = [t.variant.index for t in plan_trials(VARIANTS, 10, 0, seed=8)]
    assert a == b
    assert a != c
    assert a != [0, 1, 2, 3] * 10


def test_warmup_trials_come_first_and_are_marked():
    plan = plan_trials(VARIANTS, repetitions=2, warmup_trials=1, seed=3)
    assert [t.warmup for t in plan] == [True] * 4 + [False] * 8
    assert Counter(t.variant.index for t in plan if not t.warmup) == {0: 2, 1: 2, 2: 2, 3: 2}


def test_variant_filters_keep_the_named_levels():
    variants = [
        Variant(0, {"a": "x", "b": "1"}),
        Variant(1, {"a": "y", "b": "1"}),
        Variant(2, {"a": "y", "b": "2"}),
    ]
    assert [v.index for v in filter_variants(variants, {"a": ["y"]})] == [1, 2]
    assert [v.index for v in filter_variants(variants, {"a": ["y"], "b": ["2"]})] == [2]


SCENARIO = """
vars = { model_dir = "/models/tiny" }
[matrix]
tls = ["on", "off"]
device = ["cpu", "cuda"]
[[services]]
name = "cache"
command = ["cache-server", "--port", "{port}"]
[[services]]
name = "api"
command = "serve --port {port} --cache 127.0.0.1:{ports.cache} --device {device} --model {model_dir}"
env = { API_TOKEN = "s3cret", THREADS = 2 }
ready = { kind = "http", path = "/health" }
[[services.when]]
match = { tls = "on" }
args = ["--cert", "{tls_cert}"]
env = { TLS = "1" }
[requests]
kind = "openai-completions"
count = 3
prompts = ["a {device}", "b"]
extra_body = { ignore_eos = true, tags = ["{variant}"] }
"""


def render(factors: dict[str, str]):
    loaded = parse_scenario(SCENARIO)
    variant = next(v for v in loaded.variants if dict(v.factors) == factors)
    ctx = RenderContext(
        Path("/run"), Path("/run/t0"), Path("/s"), "/usr/bin/python3", {"cache": 1111, "api": 2222}
    )
    return render_trial(loaded, TrialSpec(0, variant, 0, False), ctx)


def test_services_get_their_own_port_and_can_name_the_others():
    setup = render({"tls": "off", "device": "cuda"})
    cache, api = setup.services
    assert cache.argv == ("cache-server", "--port", "1111")
    assert api.argv == (
        "serve",
        "--port",
        "2222",
        "--cache",
        "127.0.0.1:1111",
        "--device",
        "cuda",
        "--model",
        "/models/tiny",
    )
    assert api.env["THREADS"] == "2"
    assert api.env["COLDSTART_PHASES"] == "/run/t0/phases-api.jsonl"
    assert api.ready.kind == "http" and not api.ready.https


def test_conditional_args_apply_only_to_matching_variants():
    on = render({"tls": "on", "device": "cpu"})
    assert on.services[1].argv[-2:] == ("--cert", "")  # no generated files in this unit test
    assert on.services[1].env["TLS"] == "1"
    assert on.services[1].ready.https
    assert on.probe.tls
    off = render({"tls": "off", "device": "cpu"})
    assert "--cert" not in off.services[1].argv
    assert "TLS" not in off.services[1].env


def test_requests_are_rendered_with_prompts_cycled():
    import json

    setup = render({"tls": "off", "device": "cpu"})
    bodies = [json.loads(r.body) for r in setup.requests]
    assert [b["prompt"] for b in bodies] == ["a cpu", "b", "a cpu"]
    assert bodies[0]["tags"] == ["tls=off,device=cpu"]
    assert bodies[0]["ignore_eos"] is True
    assert setup.requests[0].url == "http://127.0.0.1:2222/v1/completions"
    assert setup.probe.pooling  # pooling is on unless a factor turns it off


def test_chat_requests_carry_the_system_prompt_and_cache_dir_is_a_variable(monkeypatch):
    import json

    monkeypatch.setenv("COLDSTART_CACHE_DIR", "/cache")
    loaded = parse_scenario("""
[[services]]
command = ["serve", "--model", "{cache_dir}/models/tiny"]
[requests]
kind = "openai-chat"
system = "You are {who}."
prompt = "hi"
[vars]
who = "terse"
""")
    ctx = RenderContext(Path("/run"), Path("/run/t0"), Path("/s"), "/py", {"server": 1})
    setup = render_trial(loaded, TrialSpec(0, loaded.variants[0], 0, False), ctx)
    assert setup.services[0].argv[-1] == "/cache/models/tiny"
    messages = json.loads(setup.requests[0].body)["messages"]
    assert messages == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "hi"},
    ]


def test_pooling_may_name_a_pool_size():
    loaded = parse_scenario("""
[matrix]
pooling = ["off", 4]
[[services]]
command = ["serve", "--port", "{port}"]
[requests]
kind = "http"
""")
    ctx = RenderContext(Path("/run"), Path("/run/t0"), Path("/s"), "/py", {"server": 1})
    probes = {
        v.factors["pooling"]: render_trial(loaded, TrialSpec(0, v, 0, False), ctx).probe
        for v in loaded.variants
    }
    assert probes["4"].pooling and probes["4"].pool_size == 4
    assert not probes["off"].pooling and probes["off"].pool_size is None


def test_shards_split_every_variant_evenly_and_cover_the_plan_once():
    from coldstart_bench.plan.order import shard_trials

    variants = [Variant(i, {"v": str(i)}) for i in range(3)]
    plan = plan_trials(variants, repetitions=5, warmup_trials=1, seed=3)
    shards = [shard_trials(plan, i, 4) for i in range(1, 5)]
    assert sorted(t.index for s in shards for t in s) == [t.index for t in plan]
    assert max(map(len, shards)) - min(map(len, shards)) <= 1
    for shard in shards:  # order within a shard follows the plan
        assert [t.index for t in shard] == sorted(t.index for t in shard)


def test_a_variable_may_be_built_from_built_in_variables_and_factors(monkeypatch):
    monkeypatch.setenv("COLDSTART_CACHE_DIR", "/cache")
    loaded = parse_scenario("""
vars = { home = "{cache_dir}/vllm-{size}" }
[matrix]
size = ["small"]
[[services]]
command = ["{home}/bin/serve", "--model", "{home}/model"]
""")
    ctx = RenderContext(Path("/run"), Path("/run/t0"), Path("/s"), "/py", {"server": 1})
    setup = render_trial(loaded, TrialSpec(0, loaded.variants[0], 0, False), ctx)
    assert setup.services[0].argv == (
        "/cache/vllm-small/bin/serve",
        "--model",
        "/cache/vllm-small/model",
    )


def test_a_first_token_rule_posts_a_streaming_request_to_its_endpoint():
    import json

    loaded = parse_scenario("""
vars = { name = "smollm2" }
[[services]]
command = ["serve"]
ready = { kind = "first-token", body = { model = "{name}", prompt = "Hi", max_tokens = 1 } }
""")
    ctx = RenderContext(Path("/run"), Path("/run/t0"), Path("/s"), "/py", {"server": 1})
    ready = render_trial(loaded, TrialSpec(0, loaded.variants[0], 0, False), ctx).services[0].ready
    assert ready.kind == "first-token" and ready.path == "/v1/completions"
    assert json.loads(ready.body) == {
        "model": "smollm2",
        "prompt": "Hi",
        "max_tokens": 1,
        "stream": True,
    }


def test_cpus_and_free_cpus_are_what_the_run_measured():
    loaded = parse_scenario("""
[[services]]
command = ["serve", "--threads", "{free_cpus}", "--of", "{cpus}"]
""")
    ctx = RenderContext(Path("/run"), Path("/run/t0"), Path("/s"), "/py", {"server": 1})
    measured = replace(ctx, cpus=8, free_cpus=3)
    setup = render_trial(loaded, TrialSpec(0, loaded.variants[0], 0, False), measured)
    assert setup.services[0].argv == ("serve", "--threads", "3", "--of", "8")
    unmeasured = render_trial(loaded, TrialSpec(0, loaded.variants[0], 0, False), ctx)
    assert unmeasured.services[0].argv[2] == unmeasured.services[0].argv[4] == str(ctx.cpus)
