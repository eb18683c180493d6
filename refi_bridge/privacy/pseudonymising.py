"""``pseudonymise``: a coded project with the key applied everywhere a name can hide, every coding on its passage.

What is rewritten: the text of every text source, of PDF representations (also those of single PDF
selections), of pictures' text descriptions and of transcripts; the text of notes; and the names,
descriptions and other free text of everything: the project's name and description, sources, cases
(names, descriptions, Text variable values), selections (ATLAS.ti keeps quotation excerpts in their names),
notes, sets, links, graphs, codes' and variables' descriptions, external paths, and what vendors stored in
elements and attributes REFI-QDA does not define. Code names and user names are left alone unless asked
(``codes=True``; ``coders={"Ingrid Halvorsen": "Coder A"}``), because they are the analysis and its
audit trail.

Positions go through :class:`~refi_bridge.privacy.rewriting.PositionMap`: text selections (in sources,
representations, descriptions and notes) and transcripts' sync points (so that transcript selections,
which are spans between sync points, follow). Whole-source codings, note references and case references
are references by GUID and stay as they are. Carried files are handled by
:mod:`refi_bridge.privacy.files`: rich-text originals dropped, media refused unless kept on purpose.

The key is applied to every string until nothing of it is left (see :mod:`refi_bridge.privacy.rewriting`),
so no original survives because a replacement next to it changed what counts as a word.
"""

from __future__ import annotations

import gc
import os
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from refi_bridge.errors import PseudonymisationError, RefiBridgeWarning
from refi_bridge.formats.exchange import read
from refi_bridge.formats.qde import map_fragment_text
from refi_bridge.model import (
    ASSIGNED,
    AudioSource,
    Case,
    Code,
    Coding,
    Foreign,
    Graph,
    Link,
    PDFSelection,
    PDFSource,
    PictureSource,
    PlainTextSelection,
    Project,
    Set,
    TextSource,
    Transcript,
    User,
    Variable,
    VariableValue,
    VideoSource,
    coder_name,
    coder_of_coding,
    guid_key,
    internal_file,
    name_key,
)
from refi_bridge.privacy.files import carry_files
from refi_bridge.privacy.key import Entry, Key, as_key
from refi_bridge.privacy.report import PseudonymisationReport
from refi_bridge.privacy.rewriting import PositionMap, rewrite
from refi_bridge.progress import Progress, Reporter, quiet

# -- where a match was found, grouped as the report's columns show them --
SOURCE_TEXTS = {"source text", "transcript", "PDF text", "picture description"}
NOTE_TEXTS = {"note text"}


@dataclass
class Pseudonymised:
    """What :func:`pseudonymise` returns: the new project and the report of what was done."""

    project: Project
    report: PseudonymisationReport


def pseudonymise(project: Project | str | os.PathLike,
                 key: Key | str | os.PathLike | Mapping[str, str] | Iterable[Entry], *,
                 codes: bool = False, coders: Mapping[str, str] | None = None, keep_media: bool = False,
                 progress: Progress | Reporter | None = None) -> Pseudonymised:
    """Apply ``key`` to every text and name of ``project`` (a Project, or a file to read), keeping every
    coding on its passage; write ``result.project`` with :func:`refi_bridge.write`.

    ``key`` is a :class:`~refi_bridge.privacy.key.Key`, a key file (CSV or XLSX), or a mapping
    ``{original: replacement}`` (whole words, case-sensitive). ``codes`` applies the key to code names too;
    ``coders`` renames users (``{"Ingrid Halvorsen": "Coder A"}``, by name or GUID) for blind review;
    ``keep_media`` keeps pictures, PDFs, audio and video, which cannot be rewritten (each is named in a
    :class:`RefiBridgeWarning`). The project given is not changed.

    Raises:
        PseudonymisationError: the key cannot work, a coder to rename is not in the project, the project
            carries media and ``keep_media`` is false, or a text lives only in a file that cannot be rewritten.
    """
    say = quiet(progress)
    key = as_key(key)
    if not isinstance(project, Project):
        project = read(project, progress=say)
    say(f"applying the key ({len(key)} entries)")
    # -- a new selection for every one that moved, in a model without cycles: the cyclic collector would
    #    walk the whole project again and again for nothing --
    collecting = gc.isenabled()
    gc.disable()
    try:
        result, report = _pseudonymise(project, key, codes, coders or {}, keep_media, say)
    finally:
        if collecting:
            gc.enable()
    for message in report.media_warnings():
        warnings.warn(message, RefiBridgeWarning, stacklevel=2)
    return Pseudonymised(result, report)


