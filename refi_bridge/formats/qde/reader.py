"""A ``.qde``/``.qdc`` document to a Project: streaming sources and notes, deciding the position unit."""

from __future__ import annotations

import gc
import io

from lxml import etree

from refi_bridge.errors import ProjectFileError
from refi_bridge.formats.positions import (
    CODEPOINT,
    UNIT_LABELS,
    decide_unit,
    positions_to_codepoints,
    text_owners,
)
from refi_bridge.formats.qde.case_elements import CaseElements
from refi_bridge.formats.qde.codebook_elements import CodebookElements
from refi_bridge.formats.qde.graph_elements import GraphElements
from refi_bridge.formats.qde.names import NS_PREFIX, ROOT_HINTS, XSI, TextResolver
from refi_bridge.formats.qde.parsing import document_kind, own_instruction, refuse_doctype, syntax_error
from refi_bridge.formats.qde.source_elements import SourceElements
from refi_bridge.model import Foreign, Note, Project, ReadInfo

_STREAMED = ("{*}TextSource", "{*}PictureSource", "{*}PDFSource", "{*}AudioSource", "{*}VideoSource", "{*}Note")


def read_document(data: bytes, *, path: str, resolve: TextResolver | None = None,
                  kind: str | None = None) -> Project:
    """Parse a ``.qde``/``.qdc`` document (bytes) into a Project.

    ``resolve(name)`` returns a file of the archive's sources folder as ``(name as the archive spells it,
    bytes)``, or None; without it (a bare ``.qde``) texts kept in files stay unknown. ``kind`` goes into
    ``read_info``.

    Sources and notes, the bulk of any project, are built as the parser reaches their end and then dropped
    from the tree, so the whole tree never sits in memory next to the model.
    """
    data = refuse_doctype(data, path)
    collecting = gc.isenabled()
    gc.disable()  # hundreds of thousands of acyclic objects: the cyclic collector would only slow us down
    try:
        events = etree.iterparse(io.BytesIO(data), events=("end",), tag=_STREAMED, resolve_entities=False,
                                 no_network=True, load_dtd=False, huge_tree=True, remove_comments=True)
        reader: Reader | None = None
        streamed: dict[str, list] = {"sources": [], "notes": []}
        done: list = []
        try:
            for _, el in events:
                if reader is None:
                    root = el.getroottree().getroot()
                    reader = _reader_for(root, path, resolve, kind)
                parent = el.getparent()
                tag = el.tag
                if parent is None or parent.getparent() is not root:
                    continue
                if parent.tag == reader.t.Sources and tag in reader.t.source_tags:
                    streamed["sources"].append(reader.source(el))
                elif parent.tag == reader.t.Notes and tag == reader.t.Note:
                    streamed["notes"].append(reader.text_source(el, Note))
                else:
                    continue
                for finished in done:
                    finished.getparent().remove(finished)
                el.clear(keep_tail=True)
                done = [el]
            root = events.root
        except etree.XMLSyntaxError as error:
            raise syntax_error(error, path) from None
        for finished in done:
            finished.getparent().remove(finished)
        if reader is None:
            reader = _reader_for(root, path, resolve, kind)
        return reader.finish(root, streamed if (streamed["sources"] or streamed["notes"]) else None)
    finally:
        if collecting:
            gc.enable()


def read_root(root: etree._Element, *, path: str, resolve: TextResolver | None = None,
              container: str | None = None, check_spans: bool = True) -> Project:
    """Build a Project from a whole parsed tree (validation has one; reading streams instead).

    With ``check_spans`` false, spans no text can have (negative, reversed) are read as written, for
    validation to list them all.
    """
    reader = _reader_for(root, path, resolve, container)
    reader.check_spans = check_spans
    return reader.finish(root, None)


def _reader_for(root: etree._Element, path: str, resolve: TextResolver | None, container: str | None) -> Reader:
    doc_kind, namespace = document_kind(root, path)
    if container == "qdpx" and doc_kind != "qde":
        raise ProjectFileError(f"{path}: the archive holds a codebook, not a project; a .qdpx must hold a "
                               "<Project> document.", path)
    reader = Reader(namespace, path, resolve)
    reader.doc_kind = doc_kind
    reader.container = container
    reader.pi = own_instruction(root)
    return reader


