"""Secrets kept out of everything the tool writes, by name and by meaning: environment
values, headers and fields whose names say they hold a secret (a password, a key, a token,
credentials, a cookie), the values of such command-line flags, and wherever text is kept —
a server's log lines, an error, a URL — what is shaped like a secret: a token, the password
of a URL's userinfo, a query parameter that carries a credential, a cookie header."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

from coldstart_bench.results.schema import RequestRecord, TrialRecord

SECRET_MARKERS = (
    "TOKEN", "KEY", "SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "AUTH", "CREDENTIAL",
    "COOKIE", "PRIVATE", "SIGNATURE",
)  # fmt: skip
REDACTED = "***"
# Names with a marker in them that hold no secret.
_NOT_SECRET = frozenset({"PWD", "OLDPWD"})


def is_secret(name: str) -> bool:
    upper = name.upper()
    return upper not in _NOT_SECRET and any(marker in upper for marker in SECRET_MARKERS)


def redact_mapping(values: Mapping[str, Any]) -> dict[str, Any]:
    """Secret-named values hidden; in the others, what is shaped like a secret (a URL's
    password, a credential in its query)."""
    return {
        k: REDACTED if is_secret(k) else redact_text(v) if isinstance(v, str) else v
        for k, v in values.items()
    }


def redact_argv(argv: Iterable[str]) -> list[str]:
    """Hide the values of secret-looking flags (``--api-key X``, ``--api-key=X``), of
    secret-looking assignments (``--var api_token=X``, ``env HF_TOKEN=X cmd``), and
    token-shaped words (``sk-…``, ``Bearer …``)."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(REDACTED)
            hide_next = False
            continue
        name, eq, _ = arg.partition("=")
        if arg.startswith("-") and is_secret(name):
            if eq:
                out.append(name + "=" + REDACTED)
            else:
                out.append(arg)
                hide_next = True
            continue
        if eq and not arg.startswith("-") and _ASSIGNED.fullmatch(name) and is_secret_field(name):
            out.append(name + "=" + REDACTED)
            continue
        out.append(redact_text(arg))
    return out


_ASSIGNED = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
# Names with a secret marker that count tokens instead of holding one.
_TOKEN_COUNTS = re.compile(r"(?i).*tokens(_\w+)?")


def is_secret_field(name: str) -> bool:
    """A key of a request body or an assignment that holds a secret (``api_key``,
    ``password``, ``auth_token``) — not a count of tokens (``max_tokens``)."""
    return is_secret(name) and not _TOKEN_COUNTS.fullmatch(name)


# Secrets that show up in text without a known value: bearer tokens, API-key-shaped words,
# and NAME=value / NAME: value where the name looks secret.
_SECRET_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\b(sk-|hf_|ghp_|xox[bp]-)[A-Za-z0-9_-]{8,}"),
    # ENV_STYLE names (API_KEY=..., HF_TOKEN: ...) and a few lower-case words; not
    # "max_tokens: 8", which is no secret.
    re.compile(
        r"\b([A-Z][A-Z0-9_]*(?:TOKEN|KEY|SECRET|PASSWORD|PASSWD|PASSPHRASE|AUTH|CREDENTIAL)"
        r"[A-Z0-9_]*\s*[=:]\s*)[^\s,;&\"']+"
        r"|(?i:\b((?:api[_-]?key|password|passwd|secret|access[_-]?token|credentials?)"
        r"\s*[=:]\s*))[^\s,;&\"']+"
    ),
)
# A URL's userinfo password: scheme://user:PASSWORD@host.
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)([^@\s/]+)(@)")
# A query parameter whose name says it carries a credential (?api_key=, &X-Amz-Signature=).
_QUERY_PARAM = re.compile(r"([?&;])([^=&\s#?]+)=([^&\s#\"']*)")
# A cookie header, in a log line or an error.
_COOKIE = re.compile(r"(?i)\b((?:set-)?cookie\s*[:=]\s*)[^\r\n]+")


