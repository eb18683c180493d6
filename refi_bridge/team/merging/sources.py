"""Matching sources: by GUID, by the hash of the normalised text, by name; transcripts and files."""

from __future__ import annotations

from dataclasses import replace

from refi_bridge.model import guid_key, internal_file, name_key, without_codings
from refi_bridge.team.anchoring import Alignment, text_hash
from refi_bridge.team.merging.codings import merge_guid, text_owners
from refi_bridge.team.merging.inputs import MergeInput
from refi_bridge.team.merging.report import FileSummary, SourceMatch


class SourceMatching:
    """Matching sources: by GUID, by the hash of the normalised text, by name; transcripts and files.

    A part of :class:`~refi_bridge.team.merging.merger.Merger`; the state it uses is set up there.
    """

    def _map_sources(self, item: MergeInput, summary: FileSummary) -> tuple[dict[int, int], dict]:
        """Where each source of the input goes, keyed by ``id()`` of the input's source object (two sources
        may share a GUID), and the alignments of the texts that differ from ours."""
        target: dict[int, int] = {}
        alignments: dict[tuple[int, str], Alignment] = {}
        manifest_guids = {guid_key(g) for g in self.manifest.sources} if self.manifest else None
        taken: set[int] = set()
        shared = shared_source_guids(item.project)
        self._note_shared_guids(item, shared)
        for source in item.project.sources:
            key = guid_key(source.guid)
            index, how = None, "new"
            candidate = None if key in shared or key in self.shared_guids else self.by_guid.get(key)
            if candidate is not None and (manifest_guids is None or key in manifest_guids) and \
                    type(self.sources[candidate]) is type(source) and candidate not in taken:
                index, how = candidate, "guid"
            if index is None:
                index, how = self._pick(source, taken)
            if index is None:
                index = self._new_source(source, item)
                self._map_transcripts(source, index, new=True)
            else:
                self._carry_described_text(source, index, item)
                self._map_transcripts(source, index, new=False)
            taken.add(index)
            setattr(summary, f"sources_{'by_' + how if how != 'new' else 'new'}",
                    getattr(summary, f"sources_{'by_' + how if how != 'new' else 'new'}") + 1)
            target[id(source)] = index
            kind = "identical"
            for role, mine, theirs in text_owners(self.sources[index], source):
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

    def _note_shared_guids(self, item: MergeInput, shared: set[str]) -> None:
        for key in sorted(shared):
            labels = [repr(s.label) for s in item.project.sources if guid_key(s.guid) == key]
            self.report.notes.append(f"{item.label}: sources {', '.join(labels)} share the GUID {key}; each was "
                                     "matched by its text (else its name), not by that GUID")

    def _carry_described_text(self, source, index: int, item: MergeInput) -> None:
        """A PDF's Representation or a picture's TextDescription the input has and we lack is carried over
        (without its selections, which come with the codings), so that codings on it have a text to sit on."""
        mine = self.sources[index]
        for attribute in ("representation", "text_description"):
            theirs = getattr(source, attribute, None)
            if theirs is None or getattr(mine, attribute, None) is not None:
                continue
            carried = replace(theirs, guid=self._fresh(theirs.guid), selections=(), codings=())
            self.sources[index] = mine = replace(mine, **{attribute: self._carry_files(carried, item)})

    def _described(self, index: int, role: str):
        """Our source's Representation (role ``representation``) or TextDescription (``description``)."""
        return getattr(self.sources[index], "representation" if role == "representation" else "text_description",
                       None)

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
                name = f"{merge_guid('file', guid_key(obj.guid), attribute)}{suffix}"
                changes[attribute] = f"internal://{name}"
            self.file_names.add(name)
            if data is not None:
                self.files[name] = data
        return replace(obj, **changes) if changes else obj


def shared_source_guids(project) -> set[str]:
    """GUIDs (as :func:`guid_key` gives them) that more than one source of ``project`` carries."""
    seen: set[str] = set()
    shared: set[str] = set()
    for source in project.sources:
        key = guid_key(source.guid)
        (shared if key in seen else seen).add(key)
    return shared