class Reader(SourceElements, CodebookElements, CaseElements, GraphElements):
    """One pass over one document: the project or codebook around its elements, and its position unit."""

    # -- the whole document ---------------------------------------------------------------------------------

    def finish(self, root: etree._Element, streamed: dict | None) -> Project:
        """Build the project (around sources already streamed, if any) and describe how it was read."""
        pi = self.pi
        info = ReadInfo(path=self.path, kind=self.container or self.doc_kind, namespace=self.ns or None)
        if self.doc_kind == "qdc":
            project = self.codebook(root, pi)
        else:
            project = self.project(root, pi, streamed)
            info.position_unit = self.unit
            info.position_evidence = self.unit_evidence
        info.origin = root.get("origin")
        info.dialect = pi.get("dialect") if pi else None
        info.warnings = self.warnings
        info.fixes = self.fixes
        if self.saw_foreign:
            # -- keep the prefixes of vendor namespaces, so that their content is written back as it came --
            declared = tuple(sorted((prefix, uri) for prefix, uri in root.nsmap.items()
                                    if prefix and not uri.startswith(NS_PREFIX) and uri != XSI))
            if declared:
                current = project.foreign or Foreign()
                object.__setattr__(project, "foreign", Foreign(attributes=current.attributes,
                                                               elements=current.elements, namespaces=declared))
        object.__setattr__(project, "read_info", info)
        return project

    # -- position unit ------------------------------------------------------------------------------------

    def decide(self, origin: str | None, pi: dict | None, sources: tuple, notes: tuple) -> None:
        """Decide the unit of the file's text positions from what was built with the positions as written."""
        if pi and pi.get("position-unit") in UNIT_LABELS:
            # -- our own file states the unit it was written in; that is evidence no heuristic can beat --
            stated = pi["position-unit"]
            self.unit = stated
            self.unit_evidence = (f"written by refi_bridge {pi.get('version', '?')} in the "
                                  f"{pi.get('dialect', '?')} dialect, which states {UNIT_LABELS[stated]}")
            return
        owners = [owner for owner in text_owners(sources, notes) if owner.selections]
        evidence = [(owner.text, [(s.start, s.end) for s in owner.selections])
                    for owner in owners if owner.text is not None]
        decision = decide_unit(origin, evidence)
        self.unit = decision.unit
        self.unit_evidence = decision.evidence
        if decision.warning:
            self.warn(f"{self.path}: {decision.warning}")
        self.unconverted = self.unit != CODEPOINT and bool(owners) and not evidence

    # -- project ------------------------------------------------------------------------------------------

    def project(self, root: etree._Element, pi: dict | None, streamed: dict | None = None) -> Project:
        t = self.t
        values, foreign = self.attributes(root, "Project")
        if "name" not in values:
            values["name"] = ""
            self.warn(f"{self.where(root)} has no name, which REFI-QDA requires; it was read with an empty name")
        origin = values.get("origin")
        if pi and "source-origin" in pi:
            values["origin"] = pi["source-origin"] or None
        elif pi:
            values.pop("origin", None)
        parts: dict = {}
        extra: list[str] = []
        note_refs: list[str] = []
        for child in root:
            tag = child.tag
            if tag == t.Users:
                parts["users"] = tuple(self.user(el) for el in self.items(child, t.User))
            elif tag == t.CodeBook:
                codes = child.find(t.Codes)
                parts["codes"] = tuple(self.code(el) for el in self.items(codes, t.Code)) if codes is not None else ()
                for other in child:
                    if other.tag != t.Codes:
                        self.foreign_child(other, extra)
            elif tag == t.Variables:
                parts["variables"] = tuple(self.variable(el) for el in self.items(child, t.Variable))
            elif tag == t.Cases:
                parts["cases"] = tuple(self.case(el) for el in self.items(child, t.Case))
            elif tag == t.Sources:
                if streamed is None:
                    parts["sources"] = tuple(self.source(el) for el in child if isinstance(el.tag, str)
                                             and self.is_source(el))
                else:
                    for el in child:  # what is left after streaming: elements that are not sources
                        if isinstance(el.tag, str):
                            self.is_source(el)
            elif tag == t.Notes:
                if streamed is None:
                    parts["notes"] = tuple(self.text_source(el, Note) for el in self.items(child, t.Note))
                else:
                    for _ in self.items(child, t.Note):
                        pass
            elif tag == t.Links:
                parts["links"] = tuple(self.link(el) for el in self.items(child, t.Link))
            elif tag == t.Sets:
                parts["sets"] = tuple(self.set(el) for el in self.items(child, t.Set))
            elif tag == t.Graphs:
                parts["graphs"] = tuple(self.graph(el) for el in self.items(child, t.Graph))
            elif tag == t.Description:
                parts["description"] = child.text or ""
            elif tag == t.NoteRef:
                note_refs.append(self.ref(child))
            else:
                self.foreign_child(child, extra)
        if streamed is not None:
            parts["sources"] = tuple(streamed["sources"])
            parts["notes"] = tuple(streamed["notes"])
        sources, notes = parts.get("sources", ()), parts.get("notes", ())
        self.decide(origin, pi, sources, notes)
        if self.unit != CODEPOINT:
            parts["sources"] = tuple(positions_to_codepoints(source, self.unit) for source in sources)
            parts["notes"] = tuple(positions_to_codepoints(note, self.unit) for note in notes)
        if self.unresolved or self.unconverted:
            kept = (f"; their selections keep the positions as written ({UNIT_LABELS[self.unit]})"
                    if self.unconverted else "")
            self.warn(f"{self.path}: {self.unresolved} texts are kept in files that a bare .qde does not "
                      f"carry, so their sources have no text here{kept}. Read the .qdpx to have them")
        return Project(**values, **parts, note_refs=tuple(note_refs),
                       foreign=self.merge_foreign(foreign, extra))

    def codebook(self, root: etree._Element, pi: dict | None) -> Project:
        t = self.t
        origin = root.get("origin")
        if pi is not None:
            origin = pi.get("source-origin") or None
        extra: list[str] = []
        codes: tuple = ()
        sets: tuple = ()
        attrs = tuple((k, v) for k, v in root.attrib.items() if k != "origin" and k not in ROOT_HINTS)
        self.saw_foreign = self.saw_foreign or bool(attrs)
        for child in root:
            if child.tag == t.Codes:
                codes = tuple(self.code(el) for el in self.items(child, t.Code))
            elif child.tag == t.Sets:
                sets = tuple(self.set(el, codebook=True) for el in self.items(child, t.Set))
            else:
                self.foreign_child(child, extra)
        foreign = Foreign(attributes=attrs, elements=tuple(extra)) if attrs or extra else None
        return Project(name="", origin=origin, codes=codes, sets=sets, foreign=foreign)
