"""Merging coders' projects, from any tool, into one project on the master texts, losing nothing.

Pure: projects in, a project and a report out. Matching never trusts one clue alone, because real exports
regenerate every GUID and change the texts (see docs/team-workflow.md):

* **sources** by GUID (the manifest's or the base's), else by a hash of the normalised text, else by name;
  a coder's copy that differs from the master text has each coding re-anchored by aligning the texts;
* **codes** by GUID, else through the code map, else by the path of names (case and spacing ignored), else
  by a unique name; a code nobody else has is added once and flagged;
* **coders** from the coding's ``creatingUser``, else the selection's, else the coder the file was handed
  to; ``--coder FILE=NAME`` overrides a file; users are matched by name; tools' pseudo-users are no coders.

Exact duplicates (same source, span, code and coder) appear once. Everything else is kept, and anything
that cannot be carried is listed in the report with the reason.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from refi_bridge.errors import MergeError
from refi_bridge.model import (
    TOOL_USERS,
    AudioSelection,
    Code,
    Coding,
    CodingRecord,
    PDFSelection,
    PDFSource,
    PictureSelection,
    PictureSource,
    PlainTextSelection,
    Project,
    Set,
    TextSource,
    TranscriptSelection,
    User,
    VideoSelection,
    coder_of,
    guid_key,
    internal_file,
    internal_files,
    map_codings,
    name_key,
    parse_path,
    path_key,
    selections_of,
    without_codings,
)
from refi_bridge.team.anchoring import Alignment, text_hash

__all__ = ["MergeInput", "Manifest", "MergeReport", "MergeResult", "merge_projects"]


@dataclass(frozen=True)
class MergeInput:
    """One project to merge, how to call it in the report, and who coded it when the file does not say.

    ``coder`` is the coder the file was handed to (from the manifest), used for codings without a user;
    with ``override`` every coding of the file is credited to ``coder`` (``--coder FILE=NAME``).
    """

    project: Project
    label: str
    coder: str | None = None
    override: bool = False


@dataclass(frozen=True)
class Manifest:
    """What ``split`` handed out: the master's GUIDs and text hashes, the codebook, the assignment."""

    master: str                               # the master file, as split read it
    sources: Mapping[str, dict]               # master source GUID -> {"name", "hash"}
    codes: Mapping[str, list[str]]            # master code GUID -> path of names
    assignment: Mapping[str, dict]            # coder name -> {"file", "sources": [GUID, ...]}
    dialect: str = "refi"
    created: str | None = None
    version: int = 1

    def to_dict(self) -> dict:
        return {"format": "refi-bridge manifest", "version": self.version, "created": self.created,
                "master": self.master, "dialect": self.dialect, "sources": dict(self.sources),
                "codes": {k: list(v) for k, v in self.codes.items()}, "assignment": dict(self.assignment)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "manifest") -> Manifest:
        if data.get("format") != "refi-bridge manifest":
            raise MergeError(f"{where}: not a refi-bridge manifest (no 'format': 'refi-bridge manifest'); give "
                             "the manifest.json that `refi-bridge split` wrote.")
        try:
            return cls(master=data["master"], sources=data["sources"], codes=data["codes"],
                       assignment=data["assignment"], dialect=data.get("dialect", "refi"),
                       created=data.get("created"), version=data.get("version", 1))
        except KeyError as missing:
            raise MergeError(f"{where}: the manifest lacks {missing}; write it again with `refi-bridge split`.") \
                from None

    def coder_for(self, project: Project, label: str) -> str | None:
        """The coder a returned file was handed to: a user of the file named like a coder, else its name."""
        coders = {name_key(name): name for name in self.assignment}
        users = [name_key(u.name) for u in project.users if guid_key(u.guid) not in TOOL_USERS]
        found = {coders[u] for u in users if u in coders}
        if len(found) == 1:
            return found.pop()
        stem = name_key(re.sub(r"\.[^.]+$", "", label.rsplit("/", 1)[-1]))
        handed = {coder: name_key(re.sub(r"\.[^.]+$", "", info.get("file", "")))
                  for coder, info in self.assignment.items()}
        exact = [coder for coder, name in handed.items() if name and name == stem]
        if exact:
            return exact[0]
        # -- a tool may add to the name it was given ("ana-export.qdpx"): the longest handed-out name wins --
        prefixes = sorted((coder for coder, name in handed.items() if name and stem.startswith(name)),
                          key=lambda coder: -len(handed[coder]))
        if prefixes:
            return prefixes[0]
        return None


# -------------------------------------------------------------------------------------------------------
# The report: plain rows, so that it can be JSON, DataFrames or a workbook
# -------------------------------------------------------------------------------------------------------

@dataclass
class FileSummary:
    file: str
    role: str                  # "base" (its texts are the result's) or "merged"
    origin: str | None
    position_unit: str | None
    coder: str | None          # the coder the file was handed to / given by --coder
    override: bool
    users_found: dict[str, int]  # user -> codings credited to them in the file, as the file says
    sources_by_guid: int = 0
    sources_by_hash: int = 0
    sources_by_name: int = 0
    sources_new: int = 0
    codes_by_guid: int = 0
    codes_by_map: int = 0
    codes_by_path: int = 0
    codes_by_name: int = 0
    codes_new: int = 0
    codings_in_file: int = 0
    codings_added: int = 0
    codings_duplicate: int = 0
    codings_reanchored: int = 0
    codings_inexact: int = 0
    codings_not_carried: int = 0


