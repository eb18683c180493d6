"""Reading sources, their selections, codings and transcripts (the bulk of every project)."""

from __future__ import annotations

from lxml import etree

from refi_bridge.errors import ProjectStructureError
from refi_bridge.formats.qde.element_reader import ElementReader
from refi_bridge.formats.qde.names import KNOWN
from refi_bridge.model import (
    AudioSelection,
    Coding,
    PDFSelection,
    PictureSelection,
    PlainTextSelection,
    SyncPoint,
    TextSource,
    Transcript,
    TranscriptSelection,
    VariableValue,
    VideoSelection,
)

# -- a text file may hold 2 GiB (the standard's cap on a file), so no position of its text is larger --
MAX_POSITION = 2**31 - 1


class SourceElements(ElementReader):
    """Reading sources, their selections, codings and transcripts (the bulk of every project)."""

    def coding(self, el: etree._Element) -> Coding:
        # -- the hot path of every reader: written out by hand, the generic route only for the unusual --
        attrib = el.attrib
        get = attrib.get
        guid = get("guid")
        t = self.t
        code = None
        note_refs: tuple[str, ...] = ()
        extra: list[str] | None = None
        for child in el:
            tag = child.tag
            if tag == t.CodeRef:
                code = child.get("targetGUID")
                if code is None:
                    self.missing(child, "targetGUID")
            elif tag == t.NoteRef:
                note_refs += (self.ref(child),)
            else:
                extra = extra if extra is not None else []
                self.foreign_child(child, extra)
        if guid is None:
            self.missing(el, "guid")
        if code is None:
            self.missing(el, "CodeRef")
        foreign = None
        if not KNOWN["Coding"].issuperset(attrib.keys()):
            foreign = self.attributes(el, "Coding")[1]
        if extra:
            foreign = self.merge_foreign(foreign, extra)
        share = self.share
        user, date = get("creatingUser"), get("creationDateTime")
        return Coding(guid=guid, code_guid=share(code, code), creating_user=user and share(user, user),  # type: ignore[arg-type]
                      creation_date_time=date and share(date, date), note_refs=note_refs, foreign=foreign)

    def selection_parts(self, el: etree._Element, extra: list[str], representation: bool = False) -> dict:
        """Description, Codings and NoteRefs of any selection (and a PDFSelection's Representation)."""
        t = self.t
        parts: dict = {}
        codings: list[Coding] = []
        note_refs: list[str] = []
        for child in el:
            tag = child.tag
            if tag == t.Coding:
                codings.append(self.coding(child))
            elif tag == t.Description:
                parts["description"] = child.text or ""
            elif tag == t.NoteRef:
                note_refs.append(self.ref(child))
            elif representation and tag == t.Representation:
                parts["representation"] = self.text_source(child, TextSource)
            else:
                self.foreign_child(child, extra)
        if codings:
            parts["codings"] = tuple(codings)
        if note_refs:
            parts["note_refs"] = tuple(note_refs)
        return parts

    def plain_text_selection(self, el: etree._Element) -> PlainTextSelection:
        """A selection with its positions as written; :meth:`project` converts them once the unit is known."""
        attrib = el.attrib
        get = attrib.get
        guid, start, end = get("guid"), get("startPosition"), get("endPosition")
        if guid is None or start is None or end is None or not KNOWN["PlainTextSelection"].issuperset(attrib.keys()):
            return self.plain_text_selection_in_full(el)
        try:
            start, end = int(start), int(end)
        except ValueError:
            return self.plain_text_selection_in_full(el)
        self.check_span(el, start, end)
        t = self.t
        description = None
        codings: list[Coding] = []
        note_refs: tuple[str, ...] = ()
        extra: list[str] | None = None
        for child in el:
            tag = child.tag
            if tag == t.Coding:
                codings.append(self.coding(child))
            elif tag == t.Description:
                description = child.text or ""
            elif tag == t.NoteRef:
                note_refs += (self.ref(child),)
            else:
                extra = extra if extra is not None else []
                self.foreign_child(child, extra)
        share = self.share
        audit = [get(name) for name in ("creatingUser", "creationDateTime", "modifyingUser", "modifiedDateTime")]
        audit = [value and share(value, value) for value in audit]
        return PlainTextSelection(
            guid=guid, name=get("name"), start=start, end=end, description=description, codings=tuple(codings),
            note_refs=note_refs, creating_user=audit[0], creation_date_time=audit[1], modifying_user=audit[2],
            modified_date_time=audit[3], foreign=self.merge_foreign(None, extra) if extra else None)

    def plain_text_selection_in_full(self, el: etree._Element) -> PlainTextSelection:
        """The general route: foreign attributes, missing or malformed positions (reported with the line)."""
        values, foreign = self.attributes(el, "PlainTextSelection")
        self.check_span(el, values["start"], values["end"])
        extra: list[str] = []
        parts = self.selection_parts(el, extra)
        return PlainTextSelection(**values, **parts, foreign=self.merge_foreign(foreign, extra))

    def check_span(self, el: etree._Element, start: int, end: int) -> None:
        """Refuse a span no text can have: a negative start, a start after the end, or a position past the
        2 GiB a text file may hold (pandas, Excel and every tool would fail on it later, or slice text that was
        never coded). Validation reads leniently and lists such spans itself."""
        if not self.check_spans:
            return
        if start < 0:
            problem = f"startPosition={start} is negative"
        elif start > end:
            problem = f"startPosition={start} is after endPosition={end}"
        elif end > MAX_POSITION:
            problem = f"endPosition={end} lies beyond any text REFI-QDA can hold ({MAX_POSITION:,} characters)"
        else:
            return
        raise ProjectStructureError(
            f"{self.where(el)}: {problem}, so it marks no text. Fix or remove the selection, or export the project "
            "again.", self.path, el.sourceline, "PlainTextSelection")

    def text_source(self, el: etree._Element, cls: type = TextSource):
        """A TextSource, Note, Representation or TextDescription (all TextSourceType)."""
        t = self.t
        values, foreign = self.attributes(el, "TextSource")
        text, bom, path = self.text_of(el)
        values["plain_text_path"] = path
        parts: dict = {}
        selections: list[PlainTextSelection] = []
        codings: list[Coding] = []
        note_refs: list[str] = []
        variable_values: list[VariableValue] = []
        extra: list[str] = []
        for child in el:
            tag = child.tag
            if tag == t.PlainTextSelection:
                selections.append(self.plain_text_selection(child))
            elif tag == t.Coding:
                codings.append(self.coding(child))
            elif tag == t.NoteRef:
                note_refs.append(self.ref(child))
            elif tag == t.VariableValue:
                variable_values.append(self.variable_value(child))
            elif tag == t.Description:
                parts["description"] = child.text or ""
            elif tag == t.PlainTextContent:
                pass  # read by text_of
            else:
                self.foreign_child(child, extra)
        return cls(**values, **parts, text=text, text_bom=bom, selections=tuple(selections),
                   codings=tuple(codings), note_refs=tuple(note_refs), variable_values=tuple(variable_values),
                   foreign=self.merge_foreign(foreign, extra))

    def source(self, el: etree._Element):
        t = self.t
        tag = el.tag
        if tag == t.TextSource:
            return self.text_source(el, TextSource)
        values, foreign = self.attributes(el, "MediaSource")
        parts: dict = {}
        selections: list = []
        transcripts: list = []
        codings: list[Coding] = []
        note_refs: list[str] = []
        variable_values: list[VariableValue] = []
        extra: list[str] = []
        for child in el:
            ctag = child.tag
            if ctag == t.Coding:
                codings.append(self.coding(child))
            elif ctag == t.NoteRef:
                note_refs.append(self.ref(child))
            elif ctag == t.VariableValue:
                variable_values.append(self.variable_value(child))
            elif ctag == t.Description:
                parts["description"] = child.text or ""
            elif tag == t.PictureSource and ctag == t.PictureSelection:
                selections.append(self.area_selection(child, "PictureSelection", PictureSelection))
            elif tag == t.PictureSource and ctag == t.TextDescription:
                parts["text_description"] = self.text_source(child, TextSource)
            elif tag == t.PDFSource and ctag == t.PDFSelection:
                selections.append(self.area_selection(child, "PDFSelection", PDFSelection))
            elif tag == t.PDFSource and ctag == t.Representation:
                parts["representation"] = self.text_source(child, TextSource)
            elif tag in (t.AudioSource, t.VideoSource) and ctag == t.Transcript:
                transcripts.append(self.transcript(child))
            elif tag == t.AudioSource and ctag == t.AudioSelection:
                selections.append(self.area_selection(child, "MediaSelection", AudioSelection))
            elif tag == t.VideoSource and ctag == t.VideoSelection:
                selections.append(self.area_selection(child, "MediaSelection", VideoSelection))
            else:
                self.foreign_child(child, extra)
        cls = t.source_tags[tag]
        if transcripts:
            parts["transcripts"] = tuple(transcripts)
        return cls(**values, **parts, selections=tuple(selections), codings=tuple(codings),
                   note_refs=tuple(note_refs), variable_values=tuple(variable_values),
                   foreign=self.merge_foreign(foreign, extra))

    def area_selection(self, el: etree._Element, table: str, cls: type):
        values, foreign = self.attributes(el, table)
        extra: list[str] = []
        parts = self.selection_parts(el, extra, representation=cls is PDFSelection)
        return cls(**values, **parts, foreign=self.merge_foreign(foreign, extra))

    def transcript(self, el: etree._Element) -> Transcript:
        t = self.t
        values, foreign = self.attributes(el, "Transcript")
        text, bom, path = self.text_of(el)
        values["plain_text_path"] = path
        parts: dict = {}
        sync_points: list[SyncPoint] = []
        selections: list[TranscriptSelection] = []
        note_refs: list[str] = []
        extra: list[str] = []
        for child in el:
            tag = child.tag
            if tag == t.SyncPoint:
                point_values, point_foreign = self.attributes(child, "SyncPoint")
                sync_points.append(SyncPoint(**point_values, foreign=point_foreign))
            elif tag == t.TranscriptSelection:
                selections.append(self.area_selection(child, "TranscriptSelection", TranscriptSelection))
            elif tag == t.NoteRef:
                note_refs.append(self.ref(child))
            elif tag == t.Description:
                parts["description"] = child.text or ""
            elif tag == t.PlainTextContent:
                pass
            else:
                self.foreign_child(child, extra)
        return Transcript(**values, **parts, text=text, text_bom=bom, sync_points=tuple(sync_points),
                          selections=tuple(selections), note_refs=tuple(note_refs),
                          foreign=self.merge_foreign(foreign, extra))
