"""The files a project carries that cannot be rewritten, and what pseudonymising does with each.

A ``.qdpx`` carries, beside the plain texts the key rewrites, files no key can rewrite safely:

* **rich-text originals** (``richTextPath``: NVivo exports each transcript as ``.docx`` beside the ``.txt``;
  ATLAS.ti and MAXQDA keep ``.rtf`` or ``.docx``). They are dropped, with their reference: the plain text
  carries the text, and every coding points into the plain text. A source whose text exists only as its
  original is refused, since it would leave the project with nothing to code.
* **media**: pictures, PDFs, audio and video. A face, a letterhead or a voice cannot be replaced by a word,
  so they are refused unless the user keeps them on purpose (``keep_media``); each kept one is then named
  in a warning.
* **anything else** in the sources folder that nothing in the project refers to is dropped, unless empty
  (NVivo's ``.root`` marker).

A file whose own name contains an original is renamed after its owner's GUID. Files outside the archive
(``absolute://``, ``relative://``) are not carried; their paths are rewritten like any text.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import PurePosixPath

from refi_bridge.errors import PseudonymisationError
from refi_bridge.model import (
    AudioSource,
    PDFSource,
    PictureSource,
    Project,
    TextSource,
    VideoSource,
    internal_file,
)
from refi_bridge.privacy.key import Key

MEDIA = {PictureSource: "picture", PDFSource: "PDF", AudioSource: "audio", VideoSource: "video"}


class _Carried:
    """The files the pseudonymised project keeps, under their (possibly new) names."""

    def __init__(self, project: Project, key: Key, keep_media: bool, report) -> None:
        self.project = project
        self.key = key
        self.keep_media = keep_media
        self.report = report
        self.keep: dict[str, str] = {}   # new name -> name in project.files
        self.refused: list[str] = []
        self.lower = {name.lower(): name for name in project.files}

    def stored(self, name: str | None) -> str | None:
        """The name under which ``project.files`` holds an internal file (tools differ in case)."""
        if name is None:
            return None
        return name if name in self.project.files else self.lower.get(name.lower())

    def safe_name(self, name: str, guid: str) -> str:
        """``name``, or the owner's GUID with the same extension when the name itself contains an original."""
        if not self.key.find(name):
            return name
        return guid.strip("{}") + PurePosixPath(name).suffix.lower()

    def text_owner(self, owner, label: str):
        """A text source, note, representation, text description or transcript: drop its rich-text original,
        rename its plain-text file if its name gives a person away."""
        changes = {}
        rich = owner.rich_text_path
        if rich is not None:
            name = internal_file(rich)
            stored = self.stored(name)
            if owner.text is None and stored is not None:
                raise PseudonymisationError(
                    f"{label}: its text is only in {name!r}, an original-format document that cannot be rewritten; "
                    "export the project again with plain texts (every REFI-QDA tool writes them).")
            self.report.files.append({"file": name or rich, "object": label, "kind": "rich-text original",
                                      "action": "dropped" if stored else "reference removed",
                                      "why": "the plain text carries the text, and the key rewrote it"})
            changes["rich_text_path"] = None
        plain = internal_file(owner.plain_text_path)
        if plain is not None:
            new = self.safe_name(plain, owner.guid)
            if new != plain:
                changes["plain_text_path"] = "internal://" + new
                self.report.files.append({"file": new, "object": label, "kind": "plain text", "action": "renamed",
                                          "why": "its file name contained an entry of the key"})
            stored = self.stored(plain)
            if stored is not None and owner.text is not None:
                self.report.files.append({"file": plain, "object": label, "kind": "stale copy of a text",
                                          "action": "dropped", "why": "the text is written from the project"})
        return replace(owner, **changes) if changes else owner

    def media(self, source, label: str):
        kind = MEDIA[type(source)]
        changes = {}
        for attribute in ("path", "current_path"):
            value = getattr(source, attribute)
            name = internal_file(value)
            if name is None:
                continue
            stored = self.stored(name)
            if stored is None:
                continue
            if not self.keep_media:
                self.refused.append(f"{label} ({name})")
                continue
            new = self.safe_name(name, source.guid)
            if new != name:
                changes[attribute] = "internal://" + new
            if new not in self.keep:
                self.keep[new] = stored
                self.report.files.append({"file": new, "object": label, "kind": kind, "action": "kept",
                                          "why": "kept on request (--keep-media); it was not rewritten and may "
                                                 "still identify people"})
        if not internal_file(source.path) and source.path:
            self.report.files.append({"file": source.path, "object": label, "kind": kind,
                                      "action": "not carried", "why": "outside the project (an external path)"})
        return changes


