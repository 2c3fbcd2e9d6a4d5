"""Server-sent events, decoded incrementally, and OpenAI's streaming chunks read from them.

The decoder follows the WHATWG event-stream rules: lines end with CRLF, LF or CR; a blank
line dispatches the event; ``data`` lines are joined with newlines; lines starting with
``:`` are comments. It is fed raw network chunks, so an event may arrive split anywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

DONE = "[DONE]"


@dataclass(frozen=True, slots=True)
class SSEEvent:
    data: str
    event: str = "message"
    id: str | None = None


class MalformedStream(ValueError):
    """A stream that is not a well-formed event stream or OpenAI chunk sequence."""


class SSEDecoder:
    def __init__(self, max_line: int = 1 << 20) -> None:
        self._max_line = max_line
        self._pending = b""
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Decode a chunk; return the events it completed, in order."""
        lines = (self._pending + chunk).splitlines(keepends=True)
        self._pending = b""
        # An unterminated last line waits for more; so does a lone CR, which may be the
        # first half of a CRLF split across chunks.
        if lines and not lines[-1].endswith(b"\n"):
            self._pending = lines.pop()
            if len(self._pending) > self._max_line:
                raise MalformedStream(f"an event-stream line is longer than {self._max_line} bytes")
        events: list[SSEEvent] = []
        for raw in lines:
            event = self._line(raw.rstrip(b"\r\n").decode("utf-8", "replace"))
            if event is not None:
                events.append(event)
        return events

    def close(self) -> list[SSEEvent]:
        """End of stream: a final line without a newline still counts; an event that was never
        terminated by a blank line is dropped, as the standard says."""
        events: list[SSEEvent] = []
        if self._pending:
            for raw in self._pending.splitlines():
                event = self._line(raw.decode("utf-8", "replace"))
                if event is not None:
                    events.append(event)
            self._pending = b""
        return events

    def _line(self, line: str) -> SSEEvent | None:
        if line == "":
            if not self._data:
                self._event = None
                return None
            event = SSEEvent(
                data="\n".join(self._data), event=self._event or "message", id=self._id
            )
            self._data = []
            self._event = None
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            self._id = value
        return None


@dataclass(frozen=True, slots=True)
class ChunkContent:
    text: str  # the content this chunk adds ("" for role-only or finish chunks)
    completion_tokens: int | None = None  # from a usage block, when the server sends one
    done: bool = False


def read_openai_chunk(data: str, *, chat: bool) -> ChunkContent:
    """The content carried by one ``data:`` payload of an OpenAI streaming response."""
    if data.strip() == DONE:
        return ChunkContent(text="", done=True)
    try:
        payload = json.loads(data)
    except json.JSONDecodeError as exc:
        raise MalformedStream(f"a data line is not JSON ({exc.msg}): {_clip(data)}") from None
    if not isinstance(payload, dict):
        raise MalformedStream(f"a chunk is not a JSON object: {_clip(data)}")
    if "error" in payload:
        raise MalformedStream(
            f"the server sent an error in the stream: {_clip(json.dumps(payload['error']))}"
        )
    text = "".join(_choice_text(c, chat=chat) for c in _choices(payload, data))
    return ChunkContent(text=text, completion_tokens=_usage_tokens(payload))


def read_openai_response(body: bytes, *, chat: bool) -> ChunkContent:
    """The content of a complete (non-streaming) OpenAI response."""
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedStream(f"the response is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise MalformedStream("the response is not a JSON object")
    text = "".join(_choice_text(c, chat=chat, streaming=False) for c in _choices(payload, ""))
    return ChunkContent(text=text, completion_tokens=_usage_tokens(payload), done=True)


def _choices(payload: dict[str, Any], data: str) -> list[Any]:
    choices = payload.get("choices", [])
    if not isinstance(choices, list):
        raise MalformedStream(f"'choices' is not a list: {_clip(data)}")
    return choices


def _choice_text(choice: Any, *, chat: bool, streaming: bool = True) -> str:
    if not isinstance(choice, dict):
        raise MalformedStream("a choice is not a JSON object")
    if chat:
        holder = choice.get("delta" if streaming else "message") or {}
        content = holder.get("content") if isinstance(holder, dict) else None
    else:
        content = choice.get("text")
    if content is None:
        return ""
    if not isinstance(content, str):
        raise MalformedStream(f"content is not a string: {_clip(repr(content))}")
    return content


def _usage_tokens(payload: dict[str, Any]) -> int | None:
    usage = payload.get("usage")
    if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
        return int(usage["completion_tokens"])
    return None


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