def secret_values(*mappings: Mapping[str, str]) -> set[str]:
    """The values of every secret-looking key (long enough to be worth hiding)."""
    return {str(v) for m in mappings for k, v in m.items() if is_secret(k) and len(str(v)) >= 4}


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Hide known secret values, and anything shaped like a token, in free text such as a
    server's log lines or an error message."""
    for value in sorted(secrets, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    text = _URL_PASSWORD.sub(lambda m: m.group(1) + REDACTED + m.group(3), text)
    text = _QUERY_PARAM.sub(_query_param, text)
    text = _COOKIE.sub(lambda m: m.group(1) + REDACTED, text)
    text = _SECRET_PATTERNS[0].sub(lambda m: m.group(1) + REDACTED, text)
    text = _SECRET_PATTERNS[1].sub(lambda m: m.group(1) + REDACTED, text)
    return _SECRET_PATTERNS[2].sub(lambda m: (m.group(1) or m.group(2)) + REDACTED, text)


def _query_param(m: re.Match[str]) -> str:
    sep, name, value = m.group(1), m.group(2), m.group(3)
    if value and (is_secret_field(name) or name.lower() in _QUERY_CREDENTIALS):
        return f"{sep}{name}={REDACTED}"
    return m.group(0)


# Query parameters that carry credentials under names without a marker.
_QUERY_CREDENTIALS = frozenset({"sig", "code", "pass", "pwd", "session", "sessionid", "jwt"})


_SECRET_TABLES = ("env", "headers", "vars")
_BODY_TABLES = ("extra_body", "body")  # a request's JSON: its secret fields, not max_tokens
_ARGV_LISTS = ("command", "args")
_ARGV_LIST_LISTS = ("prepare", "setup")


def redact_scenario(value: Any, key: str | None = None) -> Any:
    """A scenario as run, with secret environment values, headers and variables hidden, and
    the values of secret-looking command-line flags too. Other keys (``max_tokens``) stay."""
    if isinstance(value, Mapping):
        if key in _SECRET_TABLES:
            return redact_mapping(value)
        if key in _BODY_TABLES:
            return _redact_body(value)
        return {k: redact_scenario(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        if key in _ARGV_LISTS and all(isinstance(v, str) for v in value):
            return redact_argv(value)
        if key in _ARGV_LIST_LISTS:
            return [redact_argv(v) if isinstance(v, list) else v for v in value]
        return [redact_scenario(v) for v in value]
    if isinstance(value, str):  # a URL, a path with a query: what is shaped like a secret
        return redact_text(value)
    return value


def _redact_body(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            k: REDACTED if is_secret_field(str(k)) else _redact_body(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact_body(v) for v in value]
    return value


def redact_record(record: TrialRecord, secrets: Iterable[str]) -> TrialRecord:
    """A trial's record with ``secrets`` and token-shaped words hidden wherever it keeps
    free text a server could have written: errors, notes, chaos errors."""

    def hide(text: str | None) -> str | None:
        return redact_text(text, secrets) if text else text

    def request(r: RequestRecord) -> RequestRecord:
        return dataclasses.replace(r, error=hide(r.error)) if r.error else r

    chaos = record.chaos
    if chaos is not None and chaos.first_errors:
        chaos = dataclasses.replace(
            chaos, first_errors=tuple(hide(e) or "" for e in chaos.first_errors)
        )
    return dataclasses.replace(
        record,
        error=hide(record.error),
        notes=tuple(hide(n) or "" for n in record.notes),
        services=tuple(
            dataclasses.replace(s, error=hide(s.error)) if s.error else s for s in record.services
        ),
        requests=tuple(request(r) for r in record.requests),
        load=tuple(
            dataclasses.replace(r, request=request(r.request), first_error=hide(r.first_error))
            for r in record.load
        ),
        chaos=chaos,
    )
