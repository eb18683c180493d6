"""Projects as pandas tables: the codings table that ``Project.codings()`` and ``refi-bridge export`` give."""

from __future__ import annotations

import pandas as pd

from refi_bridge.agreement.pdf_text import anchor
from refi_bridge.model import (
    AudioSelection,
    PDFSelection,
    PDFSource,
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
CODING_COLUMNS = (*READING_ORDER, "source_kind", "selection_kind", "text_origin", "created", "coding_guid",
                  "source_guid", "selection_guid", "code_guid", "coder_guid")
# -- the order a row is built in --
_RECORD = ("coding_guid", "source", "case", "source_guid", "source_kind", "selection_guid", "selection_kind", "code",
           "code_path", "code_guid", "coder", "coder_guid", "start", "end", "text", "text_origin", "locator",
           "created")
SELECTED = "selected text"


def code_path_text(path: tuple[str, ...] | None) -> str | None:
    """A code's path of names as one string, top first: ``"Safety > facilitating"``."""
    return PATH_SEPARATOR.join(path) if path else None


def codings(project: Project) -> pd.DataFrame:
    """One row per coding of the project's data (selections first, then whole-source codings).

    Columns (:data:`CODING_COLUMNS`), in the order people read them: ``source, case, code_path, coder,
    text, start, end, locator, code, source_kind, selection_kind, text_origin, created``, then the GUIDs
    ``coding_guid, source_guid, selection_guid, code_guid, coder_guid``. ``start``/``end`` are code point
    offsets (end exclusive) into the text a selection indexes and ``text`` the coded passage;
    ``text_origin`` says where the text came from: ``selected text`` for text selections (including those on
    a PDF's Representation), and for PDF area selections how they were anchored to the PDF's Representation
    text (see :mod:`refi_bridge.agreement.pdf_text`: ``twin``, ``own representation``, ``excerpt``,
    ``excerpt by page order``), or why they were not (``not found``, ``ambiguous``...), in which case they
    have no span. Whole-source codings have no selection and empty positions. ``coder`` is the user's name
    (see :func:`refi_bridge.model.coder_of`); ``locator`` describes a non-text selection (page and
    rectangle, time span). ``case`` names the cases the coding belongs to (``"; "`` between several), by the
    membership of :class:`~refi_bridge.model.CaseCoverage` that matrices and agreement use too; NVivo's case
    nodes count.
    """
    paths = project.code_paths()
    users = project.users_by_guid()
    coverage = project.case_coverage()
    case_names = {guid_key(case.guid): case.name or case.guid for case in project.cases}
    anchored: dict[int, dict] = {}   # id(PDF source) -> its area selections' PDFText
    rows = []
    for record in project.iter_codings():
        source, selection, coding = record.source, record.selection, record.coding
        key = guid_key(coding.code_guid)
        path = paths.get(key)
        coder = coder_of(record)
        start = end = text = origin = locator = None
        if isinstance(selection, PlainTextSelection):
            start, end = selection.start, selection.end
            owner_text = getattr(record.owner, "text", None)
            if owner_text is not None and 0 <= start <= end <= len(owner_text):
                text, origin = owner_text[start:end], SELECTED  # never a slice made up from an impossible span
        elif selection is not None:
            locator = describe_locator(selection)
        on_source = record.owner is source
        cases = coverage.cases_at(source.guid, start if on_source else None, end if on_source else None)
        if isinstance(selection, PDFSelection) and isinstance(source, PDFSource):
            if id(source) not in anchored:
                anchored[id(source)] = anchor(source)
            found = anchored[id(source)][guid_key(selection.guid)]
            start, end, text, origin = found.start, found.end, found.text, found.describe()
        rows.append((
            coding.guid, source.label, "; ".join(case_names[c] for c in cases) or None, source.guid, type(source).__name__,
            selection.guid if selection is not None else None,
            type(selection).__name__ if selection is not None else "whole source",
            path[-1] if path else None, code_path_text(path), coding.code_guid,
            coder_name(coder, users), coder, start, end, text, origin, locator,
            coding.creation_date_time or (selection.creation_date_time if selection is not None else None),
        ))
    frame = pd.DataFrame.from_records(rows, columns=list(_RECORD))
    frame["start"] = frame["start"].astype("Int64")
    frame["end"] = frame["end"].astype("Int64")
    return frame[reading_order(frame.columns)]


def reading_order(columns) -> list[str]:
    """``columns`` as people read a coding: :data:`READING_ORDER` first, the rest as they were, GUIDs last."""
    names = [str(c) for c in columns]
    first = [c for c in READING_ORDER if c in names]
    guids = [c for c in names if c.endswith("_guid")]
    return first + [c for c in names if c not in first and c not in guids] + guids


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