def carry_files(project: Project, key: Key, keep_media: bool, report) -> Project:
    """The project with only the files it may carry, and references to dropped ones removed (see the module)."""
    carried = _Carried(project, key, keep_media, report)
    sources = []
    for source in project.sources:
        label = f"source {source.name!r}" if source.name else f"source {source.guid}"
        if isinstance(source, TextSource):
            sources.append(carried.text_owner(source, label))
            continue
        changes = carried.media(source, label)
        if isinstance(source, PDFSource):
            if source.representation is not None:
                changes["representation"] = carried.text_owner(source.representation, label)
            selections = tuple(replace(s, representation=carried.text_owner(s.representation, label))
                               if s.representation is not None else s for s in source.selections)
            if any(a is not b for a, b in zip(selections, source.selections)):
                changes["selections"] = selections
        if isinstance(source, PictureSource) and source.text_description is not None:
            changes["text_description"] = carried.text_owner(source.text_description, label)
        if isinstance(source, (AudioSource, VideoSource)):
            transcripts = tuple(carried.text_owner(t, label) for t in source.transcripts)
            if any(a is not b for a, b in zip(transcripts, source.transcripts)):
                changes["transcripts"] = transcripts
        changed = {k: v for k, v in changes.items() if v is not getattr(source, k)}
        sources.append(replace(source, **changed) if changed else source)
    notes = tuple(carried.text_owner(note, f"note {note.name!r}" if note.name else f"note {note.guid}")
                  for note in project.notes)
    if carried.refused:
        first = ", ".join(carried.refused[:3]) + (f" and {len(carried.refused) - 3} more" if len(carried.refused) > 3
                                                  else "")
        raise PseudonymisationError(
            f"the project carries {len(carried.refused)} media files (pictures, PDFs, audio or video) that cannot be "
            f"pseudonymised: {first}. Remove them from the project, or keep them on purpose with --keep-media "
            "(each will be named in a warning).")
    referenced = set(carried.keep.values())
    for owner in _text_owners(project):
        for attribute in ("plain_text_path", "rich_text_path"):
            stored = carried.stored(internal_file(getattr(owner, attribute)))
            if stored is not None:
                referenced.add(stored)
    for name in project.files:
        if name in referenced:
            continue
        data = project.files[name]
        if len(data) == 0:
            carried.keep[name] = name
        else:
            report.files.append({"file": name, "object": "-", "kind": "unreferenced file", "action": "dropped",
                                 "why": "nothing in the project refers to it, so nothing says what it holds"})
    files = project.files
    if set(carried.keep) != set(project.files) or any(new != old for new, old in carried.keep.items()):
        files = _Renamed(project.files, carried.keep)
    new_sources = tuple(sources)
    changes = {}
    if any(a is not b for a, b in zip(new_sources, project.sources)):
        changes["sources"] = new_sources
    if any(a is not b for a, b in zip(notes, project.notes)):
        changes["notes"] = notes
    if files is not project.files:
        changes["files"] = files
    return replace(project, **changes) if changes else project


def _text_owners(project: Project):
    for source in project.sources:
        if isinstance(source, TextSource):
            yield source
        elif isinstance(source, PDFSource):
            if source.representation is not None:
                yield source.representation
            yield from (s.representation for s in source.selections if s.representation is not None)
        elif isinstance(source, PictureSource) and source.text_description is not None:
            yield source.text_description
        elif isinstance(source, (AudioSource, VideoSource)):
            yield from source.transcripts
    yield from project.notes


class _Renamed(Mapping):
    """The kept files under their new names, read from the original project only when written."""

    def __init__(self, files: Mapping[str, bytes], names: dict[str, str]) -> None:
        self._files = files
        self._names = dict(names)

    def __getitem__(self, name: str) -> bytes:
        return self._files[self._names[name]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return f"<{len(self._names)} files kept of the original project>"