@dataclass
class SourceMatch:
    file: str
    source: str
    matched: str | None
    how: str                   # guid, hash, name, new, base
    text: str                  # identical, line breaks/BOM/Unicode, edited, none


@dataclass
class CodeMatch:
    file: str
    code_path: str
    matched_path: str
    how: str                   # guid, map, path, name, new, base


@dataclass
class Conflict:
    file: str
    code_path: str
    what: str                  # parent, name, color, description
    merged_value: str | None
    file_value: str | None


@dataclass
class Reanchored:
    file: str
    source: str
    coder: str | None
    code_path: str
    old_start: int
    old_end: int
    new_start: int
    new_end: int
    old_text: str
    new_text: str
    exact: bool


@dataclass
class NotCarried:
    file: str
    element: str
    what: str
    why: str


@dataclass
class CoderCount:
    coder: str
    file: str
    codings_in_file: int
    codings_in_merge: int = 0


@dataclass
class MergeReport:
    """Everything a researcher needs to trust a merge, as rows."""

    base: str
    files: list[FileSummary] = field(default_factory=list)
    sources: list[SourceMatch] = field(default_factory=list)
    codes: list[CodeMatch] = field(default_factory=list)
    new_codes: list[CodeMatch] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    reanchored: list[Reanchored] = field(default_factory=list)
    not_carried: list[NotCarried] = field(default_factory=list)
    coders: list[CoderCount] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    TABLES = ("files", "sources", "codes", "new_codes", "conflicts", "reanchored", "not_carried", "coders")

    def to_dict(self) -> dict:
        return {"base": self.base, "notes": list(self.notes),
                **{name: [asdict(row) for row in getattr(self, name)] for name in self.TABLES}}

    def frames(self) -> dict:
        """The report's tables as pandas DataFrames (pandas is imported only here)."""
        import pandas as pd

        out = {}
        for name in self.TABLES:
            rows = [asdict(row) for row in getattr(self, name)]
            out[name] = pd.DataFrame(rows) if rows else pd.DataFrame(columns=_columns(name))
        return out


def _columns(table: str) -> list[str]:
    kind = {"files": FileSummary, "sources": SourceMatch, "codes": CodeMatch, "new_codes": CodeMatch,
            "conflicts": Conflict, "reanchored": Reanchored, "not_carried": NotCarried, "coders": CoderCount}
    return list(kind[table].__dataclass_fields__)


@dataclass(frozen=True)
class MergeResult:
    """The merged project and the report on how it was made."""

    project: Project
    report: MergeReport


# -------------------------------------------------------------------------------------------------------
# Merging
# -------------------------------------------------------------------------------------------------------

def _derived(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "refi-bridge-merge:" + ":".join(parts)))


def merge_projects(inputs: Sequence[MergeInput], *, base: Project | None = None, base_label: str = "master",
                   manifest: Manifest | None = None, code_map: Mapping[str, str] | None = None) -> MergeResult:
    """Merge ``inputs`` onto ``base`` (the master), or onto the first input when there is no base.

    ``code_map`` maps a code of an input (its path, ``"Theme > sub"``, or its name) to the path of a code
    of the result, for codes a coder renamed.
    """
    if not inputs and base is None:
        raise MergeError("nothing to merge: give at least one project")
    merger = _Merger(base if base is not None else inputs[0].project,
                     base_label if base is not None else inputs[0].label, manifest, code_map or {})
    for index, item in enumerate(inputs):
        if base is None and index == 0:
            merger.take_base(item)
        else:
            merger.add(item)
    return merger.result()


