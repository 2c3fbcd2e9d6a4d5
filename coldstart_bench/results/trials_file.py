"""Reading ``trials.jsonl``: its records one at a time (or a part of the file's, for a
reader that splits it over processes), what is wrong with the lines that are none, and the
refusal of a file that is no regular file (a FIFO would block every reader)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from coldstart_bench.errors import RunDirError
from coldstart_bench.results.schema import (
    READABLE_VERSIONS,
    RecordError,
    TrialRecord,
    UnreadableVersion,
    decode_trial,
)


def read_trials(path: Path) -> tuple[list[TrialRecord], list[str]]:
    """Parse ``trials.jsonl`` (see :func:`iter_trials`)."""
    problems: list[str] = []
    return list(iter_trials(path, problems)), problems


def iter_trials(path: Path, problems: list[str]) -> Iterator[TrialRecord]:
    """The records of ``trials.jsonl`` one at a time, so that a reader holds only what it
    keeps of them. A line that does not parse (typically the last one, cut off when the
    harness was killed mid-write) or is no trial record of a readable version is skipped
    and added to ``problems``, not fatal; but a file none of whose lines is a trial, or that
    is no regular file (a directory, a FIFO that would block every reader, a link that
    leads nowhere), is :class:`RunDirError` (raised once the file is read)."""
    check_regular(path)
    if not path.exists():
        return
    read = TrialsRead()
    for _number, _line, record in read_lines(path, read):
        yield record
    problems += read.finish(path)


@dataclass
class TrialsRead:
    """What reading ``trials.jsonl`` (or a part of it: :func:`read_lines`) found besides
    its records; parts read apart are added together (:meth:`add`) before :meth:`finish`."""

    seen: int = 0  # lines, blank ones too (where a part's line numbers end)
    lines: int = 0  # lines that are not blank
    records: int = 0
    numbered: list[tuple[int, str]] = field(default_factory=list)  # (line, what is wrong)
    versions: dict[object, int] = field(default_factory=dict)  # unreadable schema versions

    def add(self, part: TrialsRead) -> None:
        """The next part's findings, its line numbers counted on from the lines seen so far."""
        self.numbered += [(n + self.seen, text) for n, text in part.numbered]
        self.seen += part.seen
        self.lines += part.lines
        self.records += part.records
        for version, count in part.versions.items():
            self.versions[version] = self.versions.get(version, 0) + count

    def finish(self, path: Path) -> list[str]:
        """The problems as messages; :class:`RunDirError` where no line was a record."""
        problems = [f"{path.name} line {n}: {text}" for n, text in self.numbered]
        readable = ", ".join(map(str, READABLE_VERSIONS))
        for version, count in self.versions.items():
            problems.append(
                f"{path.name}: {count} line(s) of schema_version {version!r}; this version "
                f"reads {readable}"
            )
        if self.lines and not self.records:
            raise RunDirError(
                f"{path}: none of its {self.lines} line(s) is a trial record this version can "
                f"read ({problems[0]}{'; ...' if len(problems) > 1 else ''})"
            )
        return problems


def read_lines(
    path: Path, read: TrialsRead, start: int = 0, end: int | None = None
) -> Iterator[tuple[int, bytes, TrialRecord]]:
    """(line number, the line, its record) for each line that begins in bytes
    ``start``..``end`` of ``trials.jsonl`` (``start`` at a line's beginning; numbers count
    from 1 there); what is wrong with the others goes into ``read``."""
    with open(path, "rb") as f:
        f.seek(start)
        position, number = start, 0
        for line in f:
            if end is not None and position >= end:
                break
            position += len(line)
            number += 1
            read.seen = number
            if not line.strip():
                continue
            read.lines += 1
            try:
                record = decode_trial(line)
            except UnreadableVersion as exc:
                read.versions[exc.args[0]] = read.versions.get(exc.args[0], 0) + 1
                continue
            except RecordError as exc:
                read.numbered.append((number, f"not a valid trial record: {exc}"))
                continue
            except (ValueError, TypeError, AttributeError) as exc:
                cut = (
                    ""
                    if line.endswith(b"\n")
                    else " (cut off: the run was probably killed while writing it)"
                )
                read.numbered.append((number, f"not a complete trial record{cut}: {exc}"))
                continue
            read.records += 1
            yield number, line, record


def check_regular(path: Path) -> None:
    """``path`` is a regular file or does not exist; else :class:`RunDirError`."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if path.is_symlink():
            raise RunDirError(
                f"{path}: a link to {os.readlink(path)}, which does not exist"
            ) from None
        return
    except OSError as exc:  # a link that loops, a file we may not read
        raise RunDirError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file (a FIFO or device)"
        raise RunDirError(f"{path}: {kind}, not a file of trial records")
