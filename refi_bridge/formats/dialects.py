"""Writer dialects: what each QDA tool needs a file to look like so that it imports it exactly.

A dialect is data (:class:`Dialect`) plus a pure transformation of the model (:func:`prepare`); the XML
writer then emits the dialect's position unit. The evidence for each rule is in ``docs/dialects.md``; the
rules of the ATLAS.ti and MAXQDA dialects are in :mod:`refi_bridge.formats.strict`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, replace

from refi_bridge.errors import DialectError
from refi_bridge.formats import strict
from refi_bridge.formats.positions import CODEPOINT, UTF16
from refi_bridge.model import (
    Code,
    Coding,
    Note,
    PlainTextSelection,
    Project,
    Selection,
    TextSource,
    coder_of_coding,
    derived_guid,
    guid_key,
    map_codings,
)


@dataclass(frozen=True)
class Dialect:
    """How to write for one tool.

    ``bom``: True/False forces the byte-order mark of text files, None keeps each text's own.
    ``split_selections``: ``"coding"`` writes one selection per coding (NVivo's own layout), ``"coder"``
    one selection per coder (QualCoder credits every coding of a selection to the selection's creator).
    ``upper_guids`` writes every GUID in upper case without braces (what ATLAS.ti and MAXQDA write).
    """

    name: str
    tool: str
    position_unit: str
    bom: bool | None = None
    split_selections: str | None = None
    unique_code_names: bool = False
    upper_guids: bool = False
    summary: str = ""


DIALECTS: dict[str, Dialect] = {
    d.name: d for d in (
        Dialect("refi", "any REFI-QDA 1.0 tool", CODEPOINT, upper_guids=True, summary=(
            "The standard: positions in code points, texts carried byte for byte, GUIDs in upper case.")),
        Dialect("nvivo", "NVivo 12-20 (Windows and Mac)", UTF16, split_selections="coding", summary=(
            "Positions in UTF-16 code units (an emoji counts two), one selection per coding, as NVivo "
            "writes them itself.")),
        Dialect("qualcoder", "QualCoder 3.x-4.x", CODEPOINT, bom=False, split_selections="coder",
                unique_code_names=True, summary=(
                    "Texts without byte-order mark, one selection per coder whose creator is that coder, "
                    "unique code names, memos as text files, codes never sharing a case's GUID.")),
        Dialect("atlasti", "ATLAS.ti 8 or later (Windows and Mac)", CODEPOINT, bom=False, upper_guids=True, summary=(
            "What ATLAS.ti writes: upper-case GUIDs, LF-only texts in code points, files named by GUID, "
            "one quotation per span holding every coder's codings, PDF text quotations as area and text.")),
        Dialect("maxqda", "MAXQDA 2020 or later (Windows and Mac)", CODEPOINT, bom=False, upper_guids=True, summary=(
            "What MAXQDA writes: upper-case GUIDs, LF-only texts in code points, files named by GUID, "
            "PDF areas from the page's bottom-left corner, pages from 0.")),
    )
}

# -- the rules of each strict tool's dialect, beyond what the Dialect's fields say --
_TOOL_RULES = {"atlasti": strict.for_atlasti, "maxqda": strict.for_maxqda}


@dataclass(frozen=True)
class ExportStyle:
    """How a tool packages its export, beyond the dialect: for files that must look like a tool wrote them.

    refi_bridge's own files carry ``origin="refi_bridge <version>"`` and a ``<?refi-bridge?>`` instruction
    naming the dialect and position unit; a style can instead claim a tool's ``origin``, name the document
    and the sources folder as that tool does, and leave the instruction out.
    """

    origin: str | None = None
    qde_name: str = "project.qde"
    sources_folder: str = "sources"
    instruction: bool = True


def get(name: str) -> Dialect:
    """The dialect called ``name`` (case-insensitive); :class:`DialectError` names the choices otherwise."""
    dialect = DIALECTS.get(name.lower().strip())
    if dialect is None:
        raise DialectError(f"unknown dialect {name!r}; choose one of: {', '.join(DIALECTS)}")
    return dialect


def prepare(project: Project, dialect: Dialect) -> tuple[Project, list[str]]:
    """Return the project as ``dialect`` should receive it, and notes on anything the tool will not keep."""
    notes: list[str] = []
    if dialect.split_selections:
        project = split_selections(project, per=dialect.split_selections)
    if dialect.name == "qualcoder":
        project = _for_qualcoder(project, notes)
    if dialect.name in _TOOL_RULES:
        project = _TOOL_RULES[dialect.name](project, notes)
    if dialect.upper_guids:
        project = strict.upper_guids(project)
    return project, notes



def split_selections(project: Project, per: str) -> Project:
    """Split every text selection so that it holds one coding (``per="coding"``) or one coder's codings.

    The first part keeps the selection's GUID; the others get GUIDs derived from it. With ``per="coder"``,
    each part's ``creating_user`` is its coder.
    """
    def split(selection: Selection) -> list[Selection]:
        if per == "coding":
            groups = [[coding] for coding in selection.codings]
        else:
            by_coder: dict[str, list[Coding]] = defaultdict(list)
            for coding in selection.codings:
                by_coder[coder_of_coding(coding, selection) or ""].append(coding)
            groups = list(by_coder.values())
        if len(groups) <= 1 and per == "coding":
            return [selection]
        parts = []
        for index, codings in enumerate(groups or [[]]):
            guid = selection.guid if index == 0 else derived_guid("refi-bridge", selection.guid, codings[0].guid)
            changes: dict = {"guid": guid, "codings": tuple(codings)}
            if per == "coder" and codings:
                coder = coder_of_coding(codings[0], selection)
                if coder:
                    changes["creating_user"] = coder
            if index > 0:
                changes["note_refs"] = ()
            parts.append(replace(selection, **changes))
        return parts

    def text_owner(owner: TextSource) -> TextSource:
        selections: list[PlainTextSelection] = []
        for selection in owner.selections:
            selections.extend(split(selection))  # type: ignore[arg-type]
        return replace(owner, selections=tuple(selections))

    sources = tuple(text_owner(source) if isinstance(source, TextSource) else source
                    for source in project.sources)
    return replace(project, sources=sources)


def _for_qualcoder(project: Project, notes: list[str]) -> Project:
    # -- a code whose GUID is also a case's is deleted by QualCoder: give the code a GUID of its own --
    case_guids = {guid_key(case.guid) for case in project.cases}
    renamed: dict[str, str] = {}
    for code, _ in project.iter_codes():
        if guid_key(code.guid) in case_guids:
            renamed[guid_key(code.guid)] = derived_guid("refi-bridge", "code", code.guid)
    paths = project.code_paths()
    counts = Counter(code.name.strip().casefold() for code, _ in project.iter_codes())

    def fix_code(code: Code) -> Code:
        changes: dict = {"codes": tuple(fix_code(child) for child in code.codes)}
        key = guid_key(code.guid)
        if key in renamed:
            changes["guid"] = renamed[key]
        if counts[code.name.strip().casefold()] > 1:
            # -- QualCoder merges codes of equal name; the path keeps them apart and says what each is --
            changes["name"] = " > ".join(paths[key])
        return replace(code, **changes)

    codes = tuple(fix_code(code) for code in project.codes)
    shared = [paths[guid_key(c.guid)] for c, _ in project.iter_codes() if counts[c.name.strip().casefold()] > 1]
    if shared:
        notes.append(f"{len(shared)} codes renamed to their paths (e.g. {' > '.join(shared[0])!r}) so that "
                     "QualCoder keeps them apart; refi-bridge merge maps them back")
    if renamed:
        notes.append(f"{len(renamed)} codes given GUIDs of their own because they shared a case's GUID "
                     "(QualCoder would delete them); refi-bridge merge maps them back")
        project = _retarget_codes(project, renamed)
    if any(case.source_refs for case in project.cases):
        notes.append("QualCoder drops the sources of a case on import (measured); cases will arrive empty")
    if any(selection.note_refs for _, selection, _ in project.iter_selections()):
        notes.append("QualCoder drops memos attached to selections on import (measured)")
    notes_out = tuple(_note_as_file(note) for note in project.notes)
    sources = tuple(replace(source, text_bom=False) if isinstance(source, TextSource) else source
                    for source in project.sources)
    return replace(project, codes=codes, notes=notes_out, sources=sources)


def _note_as_file(note: Note) -> Note:
    # -- QualCoder drops a Note that has only inline text; a text file survives --
    if note.plain_text_path is None and note.text is not None:
        return replace(note, plain_text_path=f"internal://{note.guid.strip('{}')}.txt", text_bom=False)
    return note


def _retarget_codes(project: Project, renamed: dict[str, str]) -> Project:
    """Point every reference to a code whose GUID changed at its new GUID."""
    def coding(c: Coding, _selection) -> Coding:
        new = renamed.get(guid_key(c.code_guid))
        return replace(c, code_guid=new) if new else c

    def refs(guids):
        return tuple(renamed.get(guid_key(g), g) for g in guids)

    return replace(
        project,
        sources=tuple(map_codings(s, coding) for s in project.sources),
        cases=tuple(replace(case, code_refs=refs(case.code_refs)) for case in project.cases),
        sets=tuple(replace(group, member_codes=refs(group.member_codes)) for group in project.sets),
    )
