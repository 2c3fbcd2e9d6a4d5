"""The reference server as a real subprocess: the official openai client talks to it, its
readiness is honest, it reports its phases, and its knobs do what they say."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from server_helpers import RunningServer, stop_server, wait_healthy

openai = pytest.importorskip("openai")
torch = pytest.importorskip("torch")


def client(server: RunningServer, **kwargs: object) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0, **kwargs)


def test_the_openai_client_streams_chat_and_completions(cached_server: RunningServer):
    c = client(cached_server)
    chunks = list(
        c.chat.completions.create(
            model="tiny",
            messages=[{"role": "user", "content": "Say hi"}],
            max_tokens=8,
            stream=True,
            stream_options={"include_usage": True},
            extra_body={"ignore_eos": True},
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert len(text) == 8
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 8
    finish = [ch.choices[0].finish_reason for ch in chunks if ch.choices]
    assert finish[-1] == "length"

    stream = c.completions.create(
        model="tiny", prompt="cold", max_tokens=5, stream=True, extra_body={"ignore_eos": True}
    )
    assert len("".join(ch.choices[0].text for ch in stream)) == 5


def test_non_streaming_answers_match_the_streamed_ones(cached_server: RunningServer):
    c = client(cached_server)
    body = {"model": "tiny", "prompt": "first token", "max_tokens": 6}
    whole = c.completions.create(**body, extra_body={"ignore_eos": True})
    streamed = "".join(
        ch.choices[0].text
        for ch in c.completions.create(**body, stream=True, extra_body={"ignore_eos": True})
    )
    assert whole.choices[0].text == streamed
    assert whole.usage.prompt_tokens == len("first token") + 1  # bytes + BOS
    assert [m.id for m in c.models.list()] == ["tiny"]


def test_bad_requests_get_openai_style_errors(cached_server: RunningServer):
    r = httpx.post(cached_server.url + "/v1/completions", json={"prompt": 3})
    assert r.status_code == 400
    assert "prompt" in r.json()["error"]["message"]
    r = httpx.post(cached_server.url + "/v1/chat/completions", content=b"{not json")
    assert r.status_code == 400


def test_startup_reports_phases_knobs_and_cache_hits(cached_server: RunningServer):
    c = client(cached_server)
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "again"},
    ]
    for _ in range(2):
        c.chat.completions.create(model="tiny", messages=messages, max_tokens=4)
    info = httpx.get(cached_server.url + "/startup").json()
    names = [p["phase"] for p in info["phases"]]
    for phase in ("import", "gc_freeze", "model_read", "deserialize", "to_device", "warmup"):
        assert phase in names
    assert names.index("warmup") < names.index("listen") < names.index("warmup_http")
    assert "prefix_cache" in names and "http_start" in names
    assert info["knobs"]["prefix_cache"] == "on" and info["knobs"]["gc_freeze"] == "on"
    assert info["ready"] is True
    assert info["stats"]["response_cache_hits"] >= 1
    assert info["stats"]["prefix_cache_hits"] >= 1

    written = [json.loads(line) for line in cached_server.phases.read_text().splitlines()]
    assert [p["phase"] for p in written] == names
    assert all(p["end_ns"] >= p["start_ns"] for p in written)


def test_async_warmup_listens_first_and_answers_once_loaded(tiny_model: Path, start_server):
    server = start_server(tiny_model, "--warmup", "async", "--startup-delay-ms", "1500")
    deadline = time.monotonic() + 30
    while True:  # the port opens long before the model is loaded
        try:
            health = httpx.get(server.url + "/health", timeout=5)
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline, server.log_text()
            time.sleep(0.01)
    assert health.status_code == 503 and health.json()["status"] == "loading"

    answer: dict[str, object] = {}

    def ask() -> None:
        r = httpx.post(
            server.url + "/v1/completions",
            json={"prompt": "wait for me", "max_tokens": 4, "ignore_eos": True},
            timeout=30,
        )
        answer["status"], answer["at"] = r.status_code, time.monotonic()
        answer["text"] = r.json()["choices"][0]["text"]

    asker = threading.Thread(target=ask)
    asker.start()
    wait_healthy(server)
    healthy_at = time.monotonic()
    asker.join(30)
    assert answer["status"] == 200 and len(str(answer["text"])) == 4
    assert answer["at"] <= healthy_at + 0.5  # answered once loaded, not turned away

    phases = [json.loads(line)["phase"] for line in server.phases.read_text().splitlines()]
    assert phases.index("listen") < phases.index("startup_delay") < phases.index("warmup")


def test_health_is_503_until_it_can_answer_in_every_mode(tiny_model: Path, start_server):
    for mode in ("none", "startup"):
        server = start_server(tiny_model, "--warmup", mode)
        wait_healthy(server)
        r = httpx.post(
            server.url + "/v1/completions", json={"prompt": "x", "max_tokens": 2}, timeout=10
        )
        assert r.status_code == 200


def test_tls_with_a_trusted_certificate(tiny_model: Path, start_server, trustme_certs):
    server = start_server(
        tiny_model,
        "--ssl-certfile",
        str(trustme_certs.cert),
        "--ssl-keyfile",
        str(trustme_certs.key),
        scheme="https",
    )
    trusted = ssl.create_default_context(cafile=str(trustme_certs.ca))
    wait_healthy(server, verify=trusted)
    c = client(server, http_client=httpx.Client(verify=trusted))
    out = c.chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": "tls"}], max_tokens=3
    )
    assert out.choices[0].message.role == "assistant"


def serve_once(*flags: str) -> subprocess.CompletedProcess[str]:
    """Run the server for a start-up that is expected to fail."""
    argv = [sys.executable, "-m", "coldstart_bench.target", "serve", "--port", "0", *flags]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu_is_a_clear_error(tiny_model: Path):
    done = serve_once("--model", str(tiny_model), "--device", "cuda")
    assert done.returncode == 2
    assert "CUDA is not available" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_model_says_how_to_make_one(tmp_path: Path):
    done = serve_once("--model", str(tmp_path / "nothing"))
    assert done.returncode == 2
    assert "coldstart make-model --out" in done.stderr


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_on_cuda_the_model_answers_and_cuda_init_is_timed(tiny_model: Path, start_server):
    server = start_server(tiny_model, "--device", "cuda", "--warmup", "startup")
    wait_healthy(server)
    r = httpx.post(server.url + "/v1/completions", json={"prompt": "gpu", "max_tokens": 4})
    assert r.status_code == 200
    info = httpx.get(server.url + "/startup").json()
    assert info["knobs"]["device"].startswith("cuda")
    assert "cuda_init" in [p["phase"] for p in info["phases"]]


def test_idle_keep_warm_runs_a_pass_per_idle_period_and_idle_connections_close(
    tiny_model: Path, start_server
):
    server = start_server(tiny_model, "--keep-warm-s", "0.3", "--keep-alive-s", "0.4")
    wait_healthy(server)
    time.sleep(1.2)  # idle: about four keep-warm passes
    passes = httpx.get(server.url + "/startup").json()["keep_warm_passes"]
    assert passes >= 2
    with httpx.Client() as client:
        connections = []

        def remember(name: str, info: dict) -> None:
            if name == "connection.connect_tcp.complete":
                connections.append(name)

        chat = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
        for pause in (0.0, 0.1, 0.9):  # the last one after the server's keep-alive ran out
            time.sleep(pause)
            reply = client.post(
                server.url + "/v1/chat/completions", json=chat, extensions={"trace": remember}
            )
            assert reply.status_code == 200
    assert len(connections) == 2  # one kept alive for the 0.1 s gap, one after 0.9 s


@pytest.mark.slow
@pytest.mark.skipif(
    not any(shutil.which(cc) for cc in ("g++", "c++", "clang++")),
    reason="torch.compile (inductor) needs a C++ compiler on CPU",
)
def test_compile_fills_its_cache_and_a_second_start_compiles_nothing(
    tiny_model: Path, start_server, tmp_path: Path
):
    env = {"TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "inductor")}
    chat = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4, "ignore_eos": True}

    starts, answers = [], []
    for _ in range(2):
        server = start_server(tiny_model, "--compile", "on", env=env)
        wait_healthy(server, timeout=240)
        starts.append(httpx.get(server.url + "/startup").json())
        reply = httpx.post(server.url + "/v1/chat/completions", json=chat, timeout=60)
        answers.append(reply.json()["choices"][0]["message"]["content"])
        stop_server(server)

    first, second = (s["compile_cache"] for s in starts)
    assert first["fxgraph_miss"] >= 1 and first["fxgraph_hit"] == 0
    assert second["fxgraph_miss"] == 0 and second["fxgraph_hit"] == first["fxgraph_miss"]
    assert all("compile" in [p["phase"] for p in s["phases"]] for s in starts)
    assert answers[0] == answers[1] and len(answers[0]) == 4