class _Merger:
    def __init__(self, base: Project, label: str, manifest: Manifest | None, code_map: Mapping[str, str]) -> None:
        self.base = base
        self.manifest = manifest
        self.report = MergeReport(base=label)
        self.code_map = {path_key(parse_path(k)): path_key(parse_path(v)) for k, v in code_map.items()}
        # -- sources: copies of the base's, with what the inputs add --
        self.sources: list = list(base.sources)
        self.added_selections: dict[int, list] = defaultdict(list)
        self.added_whole: dict[int, list[Coding]] = defaultdict(list)
        self.by_guid = {guid_key(s.guid): i for i, s in enumerate(self.sources)}
        self.by_hash: dict[str, list[int]] = defaultdict(list)
        self.by_name: dict[str, list[int]] = defaultdict(list)
        for i, s in enumerate(self.sources):
            self.by_hash[text_hash(getattr(s, "text", None)) or ""].append(i)
            self.by_name[name_key(s.name)].append(i)
        if manifest is not None:
            for guid in manifest.sources:
                if guid_key(guid) not in self.by_guid:
                    raise MergeError(f"the manifest names source {guid}, which the master does not have; give the "
                                     "master the manifest was made from.")
        # -- codes --
        self.codes = list(base.codes)
        self.code_paths: dict[str, tuple[str, ...]] = {}
        self.by_code_path: dict[tuple[str, ...], str] = {}
        names: dict[str, list[str]] = defaultdict(list)
        self.code_info: dict[str, Code] = {}
        for code, path in base.iter_codes():
            key = guid_key(code.guid)
            self.code_paths[key] = path
            self.by_code_path.setdefault(path_key(path), code.guid)
            names[name_key(code.name)].append(code.guid)
            self.code_info[key] = code
        self.by_code_name = {n: guids[0] for n, guids in names.items() if len(guids) == 1}
        self.manifest_codes = {guid_key(g) for g in manifest.codes} if manifest is not None else set()
        self.new_codes: dict[tuple[str, ...], Code] = {}   # path key -> new code (children added at the end)
        self.new_code_parent: dict[tuple[str, ...], str | None] = {}
        # -- users, notes, and what else the inputs bring --
        self.users = list(base.users)
        self.user_by_name = {name_key(u.name): u.guid for u in self.users if u.name}
        self.used_guids = {guid_key(g) for g in _all_guids(base)}
        self.notes = list(base.notes)
        self.note_by_guid = {guid_key(n.guid): n for n in self.notes}
        self.variables = list(base.variables)
        self.cases = list(base.cases)
        self.sets = list(base.sets)
        self.files: dict[str, bytes] = {}
        # -- every file name in use in the result's sources folder (texts included) --
        self.file_names = set(base.files) | {n for o in (*base.sources, *base.notes) for n in internal_files(o)}
        self.aliases: dict[str, set[str]] = {}  # manifest coder -> the names their file's codings carry
        self.roles: dict[tuple[int, str], str] = {}       # (source, an input's transcript role) -> ours
        self.sync_points: dict[tuple[int, str], str] = {}  # (source, an input's sync point) -> ours
        self.seen: set[tuple] = set()
        self.coder_counts: Counter = Counter()
        base_users = base.users_by_guid()
        for record in base.iter_codings():
            key = self._key_of_base(record, base_users)
            self.seen.add(key)
            self.coder_counts[key[-1]] += 1

    # -- keys ---------------------------------------------------------------------------------------------

    def _locator(self, selection, owner_role: str) -> tuple:
        if selection is None:
            return ("whole",)
        if isinstance(selection, PlainTextSelection):
            return (owner_role, "text", selection.start, selection.end)
        if isinstance(selection, PDFSelection):
            # -- the name too: ATLAS.ti writes a quotation's excerpt there, and two quotations over several
            #    pages can share a page's rectangle (their pieces there are the same), not their text --
            return ("pdf", selection.page, selection.first_x, selection.first_y, selection.second_x,
                    selection.second_y, selection.name)
        if isinstance(selection, PictureSelection):
            return ("picture", selection.first_x, selection.first_y, selection.second_x, selection.second_y)
        if isinstance(selection, (AudioSelection, VideoSelection)):
            return ("media", selection.begin, selection.end)
        if isinstance(selection, TranscriptSelection):
            return ("transcript", guid_key(selection.from_sync_point), guid_key(selection.to_sync_point))
        return ("other", guid_key(selection.guid))

    def _key_of_base(self, record: CodingRecord, users: Mapping[str, User]) -> tuple:
        coder = _coder_name(record, users)
        role = _owner_role(record)
        return (self.by_guid[guid_key(record.source.guid)], self._locator(record.selection, role),
                guid_key(record.coding.code_guid), name_key(coder))

    # -- the base -----------------------------------------------------------------------------------------

    def take_base(self, item: MergeInput) -> None:
        """The first input, when there is no master: its texts, codes and codings are the starting point."""
        project = item.project
        summary = self._summary(item, "base")
        summary.sources_by_guid = len(project.sources)
        summary.codes_by_guid = sum(1 for _ in project.iter_codes())
        summary.codings_in_file = sum(1 for _ in project.iter_codings())
        summary.codings_added = summary.codings_in_file
        for source in project.sources:
            self.report.sources.append(SourceMatch(item.label, source.label, source.label, "base", "identical"))
        if item.override and item.coder:
            self._recredit_base(item)
        for coder, count in summary.users_found.items():
            self.report.coders.append(CoderCount(coder, item.label, count))

    def _recredit_base(self, item: MergeInput) -> None:
        """``--coder`` on the first file: every coding of the base is that coder's."""
        user = self._user(item.coder)
        source = lambda s: map_codings(s, lambda c, _: replace(c, creating_user=user))  # noqa: E731
        self.sources = [source(s) for s in self.sources]
        self.seen = {(*key[:-1], name_key(item.coder)) for key in self.seen}
        self.coder_counts = Counter({name_key(item.coder): sum(self.coder_counts.values())})

    # -- another input --------------------------------------------------------------------------------------

    def _summary(self, item: MergeInput, role: str) -> FileSummary:
        project = item.project
        users = project.users_by_guid()
        found: Counter = Counter()
        for record in project.iter_codings():
            found[_coder_name(record, users) or "(no user)"] += 1
        info = project.read_info
        summary = FileSummary(item.label, role, project.origin, info.position_unit if info else None,
                              item.coder, item.override, dict(found))
        self.report.files.append(summary)
        return summary

    def add(self, item: MergeInput) -> None:
        project = item.project
        summary = self._summary(item, "merged")
        code_target = self._map_codes(item, summary)
        source_target, alignments = self._map_sources(item, summary)
        if self.manifest is not None and project.sources and summary.sources_by_guid + summary.sources_by_hash == 0:
            raise MergeError(f"{item.label}: none of its {len(project.sources)} sources has a GUID or a text of "
                             "the manifest's master, so it was not handed out from this master (another study?). "
                             "Give the right manifest, or merge without --manifest.")
        users = project.users_by_guid()
        note_target = self._carry_notes(item)
        groups: dict[tuple, dict] = {}
        counts: Counter = Counter()
        for record in project.iter_codings():
            summary.codings_in_file += 1
            coder = self._coder_for(record, users, item)
            counts[coder or "(no coder)"] += 1
            code = code_target.get(guid_key(record.coding.code_guid))
            if code is None:
                summary.codings_not_carried += 1
                self.report.not_carried.append(NotCarried(
                    item.label, "Coding", f"{record.coding.guid} on {record.source.label}",
                    f"it refers to code {record.coding.code_guid}, which is not in the file's codebook"))
                continue
            index = source_target[guid_key(record.source.guid)]
            selection, role = record.selection, _owner_role(record)
            placed = selection
            if role.startswith("transcript:"):
                placed, role = self._on_transcript(selection, role, index)
                if placed is None:
                    summary.codings_not_carried += 1
                    self.report.not_carried.append(NotCarried(
                        item.label, "TranscriptSelection", f"{selection.guid} on {record.source.label}",
                        "its transcript or sync points have no counterpart in the merged project's transcripts"))
                    continue
            if isinstance(selection, PlainTextSelection):
                placed = self._place(item, record, selection, role, index, alignments, coder, summary, code)
            key = (index, self._locator(placed, role), guid_key(code), name_key(coder))
            if key in self.seen:
                summary.codings_duplicate += 1
                continue
            self.seen.add(key)
            self.coder_counts[name_key(coder)] += 1
            summary.codings_added += 1
            user = self._user(coder)
            coding = replace(record.coding, guid=self._fresh(record.coding.guid), code_guid=code,
                             creating_user=user,
                             note_refs=tuple(note_target.get(guid_key(n), n) for n in record.coding.note_refs))
            if selection is None:
                self.added_whole[index].append(coding)
                continue
            group = groups.setdefault(key[:2] + (name_key(coder),), {"selection": placed, "role": role,
                                                                     "index": index, "codings": [],
                                                                     "user": user, "record": record})
            group["codings"].append(coding)
        for group in groups.values():
            self._add_selection(group, item, users, note_target)
        for coder, count in counts.items():
            self.report.coders.append(CoderCount(coder, item.label, count))
        credited = sorted(c for c in counts if c != "(no coder)")
        if item.coder and not item.override and credited and \
                name_key(item.coder) not in {name_key(c) for c in credited}:
            self.report.notes.append(
                f"{item.label}: handed to {item.coder!r}, but its codings are by {', '.join(credited)}; they keep "
                f"those names (merge with --coder {item.label}={item.coder!r} to credit the coder it was handed to)")
            self.aliases.setdefault(item.coder, set()).update(credited)
        self._carry_rest(item, source_target)

    def _on_transcript(self, selection, role: str, index: int):
        """A transcript selection moved onto our transcript and sync points, or (None, role) if it cannot be."""
        mapped = self.roles.get((index, role))
        if mapped is None:
            return None, role
        ends = {}
        for end in ("from_sync_point", "to_sync_point"):
            point = getattr(selection, end)
            if point is not None:
                ends[end] = self.sync_points.get((index, guid_key(point)))
                if ends[end] is None:
                    return None, role
        return replace(selection, **ends), mapped

    def _map_transcripts(self, source, index: int, new: bool) -> None:
        """Which of our transcripts (and sync points) each transcript of an input's source is: the same GUID for
        a source the input added; else the one with the same text, else the one at the same place."""
        mine = getattr(self.sources[index], "transcripts", ())
        for j, theirs in enumerate(getattr(source, "transcripts", ())):
            if new:
                target = theirs
            else:
                target = next((t for t in mine if t.text is not None and text_hash(t.text) == text_hash(theirs.text)),
                              mine[j] if j < len(mine) else None)
            if target is None:
                continue
            self.roles[(index, "transcript:" + guid_key(theirs.guid))] = "transcript:" + guid_key(target.guid)
            for k, point in enumerate(theirs.sync_points):
                match = next((p for p in target.sync_points
                              if (p.position, p.time_stamp) == (point.position, point.time_stamp)), None)
                if match is None and len(target.sync_points) == len(theirs.sync_points):
                    match = target.sync_points[k]
                if match is not None:
                    self.sync_points[(index, guid_key(point.guid))] = match.guid

    def _carry_files(self, obj, item: MergeInput):
        """Bring the files an object of an input names into the result; a name already in use by another file
        gets a fresh one, so that nothing is overwritten."""
        changes = {}
        for attribute in ("plain_text_path", "rich_text_path", "path"):
            name = internal_file(getattr(obj, attribute, None))
            if name is None:
                continue
            data = item.project.files.get(name) if name in item.project.files else None
            same = data is not None and (self.files.get(name) == data or
                                         (name in self.base.files and self.base.files[name] == data))
            if name in self.file_names and not same:
                suffix = name[name.rfind("."):] if "." in name else ""
                name = f"{_derived('file', guid_key(obj.guid), attribute)}{suffix}"
                changes[attribute] = f"internal://{name}"
            self.file_names.add(name)
            if data is not None:
                self.files[name] = data
        return replace(obj, **changes) if changes else obj

    def _coder_for(self, record: CodingRecord, users: Mapping[str, User], item: MergeInput) -> str | None:
        if item.override and item.coder:
            return item.coder
        return _coder_name(record, users) or item.coder

    def _place(self, item, record, selection, role, index, alignments, coder, summary, code) -> PlainTextSelection:
        alignment = alignments.get((index, role))
        if alignment is None or alignment.identical:
            return selection
        placement = alignment.place(selection.start, selection.end)
        old_text, new_text = alignment.old[selection.start:selection.end], alignment.new[placement.start:placement.end]
        summary.codings_reanchored += 1
        if not placement.exact:
            summary.codings_inexact += 1
        self.report.reanchored.append(Reanchored(
            item.label, record.source.label, coder, self._path_text(code), selection.start, selection.end,
            placement.start, placement.end, old_text, new_text, placement.exact))
        return replace(selection, start=placement.start, end=placement.end)

    def _add_selection(self, group: dict, item: MergeInput, users, note_target) -> None:
        selection = group["selection"]
        changes: dict = {"guid": self._fresh(selection.guid), "codings": tuple(group["codings"]),
                         "note_refs": tuple(note_target.get(guid_key(n), n) for n in selection.note_refs)}
        # -- a merged selection holds one coder's codings; its creator is that coder (QualCoder reads it so) --
        changes["creating_user"] = group["user"]
        if selection.modifying_user:
            changes["modifying_user"] = self._user_of_guid(selection.modifying_user, users)
        self.added_selections[group["index"]].append((group["role"], replace(selection, **changes)))

    # -- codes --------------------------------------------------------------------------------------------

    def _map_codes(self, item: MergeInput, summary: FileSummary) -> dict[str, str]:
        target: dict[str, str] = {}
        parents = {guid_key(child.guid): guid_key(code.guid) for code, _ in item.project.iter_codes()
                   for child in code.codes}
        for code, path in item.project.iter_codes():
            key, pkey = guid_key(code.guid), path_key(path)
            how, guid = None, None
            manifest_code = key in self.manifest_codes
            if key in self.code_paths and (self.manifest is None or manifest_code or
                                           path_key(self.code_paths[key]) == pkey):
                how, guid = "guid", self._code_guid(key)
            elif self._mapped(pkey, code.name) is not None:
                how, guid = "map", self._mapped(pkey, code.name)
            elif pkey in self.by_code_path:
                how, guid = "path", self.by_code_path[pkey]
            elif name_key(code.name) in self.by_code_name and not self._is_new(self.by_code_name[name_key(code.name)]):
                how, guid = "name", self.by_code_name[name_key(code.name)]
            else:
                parent = target.get(parents.get(guid_key(code.guid), ""))
                how, guid = "new", self._new_code(code, path, parent)
            target[key] = guid
            setattr(summary, f"codes_{'by_' + how if how != 'new' else 'new'}",
                    getattr(summary, f"codes_{'by_' + how if how != 'new' else 'new'}") + 1)
            matched = self._path_text(guid)
            row = CodeMatch(item.label, " > ".join(path), matched, how)
            self.report.codes.append(row)
            if how == "new":
                if not any(r.matched_path == matched for r in self.report.new_codes):
                    self.report.new_codes.append(row)
                continue
            self._conflicts(item, code, path, guid, how)
        return target

    def _mapped(self, pkey: tuple[str, ...], name: str) -> str | None:
        """The code ``--code-map`` sends this code to (given by its path or by its name), if any."""
        for key in (pkey, (name_key(name),)):
            target = self.code_map.get(key)
            if target is not None and target in self.by_code_path:
                return self.by_code_path[target]
        return None

    def _code_guid(self, key: str) -> str:
        return self.code_info[key].guid if key in self.code_info else key

    def _is_new(self, guid: str) -> bool:
        return any(c.guid == guid for c in self.new_codes.values())

    def _path_text(self, guid: str) -> str:
        key = guid_key(guid)
        if key in self.code_paths:
            return " > ".join(self.code_paths[key])
        return guid

    def _conflicts(self, item: MergeInput, code: Code, path: tuple[str, ...], guid: str, how: str) -> None:
        key = guid_key(guid)
        merged = self.code_info.get(key)
        if merged is None:
            return
        merged_path = self.code_paths[key]
        shown = " > ".join(merged_path)
        if how in ("name", "guid") and path_key(path[:-1]) != path_key(merged_path[:-1]):
            self.report.conflicts.append(Conflict(item.label, shown, "parent", " > ".join(merged_path[:-1]) or "(top)",
                                                  " > ".join(path[:-1]) or "(top)"))
        if how == "guid" and name_key(code.name) != name_key(merged.name):
            self.report.conflicts.append(Conflict(item.label, shown, "name", merged.name, code.name))
        for attribute in ("color", "description"):
            mine, theirs = getattr(merged, attribute), getattr(code, attribute)
            if mine is not None and theirs is not None and mine.strip().lower() != theirs.strip().lower():
                self.report.conflicts.append(Conflict(item.label, shown, attribute, mine, theirs))

    def _new_code(self, code: Code, path: tuple[str, ...], parent: str | None) -> str:
        """Add a code the result lacks, under the code its parent was matched to (``parent``)."""
        if parent is None and len(path) > 1:
            parent = self.by_code_path.get(path_key(path[:-1]))
        parent_path = self.code_paths[guid_key(parent)] if parent else ()
        pkey = path_key(parent_path + (code.name,))
        if pkey in self.new_codes:  # another file added it first: add it once
            return self.new_codes[pkey].guid
        guid = self._fresh(code.guid)
        new = Code(guid=guid, name=code.name, is_codable=code.is_codable, color=code.color,
                   description=code.description)
        self.new_codes[pkey] = new
        self.new_code_parent[pkey] = parent
        self.code_info[guid_key(guid)] = new
        self.code_paths[guid_key(guid)] = parent_path + (code.name,)
        self.by_code_path[pkey] = guid
        return guid

    # -- sources --------------------------------------------------------------------------------------------

    def _map_sources(self, item: MergeInput, summary: FileSummary) -> tuple[dict[str, int], dict]:
        target: dict[str, int] = {}
        alignments: dict[tuple[int, str], Alignment] = {}
        manifest_guids = {guid_key(g) for g in self.manifest.sources} if self.manifest else None
        taken: set[int] = set()
        for source in item.project.sources:
            key = guid_key(source.guid)
            index, how = None, "new"
            candidate = self.by_guid.get(key)
            if candidate is not None and (manifest_guids is None or key in manifest_guids) and \
                    type(self.sources[candidate]) is type(source) and candidate not in taken:
                index, how = candidate, "guid"
            if index is None:
                index, how = self._pick(source, taken)
            if index is None:
                index = self._new_source(source, item)
                self._map_transcripts(source, index, new=True)
            else:
                self._map_transcripts(source, index, new=False)
            taken.add(index)
            setattr(summary, f"sources_{'by_' + how if how != 'new' else 'new'}",
                    getattr(summary, f"sources_{'by_' + how if how != 'new' else 'new'}") + 1)
            target[key] = index
            kind = "identical"
            for role, mine, theirs in _text_owners(self.sources[index], source):
                if mine is None or theirs is None:
                    if theirs is not None or mine is not None:
                        kind = "none"
                    continue
                alignment = Alignment(theirs, mine)
                if not alignment.identical:
                    alignments[(index, role)] = alignment
                    kind = ("line breaks/BOM/Unicode" if alignment.same_after_normalising else "edited")
            self.report.sources.append(SourceMatch(item.label, source.label, self.sources[index].label, how, kind))
        return target, alignments

    def _pick(self, source, taken: set[int]) -> tuple[int | None, str]:
        """A base source for ``source`` by the hash of its text, else by its name.

        Several candidates (two transcripts with one text, or one name) are told apart by the other clue,
        then by order: tools keep the order of sources, so the k-th of them goes to the k-th.
        """
        kind = type(source)
        by_hash = [i for i in self.by_hash.get(text_hash(getattr(source, "text", None)) or "", ())
                   if i not in taken and type(self.sources[i]) is kind and text_hash(getattr(source, "text", None))]
        by_name = [i for i in self.by_name.get(name_key(source.name), ())
                   if i not in taken and type(self.sources[i]) is kind and source.name]
        if by_hash:
            both = [i for i in by_hash if i in by_name]
            return (both or by_hash)[0], "hash"
        if by_name:
            return by_name[0], "name"
        return None, "new"

    def _new_source(self, source, item: MergeInput) -> int:
        """A source only this input has: added whole (its selections come with the codings)."""
        stripped = replace(without_codings(source), guid=self._fresh(source.guid))
        stripped = self._carry_files(stripped, item)
        self.sources.append(stripped)
        index = len(self.sources) - 1
        self.by_guid[guid_key(stripped.guid)] = index
        # -- a second coder who returns the same new document finds it --
        self.by_hash[text_hash(getattr(stripped, "text", None)) or ""].append(index)
        self.by_name[name_key(stripped.name)].append(index)
        return index

    # -- users, notes, the rest -------------------------------------------------------------------------------

    def _user(self, name: str | None) -> str | None:
        """The GUID of the result's user called ``name``, added when there is none yet."""
        if not name:
            return None
        key = name_key(name)
        if key in self.user_by_name:
            return self.user_by_name[key]
        guid = _derived("user", key)
        if guid_key(guid) in self.used_guids:
            guid = _derived("user", key, str(len(self.users)))
        self.users.append(User(guid=guid, name=name))
        self.user_by_name[key] = guid
        self.used_guids.add(guid_key(guid))
        return guid

    def _user_of_guid(self, guid: str, users: Mapping[str, User]) -> str | None:
        user = users.get(guid_key(guid))
        if user is None:
            return None
        if guid_key(user.guid) in TOOL_USERS:
            if guid_key(user.guid) not in {guid_key(u.guid) for u in self.users}:
                self.users.append(user)
            return user.guid
        return self._user(user.name or user.guid)

    def _fresh(self, guid: str) -> str:
        """The GUID itself if the result does not use it yet, else one derived from it."""
        key = guid_key(guid)
        candidate, n = guid, 0
        while guid_key(candidate) in self.used_guids:
            n += 1
            candidate = _derived(key, str(n))
        self.used_guids.add(guid_key(candidate))
        return candidate

    def _carry_notes(self, item: MergeInput) -> dict[str, str]:
        """Memos of the input the result lacks are carried; returns how their GUIDs changed."""
        target: dict[str, str] = {}
        existing = {(name_key(n.name), n.text) for n in self.notes}
        for note in item.project.notes:
            key = guid_key(note.guid)
            known = self.note_by_guid.get(key)
            if known is not None and (known.text == note.text and known.name == note.name):
                continue
            if (name_key(note.name), note.text) in existing:
                same = next(n for n in self.notes if (name_key(n.name), n.text) == (name_key(note.name), note.text))
                target[key] = same.guid
                continue
            carried = replace(note, guid=self._fresh(note.guid), creating_user=None, modifying_user=None)
            carried = self._carry_files(carried, item)
            target[key] = carried.guid
            self.notes.append(carried)
            self.note_by_guid[guid_key(carried.guid)] = carried
        return target

    def _carry_rest(self, item: MergeInput, source_target: Mapping[str, int]) -> None:
        project = item.project
        variable_names = {name_key(v.name): v for v in self.variables}
        variable_target: dict[str, str] = {}
        for variable in project.variables:
            known = variable_names.get(name_key(variable.name))
            if known is None:
                known = replace(variable, guid=self._fresh(variable.guid))
                self.variables.append(known)
                variable_names[name_key(variable.name)] = known
            variable_target[guid_key(variable.guid)] = known.guid
        case_names = {name_key(c.name): c for c in self.cases}
        for case in project.cases:
            if name_key(case.name) in case_names:
                continue
            refs = tuple(self.sources[source_target[guid_key(r)]].guid for r in case.source_refs
                         if guid_key(r) in source_target)
            values = tuple(replace(v, variable_guid=variable_target.get(guid_key(v.variable_guid), v.variable_guid))
                           for v in case.variable_values)
            self.cases.append(replace(case, guid=self._fresh(case.guid), source_refs=refs, variable_values=values,
                                      selection_refs=(), code_refs=()))
            case_names[name_key(case.name)] = self.cases[-1]
            if case.selection_refs or case.code_refs:
                self.report.not_carried.append(NotCarried(item.label, "Case", case.name or case.guid,
                                                          "its links to selections and codes were not carried"))
        set_names = {name_key(s.name) for s in self.sets}
        for group in project.sets:
            if name_key(group.name) in set_names:
                continue
            members = tuple(self.sources[source_target[guid_key(r)]].guid for r in group.member_sources
                            if guid_key(r) in source_target)
            self.sets.append(Set(guid=self._fresh(group.guid), name=group.name, description=group.description,
                                 member_sources=members))
            if group.member_codes or group.member_notes:
                self.report.not_carried.append(NotCarried(item.label, "Set", group.name,
                                                          "its codes and notes as members were not carried"))
        base_links = {guid_key(link.guid) for link in self.base.links}
        for link in project.links:
            if guid_key(link.guid) not in base_links:
                self.report.not_carried.append(NotCarried(item.label, "Link", link.name or link.guid,
                                                          "links between objects of a coder's file are not merged"))
        base_graphs = {guid_key(g.guid) for g in self.base.graphs}
        for graph in project.graphs:
            if guid_key(graph.guid) not in base_graphs:
                self.report.not_carried.append(NotCarried(item.label, "Graph", graph.name or graph.guid,
                                                          "network views of a coder's file are not merged"))

    # -- the result -------------------------------------------------------------------------------------------

    def _assignment_sets(self) -> None:
        """With a manifest, record who was handed which sources, as REFI-QDA sets (agreement reads them)."""
        if self.manifest is None:
            return
        names = {name_key(s.name) for s in self.sets}
        for coder, info in self.manifest.assignment.items():
            members = tuple(self.sources[self.by_guid[guid_key(g)]].guid for g in info.get("sources", ())
                            if guid_key(g) in self.by_guid)
            # -- also under the names the coder's codings carry, so that agreement finds them --
            for who in [coder, *sorted(self.aliases.get(coder, ()))]:
                name = f"Assigned to {who}"
                if name_key(name) in names:
                    continue
                names.add(name_key(name))
                self.sets.append(Set(guid=_derived("assignment", name_key(who)), name=name,
                                     description=f"The sources handed to {coder} by refi-bridge split.",
                                     member_sources=members))

    def result(self) -> MergeResult:
        self._assignment_sets()
        sources = []
        for index, source in enumerate(self.sources):
            extra = self.added_selections.get(index)
            whole = self.added_whole.get(index)
            if extra or whole:
                source = _with_additions(source, extra or [], whole or [])
            sources.append(source)
        codes = tuple(self._insert_new_codes(self.codes))
        base = self.base
        files = base.files
        if self.files:
            from collections import ChainMap

            files = ChainMap(self.files, base.files)
        project = replace(base, users=tuple(self.users), codes=codes, sources=tuple(sources),
                          notes=tuple(self.notes), variables=tuple(self.variables), cases=tuple(self.cases),
                          sets=tuple(self.sets), files=files, read_info=None)
        final: Counter = Counter()
        users = project.users_by_guid()
        for record in project.iter_codings():
            final[name_key(_coder_name(record, users))] += 1
        for row in self.report.coders:
            row.codings_in_merge = final.get(name_key(row.coder), 0)
        return MergeResult(project, self.report)

    def _insert_new_codes(self, codes: Sequence[Code], parent: str | None = None) -> list[Code]:
        """The code tree with every new code placed under its parent (new parents included)."""
        out = []
        for code in codes:
            children = self._insert_new_codes(code.codes, code.guid)
            out.append(replace(code, codes=tuple(children)) if children != list(code.codes) else code)
        for pkey, new in self.new_codes.items():
            if self.new_code_parent[pkey] == parent:
                out.append(replace(new, codes=tuple(self._insert_new_codes((), new.guid))))
        return out


