"""Surveying one file: what it is, whether it is sound, and its codings, as one row and one table.

:func:`survey_file` is what every worker runs, in a local process or on a Dask cluster. It never raises:
a file that cannot be read (broken, hostile, not REFI-QDA at all, or one that trips a bug) becomes a row
with its one-line error, so that one bad file never ends the survey of an archive.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from dataclasses import dataclass

from refi_bridge.errors import RefiBridgeError
from refi_bridge.formats.exchange import read
from refi_bridge.formats.summary import summarize
from refi_bridge.formats.validation import validate
from refi_bridge.model import Project
from refi_bridge.survey.columns import (
    FILE_COLUMNS,
    FINDINGS_KEPT,
    NOT_VALID,
    REFUSED,
    VALID,
    WARNINGS,
)
from refi_bridge.survey.parquet import codings_table, part_bytes

_CHUNK = 1 << 20
_LONGEST_MESSAGE = 1000
_SOURCE_KINDS = {"TextSource": "text_sources", "PDFSource": "pdf_sources", "PictureSource": "picture_sources",
                 "AudioSource": "audio_sources", "VideoSource": "video_sources"}


@dataclass(frozen=True)
class Task:
    """One file to survey: ``file`` as the table shows it, ``location`` the absolute path a worker opens
    (a worker's working folder may not be ours), and the SHA-256 it had when last surveyed, if it was."""

    file: str
    location: str
    previous_sha256: str | None = None


@dataclass
class Outcome:
    """What surveying a file gave: its row of files.parquet and its part of codings.parquet (the bytes of a
    Parquet file).

    ``unchanged``: the file's hash equals ``previous_sha256``; it was not read again, and ``row`` and
    ``codings`` are None (the previous survey's stand).
    """

    file: str
    sha256: str | None
    row: dict | None
    codings: bytes | None
    unchanged: bool = False


def survey_file(task: Task) -> Outcome:
    """Hash, read and validate one file, and tabulate its codings; never raises for a bad file."""
    started = time.perf_counter()
    row = dict.fromkeys(name for name, _, _ in FILE_COLUMNS)
    row.update(file=task.file, readable=False)
    try:
        row["size"], row["sha256"] = fingerprint(task.location)
    except OSError as error:
        row.update(error=one_line(f"{task.location}: cannot be read ({error.strerror or error}).", error),
                   error_type=type(error).__name__, seconds=_since(started))
        return Outcome(task.file, None, row, part_bytes(codings_table(None)))
    if task.previous_sha256 == row["sha256"]:
        return Outcome(task.file, row["sha256"], None, None, unchanged=True)
    part = None
    with warnings.catch_warnings():
        # -- the reader's warnings are counted in the row; nothing may print from a worker --
        warnings.simplefilter("ignore")
        try:
            project = read(task.location)
        except Exception as error:  # noqa: BLE001 -- any failure is this file's row, never the run's end
            project = None
            row.update(error=one_line(describe(error, task.location), error), error_type=type(error).__name__)
        row.update(validation(task.location))
        if project is not None:
            try:
                row.update(counts(project))
                frame = project.codings()
                frame.insert(0, "file", task.file)
                row["text_codings"] = int((frame["selection_kind"] == "PlainTextSelection").sum())
                part = part_bytes(codings_table(frame))
                row["readable"] = True
            except Exception as error:  # noqa: BLE001 -- as above: a bug on one file is that file's row
                row.update(readable=False, error=one_line(describe(error, task.location), error),
                           error_type=type(error).__name__)
    row["seconds"] = _since(started)
    return Outcome(task.file, row["sha256"], row, part if part is not None else part_bytes(codings_table(None)))


def fingerprint(path: str) -> tuple[int, str]:
    """Size in bytes and SHA-256 (hex) of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def counts(project: Project) -> dict:
    """The row's columns that come from a project that was read."""
    summary = summarize(project)
    row = {"kind": summary["kind"], "name": summary["name"], "origin": summary["origin"], "tool": summary["tool"],
           "tool_version": summary["tool_version"], "position_unit": summary["position_unit"],
           "position_evidence": summary["position_evidence"], "sources": summary["sources"],
           "codes": summary["codes"], "codings": summary["codings"],
           "whole_source_codings": summary["whole_source_codings"], "cases": summary["cases"],
           "variables": summary["variables"], "notes": summary["notes"], "users": summary["users"],
           "sets": summary["sets"], "read_warnings": len(summary["warnings"])}
    row.update(dict.fromkeys(_SOURCE_KINDS.values(), 0))
    for kind, number in summary["sources_by_kind"].items():
        row[_SOURCE_KINDS.get(kind, "text_sources")] += number
    coders = sorted(summary["coders"].items())
    row["coders"] = [{"coder": name, "codings": number} for name, number in coders]
    row["coder_count"] = len(coders)
    return row


def validation(path: str) -> dict:
    """The verdict of ``refi-bridge validate`` on a file, with its counts and first findings."""
    try:
        report = validate(path)
    except Exception as error:  # noqa: BLE001 -- not a REFI-QDA file, unsafe, or a bug: refused either way
        return {"verdict": REFUSED, "findings": [one_line(describe(error, path), error)]}
    errors, notes = report.errors, report.warnings
    verdict = NOT_VALID if errors else WARNINGS if notes else VALID
    return {"verdict": verdict, "validation_errors": len(errors), "validation_warnings": len(notes),
            "findings": [one_line(str(finding)) for finding in (errors + notes)[:FINDINGS_KEPT]]}


def describe(error: BaseException, path: str) -> str:
    """What to tell about an error: our own errors say it all; anything else is a bug, said so."""
    if isinstance(error, RefiBridgeError):
        return str(error)
    if isinstance(error, OSError):
        return f"{path}: cannot be read ({error.strerror or error})."
    if isinstance(error, MemoryError):
        return f"{path}: too large to read with the memory this worker has; survey it on a larger machine."
    return (f"{path}: could not be read ({type(error).__name__}: {error}); this is a bug in refi_bridge, please "
            "report it (with the file if you can share it).")


def one_line(message: str, error: BaseException | None = None) -> str:
    """A message on one line, of a length a table cell can show."""
    text = " ".join(str(message).split()) or (type(error).__name__ if error is not None else "")
    return text if len(text) <= _LONGEST_MESSAGE else text[: _LONGEST_MESSAGE - 1] + "\u2026"


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 6)
