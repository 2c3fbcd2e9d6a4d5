"""A byte-level tokenizer: token ids 0..255 are bytes, then two specials. Needs no files.

Chat messages are rendered as ``<|role|>\\n{content}\\n`` after a BOS token, ending with
``<|assistant|>\\n`` as the generation prompt.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

BOS = 256
EOS = 257
VOCAB_SIZE = 258

# What the model may emit: printable ASCII, newline, and EOS. A randomly initialised
# model would otherwise emit arbitrary bytes, and a stream must stay valid UTF-8 text.
ALLOWED_OUTPUT: tuple[int, ...] = (10, *range(32, 127), EOS)


def encode(text: str, *, bos: bool = True) -> list[int]:
    ids = list(text.encode("utf-8"))
    return [BOS, *ids] if bos else ids


def decode(ids: Iterable[int]) -> str:
    return bytes(i for i in ids if i < 256).decode("utf-8", errors="replace")


def render_message(role: str, content: str) -> str:
    return f"<|{role}|>\n{content}\n"


def encode_chat(messages: Iterable[Mapping[str, object]]) -> list[int]:
    text = "".join(
        render_message(str(m.get("role", "user")), message_text(m.get("content"))) for m in messages
    )
    return encode(text + "<|assistant|>\n")


def message_text(content: object) -> str:
    """A message's content as text: a string, or OpenAI's list of content parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    raise ValueError("message content must be a string or a list of content parts")
