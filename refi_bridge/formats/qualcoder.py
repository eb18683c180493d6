"""What QualCoder's REFI-QDA import keeps, and the forms it keeps it in, as pure changes of the model.

QualCoder is the one QDA tool that runs here: every rule below was **measured** by running its own import
(QualCoder 4.0 Beta, ``ccbogel/QualCoder`` @ c3204641, ``src/qualcoder/refi.py``) headless on hand-made
files and on the shared corpus, and reading back its SQLite project (``tests/clients/qualcoder_check.py``
repeats the check; ``docs/dialects.md`` has the numbers). QualCoder matches GUIDs as exact strings, keeps no
GUID and no user table, and its import is not transactional: one bad element aborts it halfway.

Every function takes a Project and returns a new one; those that change what a user sees append a sentence
to ``notes``.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import PurePosixPath

from refi_bridge.formats.strict import lf_texts
from refi_bridge.model import (
    Case,
    Code,
    Coding,
    PDFSelection,
    PictureSelection,
    PlainTextSelection,
    Project,
    TextSource,
    derived_guid,
    guid_key,
    internal_file,
)


def _guid(*parts: str) -> str:
    return derived_guid("refi-bridge-qualcoder", *parts)


def _unique(name: str, taken: Counter) -> str:
    """``name``, or ``name (2)``, ``name (3)``... whichever ``taken`` (case-folded names) does not hold yet;
    the result is taken. QualCoder inserts no second source, case or journal of one name."""
    candidate, n = name, 1
    while taken[candidate.casefold()]:
        n += 1
        candidate = f"{name} ({n})"
    taken[candidate.casefold()] += 1
    return candidate


def for_qualcoder(project: Project, notes: list[str]) -> Project:
    """The project in the forms QualCoder 4 keeps (the ``qualcoder`` dialect, after one selection per coder)."""
    now = project.modified_date_time or project.creation_date_time or \
        datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    project = lf_texts(project)
    project = named_sources(project, notes)
    project = cases_as_case_codes(project, notes, now)
    project = unique_code_names(project, notes)
    project = areas_it_accepts(project, now)
    project = notes_it_attaches(project, notes, now)
    _say_what_it_cannot_hold(project, notes)
    return project


def named_sources(project: Project, notes: list[str]) -> Project:
    """Every source named, each name once.

    -- why -- a nameless TextSource is stored as "None" (the next as "1_None") and later crashes QualCoder's
    export; a nameless picture or PDF aborts the import (measured on ``qc1.3.2_demo-project.qdpx``).
    """
    taken: Counter = Counter()
    named = 0
    sources = []
    for index, source in enumerate(project.sources, start=1):
        name = source.name
        if not (name or "").strip():
            path = internal_file(getattr(source, "plain_text_path", None) or getattr(source, "path", None))
            name = PurePosixPath(path).stem if path and isinstance(source, TextSource) else (path or f"Source {index}")
            named += 1
        name = _unique(name, taken)
        sources.append(source if name == source.name else replace(source, name=name))
    if named:
        notes.append(f"{named} sources had no name; they are named after their files, as QualCoder needs")
    return replace(project, sources=tuple(sources))


def cases_as_case_codes(project: Project, notes: list[str], now: str) -> Project:
    """Case membership in the one form QualCoder reads: text codings at a top-level, codable code whose GUID
    is the case's, named as no other code is.

    -- why -- QualCoder ignores a case's ``SourceRef`` and ``SelectionRef``; after reading the cases it
    deletes each code whose GUID is a case's and moves that code's text codings into the case (measured:
    NVivo 20.5's 68 case nodes arrive as 97 case links in this form, 0 when the codes are given GUIDs of
    their own, 50 when left nested with names shared by other codes). A whole text source is the span
    0..length, QualCoder's own form for "the whole file". Pictures, PDFs and media cannot join a case
    through its import.
    """
    if not project.cases:
        return project
    # -- case names once each: QualCoder does not insert a second case of the same name --
    case_names: Counter = Counter()
    renamed_cases = []
    for case in project.cases:
        name = _unique(case.name or "Case", case_names)
        renamed_cases.append(case if name == case.name else replace(case, name=name))
    project = replace(project, cases=tuple(renamed_cases))
    cases = {guid_key(case.guid): case for case in project.cases}
    # -- lift every case node (and any ordinary code below one) to the top level --
    lifted: list[Code] = []

    def keep(code: Code) -> Code | None:
        """The code with its case nodes lifted out (None if it is one itself)."""
        children = tuple(kept for child in code.codes if (kept := keep(child)) is not None)
        if guid_key(code.guid) not in cases:
            return replace(code, codes=children) if children != code.codes else code
        # -- same GUID string as the case (QualCoder compares exact strings), codable, at the top --
        lifted.append(replace(code, guid=cases[guid_key(code.guid)].guid, is_codable=True, codes=()))
        lifted.extend(children)  # QualCoder deletes the case code: what was below it must not hang there
        return None

    codes = [kept for code in project.codes if (kept := keep(code)) is not None]
    nodes = {guid_key(c.guid) for c in lifted if guid_key(c.guid) in cases}
    moved_codes = sum(1 for c in lifted if guid_key(c.guid) not in cases)
    # -- a case without a node gets one, for its sources and selections --
    for key, case in cases.items():
        if key not in nodes and (case.source_refs or case.selection_refs):
            lifted.append(Code(guid=case.guid, name=case.name or "Case", is_codable=True))
            nodes.add(key)
    taken = Counter(c.name.strip().casefold() for code in codes for c, _ in code.walk())
    taken.update(c.name.strip().casefold() for c in lifted if guid_key(c.guid) not in cases)
    named_nodes = []
    for code in lifted:
        if guid_key(code.guid) in cases:
            name = cases[guid_key(code.guid)].name or "Case"
            if taken[name.strip().casefold()]:
                name = f"Case: {name}"  # QualCoder inserts no second code of one name; this one is deleted anyway
            taken[name.strip().casefold()] += 1
            code = replace(code, name=name)
        named_nodes.append(code)
    project = replace(project, codes=(*codes, *named_nodes))
    project, linked, unlinkable = _case_codings(project, cases, now)
    if linked:
        notes.append(f"{linked} case links written as codings at the case's code, the form QualCoder reads")
    if unlinkable:
        notes.append(f"{unlinkable} case links to pictures, PDFs or media cannot be imported by QualCoder; "
                     "those sources arrive outside their cases")
    if moved_codes:
        notes.append(f"{moved_codes} codes below case nodes moved to the top level (QualCoder deletes case codes)")
    return project


def _case_codings(project: Project, cases: dict[str, Case], now: str):
    """Text codings at the case codes for every SourceRef and SelectionRef of a case."""
    by_selection: dict[str, list[str]] = defaultdict(list)
    whole: dict[str, list[str]] = defaultdict(list)
    for case in cases.values():
        for ref in case.source_refs:
            whole[guid_key(ref)].append(case.guid)
        for ref in case.selection_refs:
            by_selection[guid_key(ref)].append(case.guid)
    linked = unlinkable = 0
    user = project.creating_user or (project.users[0].guid if project.users else None)
    sources = []
    for source in project.sources:
        wanted = whole.get(guid_key(source.guid), [])
        if not isinstance(source, TextSource) or source.text is None:
            unlinkable += len(wanted) + sum(len(by_selection.get(guid_key(s.guid), ()))
                                            for s in getattr(source, "selections", ()))
            sources.append(source)
            continue
        added = []
        for case in wanted:
            added.append(_case_selection(source.guid, case, 0, len(source.text), user, now))
        for selection in source.selections:
            for case in by_selection.get(guid_key(selection.guid), ()):
                added.append(_case_selection(selection.guid, case, selection.start, selection.end,
                                             selection.creating_user or user, now))
        linked += len(added)
        sources.append(replace(source, selections=(*source.selections, *added)) if added else source)
    return replace(project, sources=tuple(sources)), linked, unlinkable


def _case_selection(anchor: str, case: str, start: int, end: int, user: str | None, now: str) -> PlainTextSelection:
    guid = _guid("case", anchor, case)
    return PlainTextSelection(guid=guid, start=start, end=end, creating_user=user, creation_date_time=now,
                              codings=(Coding(guid=_guid("case-coding", anchor, case), code_guid=case,
                                              creating_user=user),))


def unique_code_names(project: Project, notes: list[str]) -> Project:
    """A code that shares its name with another is named by its path (``Theme > facilitating``).

    -- why -- QualCoder merges codes of equal name silently, and the codings of the second become invisible
    (measured); the path keeps them apart and says what each is. ``refi-bridge merge`` maps such names
    back to the codes they stand for.
    """
    paths = project.code_paths()
    counts = Counter(code.name.strip().casefold() for code, _ in project.iter_codes())

    def fix(code: Code) -> Code:
        changes: dict = {"codes": tuple(fix(child) for child in code.codes)}
        if counts[code.name.strip().casefold()] > 1:
            changes["name"] = " > ".join(paths[guid_key(code.guid)])
        return replace(code, **changes)

    shared = [paths[guid_key(c.guid)] for c, _ in project.iter_codes() if counts[c.name.strip().casefold()] > 1]
    if shared:
        notes.append(f"{len(shared)} codes renamed to their paths (e.g. {' > '.join(shared[0])!r}) so that "
                     "QualCoder keeps them apart; refi-bridge merge maps them back")
    return replace(project, codes=tuple(fix(code) for code in project.codes))


def areas_it_accepts(project: Project, now: str) -> Project:
    """Picture and PDF areas with a date and a name, one selection per coder (the split did the coders).

    -- why -- a picture area without ``creationDateTime`` aborts the import; one without ``name`` crashes
    QualCoder's own export later (measured). The coder of an area's codings is the area's creator, so the
    areas were split per coder like text selections (memes: 176 of 176 picture codings with the right
    coder, against 146).
    """
    def fix(selection):
        if not isinstance(selection, (PictureSelection, PDFSelection)):
            return selection
        changes = {}
        if not selection.creation_date_time:
            changes["creation_date_time"] = selection.modified_date_time or now
        if selection.name is None:
            changes["name"] = ""
        return replace(selection, **changes) if changes else selection

    sources = []
    for source in project.sources:
        selections = getattr(source, "selections", None)
        if selections and not isinstance(source, TextSource):
            source = replace(source, selections=tuple(fix(s) for s in selections))
        sources.append(source)
    return replace(project, sources=tuple(sources))


def notes_it_attaches(project: Project, notes: list[str], now: str) -> Project:
    """Memos where QualCoder keeps them: a passage's note as an annotation, a source's as its memo, every
    note as a journal with a unique name, a file and a date.

    -- why -- QualCoder ignores a ``NoteRef`` inside a selection, loses a Note a source refers to, loses a
    Note with only inline text, and aborts on a Note without a date or on two journals of one name
    (measured). A selection without codings whose ``Description`` is the note's text becomes an annotation
    on that passage; a source's ``Description`` becomes its memo.
    """
    by_guid = {guid_key(note.guid): note for note in project.notes}
    attached = memo = 0
    sources = []
    for source in project.sources:
        if not isinstance(source, TextSource):
            sources.append(source)
            continue
        extra: dict[tuple, list[str]] = defaultdict(list)
        for selection in source.selections:
            for ref in selection.note_refs:
                note = by_guid.get(guid_key(ref))
                if note is not None and (note.text or "").strip():
                    user = note.creating_user or selection.creating_user
                    extra[(selection.start, selection.end, user)].append(note.text.strip())
        annotations = tuple(
            PlainTextSelection(guid=_guid("annotation", source.guid, str(start), str(end), user or ""), start=start,
                               end=end, description="\n\n".join(texts), creating_user=user, creation_date_time=now)
            for (start, end, user), texts in extra.items())
        attached += len(annotations)
        changes: dict = {}
        if annotations:
            changes["selections"] = (*source.selections, *annotations)
        memos = [by_guid[guid_key(r)].text.strip() for r in source.note_refs
                 if guid_key(r) in by_guid and (by_guid[guid_key(r)].text or "").strip()]
        if memos:
            memo += len(memos)
            changes["description"] = "\n\n".join(filter(None, [source.description, *memos]))
            changes["note_refs"] = ()
        sources.append(replace(source, **changes) if changes else source)
    if attached:
        notes.append(f"{attached} notes on passages written as QualCoder annotations")
    if memo:
        notes.append(f"{memo} notes on sources written as the sources' memos")
    taken: Counter = Counter()
    journals = []
    for index, note in enumerate(project.notes, start=1):
        name = _unique((note.name or "").strip() or f"Note {index}", taken)
        changes = {"name": name} if name != note.name else {}
        if not note.creation_date_time:
            changes["creation_date_time"] = note.modified_date_time or now
        if note.plain_text_path is None and note.text is not None:
            changes.update(plain_text_path=f"internal://{note.guid.strip('{}')}.txt", text_bom=False)
        journals.append(replace(note, **changes) if changes else note)
    return replace(project, sources=tuple(sources), notes=tuple(journals))


def _say_what_it_cannot_hold(project: Project, notes: list[str]) -> None:
    """One line for what QualCoder cannot hold at all (measured: not read, mostly without a message)."""
    def counted(n: int, one: str, many: str) -> str:
        return f"{n} {one if n == 1 else many}"

    lost = []
    if project.graphs:
        lost.append(counted(len(project.graphs), "graph", "graphs"))
    if project.links:
        lost.append(counted(len(project.links), "link", "links"))
    code_sets = [s for s in project.sets if s.member_codes or s.member_notes]
    if code_sets:
        lost.append(counted(len(code_sets), "set of codes or notes", "sets of codes or notes"))
    if lost:
        also = " (its sets of sources become file attributes)" if any(s.member_sources for s in project.sets) else ""
        notes.append(f"QualCoder cannot hold {', '.join(lost)}; they are in the file but it will not import "
                     f"them{also}")