# -------------------------------------------------------------------------------------------------------
# Helpers
# -------------------------------------------------------------------------------------------------------

def _coder_name(record: CodingRecord, users: Mapping[str, User]) -> str | None:
    """The name of the user credited with a coding, or None (tools' pseudo-users are nobody)."""
    guid = coder_of(record)
    if guid is None or guid_key(guid) in TOOL_USERS:
        return None
    user = users.get(guid_key(guid))
    if user is not None and user.name:
        return user.name
    return guid


def _owner_role(record: CodingRecord) -> str:
    owner = record.owner
    if owner is record.source:
        return "source"
    if isinstance(record.source, PDFSource):
        return "representation"
    if isinstance(record.source, PictureSource):
        return "description"
    return "transcript:" + guid_key(getattr(owner, "guid", ""))


def _text_owners(mine, theirs):
    """Pairs of texts whose positions must agree: (role, master text, coder text)."""
    if isinstance(mine, TextSource) and isinstance(theirs, TextSource):
        yield "source", mine.text, theirs.text
    elif isinstance(mine, PDFSource) and isinstance(theirs, PDFSource):
        yield ("representation", getattr(mine.representation, "text", None),
               getattr(theirs.representation, "text", None))
    elif isinstance(mine, PictureSource) and isinstance(theirs, PictureSource):
        yield ("description", getattr(mine.text_description, "text", None),
               getattr(theirs.text_description, "text", None))


