"""How scenario problems are worded: one line per problem, ``key.path: what was expected``,
with the nearest valid name for a misspelt one."""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import BaseModel, ValidationError


class PathError(ValueError):
    """A validation problem at a sub-path of the field being validated."""

    def __init__(self, subpath: str, message: str) -> None:
        self.subpath = subpath
        self.message = message
        super().__init__(message)


def nearest(word: str, candidates: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, candidates: Iterable[str], form: str = " (did you mean {!r}?)") -> str:
    """The "did you mean" clause for ``word`` (empty when nothing is near), in ``form``."""
    hint = nearest(word, candidates)
    return form.format(hint) if hint else ""


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith("["):
            out += part
        else:
            out += f".{part}" if out else str(part)
    return out


def _join_path(base: str, sub: str) -> str:
    if sub.startswith("@"):  # absolute path from the scenario root
        return sub[1:]
    if not sub:
        return base
    if sub.startswith("["):
        return base + sub
    return f"{base}.{sub}" if base else sub


def _model_at(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class whose keys are valid at ``loc`` (used to suggest the nearest key)."""
    model: type[BaseModel] | None = root
    annotation: Any = root
    for part in loc:
        if isinstance(part, int):
            annotation = _unwrap(annotation, index=True)
        elif model is not None and part in model.model_fields:
            annotation = _unwrap(model.model_fields[part].annotation, index=False)
        else:
            return None
        model = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
    return model


def _unwrap(annotation: Any, *, index: bool) -> Any:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _unwrap(typing.get_args(annotation)[0], index=index)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(args[0], index=index) if len(args) == 1 else annotation
    if index and origin is list:
        return typing.get_args(annotation)[0]
    return annotation


_TYPE_NAMES = {
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
}


_BOUNDS = {
    "greater_than_equal": ">=",
    "greater_than": ">",
    "less_than_equal": "<=",
    "less_than": "<",
}


def _describe_input(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# Pydantic names the member of a union it tried as an extra location step ("str",
# "list[union[str,int]]", "function-after[...]"); a user never wrote those.
_UNION_STEP = re.compile(r"^(str|int|float|bool|none|[a-z-]+\[.*\])$")


def path_problem(exc: PathError) -> str:
    """A problem found in a whole document (not inside one field), as one line."""
    return f"{_join_path('', exc.subpath)}: {exc.message}"


def problems(exc: ValidationError, root: type[BaseModel]) -> list[str]:
    """One line per problem pydantic found in a document validated as ``root``."""
    problems: list[str] = []
    expectations: dict[str, list[str]] = {}  # path → what each union member wanted
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and _UNION_STEP.match(p)))
        kind = err["type"]
        path = _format_loc(loc)
        if kind in _TYPE_NAMES:
            expectations.setdefault(path, [])
            if _TYPE_NAMES[kind] not in expectations[path]:
                expectations[path].append(_TYPE_NAMES[kind])
        ctx = err.get("ctx") or {}
        cause = ctx.get("error")
        if isinstance(cause, PathError):
            problems.append(f"{_join_path(path, cause.subpath)}: {cause.message}")
        elif kind == "extra_forbidden":
            parent = _model_at(root, loc[:-1])
            valid = sorted(parent.model_fields) if parent else []
            extra = did_you_mean(str(loc[-1]), valid, "; did you mean '{}'?")
            listing = f" (valid keys: {', '.join(valid)})" if valid and not extra else ""
            problems.append(f"{path}: unknown key{extra}{listing}")
        elif kind == "missing":
            problems.append(f"{path}: missing required key")
        elif kind == "literal_error":
            expected = ctx.get("expected", "")
            got = err.get("input")
            options = re.findall(r"'([^']*)'", str(expected))
            extra = did_you_mean(got, options) if isinstance(got, str) else ""
            problems.append(
                f"{path}: expected one of {expected}, got {_describe_input(got)}{extra}"
            )
        elif kind in _TYPE_NAMES:
            wanted = expectations[path]
            either = wanted[0] if len(wanted) == 1 else ", ".join(wanted[:-1]) + " or " + wanted[-1]
            problems.append(f"{path}: expected {either}, got {_describe_input(err.get('input'))}")
        elif kind in _BOUNDS:
            limit = next(iter(ctx.values()), "?")
            if isinstance(limit, float) and limit.is_integer():
                limit = int(limit)
            problems.append(
                f"{path}: must be {_BOUNDS[kind]} {limit}, got {_describe_input(err.get('input'))}"
            )
        elif kind == "too_short":
            problems.append(f"{path}: must not be empty")
        elif kind == "too_long":
            problems.append(f"{path}: too many items (at most {ctx.get('max_length')})")
        elif kind == "value_error":
            message = str(cause) if cause is not None else err["msg"]
            problems.append(f"{path}: {message}")
        else:
            msg = err["msg"]
            problems.append(
                f"{path}: {msg[0].lower()}{msg[1:]}, got {_describe_input(err.get('input'))}"
            )
    # Pydantic reports a value once per member of a union; keep the first of each path.
    # The last message of a path lists every expectation gathered so far.
    last: dict[str, str] = {}
    for p in problems:
        last[p.split(":", 1)[0]] = p
    return list(last.values())
