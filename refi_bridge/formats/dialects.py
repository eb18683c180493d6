"""Writer dialects: what each QDA tool needs a file to look like so that it imports it exactly.

A dialect is data (:class:`Dialect`) plus a pure transformation of the model (:func:`prepare`); the XML
writer then emits the dialect's position unit. The evidence for each rule is in ``docs/dialects.md``; the
rules of the ATLAS.ti and MAXQDA dialects are in :mod:`refi_bridge.formats.strict`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace

from refi_bridge.errors import DialectError
from refi_bridge.formats import qualcoder, strict
from refi_bridge.formats.positions import CODEPOINT, UTF16
from refi_bridge.model import (
    Coding,
    Project,
    Selection,
    TextSource,
    coder_of_coding,
    derived_guid,
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
    upper_guids: bool = False
    summary: str = ""


DIALECTS: dict[str, Dialect] = {
    d.name: d for d in (
        Dialect("refi", "any REFI-QDA 1.0 tool", CODEPOINT, upper_guids=True, summary=(
            "The standard: positions in code points, texts carried byte for byte, GUIDs in upper case.")),
        Dialect("nvivo", "NVivo 12-20 (Windows and Mac)", UTF16, split_selections="coding", summary=(
            "Positions in UTF-16 code units (an emoji counts two), one selection per coding, as NVivo "
            "writes them itself.")),
        Dialect("qualcoder", "QualCoder 3.x-4.x", CODEPOINT, bom=False, split_selections="coder", summary=(
                    "What QualCoder 4 keeps (measured with its own import): LF-only texts without byte-order "
                    "mark, one selection (or area) per coder whose creator is that coder, unique code and "
                    "source names, cases as codings at the case's code, notes as annotations, memos and "
                    "journals.")),
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
        project = qualcoder.for_qualcoder(project, notes)
    if dialect.name in _TOOL_RULES:
        project = _TOOL_RULES[dialect.name](project, notes)
    if dialect.upper_guids:
        project = strict.upper_guids(project)
    return project, notes



def split_selections(project: Project, per: str) -> Project:
    """Split every selection so that it holds one coding (``per="coding"``, text only) or one coder's codings.

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

    def owner(source):
        # -- per coder: areas too (QualCoder credits an area's codings to its creator); per coding: text only,
        #    NVivo's own layout --
        selections = getattr(source, "selections", ())
        if not selections or (per == "coding" and not isinstance(source, TextSource)):
            return source
        return replace(source, selections=tuple(part for selection in selections for part in split(selection)))

    sources = tuple(owner(source) for source in project.sources)
    return replace(project, sources=sources)