def _with_additions(source, selections: list[tuple[str, Any]], whole: list[Coding]):
    changes: dict = {}
    if whole:
        changes["codings"] = tuple(source.codings) + tuple(whole)
    own = [s for role, s in selections if role == "source" or not role]
    if own:
        changes["selections"] = tuple(source.selections) + tuple(own)
    represented = [s for role, s in selections if role == "representation"]
    if represented and isinstance(source, PDFSource) and source.representation is not None:
        changes["representation"] = replace(source.representation,
                                            selections=source.representation.selections + tuple(represented))
    described = [s for role, s in selections if role == "description"]
    if described and isinstance(source, PictureSource) and source.text_description is not None:
        changes["text_description"] = replace(source.text_description,
                                              selections=source.text_description.selections + tuple(described))
    transcribed = [(role, s) for role, s in selections if role.startswith("transcript:")]
    if transcribed and hasattr(source, "transcripts"):
        transcripts = []
        for transcript in source.transcripts:
            mine = tuple(s for role, s in transcribed if role == "transcript:" + guid_key(transcript.guid))
            transcripts.append(replace(transcript, selections=transcript.selections + mine) if mine else transcript)
        changes["transcripts"] = tuple(transcripts)
    return replace(source, **changes) if changes else source


def _all_guids(project: Project):
    yield from (u.guid for u in project.users)
    yield from (c.guid for c, _ in project.iter_codes())
    yield from (v.guid for v in project.variables)
    yield from (c.guid for c in project.cases)
    yield from (n.guid for n in project.notes)
    yield from (s.guid for s in project.sets)
    for source in project.sources:
        yield source.guid
        yield from (c.guid for c in source.codings)
        for _, selection, _ in selections_of(source):
            yield selection.guid
            yield from (c.guid for c in selection.codings)
