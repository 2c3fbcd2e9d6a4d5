import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coldstart_bench.probe.sse import (
    MalformedStream,
    SSEDecoder,
    SSEEvent,
    read_openai_chunk,
    read_openai_response,
)


def decode_all(chunks: list[bytes]) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.close())
    return events


def test_events_are_split_on_blank_lines_and_data_lines_joined():
    stream = b"data: a\ndata: b\n\n: a comment\nevent: note\ndata: c\n\n"
    assert decode_all([stream]) == [SSEEvent("a\nb"), SSEEvent("c", event="note")]


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_all_three_line_endings_work(newline: bytes):
    stream = b"data: x" + newline + newline + b"data: y" + newline + newline
    assert [e.data for e in decode_all([stream])] == ["x", "y"]


def test_an_unterminated_event_at_the_end_is_dropped():
    assert decode_all([b"data: x\n\ndata: half"]) == [SSEEvent("x")]


payloads = st.lists(
    st.text(
        alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)),
        max_size=30,
    ),
    min_size=1,
    max_size=8,
)


@given(payloads, st.sampled_from([b"\n", b"\r\n", b"\r"]), st.data())
def test_any_chunking_gives_the_same_events(datas: list[str], newline: bytes, data: st.DataObject):
    stream = b"".join(b"data: " + d.encode() + newline + newline for d in datas)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    # "data: " loses exactly one space, as the standard says, so each payload comes back whole.
    assert [e.data for e in decode_all(chunks)] == datas


def test_a_chat_role_chunk_carries_no_content():
    role_only = json.dumps({"choices": [{"index": 0, "delta": {"role": "assistant"}}]})
    assert read_openai_chunk(role_only, chat=True).text == ""
    token = json.dumps({"choices": [{"index": 0, "delta": {"content": "Hi"}}]})
    assert read_openai_chunk(token, chat=True).text == "Hi"


def test_completion_chunks_carry_text_and_usage():
    chunk = read_openai_chunk(
        json.dumps({"choices": [{"text": "x"}], "usage": {"completion_tokens": 7}}), chat=False
    )
    assert (chunk.text, chunk.completion_tokens) == ("x", 7)
    assert read_openai_chunk("[DONE]", chat=False).done


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"error": {"message": "overloaded"}}', "overloaded"),
        ('{"choices": {"text": "x"}}', "not a list"),
        ('{"choices": [{"delta": {"content": 3}}]}', "not a string"),
    ],
)
def test_malformed_chunks_are_reported(data: str, message: str):
    with pytest.raises(MalformedStream, match=message):
        read_openai_chunk(data, chat=True)


def test_a_complete_chat_response_is_read():
    body = json.dumps(
        {"choices": [{"message": {"content": "hello"}}], "usage": {"completion_tokens": 2}}
    )
    content = read_openai_response(body.encode(), chat=True)
    assert (content.text, content.completion_tokens) == ("hello", 2)


def test_an_endless_line_is_refused_rather_than_buffered_forever():
    decoder = SSEDecoder(max_line=1000)
    with pytest.raises(MalformedStream, match="longer than 1000 bytes"):
        decoder.feed(b"data: " + b"x" * 2000)
