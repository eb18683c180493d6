"""What the strict importers of ATLAS.ti and MAXQDA need a file to hold, as pure changes of the model.

Both tools fail a whole import on one detail (``../shared/notes/refi-standard.md`` §8, items 19-23), and we
cannot run either here, so the ``atlasti`` and ``maxqda`` dialects write what the tools write themselves, as
far as their own exports show. Each rule says what it rests on: **measured** on an export in the shared
corpus (file and version named), or **reported** by another tool's code, which we could not check.
``docs/dialects.md`` has the same table for users.

Every function takes a Project and returns a new one (nothing is changed in place); those that drop or move
something append a sentence for the user to ``notes``.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping
from contextlib import nullcontext
from dataclasses import fields, is_dataclass, replace
from pathlib import PurePosixPath
from typing import Any

from refi_bridge.model import (
    AudioSelection,
    Case,
    Coding,
    Edge,
    Link,
    PDFSelection,
    PDFSource,
    PictureSelection,
    PlainTextSelection,
    Project,
    ReadInfo,
    Selection,
    TextSource,
    Transcript,
    Vertex,
    VideoSelection,
    derived_guid,
    guid_key,
    internal_file,
    map_codings,
    map_guids,
)

_GUID = re.compile(r"^\s*\{?([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}?\s*$")


def _derived(*parts: str) -> str:
    """An upper-case GUID that is the same every time for the same inputs (repeated exports stay comparable)."""
    return derived_guid("refi-bridge-strict", *parts).upper()


# =========================================================================================================
# Rules for both tools
# =========================================================================================================

def upper_guid(guid: str) -> str:
    """A GUID as ATLAS.ti and MAXQDA write it: upper case, no braces; anything that is not a GUID unchanged.

    >>> upper_guid("{0a1b2c3d-0000-4000-8000-00000000000f}")
    '0A1B2C3D-0000-4000-8000-00000000000F'
    """
    match = _GUID.match(guid)
    return match.group(1).upper() if match else guid


def upper_guids(project: Project) -> Project:
    """Every GUID and every reference to one in upper case; file names stay (see :func:`guid_file_names`).

    -- why -- MAXQDA 24.7 and ATLAS.ti 9.1.3 and 23.2 write upper case in every GUID of their exports
    (measured); Magnolia's writer reports that both reject lower case, which the XSD allows (reported). Upper
    case is read by every tool, and refi_bridge compares GUIDs without case (``guid_key``).
    """
    return map_guids(project, upper_guid, rename_files=False)


def walk(value: Any, visit: Callable[[Any], Any]) -> Any:
    """Rebuild ``value`` bottom-up, handing every model object to ``visit``, which returns it (changed or not).

    Objects whose parts did not change are kept as they are, so a rule that touches a few objects costs
    one pass and little memory.
    """
    if isinstance(value, tuple):
        items = [walk(item, visit) for item in value]
        return value if all(new is old for new, old in zip(items, value)) else tuple(items)
    if not is_dataclass(value) or isinstance(value, ReadInfo):
        return value
    changes = {}
    for f in fields(value):
        item = getattr(value, f.name)
        if isinstance(item, tuple) or (is_dataclass(item) and not isinstance(item, ReadInfo)):
            new = walk(item, visit)
            if new is not item:
                changes[f.name] = new
    return visit(replace(value, **changes) if changes else value)


def _cleared(project: Project, attribute: str, unwanted: Callable[[Any], bool]) -> tuple[Project, int]:
    """The project with ``attribute`` set to None wherever it holds an ``unwanted`` value, and how often."""
    cleared = 0

    def visit(obj):
        nonlocal cleared
        value = getattr(obj, attribute, None)
        if value and unwanted(value):
            cleared += 1
            return replace(obj, **{attribute: None})
        return obj

    return walk(project, visit), cleared


def without_foreign(project: Project, notes: list[str]) -> Project:
    """Drop vendor attributes and elements: the official XSDs have no place for them.

    -- why -- ATLAS.ti refuses a project file that is not valid ("project file is not valid", Magnolia's
    writer, reported); the REFI-QDA 1.0 schemas allow no foreign attribute or element anywhere.
    """
    project, dropped = _cleared(project, "foreign", bool)
    if dropped:
        notes.append(f"{dropped} elements carried attributes or elements of another tool that REFI-QDA does not "
                     "define; they were left out, because ATLAS.ti and MAXQDA refuse files the schema refuses")
    return project


def pdfs_as_pdf_sources(project: Project, notes: list[str]) -> Project:
    """A text source whose rich text is a PDF becomes a PDFSource with the text as its Representation.

    -- why -- ATLAS.ti rejects a PDF wrapped in a TextSource (Magnolia's writer, reported); ATLAS.ti 8.4 and
    9.1.3 write PDFs as ``PDFSource`` with a plain-text ``Representation`` that holds the text selections
    (measured). Whole-source codings, notes and variable values stay on the PDF.
    """
    moved = 0
    sources = []
    for source in project.sources:
        if type(source) is TextSource and (source.rich_text_path or "").lower().endswith(".pdf"):
            moved += 1
            guid = _derived("representation", source.guid)
            path = source.plain_text_path
            if internal_file(path) and source.guid in (path or ""):
                path = path.replace(source.guid, guid)  # the text is the representation's, named after it
            representation = TextSource(guid=guid, name=source.name, text=source.text, plain_text_path=path,
                                        selections=source.selections, creating_user=source.creating_user,
                                        creation_date_time=source.creation_date_time)
            source = PDFSource(
                guid=source.guid, name=source.name, description=source.description, codings=source.codings,
                note_refs=source.note_refs, variable_values=source.variable_values,
                creating_user=source.creating_user, creation_date_time=source.creation_date_time,
                modifying_user=source.modifying_user, modified_date_time=source.modified_date_time,
                foreign=source.foreign, path=source.rich_text_path, representation=representation)
        sources.append(source)
    if moved:
        notes.append(f"{moved} PDF documents were held as text sources; they are written as PDF sources with "
                     "their text as the representation")
        project = replace(project, sources=tuple(sources))
    return project


def rich_text_docx_only(project: Project, notes: list[str]) -> Project:
    """Keep ``richTextPath`` only where it names a DOCX file.

    -- why -- ATLAS.ti parses whatever ``richTextPath`` names and rejects the whole import when it is not a
    DOCX ("range start larger than document length", QualCoder's notes, reported); the standard allows only
    DOCX as rich text; MAXQDA 24.7 writes plain text only (measured).
    """
    project, dropped = _cleared(project, "rich_text_path", lambda path: not path.lower().endswith(".docx"))
    if dropped:
        notes.append(f"{dropped} rich-text paths named files that are not DOCX (which ATLAS.ti cannot open); the "
                     "plain text is written alone")
    return project


class Relined:
    """A text with every CR LF and lone CR written as LF and a leading U+FEFF dropped, and its offsets mapped.

    An offset between the CR and the LF of a pair is inside one line break: a start there moves before the
    break and an end after it, so a selection keeps the line break it had half of.
    """

    def __init__(self, text: str) -> None:
        self.lead = len(text) - len(text.lstrip("\ufeff"))
        self._dropped = [m.start() for m in re.finditer("\r\n", text)] if "\r" in text else []
        self.text = text[self.lead:].replace("\r\n", "\n").replace("\r", "\n")
        self.changed = self.text != text

    def start(self, offset: int) -> int:
        return max(offset - bisect_left(self._dropped, offset) - self.lead, 0)

    def end(self, offset: int) -> int:
        return max(offset - bisect_left(self._dropped, offset - 1) - self.lead, 0)

    def span(self, start: int, end: int) -> tuple[int, int]:
        if start >= end:
            point = self.start(start)
            return point, point
        return self.start(start), self.end(end)


def lf_texts(project: Project) -> Project:
    """Every text (sources, representations, notes, transcripts) LF-only without BOM, positions moved along.

    -- why -- MAXQDA 24.7 writes LF-only UTF-8 texts without BOM (measured); ATLAS.ti 9.1.3 writes CR LF
    (measured) but counts a CR LF as one position (QualCoder's importer, reported), and MAXQDA counts a line
    break as one (QualCoder's "line endings for MAXQDA" export, reported). With LF only, code points, the
    standard's unit, and both tools' counting agree. A leading U+FEFF would be read as a byte-order mark.
    """
    def visit(obj):
        text = getattr(obj, "text", None)
        if not isinstance(obj, (TextSource, Transcript)) or text is None:
            return obj
        relined = Relined(text)
        if not relined.changed:
            return obj
        if isinstance(obj, Transcript):
            points = tuple(replace(p, position=relined.start(p.position)) if p.position is not None else p
                           for p in obj.sync_points)
            return replace(obj, text=relined.text, sync_points=points)
        selections = []
        for selection in obj.selections:
            start, end = relined.span(selection.start, selection.end)
            selections.append(replace(selection, start=start, end=end))
        return replace(obj, text=relined.text, selections=tuple(selections))

    return walk(project, visit)


class RenamedFiles(Mapping):
    """The archive files of a project under new names, still read only when asked for."""

    def __init__(self, files: Mapping[str, bytes], names: Mapping[str, str]) -> None:
        self._files = files
        # -- paths name archive members without regard to case, as readers find them --
        held = {name.lower(): name for name in files}
        self._old = {new: held[old.lower()] for old, new in names.items() if old.lower() in held}

    def __getitem__(self, name: str) -> bytes:
        return self._files[self._old[name]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._old)

    def __len__(self) -> int:
        return len(self._old)

    def batch(self):
        """Keep the underlying archive open while many files are read (see ``ArchiveFiles.batch``)."""
        batch = getattr(self._files, "batch", None)
        return batch() if batch is not None else nullcontext(self)


_PATHS = ("plain_text_path", "rich_text_path", "path")


def guid_file_names(project: Project, notes: list[str]) -> Project:
    """Name every file of the archive ``<upper-case GUID>.<extension>``; leave out files nothing names.

    -- why -- ATLAS.ti 9.1.3 and MAXQDA 24.7 name every member of ``sources/`` so (measured), as the standard
    asks "to avoid name clashes and file-name encoding problems"; names such as qc's ``board_2017.txt`` or
    NVivo for Mac's empty ``.root`` are found in no export of either tool.
    """
    names: dict[str, str] = {}

    def new_name(old: str) -> str:
        if old not in names:
            stem, suffix = PurePosixPath(old).stem, PurePosixPath(old).suffix
            match = _GUID.match(stem)
            names[old] = (match.group(1).upper() if match else _derived("file", old)) + suffix
        return names[old]

    def visit(obj):
        changes = {}
        for attribute in _PATHS:
            path = getattr(obj, attribute, None)
            old = internal_file(path) if isinstance(path, str) else None
            if old and new_name(old) != old:
                changes[attribute] = "internal://" + new_name(old)
        return replace(obj, **changes) if changes else obj

    project = walk(project, visit)
    named = {old.lower() for old in names}
    unnamed = [name for name in project.files if name.lower() not in named]
    if unnamed:
        notes.append(f"{len(unnamed)} files of the archive are named by no element (e.g. {unnamed[0]!r}); they "
                     "were left out")
    if unnamed or any(old != new for old, new in names.items()):
        project = replace(project, files=RenamedFiles(project.files, names))
    return project


def for_strict_importers(project: Project, notes: list[str]) -> Project:
    """The rules ATLAS.ti and MAXQDA share, text positions last but before anything that searches texts."""
    project = pdfs_as_pdf_sources(project, notes)
    project = rich_text_docx_only(project, notes)
    project = without_foreign(project, notes)
    return lf_texts(project)


# =========================================================================================================
# ATLAS.ti: quotations
# =========================================================================================================

def coders_on_codings(project: Project) -> Project:
    """Every coding names its coder itself (its ``creatingUser``), taken from its selection where it had none.

    -- why -- in ATLAS.ti inter-coder projects several coders' codings sit on one shared quotation, so the
    coder is per Coding (notes item 23, reported); ATLAS.ti 8.4 and 9.1.3 stamp every Coding with a
    ``creatingUser`` (measured).
    """
    def fill(coding: Coding, selection: Selection | None) -> Coding:
        if coding.creating_user is None and selection is not None and selection.creating_user is not None:
            return replace(coding, creating_user=selection.creating_user)
        return coding

    return replace(project, sources=tuple(map_codings(source, fill) for source in project.sources))


def _locator(selection: Selection) -> tuple | None:
    if isinstance(selection, PlainTextSelection):
        return ("text", selection.start, selection.end)
    if isinstance(selection, (PDFSelection, PictureSelection)):
        return (getattr(selection, "page", None), selection.first_x, selection.first_y, selection.second_x,
                selection.second_y)
    if isinstance(selection, (AudioSelection, VideoSelection)):
        return ("media", selection.begin, selection.end)
    return None


def shared_quotations(project: Project, notes: list[str]) -> Project:
    """Selections of one owner over the same span become one quotation holding all their codings.

    -- why -- ATLAS.ti has one quotation per span with several codes on it: 267 of the 391 quotations of the
    ATLAS.ti 9.1.3 export carry 2-5 codings, and ATLAS.ti 8.4 puts three on one text quotation (measured);
    PDF areas are joined only when they hold the same text, as different quotations may share a rectangle;
    inter-coder projects share the quotation between coders (item 23, reported). NVivo's layout, one selection
    per coding, would arrive as as many quotations. The first selection's GUID stays; references to the
    others (cases, links, network vertices) move to it; their descriptions are joined. A selection whose
    codings name no coder is never joined to one that has a creator, which would credit them to that creator.
    Call :func:`coders_on_codings` first.
    """
    renamed: dict[str, str] = {}

    def join(group: list[Selection]) -> Selection:
        first = group[0]
        for other in group[1:]:
            renamed[guid_key(other.guid)] = first.guid
        descriptions = list(dict.fromkeys(s.description for s in group if s.description))
        note_refs = tuple(dict.fromkeys(ref for s in group for ref in s.note_refs))
        return replace(first, codings=tuple(c for s in group for c in s.codings), note_refs=note_refs,
                       name=next((s.name for s in group if s.name), None),
                       description="\n\n".join(descriptions) if descriptions else None)

    def share(selections: tuple) -> tuple:
        groups: dict[tuple, list[Selection]] = {}
        order: list[tuple] = []
        for index, selection in enumerate(selections):
            locator = _locator(selection)
            unattributed = selection.creating_user is None and any(c.creating_user is None
                                                                   for c in selection.codings)
            if isinstance(selection, PDFSelection):
                # -- an area is not a quotation's identity: ATLAS.ti 9.1.3 gives 86 pairs of different text
                #    quotations the same rectangle (full-width lines); only the same text makes them one --
                text = selection.representation.text if selection.representation is not None else None
                locator = (locator, text) if text and text.strip() else None
            key = (type(selection).__name__, locator, unattributed) if locator is not None else (index,)
            if key not in groups:
                groups[key] = []
                order.append(key)
            groups[key].append(selection)
        if len(order) == len(selections):
            return selections
        return tuple(join(groups[key]) if len(groups[key]) > 1 else groups[key][0] for key in order)

    def visit(obj):
        if hasattr(obj, "selections"):
            shared = share(obj.selections)
            return obj if shared is obj.selections else replace(obj, selections=shared)
        return obj

    sources = tuple(walk(source, visit) for source in project.sources)
    if not renamed:
        return project
    before = sum(1 for _ in project.iter_selections())
    project = replace(project, sources=sources)
    project = _retarget_selections(project, renamed)
    notes.append(f"{before - sum(1 for _ in project.iter_selections())} selections shared their span with another "
                 "one and were joined to it: one quotation per span holding all its codings, as ATLAS.ti keeps them")
    return project


def _retarget_selections(project: Project, renamed: Mapping[str, str]) -> Project:
    """Point cases, links and graph vertices at the selection that absorbed the one they named."""
    def to(guid: str | None) -> str | None:
        return renamed.get(guid_key(guid), guid) if guid else guid

    def visit(obj):
        if isinstance(obj, Case):
            return replace(obj, selection_refs=tuple(dict.fromkeys(to(g) for g in obj.selection_refs)))
        if isinstance(obj, Link):
            return replace(obj, origin_guid=to(obj.origin_guid), target_guid=to(obj.target_guid))
        if isinstance(obj, (Vertex, Edge)):
            return replace(obj, represented_guid=to(obj.represented_guid))
        return obj

    return replace(project, cases=walk(project.cases, visit), links=walk(project.links, visit),
                   graphs=walk(project.graphs, visit))


class _Squeezed:
    """A text without its white space, and where each remaining character was: to find a passage in a PDF's
    text whatever line breaks the PDF's layout put into it."""

    def __init__(self, text: str) -> None:
        self.where = [i for i, ch in enumerate(text) if not ch.isspace()]
        self.text = "".join(text[i] for i in self.where)

    def find(self, passage: str) -> tuple[int, int] | None:
        """The span of ``passage`` in the text when it occurs exactly once, else None."""
        target = "".join(passage.split())
        at = self.text.find(target) if target else -1
        if at < 0 or self.text.find(target, at + 1) >= 0:
            return None
        return self.where[at], self.where[at + len(target) - 1] + 1


def pdf_text_quotations(project: Project, notes: list[str]) -> Project:
    """A PDF area that holds its text gets its twin text selection in the PDF's Representation, as ATLAS.ti
    writes a PDF text quotation.

    -- why -- ATLAS.ti 8.4 writes a text quotation of a PDF twice (measured on the spec's example export): a
    ``PDFSelection`` (0-based page, rectangle in points from the bottom-left corner, its text in its own
    ``Representation``) and a ``PlainTextSelection`` with the same GUID in the PDF's ``Representation``, each
    with its own Coding of the same code. The twin is made where the area's text occurs exactly once in the
    PDF's text (white space ignored); areas without text (image regions, or ATLAS.ti 9.1.3's exports, which
    give only the area) stay areas, as ATLAS.ti writes them.
    """
    added = unfound = 0
    sources = []
    for source in project.sources:
        representation = source.representation if isinstance(source, PDFSource) else None
        if representation is None or representation.text is None:
            sources.append(source)
            continue
        paired = {guid_key(s.guid) for s in representation.selections}
        squeezed = None
        twins = []
        for area in source.selections:
            passage = area.representation.text if area.representation is not None else None
            if guid_key(area.guid) in paired or not passage or not passage.strip():
                continue
            squeezed = squeezed or _Squeezed(representation.text)
            span = squeezed.find(passage)
            if span is None:
                unfound += 1
                continue
            twins.append(PlainTextSelection(
                guid=area.guid, name=area.name, start=span[0], end=span[1], creating_user=area.creating_user,
                creation_date_time=area.creation_date_time, modifying_user=area.modifying_user,
                modified_date_time=area.modified_date_time,
                codings=tuple(replace(c, guid=_derived("twin", c.guid), note_refs=()) for c in area.codings)))
            paired.add(guid_key(area.guid))
        if twins:
            added += len(twins)
            source = replace(source, representation=replace(
                representation, selections=representation.selections + tuple(twins)))
        sources.append(source)
    if added:
        notes.append(f"{added} PDF quotations are written as ATLAS.ti writes them, as the area and as the same "
                     "text in the PDF's text representation")
    if unfound:
        notes.append(f"{unfound} PDF areas hold a text that is not found once in the PDF's text representation; "
                     "they are written as areas only")
    return replace(project, sources=tuple(sources)) if added else project


def for_atlasti(project: Project, notes: list[str]) -> Project:
    """Everything the ``atlasti`` dialect changes, but the GUIDs' case (done last, for every dialect)."""
    project = for_strict_importers(project, notes)
    project = coders_on_codings(project)
    project = shared_quotations(project, notes)
    project = pdf_text_quotations(project, notes)
    return guid_file_names(project, notes)


def for_maxqda(project: Project, notes: list[str]) -> Project:
    """Everything the ``maxqda`` dialect changes, but the GUIDs' case.

    PDF areas are written as the model holds them, which is the standard's frame: points from the
    bottom-left corner of the page, pages counted from 0. -- why -- that is the frame ATLAS.ti 9.1.3 writes
    (measured: read so, 238 of its 391 areas hold the first word of their quotation's name, as
    ``pdftotext -bbox`` places words, against at most 67 read top-left or 1-based) and the frame MAXQDA uses (Magnolia's reader, checked by its authors against a
    MAXQDA export; reported: the corpus has no MAXQDA PDF). No reader of ours changes the frame.
    """
    project = for_strict_importers(project, notes)
    return guid_file_names(project, notes)