def _pseudonymise(project: Project, key: Key, codes: bool, coders: Mapping[str, str], keep_media: bool,
                  say: Reporter) -> tuple[Project, PseudonymisationReport]:
    work = _Rewriter(key, codes)
    users = _rename_users(project, coders, work.report)
    sources = tuple(work.source(source) for source in say.each(project.sources, "sources"))
    notes = tuple(work.owner(note, "note text", "note") for note in project.notes)
    changes = {
        "users": users,
        "codes": tuple(work.code(code) for code in project.codes),
        "variables": tuple(work.variable(variable) for variable in project.variables),
        "cases": tuple(work.case(case) for case in project.cases),
        "sources": sources,
        "notes": notes,
        "links": tuple(work.link(link) for link in project.links),
        "sets": _assignments_aliased(tuple(work.set(group) for group in project.sets), work.report),
        "graphs": tuple(work.graph(graph) for graph in project.graphs),
        "name": work.string(project.name, "project name", "project") or "",
        "origin": work.string(project.origin, "project origin", "project"),
        "description": work.string(project.description, "project description", "project"),
        "base_path": work.string(project.base_path, "path", "project"),
        "foreign": work.foreign(project.foreign, "project"),
    }
    changed = {name: value for name, value in changes.items() if value is not getattr(project, name)}
    result = replace(project, **changed) if changed else project
    result = carry_files(result, key, keep_media, work.report)
    work.finish(result, project)
    return result, work.report


def _rename_users(project: Project, coders: Mapping[str, str], report: PseudonymisationReport) -> tuple[User, ...]:
    """Users with the aliases of ``coders`` (keys are user names or GUIDs)."""
    if not coders:
        return project.users
    wanted = {name_key(name): alias.strip() for name, alias in coders.items()}
    guids = {guid_key(name): name_key(name) for name in coders}
    used = set()
    users = []
    for user in project.users:
        handle = name_key(user.name) if user.name and name_key(user.name) in wanted else guids.get(guid_key(user.guid))
        alias = wanted.get(handle) if handle else None
        if handle in wanted:
            used.add(handle)
        if alias is None:
            users.append(user)
            continue
        if not alias:
            raise PseudonymisationError(f"--coders: the alias for {user.name or user.guid!r} is empty; write "
                                        "NAME=ALIAS.")
        report.coders.append({"user": user.name or user.guid, "alias": alias})
        # -- initials would point at the person: they go with the name --
        users.append(replace(user, name=alias, id=None))
    missing = sorted(set(wanted) - used)
    if missing:
        names = ", ".join(repr(u.name or u.guid) for u in project.users) or "none"
        raise PseudonymisationError(f"--coders names {', '.join(repr(m) for m in missing)}, who is not a user of "
                                    f"the project (its users: {names}).")
    return tuple(users)


def _assignments_aliased(sets: tuple[Set, ...], report: PseudonymisationReport) -> tuple[Set, ...]:
    """The sets merge --manifest records ("Assigned to <coder>") under the coders' aliases: they name the
    coders, and agreement finds each coder's sources through them."""
    aliases = {name_key(row["user"]): row["alias"] for row in report.coders}
    if not aliases:
        return sets
    out = []
    for group in sets:
        coder = group.name[len(ASSIGNED):] if group.name.startswith(ASSIGNED) else None
        alias = aliases.get(name_key(coder)) if coder else None
        if alias is not None:
            description = (group.description or "").replace(coder, alias) or None
            group = replace(group, name=ASSIGNED + alias, description=description)
        out.append(group)
    return tuple(out)


