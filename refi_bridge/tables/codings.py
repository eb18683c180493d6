"""Projects as pandas tables: the codings table that ``Project.codings()`` and ``refi-bridge export`` give."""

from __future__ import annotations

import pandas as pd

from refi_bridge.model import (
    AudioSelection,
    PDFSelection,
    PictureSelection,
    PlainTextSelection,
    Project,
    TranscriptSelection,
    VideoSelection,
    coder_name,
    coder_of,
    guid_key,
)

PATH_SEPARATOR = " > "

# -- the order people read a coding in: where, what, whose, the passage, its place; GUIDs (for machines) last --
READING_ORDER = ("source", "case", "code_path", "coder", "text", "start", "end", "locator", "code")
CODING_COLUMNS = (*READING_ORDER, "source_kind", "selection_kind", "created", "coding_guid", "source_guid",
                  "selection_guid", "code_guid", "coder_guid")
# -- the order a row is built in --
_RECORD = ("coding_guid", "source", "source_guid", "source_kind", "selection_guid", "selection_kind", "code",
           "code_path", "code_guid", "coder", "coder_guid", "start", "end", "text", "locator", "created")


def code_path_text(path: tuple[str, ...] | None) -> str | None:
    """A code's path of names as one string, top first: ``"Safety > facilitating"``."""
    return PATH_SEPARATOR.join(path) if path else None


def codings(project: Project) -> pd.DataFrame:
    """One row per coding of the project's data (selections first, then whole-source codings).

    Columns (:data:`CODING_COLUMNS`), in the order people read them: ``source, case, code_path, coder,
    text, start, end, locator, code, source_kind, selection_kind, created``, then the GUIDs ``coding_guid,
    source_guid, selection_guid, code_guid, coder_guid``. ``case`` names the case(s) holding the coding's
    selection or source; ``start``/``end`` are code point offsets and ``text`` the coded passage, for text
    selections only; whole-source codings have no selection and empty positions. ``coder`` is the user's
    name (see :func:`refi_bridge.model.coder_of`); ``locator`` describes a non-text selection (page and
    rectangle, time span).
    """
    paths = project.code_paths()
    users = project.users_by_guid()
    cases = _cases(project)
    case_of: list[str | None] = []
    rows = []
    for record in project.iter_codings():
        source, selection, coding = record.source, record.selection, record.coding
        key = guid_key(coding.code_guid)
        path = paths.get(key)
        coder = coder_of(record)
        start = end = text = locator = None
        if isinstance(selection, PlainTextSelection):
            start, end = selection.start, selection.end
            owner_text = getattr(record.owner, "text", None)
            if owner_text is not None:
                text = owner_text[start:end]
        elif selection is not None:
            locator = describe_locator(selection)
        named = (cases.get(guid_key(selection.guid)) if selection is not None else None) or \
            cases.get(guid_key(source.guid))
        case_of.append("; ".join(named) if named else None)
        rows.append((
            coding.guid, source.label, source.guid, type(source).__name__,
            selection.guid if selection is not None else None,
            type(selection).__name__ if selection is not None else "whole source",
            path[-1] if path else None, code_path_text(path), coding.code_guid,
            coder_name(coder, users), coder, start, end, text, locator,
            coding.creation_date_time or (selection.creation_date_time if selection is not None else None),
        ))
    frame = pd.DataFrame.from_records(rows, columns=list(_RECORD))
    frame["start"] = frame["start"].astype("Int64")
    frame["end"] = frame["end"].astype("Int64")
    frame.insert(0, "case", case_of)
    return frame[reading_order(frame.columns)]


def reading_order(columns) -> list[str]:
    """``columns`` as people read a coding: :data:`READING_ORDER` first, the rest as they were, GUIDs last."""
    names = [str(c) for c in columns]
    first = [c for c in READING_ORDER if c in names]
    guids = [c for c in names if c.endswith("_guid")]
    return first + [c for c in names if c not in first and c not in guids] + guids


def _cases(project: Project) -> dict[str, list[str]]:
    """GUID key of a source or selection -> the names of the cases that hold it."""
    out: dict[str, list[str]] = {}
    for case in project.cases:
        for ref in (*case.source_refs, *case.selection_refs):
            out.setdefault(guid_key(ref), []).append(case.name or case.guid)
    return out


def describe_locator(selection) -> str:
    """Where a non-text selection lies, in words a researcher can look up in the tool."""
    if isinstance(selection, PDFSelection):
        return (f"page {selection.page}, ({selection.first_x}, {selection.first_y})-"
                f"({selection.second_x}, {selection.second_y})")
    if isinstance(selection, PictureSelection):
        return f"({selection.first_x}, {selection.first_y})-({selection.second_x}, {selection.second_y}) px"
    if isinstance(selection, (AudioSelection, VideoSelection)):
        return f"{_clock(selection.begin)}-{_clock(selection.end)}"
    if isinstance(selection, TranscriptSelection):
        return f"sync points {selection.from_sync_point} to {selection.to_sync_point}"
    return ""


def _clock(ms: int) -> str:
    seconds, millis = divmod(int(ms), 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}.{millis:03d}"
