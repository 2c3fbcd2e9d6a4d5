"""The words shared by the terminal, Markdown and HTML: which requests repeat a prompt."""

from __future__ import annotations

from coldstart_bench.report.columns import repeats_text


def test_the_repeated_prompts_are_said_by_request_number():
    assert repeats_text({3: 1}, [1, 2, 3]) == "request 3 repeats request 1's prompt"
    said = repeats_text({3: 1, 4: 2, 5: 1}, [1, 2, 3, 4, 5])
    assert (
        said == "requests 3 and 5 repeat request 1's prompt; request 4 repeats request 2's prompt"
    )


def test_one_prompt_for_every_request_is_said_once():
    assert repeats_text({2: 1, 3: 1, 4: 1}, [1, 2, 3, 4]) == "every request sends the same prompt"


def test_requests_not_shown_are_not_said():
    assert repeats_text({3: 1}, [1, 2]) == ""
    assert repeats_text({}, [1, 2, 3]) == ""