class _Rewriter:
    """Applies one key to the parts of one project, counting where each entry matched."""

    def __init__(self, key: Key, codes: bool) -> None:
        self.key = key
        self.codes = codes
        self.counts: Counter = Counter()  # (entry, where, object) -> replacements
        self.report = PseudonymisationReport(key.entries)
        self.moved: list[tuple] = []  # (object's label, old selection, new start, new end, new text, edges)
        self.shifted = 0

    # -- strings ---------------------------------------------------------------------------------------------

    def string(self, value: str | None, where: str, what: str) -> str | None:
        """A free-text value with the key applied, counted as found in ``where`` of ``what``."""
        if not value:
            return value
        done = rewrite(value, self.key)
        for match in done.matches:
            self.counts[(match.entry, where, what)] += 1
        return done.text if done.matches else value

    def name(self, value: str | None, where: str, kind: str, guid: str | None = None) -> tuple[str | None, str]:
        """A name with the key applied, and the label that names its object in the report (the new name, else
        the GUID)."""
        done = rewrite(value, self.key) if value else None
        if done is None or not done.matches:
            return value, f"{kind} {value!r}" if value else f"{kind} {guid or '(no name)'}"
        label = f"{kind} {done.text!r}"
        for match in done.matches:
            self.counts[(match.entry, where, label)] += 1
        return done.text, label

    def foreign(self, foreign: Foreign | None, what: str) -> Foreign | None:
        """Vendor attributes and elements with the key applied to their values and texts."""
        if not foreign or not (foreign.attributes or foreign.elements):
            return foreign
        attributes = tuple((name, self.string(value, "vendor data", what)) for name, value in foreign.attributes)
        elements = tuple(map_fragment_text(fragment, lambda text: self.string(text, "vendor data", what))
                         if self.key.find(fragment) or "&" in fragment else fragment
                         for fragment in foreign.elements)
        if attributes == foreign.attributes and elements == foreign.elements:
            return foreign
        return replace(foreign, attributes=attributes, elements=elements)

    def path(self, value: str | None, what: str) -> str | None:
        """An external path (a file outside the archive may be named after a person); internal ones are
        the business of :mod:`refi_bridge.privacy.files`."""
        if not value or internal_file(value) is not None:
            return value
        return self.string(value, "path", what)

    def values(self, values: tuple[VariableValue, ...], what: str) -> tuple[VariableValue, ...]:
        """Variable values with the key applied to the Text ones (numbers, dates and truth values are not
        names; an identifying date is an indirect identifier, see docs/pseudonymising.md)."""
        out = []
        changed = False
        for value in values:
            if value.type == "Text" and value.value:
                new = self.string(value.value, "variable value", what)
                if new is not value.value:
                    value = replace(value, value=new)
                    changed = True
            out.append(value)
        return tuple(out) if changed else values

    def codings(self, codings: tuple[Coding, ...], what: str) -> tuple[Coding, ...]:
        if not any(coding.foreign for coding in codings):
            return codings
        return tuple(replace(c, foreign=f) if (f := self.foreign(c.foreign, what)) is not c.foreign else c
                     for c in codings)

    @staticmethod
    def _apply(obj, changes: dict):
        changed = {name: value for name, value in changes.items() if value is not getattr(obj, name)}
        return replace(obj, **changed) if changed else obj

    def _common(self, obj, what: str) -> dict:
        """Changes to what every object with a description, a foreign part and (maybe) codings shares."""
        changes = {"description": self.string(obj.description, "description", what),
                   "foreign": self.foreign(obj.foreign, what)}
        if hasattr(obj, "codings"):
            changes["codings"] = self.codings(obj.codings, what)
        return changes

    # -- texts and their positions ---------------------------------------------------------------------------

    def owner(self, owner: TextSource, where: str, kind: str, label: str | None = None):
        """A text source, note, PDF representation or picture description: its text, names and selections."""
        name, own_label = self.name(owner.name, f"{kind} name", kind, owner.guid)
        label = label or own_label
        changes = self._common(owner, label)
        changes["name"] = name
        changes["variable_values"] = self.values(owner.variable_values, label)
        changes["plain_text_path"] = self.path(owner.plain_text_path, label)
        if owner.text:
            done = rewrite(owner.text, self.key)
            if done.matches:
                for match in done.matches:
                    self.counts[(match.entry, where, label)] += 1
                changes["text"] = done.text
            changes["selections"] = self.selections(owner.selections, done.positions, label, done.text)
        else:
            changes["selections"] = self.selections(owner.selections, None, label, owner.text)
        return self._apply(owner, changes)

    def selection(self, selection, label: str):
        """A selection's name (quotation excerpts), description, vendor data and codings' vendor data."""
        changes = self._common(selection, label)
        changes["name"] = self.string(selection.name, "selection", label)
        if isinstance(selection, PDFSelection) and selection.representation is not None:
            changes["representation"] = self.owner(selection.representation, "PDF text", "PDF text", label)
        return changes

    def selections(self, selections: tuple, positions: PositionMap | None, label: str, new_text: str | None):
        """Selections with their own texts rewritten and, for text selections, their positions moved."""
        out = []
        changed = False
        for selection in selections:
            changes = self.selection(selection, label)
            if positions and isinstance(selection, PlainTextSelection):
                start = positions.start(selection.start)
                end = start if selection.end == selection.start else positions.end(selection.end)
                changes["start"], changes["end"] = start, end
                if (start, end) != (selection.start, selection.end):
                    self.shifted += len(selection.codings)
                    edges = [edge for edge, offset, is_end in (("start", selection.start, False),
                                                               ("end", selection.end, True))
                             if positions.inside(offset, is_end)]
                    if edges:
                        self.moved.append((label, selection, start, end, new_text, " and ".join(edges)))
                else:
                    changes["start"], changes["end"] = selection.start, selection.end
            new = self._apply(selection, changes)
            changed = changed or new is not selection
            out.append(new)
        return tuple(out) if changed else selections

    def transcript(self, transcript: Transcript, label: str) -> Transcript:
        name, own = self.name(transcript.name, "transcript name", "transcript", transcript.guid)
        what = f"{label}, {own}"
        changes = self._common(transcript, what)
        changes["name"] = name
        changes["plain_text_path"] = self.path(transcript.plain_text_path, what)
        positions = None
        if transcript.text:
            done = rewrite(transcript.text, self.key)
            if done.matches:
                for match in done.matches:
                    self.counts[(match.entry, "transcript", label)] += 1
                changes["text"] = done.text
                positions = done.positions
        if positions:
            # -- a sync point marks a place, like a start: inside a replaced word it goes to the word's start --
            changes["sync_points"] = tuple(
                replace(p, position=positions.start(p.position)) if p.position is not None else p
                for p in transcript.sync_points)
        changes["selections"] = self.selections(transcript.selections, None, what, None)
        return self._apply(transcript, changes)

    # -- the project's parts ---------------------------------------------------------------------------------

    def source(self, source):
        if isinstance(source, TextSource):
            return self.owner(source, "source text", "source")
        name, label = self.name(source.name, "source name", "source", source.guid)
        changes = self._common(source, label)
        changes["name"] = name
        changes["variable_values"] = self.values(source.variable_values, label)
        changes["path"] = self.path(source.path, label)
        changes["current_path"] = self.path(source.current_path, label)
        if isinstance(source, PDFSource) and source.representation is not None:
            changes["representation"] = self.owner(source.representation, "PDF text", "PDF text", label)
        if isinstance(source, PictureSource) and source.text_description is not None:
            changes["text_description"] = self.owner(source.text_description, "picture description",
                                                     "picture description", label)
        if isinstance(source, (AudioSource, VideoSource)):
            transcripts = tuple(self.transcript(t, label) for t in source.transcripts)
            if any(new is not old for new, old in zip(transcripts, source.transcripts)):
                changes["transcripts"] = transcripts
        changes["selections"] = self.selections(source.selections, None, label, None)
        return self._apply(source, changes)

    def code(self, code: Code) -> Code:
        label = f"code {code.name!r}"
        changes = self._common(code, label)
        if self.codes:
            changes["name"], label = self.name(code.name, "code name", "code")
        children = tuple(self.code(child) for child in code.codes)
        if any(new is not old for new, old in zip(children, code.codes)):
            changes["codes"] = children
        return self._apply(code, changes)

    def variable(self, variable: Variable) -> Variable:
        return self._apply(variable, self._common(variable, f"variable {variable.name!r}"))

    def case(self, case: Case) -> Case:
        name, label = self.name(case.name, "case name", "case", case.guid)
        changes = self._common(case, label)
        changes["name"] = name
        changes["variable_values"] = self.values(case.variable_values, label)
        return self._apply(case, changes)

    def set(self, group: Set) -> Set:
        name, label = self.name(group.name, "set name", "set")
        changes = self._common(group, label)
        changes["name"] = name
        return self._apply(group, changes)

    def link(self, link: Link) -> Link:
        name, label = self.name(link.name, "link name", "link")
        return self._apply(link, {"name": name, "foreign": self.foreign(link.foreign, label)})

    def graph(self, graph: Graph) -> Graph:
        name, label = self.name(graph.name, "graph name", "graph")
        vertices = tuple(self._apply(v, {"name": self.string(v.name, "graph name", label),
                                         "foreign": self.foreign(v.foreign, label)}) for v in graph.vertices)
        edges = tuple(self._apply(e, {"name": self.string(e.name, "graph name", label),
                                      "foreign": self.foreign(e.foreign, label)}) for e in graph.edges)
        changes = {"name": name, "foreign": self.foreign(graph.foreign, label)}
        if any(a is not b for a, b in zip(vertices + edges, graph.vertices + graph.edges)):
            changes["vertices"], changes["edges"] = vertices, edges
        return self._apply(graph, changes)

    # -- the report --------------------------------------------------------------------------------------------

    def finish(self, result: Project, original: Project) -> None:
        """Fill the report: counts per entry and place, codings moved, names the options left alone."""
        report = self.report
        for (entry, where, what), count in sorted(self.counts.items(), key=lambda item: (item[0][0], -item[1])):
            group = "sources" if where in SOURCE_TEXTS else "notes" if where in NOTE_TEXTS else "names"
            report.add_place(entry, where, what, group, count)
        paths = result.code_paths()
        users = result.users_by_guid()
        for label, selection, start, end, text, edges in self.moved:
            for coding in selection.codings:
                report.moved.append({
                    "object": label, "code": " > ".join(paths.get(guid_key(coding.code_guid), ("?",))),
                    "coder": coder_name(coder_of_coding(coding, selection), users),
                    "old_start": selection.start, "old_end": selection.end, "start": start, "end": end,
                    "edge inside a replaced word": edges,
                    "text": text[start:end] if text is not None else None,
                })
        report.codings = sum(1 for _ in result.iter_codings())
        missing = [s.label for s in original.sources if isinstance(s, TextSource) and s.text is None]
        if missing:
            report.notes.append(f"{len(missing)} sources have no text in the project (e.g. {missing[0]!r}; read from "
                                "a bare .qde, or kept outside the archive): nothing of theirs was pseudonymised; "
                                "pseudonymise the .qdpx that holds them")
        report.shifted = self.shifted
        if not self.codes:
            named = sorted({path[-1] for code, path in original.iter_codes() if self.key.find(code.name)})
            if named:
                report.notes.append(f"{len(named)} code names contain entries of the key (e.g. {named[0]!r}) and "
                                    "were left as they are; apply the key to code names too with --codes")
        else:
            report.codes_renamed = sum(1 for (old, _), (new, _) in zip(original.iter_codes(), result.iter_codes())
                                       if old.name != new.name)
        aliased = {row["user"] for row in report.coders}
        left = sorted(u.name for u in original.users if u.name and u.name not in aliased and self.key.find(u.name))
        if left:
            report.notes.append(f"{len(left)} user names contain entries of the key (e.g. {left[0]!r}) and were left "
                                "as they are; rename them with --coders NAME=ALIAS")

