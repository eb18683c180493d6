"""Placing each coding: its key for duplicates, its coder, its place on the master text."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from refi_bridge.model import (
    TOOL_USERS,
    AudioSelection,
    Coding,
    CodingRecord,
    PDFSelection,
    PDFSource,
    PictureSelection,
    PictureSource,
    PlainTextSelection,
    TextSource,
    TranscriptSelection,
    User,
    VideoSelection,
    coder_of,
    derived_guid,
    guid_key,
    name_key,
)
from refi_bridge.team.merging.inputs import MergeInput
from refi_bridge.team.merging.report import Reanchored


class CodingPlacement:
    """Placing each coding: its key for duplicates, its coder, its place on the master text.

    A part of :class:`~refi_bridge.team.merging.merger.Merger`; the state it uses is set up there.
    """

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

    def _key_of_base(self, record: CodingRecord, index: int, users: Mapping[str, User]) -> tuple:
        coder = coder_name(record, users)
        role = owner_role(record)
        return (index, self._locator(record.selection, role),
                guid_key(record.coding.code_guid), name_key(coder))

    def _coder_for(self, record: CodingRecord, users: Mapping[str, User], item: MergeInput) -> str | None:
        """Who coded a coding: ``--coder``, else the user the file credits, else the coder the file was
        handed to. A credited user who was handed no file and is no user of the master is a tool's default
        or exporting user (QualCoder's "default", NVivo's licence holder): the file's coder is meant."""
        if item.override and item.coder:
            return item.coder
        name = coder_name(record, users)
        if name and item.coder and self._stranger(name):
            return item.coder
        return name or item.coder

    def _stranger(self, name: str) -> bool:
        """True for a coder name the manifest did not hand a file to and the master does not know."""
        return self.manifest is not None and name != "(no user)" and name_key(name) not in self.known_coders

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

    def _user(self, name: str | None) -> str | None:
        """The GUID of the result's user called ``name``, added when there is none yet."""
        if not name:
            return None
        key = name_key(name)
        if key in self.user_by_name:
            return self.user_by_name[key]
        guid = merge_guid("user", key)
        if guid_key(guid) in self.used_guids:
            guid = merge_guid("user", key, str(len(self.users)))
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
            candidate = merge_guid(key, str(n))
        self.used_guids.add(guid_key(candidate))
        return candidate


def coder_name(record: CodingRecord, users: Mapping[str, User]) -> str | None:
    """The name of the user credited with a coding, or None (tools' pseudo-users are nobody)."""
    guid = coder_of(record)
    if guid is None or guid_key(guid) in TOOL_USERS:
        return None
    user = users.get(guid_key(guid))
    if user is not None and user.name:
        return user.name
    return guid


def owner_role(record: CodingRecord) -> str:
    owner = record.owner
    if owner is record.source:
        return "source"
    if isinstance(record.source, PDFSource):
        return "representation"
    if isinstance(record.source, PictureSource):
        return "description"
    return "transcript:" + guid_key(getattr(owner, "guid", ""))


def text_owners(mine, theirs):
    """Pairs of texts whose positions must agree: (role, master text, coder text)."""
    if isinstance(mine, TextSource) and isinstance(theirs, TextSource):
        yield "source", mine.text, theirs.text
    elif isinstance(mine, PDFSource) and isinstance(theirs, PDFSource):
        yield ("representation", getattr(mine.representation, "text", None),
               getattr(theirs.representation, "text", None))
    elif isinstance(mine, PictureSource) and isinstance(theirs, PictureSource):
        yield ("description", getattr(mine.text_description, "text", None),
               getattr(theirs.text_description, "text", None))


def with_additions(source, selections: list[tuple[str, Any]], whole: list[Coding]):
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


def merge_guid(*parts: str) -> str:
    """A GUID the merge makes (for a renamed file, an assignment set), the same for the same parts."""
    return derived_guid("refi-bridge-merge", *parts)
