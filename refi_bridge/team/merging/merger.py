"""The merge itself: the base's state, each input added in turn, the result assembled."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace

from refi_bridge.errors import MergeError
from refi_bridge.model import (
    ASSIGNED,
    Code,
    Coding,
    PlainTextSelection,
    Project,
    Set,
    guid_key,
    internal_files,
    map_codings,
    name_key,
    path_key,
)
from refi_bridge.team.anchoring import text_hash
from refi_bridge.team.merging.carrying import Carrying, all_guids
from refi_bridge.team.merging.codes import CodeMatching
from refi_bridge.team.merging.codings import (
    CodingPlacement,
    coder_name,
    merge_guid,
    owner_role,
    with_additions,
)
from refi_bridge.team.merging.inputs import Manifest, MergeInput
from refi_bridge.team.merging.report import (
    CoderCount,
    FileSummary,
    MergeReport,
    MergeResult,
    NotCarried,
    SourceMatch,
)
from refi_bridge.team.merging.sources import SourceMatching, shared_source_guids


def merge_projects(inputs: Sequence[MergeInput], *, base: Project | None = None, base_label: str = "master",
                   manifest: Manifest | None = None, code_map: Mapping[str, str] | None = None) -> MergeResult:
    """Merge ``inputs`` onto ``base`` (the master), or onto the first input when there is no base.

    ``code_map`` maps a code of an input (its path, ``"Theme > sub"``, or its name) to the path of a code
    of the result, for codes a coder renamed.
    """
    if not inputs and base is None:
        raise MergeError("nothing to merge: give at least one project")
    merger = Merger(base if base is not None else inputs[0].project,
                     base_label if base is not None else inputs[0].label, manifest, code_map or {})
    if base is not None:
        merger.keep_master(base_label)
    for index, item in enumerate(inputs):
        if base is None and index == 0:
            merger.take_base(item)
        else:
            merger.add(item)
    return merger.result()


class Merger(SourceMatching, CodeMatching, CodingPlacement, Carrying):
    """One merge: the result's sources, codes, users and notes as they grow, and the report beside them."""

    def __init__(self, base: Project, label: str, manifest: Manifest | None, code_map: Mapping[str, str]) -> None:
        self.base = base
        self.manifest = manifest
        self.report = MergeReport(base=label)
        self.code_map_rows = dict(code_map)
        # -- sources: copies of the base's, with what the inputs add --
        self.sources: list = list(base.sources)
        self.added_selections: dict[int, list] = defaultdict(list)
        self.added_whole: dict[int, list[Coding]] = defaultdict(list)
        self.by_guid: dict[str, int] = {}
        for i, s in enumerate(self.sources):
            self.by_guid.setdefault(guid_key(s.guid), i)
        # -- a GUID two sources of the base share tells them apart no better than a coin: never match by it --
        self.shared_guids = shared_source_guids(base)
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
        self.code_map, self.code_map_used = self._resolve_code_map(), set()
        self.case_keys = {guid_key(case.guid) for case in base.cases}
        # -- names a coding's user may have without being a tool's default user: the coders handed a file
        #    and the master's own users (see _stranger) --
        self.known_coders = {name_key(u.name) for u in base.users if u.name}
        if manifest is not None:
            self.known_coders |= {name_key(c) for c in manifest.assignment}
        self.case_codes: dict[str, str] = {}  # an input's code GUID key -> the case it stands for
        self.manifest_codes = {guid_key(g) for g in manifest.codes} if manifest is not None else set()
        self.new_codes: dict[tuple[str, ...], Code] = {}   # path key -> new code (children added at the end)
        self.new_code_parent: dict[tuple[str, ...], str | None] = {}
        # -- users, notes, and what else the inputs bring --
        self.users = list(base.users)
        self.user_by_name = {name_key(u.name): u.guid for u in self.users if u.name}
        self.used_guids = {guid_key(g) for g in all_guids(base)}
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
        position = {id(s): i for i, s in enumerate(base.sources)}
        for record in base.iter_codings():
            key = self._key_of_base(record, position[id(record.source)], base_users)
            self.seen.add(key)
            self.coder_counts[key[-1]] += 1

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

    def keep_master(self, label: str) -> None:
        """Say what the master itself brings: real masters often hold codings already (a pilot, the PI's own
        pass, a lab account). They are kept, and the report and the notes say so, because agreement must
        not take them for a coder of this round."""
        if not any(True for _ in self.base.iter_codings()):
            return
        summary = self._summary(MergeInput(project=self.base, label=label), "master")
        summary.codings_in_file = sum(summary.users_found.values())
        summary.sources_by_guid = len(self.base.sources)
        summary.codes_by_guid = len(self.code_paths)
        for coder, count in summary.users_found.items():
            self.report.coders.append(CoderCount(coder, label, count))
        who = ", ".join(f"{coder} ({count:,})" for coder, count in
                        sorted(summary.users_found.items(), key=lambda pair: -pair[1]))
        self.report.notes.append(f"the master already holds {summary.codings_in_file:,} codings by {who}; they "
                                 "are kept in the merged project (agreement compares only the coders handed "
                                 "sources, unless --coders names them)")

    def _case_link(self, item: MergeInput, record, source_target, summary: FileSummary) -> None:
        """A coding at a case's code over a whole text is that case's link to the source (how the qualcoder
        dialect writes a case's SourceRef); it is carried as the link, or recognised if the case has it."""
        case_key = self.case_codes[guid_key(record.coding.code_guid)]
        index = source_target[id(record.source)]
        selection, text = record.selection, getattr(record.source, "text", None)
        whole = selection is None or (isinstance(selection, PlainTextSelection) and record.owner is record.source
                                      and text is not None and (selection.start, selection.end) == (0, len(text)))
        if not whole:
            summary.codings_not_carried += 1
            self.report.not_carried.append(NotCarried(
                item.label, "Coding", f"{record.coding.guid} on {record.source.label}",
                "it puts a passage, not a whole source, in a case; only whole sources can be a case's link"))
            return
        target = self.sources[index].guid
        at = next(i for i, case in enumerate(self.cases) if guid_key(case.guid) == case_key)
        case = self.cases[at]
        if guid_key(target) in {guid_key(ref) for ref in case.source_refs}:
            summary.codings_duplicate += 1
            return
        self.cases[at] = replace(case, source_refs=(*case.source_refs, target))
        summary.codings_added += 1

    def _note_doubtful(self, item: MergeInput, summary: FileSummary) -> None:
        """Say what often means a mistake: a file of another study, a blank handout, an unknown coder."""
        project = item.project
        if project.sources and summary.sources_new == len(project.sources):
            self.report.notes.append(f"{item.label}: shares no source with {self.report.base} (none of its "
                                     f"{len(project.sources)} sources matched by GUID, text or name); is it "
                                     "from the same study? Its sources were added as new")
        if not any(True for _ in project.iter_codings()):
            self.report.notes.append(f"{item.label}: holds no codings; was the handout returned before it was "
                                     "coded?")
        strangers = sorted(c for c in summary.users_found if self._stranger(c))
        if item.coder and not item.override and strangers:
            self.report.notes.append(
                f"{item.label}: its codings are by {', '.join(strangers)}, who was handed no file and is no user "
                f"of the master (a tool's default or exporting user); they are credited to {item.coder}, to whom "
                "the file was handed")
        if self.manifest is not None and item.coder is None:
            handed = {name_key(c) for c in self.manifest.assignment}
            strangers = sorted({c for c in summary.users_found if name_key(c) not in handed and c != "(no user)"})
            if strangers:
                self.report.notes.append(
                    f"{item.label}: its codings are by {', '.join(strangers)}, who was not handed a file "
                    f"({', '.join(sorted(self.manifest.assignment))} were); credit them with --coder "
                    f"{item.label}=NAME if the file is one of theirs")

    def _recredit_base(self, item: MergeInput) -> None:
        """``--coder`` on the first file: every coding of the base is that coder's."""
        user = self._user(item.coder)
        source = lambda s: map_codings(s, lambda c, _: replace(c, creating_user=user))  # noqa: E731
        self.sources = [source(s) for s in self.sources]
        self.seen = {(*key[:-1], name_key(item.coder)) for key in self.seen}
        self.coder_counts = Counter({name_key(item.coder): sum(self.coder_counts.values())})

    def _summary(self, item: MergeInput, role: str) -> FileSummary:
        project = item.project
        users = project.users_by_guid()
        found: Counter = Counter()
        case_nodes = project.case_nodes()
        for record in project.iter_codings():
            if guid_key(record.coding.code_guid) not in case_nodes:
                found[coder_name(record, users) or "(no user)"] += 1
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
        self._note_doubtful(item, summary)
        users = project.users_by_guid()
        note_target = self._carry_notes(item)
        groups: dict[tuple, dict] = {}
        counts: Counter = Counter()
        case_nodes = project.case_nodes()
        for record in project.iter_codings():
            summary.codings_in_file += 1
            coder = self._coder_for(record, users, item)
            if guid_key(record.coding.code_guid) not in case_nodes:  # case membership is nobody's coding
                counts[coder or "(no coder)"] += 1
            code = code_target.get(guid_key(record.coding.code_guid))
            if code is None and guid_key(record.coding.code_guid) in self.case_codes:
                self._case_link(item, record, source_target, summary)
                continue
            if code is None:
                summary.codings_not_carried += 1
                self.report.not_carried.append(NotCarried(
                    item.label, "Coding", f"{record.coding.guid} on {record.source.label}",
                    f"it refers to code {record.coding.code_guid}, which is not in the file's codebook"))
                continue
            index = source_target[id(record.source)]
            selection, role = record.selection, owner_role(record)
            placed = selection
            if role.startswith("transcript:"):
                placed, role = self._on_transcript(selection, role, index)
                if placed is None:
                    summary.codings_not_carried += 1
                    self.report.not_carried.append(NotCarried(
                        item.label, "TranscriptSelection", f"{selection.guid} on {record.source.label}",
                        "its transcript or sync points have no counterpart in the merged project's transcripts"))
                    continue
            if role in ("representation", "description") and self._described(index, role) is None:
                summary.codings_not_carried += 1
                self.report.not_carried.append(NotCarried(
                    item.label, "Coding", f"{record.coding.guid} on {record.source.label}",
                    f"it sits on the source's {role}, which the merged project's source does not have"))
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
        self._carry_rest(item, {guid_key(s.guid): source_target[id(s)] for s in reversed(project.sources)})

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
                name = ASSIGNED + who
                if name_key(name) in names:
                    continue
                names.add(name_key(name))
                self.sets.append(Set(guid=merge_guid("assignment", name_key(who)), name=name,
                                     description=f"The sources handed to {coder} by refi-bridge split.",
                                     member_sources=members))

    def result(self) -> MergeResult:
        self._assignment_sets()
        self._note_unused_code_map()
        sources = []
        for index, source in enumerate(self.sources):
            extra = self.added_selections.get(index)
            whole = self.added_whole.get(index)
            if extra or whole:
                source = with_additions(source, extra or [], whole or [])
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
            final[name_key(coder_name(record, users))] += 1
        for row in self.report.coders:
            row.codings_in_merge = final.get(name_key(row.coder), 0)
        return MergeResult(project, self.report)
