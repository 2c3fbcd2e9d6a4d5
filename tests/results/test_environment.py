from coldstart_bench.results.environment import environment
from coldstart_bench.results.redact import redact_argv, redact_mapping, redact_scenario


def test_secret_looking_names_are_redacted():
    env = {
        "HF_TOKEN": "x",
        "OPENAI_API_KEY": "y",
        "DB_PASSWORD": "z",
        "AUTH_HEADER": "w",
        "PATH": "/bin",
    }
    assert redact_mapping(env) == {
        "HF_TOKEN": "***",
        "OPENAI_API_KEY": "***",
        "DB_PASSWORD": "***",
        "AUTH_HEADER": "***",
        "PATH": "/bin",
    }


def test_secret_flag_values_are_redacted_in_commands():
    assert redact_argv(["serve", "--api-key", "k1", "--secret=k2", "--port", "80"]) == [
        "serve",
        "--api-key",
        "***",
        "--secret=***",
        "--port",
        "80",
    ]


def test_scenario_keys_that_merely_contain_token_are_kept():
    dump = {
        "requests": {"max_tokens": 16, "headers": {"Authorization": "Bearer x"}},
        "services": [{"env": {"HF_TOKEN": "t"}, "command": ["s", "--token", "t"]}],
    }
    assert redact_scenario(dump) == {
        "requests": {"max_tokens": 16, "headers": {"Authorization": "***"}},
        "services": [{"env": {"HF_TOKEN": "***"}, "command": ["s", "--token", "***"]}],
    }


def test_environment_describes_the_machine():
    info = environment(with_torch=False)
    assert info["cpu_count"] >= 1
    assert info["python"].count(".") == 2
    assert info["torch"] is None


def test_free_text_loses_known_secrets_and_token_shapes_but_not_numbers():
    from coldstart_bench.results.redact import redact_text

    line = "Authorization: Bearer abcdefghijkl; HF_TOKEN=hf_abcdefgh1234 pw hunter22 max_tokens: 8"
    out = redact_text(line, {"hunter22"})
    assert "abcdefghijkl" not in out and "hf_abcdefgh1234" not in out and "hunter22" not in out
    assert "max_tokens: 8" in out


def test_secret_assignments_in_commands_are_redacted_but_token_counts_are_not():
    argv = ["coldstart", "run", "s.toml", "--var", "api_token=abc123", "--var", "model=m"]
    argv += ["env", "HF_TOKEN=hf_0123456789", "max_tokens=8", "serve", "sk-0123456789abcdef"]
    assert redact_argv(argv) == [
        "coldstart", "run", "s.toml", "--var", "api_token=***", "--var", "model=m",
        "env", "HF_TOKEN=***", "max_tokens=8", "serve", "sk-***",
    ]  # fmt: skip
