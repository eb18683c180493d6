"""The REFI-QDA data model as plain, immutable data: Project, its codes, sources, selections and codings.

The model knows nothing of XML, archives or files on disk. It mirrors the Project schema (REFI-QDA 1.0) one
class per element type, in the schema's own words, with three deliberate choices:

* Text positions (``PlainTextSelection.start``/``end``) are Unicode code point offsets into the source's
  ``text``: the text as stored in its file, with any byte-order mark removed and line breaks kept as they are
  (CR LF counts two). Readers convert each tool's unit into this one; writers convert back per dialect.
* GUIDs are kept exactly as read (case, braces) and compared through :func:`guid_key`, because tools differ
  in case and references may not use the case of their target.
* What the model does not know of a file (vendor attributes and elements) travels in ``foreign`` as raw
  strings, so that nothing read is lost on writing.

Collections are tuples and every class is frozen: a merge or a conversion returns new objects and never
changes what it was given.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:  # pragma: no cover
    import pandas

__all__ = [
    "Foreign", "User", "Code", "Set", "Variable", "VariableValue", "Case", "Coding",
    "Selection", "PlainTextSelection", "PictureSelection", "PDFSelection", "AudioSelection",
    "VideoSelection", "TranscriptSelection", "SyncPoint", "Transcript",
    "Source", "TextSource", "PictureSource", "PDFSource", "AudioSource", "VideoSource", "Note",
    "Link", "Vertex", "Edge", "Graph", "Project", "ReadInfo", "CodingRecord", "CaseCoverage",
    "guid_key", "new_guid", "derived_guid", "name_key", "path_key", "parse_path", "codes_named", "map_guids", "map_codings", "coder_of", "coder_of_coding", "coder_name", "VARIABLE_TYPES", "TOOL_USERS", "ASSIGNED",
]

VARIABLE_TYPES = ("Text", "Boolean", "Integer", "Float", "Date", "DateTime")

# -- the name of the set that lists the sources a coder was handed (merge --manifest writes it; agreement
#    compares each coder on those sources) --
ASSIGNED = "Assigned to "

# -- tools that list themselves as a user (same GUID in ATLAS.ti 8.4 and 23.2 exports); never a coder --
TOOL_USERS = {"c32a2bd5-537f-4838-8b17-df9efbafdf4b": "ATLAS.ti"}


def guid_key(guid: str | None) -> str:
    """Return the comparable form of a GUID: no surrounding space or braces, lower case.

    >>> guid_key(" {0A1B2C3D-0000-4000-8000-00000000000F} ")
    '0a1b2c3d-0000-4000-8000-00000000000f'
    """
    if guid is None:
        return ""
    return guid.strip().strip("{}").lower()


def name_key(name: str | None) -> str:
    """A name as every comparison of names sees it: Unicode NFC, case folded, runs of white space as one.

    >>> name_key("  Therapist  ALLIANCE ")
    'therapist alliance'
    """
    return " ".join(unicodedata.normalize("NFC", name or "").casefold().split())


def path_key(path: Sequence[str]) -> tuple[str, ...]:
    """A code path as comparisons see it: each name through :func:`name_key`."""
    return tuple(name_key(part) for part in path)


def parse_path(text: str) -> tuple[str, ...]:
    """A code path written as text (``"Theme > subcode"`` or ``"Theme :: subcode"``) as its parts."""
    parts = re.split(r"\s*>\s*|\s*::\s*", text.strip()) if (">" in text or "::" in text) else [text.strip()]
    return tuple(part for part in parts if part)


def derived_guid(purpose: str, *parts: str) -> str:
    """A GUID that is the same every time for the same purpose and parts (a name-based UUID 5).

    What refi_bridge writes (a split selection, a merged file's name, a consensus coding) stays comparable
    across runs: writing the same project twice gives the same file. ``purpose`` keeps the GUIDs made for
    different ends apart.
    """
    return str(uuid.uuid5(uuid.NAMESPACE_URL, purpose + ":" + ":".join(parts)))


def codes_named(text: str, paths: Mapping[str, tuple[str, ...]]) -> list[str]:
    """The keys of the codes a person means by ``text``: its path (``"Theme > sub"``, ``"Theme::sub"``) or
    its whole name, which may itself contain ``>`` or ``::`` (ATLAS.ti 8 writes ``Coke::diet Coke``).

    ``paths`` maps code keys to paths (:meth:`Project.code_paths`). A name two codes share gives both.
    """
    as_path, whole = path_key(parse_path(text)), name_key(text)
    by_path = [key for key, path in paths.items() if path_key(path) == as_path]
    return by_path or [key for key, path in paths.items() if path and name_key(path[-1]) == whole]


def new_guid() -> str:
    """A fresh random GUID in the lower-case form most tools write."""
    return str(uuid.uuid4())


_model = dataclass(frozen=True, slots=True, kw_only=True)


@_model
class Foreign:
    """What a file held on an element that REFI-QDA does not define, kept verbatim for writing back.

    ``attributes`` are ``(name, value)`` pairs, the name in Clark notation (``{namespace}local``) when it has
    a namespace; ``elements`` are serialised XML fragments, in document order.
    """

    attributes: tuple[tuple[str, str], ...] = ()
    elements: tuple[str, ...] = ()
    namespaces: tuple[tuple[str, str], ...] = ()  # on the project: (prefix, URI) of foreign namespaces

    def __bool__(self) -> bool:
        return bool(self.attributes or self.elements or self.namespaces)


@_model
class User:
    """A person (or a tool's pseudo-user) who created or changed something; the only home of coder identity."""

    guid: str
    name: str | None = None
    id: str | None = None
    foreign: Foreign | None = None


@_model
class Code:
    """A code of the codebook; ``codes`` are its children (nesting is the only hierarchy REFI-QDA has)."""

    guid: str
    name: str
    is_codable: bool = True
    color: str | None = None
    description: str | None = None
    note_refs: tuple[str, ...] = ()
    codes: tuple[Code, ...] = ()
    foreign: Foreign | None = None

    def walk(self, path: tuple[str, ...] = ()) -> Iterator[tuple[Code, tuple[str, ...]]]:
        """Yield this code and every descendant, depth first, with the path of names that leads to each."""
        here = path + (self.name,)
        yield self, here
        for child in self.codes:
            yield from child.walk(here)


@_model
class Set:
    """A named group of codes, sources and notes (ATLAS.ti code and document groups, MAXQDA document sets)."""

    guid: str
    name: str
    description: str | None = None
    member_codes: tuple[str, ...] = ()
    member_sources: tuple[str, ...] = ()
    member_notes: tuple[str, ...] = ()
    foreign: Foreign | None = None


@_model
class Variable:
    """An attribute that cases and sources can carry a value for (``typeOfVariable`` is one of VARIABLE_TYPES)."""

    guid: str
    name: str
    type_of_variable: str = "Text"
    description: str | None = None
    foreign: Foreign | None = None


@_model
class VariableValue:
    """The value of one variable on a case or a source.

    ``value`` is kept as its XML lexical form (``"true"``, ``"3"``, ``"2024-05-01"``) so that nothing is
    re-spelled on writing; ``type`` names the value element (``"Text"`` for ``TextValue``...) and is ``None``
    when the file gave a reference without a value. :attr:`python_value` gives the typed value.
    """

    variable_guid: str
    type: str | None = None
    value: str | None = None

    @property
    def python_value(self) -> Any:
        """The value as a Python object: str, bool, int, Decimal, date or datetime (None when absent)."""
        if self.value is None or self.type is None:
            return None
        text = self.value.strip()
        if self.type == "Boolean":
            return text in ("true", "1")
        if self.type == "Integer":
            return int(text)
        if self.type == "Float":
            from decimal import Decimal
            return Decimal(text)
        if self.type == "Date":
            from datetime import date
            return date.fromisoformat(text[:10])
        if self.type == "DateTime":
            from datetime import datetime
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        return self.value


@_model
class Case:
    """A unit of analysis (a participant, a dyad) grouping whole sources and selections, with variable values."""

    guid: str
    name: str | None = None
    description: str | None = None
    code_refs: tuple[str, ...] = ()
    variable_values: tuple[VariableValue, ...] = ()
    source_refs: tuple[str, ...] = ()
    selection_refs: tuple[str, ...] = ()
    foreign: Foreign | None = None


@_model
class Coding:
    """One code applied to its parent: a selection, or a whole source when it sits on the source itself."""

    guid: str
    code_guid: str
    creating_user: str | None = None
    creation_date_time: str | None = None
    note_refs: tuple[str, ...] = ()
    foreign: Foreign | None = None


@_model
class Selection:
    """What every kind of selection shares: identity, audit attributes, description, codings and notes."""

    guid: str
    name: str | None = None
    description: str | None = None
    codings: tuple[Coding, ...] = ()
    note_refs: tuple[str, ...] = ()
    creating_user: str | None = None
    creation_date_time: str | None = None
    modifying_user: str | None = None
    modified_date_time: str | None = None
    foreign: Foreign | None = None


@_model
class PlainTextSelection(Selection):
    """A span of a text: ``start`` and ``end`` are code point offsets into the owner's text, end exclusive."""

    start: int
    end: int


@_model
class PictureSelection(Selection):
    """A rectangle of a picture, in pixels after EXIF rotation: upper-left then lower-right corner."""

    first_x: int
    first_y: int
    second_x: int
    second_y: int


@_model
class PDFSelection(Selection):
    """A rectangle on a page of a PDF, optionally with the text it covers as a ``representation``."""

    page: int
    first_x: int
    first_y: int
    second_x: int
    second_y: int
    representation: TextSource | None = None


@_model
class AudioSelection(Selection):
    """A stretch of a recording, in milliseconds from its start."""

    begin: int
    end: int


@_model
class VideoSelection(Selection):
    """A stretch of a video, in milliseconds from its start."""

    begin: int
    end: int


@_model
class TranscriptSelection(Selection):
    """A stretch of a transcript between two sync points (GUIDs of SyncPoint elements)."""

    from_sync_point: str | None = None
    to_sync_point: str | None = None


@_model
class SyncPoint:
    """Ties a character offset of a transcript to a time (ms) of its medium."""

    guid: str
    time_stamp: int | None = None
    position: int | None = None
    foreign: Foreign | None = None


@_model
class Source:
    """What every kind of source shares; ``codings`` here apply to the whole source."""

    guid: str
    name: str | None = None
    description: str | None = None
    codings: tuple[Coding, ...] = ()
    note_refs: tuple[str, ...] = ()
    variable_values: tuple[VariableValue, ...] = ()
    creating_user: str | None = None
    creation_date_time: str | None = None
    modifying_user: str | None = None
    modified_date_time: str | None = None
    foreign: Foreign | None = None

    @property
    def label(self) -> str:
        """The name to show a person: the source's name, else its GUID (some writers omit names)."""
        return self.name or self.guid


@_model
class TextSource(Source):
    """A text document (also the shape of a Note, a PDF's Representation and a picture's TextDescription).

    ``text`` is the plain text; it is written to ``plain_text_path`` when that is set, else inline as
    ``PlainTextContent``. ``text_bom`` records that the file started with a UTF-8 byte-order mark, so that
    it can be written back byte for byte. ``text`` is ``None`` only when the text lives outside the file
    that was read (an external path, or a bare ``.qde`` whose archive is not at hand).
    """

    text: str | None = None
    plain_text_path: str | None = None
    rich_text_path: str | None = None
    text_bom: bool = False
    selections: tuple[PlainTextSelection, ...] = ()


@_model
class Note(TextSource):
    """A memo: a text of its own, attached to anything that holds a ``NoteRef`` to it."""


@_model
class PictureSource(Source):
    """A JPEG or PNG picture."""

    path: str | None = None
    current_path: str | None = None
    text_description: TextSource | None = None
    selections: tuple[PictureSelection, ...] = ()


@_model
class PDFSource(Source):
    """A PDF document; text selections go through its plain-text ``representation``."""

    path: str | None = None
    current_path: str | None = None
    selections: tuple[PDFSelection, ...] = ()
    representation: TextSource | None = None


@_model
class Transcript:
    """The text of (part of) a recording, tied to its time line by sync points."""

    guid: str
    name: str | None = None
    description: str | None = None
    text: str | None = None
    plain_text_path: str | None = None
    rich_text_path: str | None = None
    text_bom: bool = False
    sync_points: tuple[SyncPoint, ...] = ()
    selections: tuple[TranscriptSelection, ...] = ()
    note_refs: tuple[str, ...] = ()
    creating_user: str | None = None
    creation_date_time: str | None = None
    modifying_user: str | None = None
    modified_date_time: str | None = None
    foreign: Foreign | None = None


@_model
class AudioSource(Source):
    """A recording, possibly with transcripts."""

    path: str | None = None
    current_path: str | None = None
    transcripts: tuple[Transcript, ...] = ()
    selections: tuple[AudioSelection, ...] = ()


@_model
class VideoSource(Source):
    """A video, possibly with transcripts."""

    path: str | None = None
    current_path: str | None = None
    transcripts: tuple[Transcript, ...] = ()
    selections: tuple[VideoSelection, ...] = ()


AnySource = TextSource | PictureSource | PDFSource | AudioSource | VideoSource


@_model
class Link:
    """A typed relation between two objects of the project (code to code, memo to quotation...)."""

    guid: str
    name: str | None = None
    direction: str | None = None
    color: str | None = None
    origin_guid: str | None = None
    target_guid: str | None = None
    note_refs: tuple[str, ...] = ()
    foreign: Foreign | None = None


@_model
class Vertex:
    """A box in a graph, usually showing a code, source or note (``represented_guid``)."""

    guid: str
    first_x: int
    first_y: int
    represented_guid: str | None = None
    name: str | None = None
    second_x: int | None = None
    second_y: int | None = None
    shape: str | None = None
    color: str | None = None
    foreign: Foreign | None = None


@_model
class Edge:
    """A line between two vertices of a graph, possibly showing a Link (``represented_guid``)."""

    guid: str
    source_vertex: str
    target_vertex: str
    represented_guid: str | None = None
    name: str | None = None
    color: str | None = None
    direction: str | None = None
    line_style: str | None = None
    foreign: Foreign | None = None


@_model
class Graph:
    """A network view: vertices then edges."""

    guid: str
    name: str | None = None
    vertices: tuple[Vertex, ...] = ()
    edges: tuple[Edge, ...] = ()
    foreign: Foreign | None = None


@dataclass(slots=True)
class ReadInfo:
    """How a project was read: facts about the file, not part of the project (ignored by ``==``).

    ``kind`` is ``"qdpx"``, ``"qde"`` or ``"qdc"``; ``position_unit`` the unit the file's text positions
    were found to be in (see :mod:`refi_bridge.formats.positions`), with ``position_evidence`` saying why.
    """

    path: str | None = None
    kind: str | None = None
    origin: str | None = None
    namespace: str | None = None
    position_unit: str | None = None
    position_evidence: str | None = None
    qde_member: str | None = None
    sources_folder: str | None = None
    dialect: str | None = None
    fixes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class CodingRecord(NamedTuple):
    """One coding with everything around it, as :meth:`Project.iter_codings` yields it (a tuple: cheap to
    make by the hundred thousand)."""

    source: Source
    selection: Selection | None
    coding: Coding
    owner: Any = None  # the TextSource/Transcript whose text a PlainTextSelection indexes, when not `source`


@_model
class Project:
    """A REFI-QDA project (a ``.qde``, or the ``project.qde`` of a ``.qdpx``), or a codebook (``.qdc``).

    ``files`` maps the names of files carried in the archive's ``sources/`` folder (as ``internal://`` paths
    name them) to their bytes; plain texts are not in it, they are the sources' ``text``. ``read_info`` says
    how the project was read and is not compared.
    """

    name: str
    origin: str | None = None
    creating_user: str | None = None
    creation_date_time: str | None = None
    modifying_user: str | None = None
    modified_date_time: str | None = None
    base_path: str | None = None
    users: tuple[User, ...] = ()
    codes: tuple[Code, ...] = ()
    variables: tuple[Variable, ...] = ()
    cases: tuple[Case, ...] = ()
    sources: tuple[AnySource, ...] = ()
    notes: tuple[Note, ...] = ()
    links: tuple[Link, ...] = ()
    sets: tuple[Set, ...] = ()
    graphs: tuple[Graph, ...] = ()
    description: str | None = None
    note_refs: tuple[str, ...] = ()
    foreign: Foreign | None = None
    files: Mapping[str, bytes] = field(default_factory=dict)
    read_info: ReadInfo | None = field(default=None, compare=False, repr=False)

    # -- queries: pure functions of the data, computed on demand (frozen objects cannot cache) --

    def iter_codes(self) -> Iterator[tuple[Code, tuple[str, ...]]]:
        """Every code, depth first, with its path of names from the top of the codebook."""
        for code in self.codes:
            yield from code.walk()

    def codes_by_guid(self) -> dict[str, Code]:
        """Codes keyed by :func:`guid_key` of their GUID."""
        return {guid_key(code.guid): code for code, _ in self.iter_codes()}

    def code_paths(self) -> dict[str, tuple[str, ...]]:
        """The path of names of every code, keyed by :func:`guid_key` of its GUID."""
        return {guid_key(code.guid): path for code, path in self.iter_codes()}

    def users_by_guid(self) -> dict[str, User]:
        """Users keyed by :func:`guid_key` of their GUID."""
        return {guid_key(user.guid): user for user in self.users}

    def sources_by_guid(self) -> dict[str, AnySource]:
        """Sources keyed by :func:`guid_key` of their GUID."""
        return {guid_key(source.guid): source for source in self.sources}

    def iter_selections(self) -> Iterator[tuple[Source, Selection, Any]]:
        """Every selection of every source as ``(source, selection, owner)``.

        ``owner`` is the object whose text a PlainTextSelection indexes: the source itself, a PDF's
        Representation, a picture's TextDescription, or (for TranscriptSelections) the Transcript.
        Selections inside Notes are not included: notes are memos, not data.
        """
        for source in self.sources:
            yield from selections_of(source)

    def iter_codings(self) -> Iterator[CodingRecord]:
        """Every coding of the data: those on selections, then those on whole sources, source by source."""
        for source in self.sources:
            for _, selection, owner in selections_of(source):
                for coding in selection.codings:
                    yield CodingRecord(source, selection, coding, owner)
            for coding in source.codings:
                yield CodingRecord(source, None, coding, source)

    def coders(self) -> dict[str, int]:
        """Names of the users who made codings, with their number of codings (see :func:`coder_of`).

        Tools' pseudo-users (:data:`TOOL_USERS`) are not coders and are left out, and so are codings at a
        case node (see :class:`CaseCoverage`).
        """
        users = self.users_by_guid()
        counts: dict[str, int] = {}
        case_nodes = self.case_nodes()
        for record in self.iter_codings():
            guid = coder_of(record)
            if guid_key(guid) in TOOL_USERS or guid_key(record.coding.code_guid) in case_nodes:
                continue  # a coding at a case node says which case a passage is in: nobody's coding
            name = coder_name(guid, users)
            if name is not None:
                counts[name] = counts.get(name, 0) + 1
        return counts

    def case_nodes(self) -> set[str]:
        """GUID keys of the codes that are cases (NVivo's case nodes: a Code whose GUID is also a Case's)."""
        cases = {guid_key(case.guid) for case in self.cases}
        return {guid_key(code.guid) for code, _ in self.iter_codes() if guid_key(code.guid) in cases} if cases else set()

    def case_coverage(self) -> CaseCoverage:
        """What each case covers: whole sources and passages (see :class:`CaseCoverage`)."""
        return CaseCoverage(self)

    def codings(self) -> pandas.DataFrame:
        """All codings as a pandas DataFrame, one row per coding (see :func:`refi_bridge.tables.codings`)."""
        from refi_bridge.tables.codings import codings

        return codings(self)


class CaseCoverage:
    """Which sources and passages each case covers, and so which cases a coding belongs to.

    REFI-QDA says it three ways, and real files use all of them: a case's ``SourceRef`` (the whole source),
    its ``SelectionRef`` (one selection), and NVivo's case nodes, a Code whose GUID is also the Case's:
    every passage (or whole source) coded at that node is in the case, and nothing else records it
    (NVivo 20.5 exports 68 cases this way with no SourceRef at all). A coding belongs to a case when the
    case covers its whole source, or when its span overlaps one of the case's passages; a coding without
    a span (a whole-source coding, a picture region, a PDF area) belongs to every case that covers any part
    of its source. Case nodes are cases, never themes: :attr:`case_nodes` names their codes.
    """

    def __init__(self, project: Project) -> None:
        self.cases = {guid_key(case.guid): case for case in project.cases}
        self.case_nodes = project.case_nodes()
        self.whole: dict[str, set[str]] = {}                       # source -> cases covering all of it
        self.passages: dict[str, list[tuple[int, int, str]]] = {}  # source -> (start, end, case)
        selection_refs: dict[str, list[str]] = {}
        for case in project.cases:
            key = guid_key(case.guid)
            for ref in case.source_refs:
                self.whole.setdefault(guid_key(ref), set()).add(key)
            for ref in case.selection_refs:
                selection_refs.setdefault(guid_key(ref), []).append(key)
        for source in project.sources:
            source_key = guid_key(source.guid)
            for _, selection, owner in selections_of(source):
                cases = list(selection_refs.get(guid_key(selection.guid), ()))
                cases += [guid_key(c.code_guid) for c in selection.codings if guid_key(c.code_guid) in self.case_nodes]
                for case in cases:
                    if isinstance(selection, PlainTextSelection) and owner is source:
                        self.passages.setdefault(source_key, []).append((selection.start, selection.end, case))
                    else:  # an area, a time span or a representation's text: the case has that source
                        self.whole.setdefault(source_key, set()).add(case)
            for coding in source.codings:
                if guid_key(coding.code_guid) in self.case_nodes:
                    self.whole.setdefault(source_key, set()).add(guid_key(coding.code_guid))
        self._order = {key: index for index, key in enumerate(self.cases)}

    def cases_at(self, source_guid: str, start: int | None = None, end: int | None = None) -> list[str]:
        """GUID keys of the cases a coding on ``source_guid`` (at ``start``-``end``, if a span) belongs to."""
        source = guid_key(source_guid)
        found = set(self.whole.get(source, ()))
        for first, last, case in self.passages.get(source, ()):
            if start is None or end is None or (first < end and start < last) or (start == end and first <= start < last):
                found.add(case)
        return sorted(found, key=self._order.__getitem__)

    def covers_anything(self, case_guid: str) -> bool:
        key = guid_key(case_guid)
        return any(key in cases for cases in self.whole.values()) or \
            any(case == key for spans in self.passages.values() for *_, case in spans)


def selections_of(source: Source) -> Iterator[tuple[Source, Selection, Any]]:
    """Every selection of one source as ``(source, selection, owner)`` (see :meth:`Project.iter_selections`)."""
    for selection in source.selections:  # type: ignore[attr-defined]
        yield source, selection, source
    if isinstance(source, PDFSource) and source.representation is not None:
        for selection in source.representation.selections:
            yield source, selection, source.representation
    elif isinstance(source, PictureSource) and source.text_description is not None:
        for selection in source.text_description.selections:
            yield source, selection, source.text_description
    elif isinstance(source, (AudioSource, VideoSource)):
        for transcript in source.transcripts:
            for selection in transcript.selections:
                yield source, selection, transcript


def without_codings(source: Source, keep_codes: frozenset[str] = frozenset(),
                    keep_selections: frozenset[str] = frozenset()) -> Source:
    """The same source with no selections and no codings (in its representation and transcripts too).

    ``keep_codes`` (GUID keys) are codes whose codings stay, with their selections (a blind handout keeps
    NVivo's case nodes: they say which case a passage is in, not what it means); ``keep_selections`` (GUID
    keys) stay without their other codings (a case's SelectionRefs).
    """
    from dataclasses import replace

    def kept(selection):
        codings = tuple(c for c in selection.codings if guid_key(c.code_guid) in keep_codes)
        if codings or guid_key(selection.guid) in keep_selections:
            return replace(selection, codings=codings)
        return None

    changes: dict = {"codings": tuple(c for c in source.codings if guid_key(c.code_guid) in keep_codes)}
    if hasattr(source, "selections"):
        changes["selections"] = tuple(s for s in map(kept, source.selections) if s is not None) \
            if keep_codes or keep_selections else ()
    if isinstance(source, PDFSource) and source.representation is not None:
        changes["representation"] = replace(source.representation, selections=())
    if isinstance(source, PictureSource) and source.text_description is not None:
        changes["text_description"] = replace(source.text_description, selections=())
    if isinstance(source, (AudioSource, VideoSource)):
        changes["transcripts"] = tuple(replace(t, selections=()) for t in source.transcripts)
    return replace(source, **changes)


def map_codings(source: Source, change: Any) -> Source:
    """The same source with ``change(coding, selection)`` applied to every coding it holds: on the source,
    on its selections, its representation's and text description's, and its transcripts'."""
    from dataclasses import replace

    def on(selection):
        return replace(selection, codings=tuple(change(c, selection) for c in selection.codings))

    def owner(text_owner):
        return replace(text_owner, selections=tuple(on(s) for s in text_owner.selections))

    changes: dict = {"codings": tuple(change(c, None) for c in source.codings)}
    if hasattr(source, "selections"):
        changes["selections"] = tuple(on(s) for s in source.selections)
    if isinstance(source, PDFSource):
        changes["selections"] = tuple(replace(on(s), representation=owner(s.representation))
                                      if s.representation is not None else on(s) for s in source.selections)
        if source.representation is not None:
            changes["representation"] = owner(source.representation)
    if isinstance(source, PictureSource) and source.text_description is not None:
        changes["text_description"] = owner(source.text_description)
    if isinstance(source, (AudioSource, VideoSource)):
        changes["transcripts"] = tuple(owner(t) for t in source.transcripts)
    return replace(source, **changes)


def internal_file(path: str | None) -> str | None:
    """The name (inside the archive's sources folder) an ``internal://`` path names, else None."""
    if path and path.lower().startswith("internal://"):
        return path[len("internal://"):].lstrip("/")
    return None


def internal_files(obj: Any) -> list[str]:
    """Names (inside the archive's sources folder) of the files an object's ``internal://`` paths name."""
    names = (internal_file(getattr(obj, attribute, None)) for attribute in ("plain_text_path", "rich_text_path",
                                                                              "path"))
    return [name for name in names if name]


_GUID_FIELDS = frozenset({"guid", "code_guid", "creating_user", "modifying_user", "variable_guid", "origin_guid",
                          "target_guid", "represented_guid", "source_vertex", "target_vertex", "from_sync_point",
                          "to_sync_point"})
_GUID_LISTS = frozenset({"note_refs", "code_refs", "source_refs", "selection_refs", "member_codes",
                         "member_sources", "member_notes"})


def map_guids(project: Project, change: Any, *, rename_files: bool = True) -> Project:
    """The same project with ``change(guid)`` applied to every GUID and every reference to one.

    A text file named after its source's GUID (``internal://<GUID>.txt``) is renamed along, unless
    ``rename_files`` is false. Used to write GUIDs as a tool does (ATLAS.ti's upper case) or to mint new
    ones as a tool's re-export does.
    """
    from dataclasses import fields, is_dataclass, replace

    def walk(value):
        if isinstance(value, tuple):
            return tuple(walk(v) for v in value)
        if not is_dataclass(value) or isinstance(value, ReadInfo):
            return value
        changes = {}
        for f in fields(value):
            item = getattr(value, f.name)
            if f.name in _GUID_FIELDS and isinstance(item, str):
                changes[f.name] = change(item)
            elif f.name in _GUID_LISTS:
                changes[f.name] = tuple(change(g) for g in item)
            elif rename_files and f.name == "plain_text_path" and isinstance(item, str) and value.guid in item:
                changes[f.name] = item.replace(value.guid, change(value.guid))
            elif isinstance(item, tuple) or is_dataclass(item):
                changes[f.name] = walk(item)
        return replace(value, **changes)

    return walk(project)


def coder_of(record: CodingRecord) -> str | None:
    """The GUID of the user who made a coding: the coding's ``creatingUser``, else its selection's.

    NVivo stamps selections and codings with different users (the selection's creator is often not the
    coder); the coding's own attribute is the more specific statement, so it wins.
    """
    return coder_of_coding(record.coding, record.selection)


def coder_of_coding(coding: Coding, selection: Selection | None = None) -> str | None:
    """:func:`coder_of` for a coding and the selection it sits on."""
    if coding.creating_user:
        return coding.creating_user
    if selection is not None and selection.creating_user:
        return selection.creating_user
    return None


def coder_name(user_guid: str | None, users: Mapping[str, User]) -> str | None:
    """The name of a user GUID, else the GUID itself; None when there is no GUID."""
    if not user_guid:
        return None
    user = users.get(guid_key(user_guid))
    if user is not None and user.name:
        return user.name
    return user_guid
