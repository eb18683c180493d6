"""A Project to REFI-QDA XML: the standard namespace, children in schema order, the dialect's positions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

from refi_bridge import __version__
from refi_bridge.errors import ProjectStructureError
from refi_bridge.formats.encoding import encode_text
from refi_bridge.formats.positions import CODEPOINT, OffsetMap
from refi_bridge.formats.qde.names import (
    NS_CODEBOOK,
    NS_PROJECT,
    PARSER,
    PI_TARGET,
    SCHEMA_LOCATION,
    SCHEME,
    TABLES,
    XSI,
)
from refi_bridge.model import (
    AudioSource,
    Case,
    Code,
    Coding,
    PDFSelection,
    PDFSource,
    PictureSource,
    Project,
    Set,
    TextSource,
    Transcript,
    VariableValue,
)

# =========================================================================================================
# Writing
# =========================================================================================================

@dataclass
class Written:
    """A serialised document and the plain-text files it refers to (name inside ``sources/`` -> bytes)."""

    xml: bytes
    texts: dict[str, bytes]


def write_project(project: Project, *, dialect: str, unit: str, bom: bool | None = None,
                  origin: str | None = None, instruction: bool = True) -> Written:
    """Serialise a Project as a ``project.qde`` document in the standard namespace.

    Text positions are written in ``unit``; ``bom`` forces (True/False) or keeps (None) each text's BOM.
    ``origin`` is written as the ``origin`` attribute (default: refi_bridge and its version); the project's
    own origin travels in a ``<?refi-bridge?>`` instruction so that reading the file back gives it back.
    """
    writer = _Writer(NS_PROJECT, unit, bom)
    root = writer.project(project, origin)
    return Written(writer.finish(root, project, dialect, unit if instruction else None, instruction),
                   writer.texts)


def write_codebook(project: Project, *, dialect: str, origin: str | None = None,
                   instruction: bool = True) -> Written:
    """Serialise a Project's codes and code sets as a ``.qdc`` codebook document."""
    writer = _Writer(NS_CODEBOOK, CODEPOINT, None)
    root = writer.codebook(project, origin)
    return Written(writer.finish(root, project, dialect, None, instruction), {})


class _Writer:
    def __init__(self, namespace: str, unit: str, bom: bool | None) -> None:
        self.ns = namespace
        self.q = f"{{{namespace}}}"
        self.unit = unit
        self.bom = bom
        self.texts: dict[str, bytes] = {}
        self.fragments: list[str] = []

    def nsmap(self, project: Project) -> dict:
        namespaces = {None: self.ns, "xsi": XSI}
        if project.foreign is not None:
            for prefix, uri in project.foreign.namespaces:
                namespaces.setdefault(prefix, uri)
        return namespaces

    def finish(self, root: etree._Element, project: Project, dialect: str, unit: str | None,
               instruction: bool = True) -> bytes:
        # -- indent our own elements, then put vendor elements in exactly as they came --
        etree.indent(root, space="  ")
        for placeholder in list(root.iter(etree.ProcessingInstruction)):
            if placeholder.target != "refi-bridge-foreign":
                continue
            fragment = etree.fromstring(self.fragments[int(placeholder.text)], PARSER)
            fragment.tail = placeholder.tail
            placeholder.getparent().replace(placeholder, fragment)
        body = etree.tostring(root, encoding="utf-8") + b"\n"
        if not instruction:
            return b'<?xml version="1.0" encoding="utf-8"?>\n' + body
        pairs = [("version", __version__), ("dialect", dialect)]
        if unit:
            pairs.append(("position-unit", unit))
        if project.origin is not None:
            pairs.append(("source-origin", project.origin))
        text = " ".join(f'{key}="{_pi_escape(value)}"' for key, value in pairs)
        head = f'<?xml version="1.0" encoding="utf-8"?>\n<?{PI_TARGET} {text}?>\n'.encode()
        return head + body

    def element(self, parent: etree._Element, name: str, attrib: dict | None = None) -> etree._Element:
        return etree.SubElement(parent, self.q + name, attrib) if attrib else etree.SubElement(parent, self.q + name)

    def attrs(self, obj, key: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for xml, fld, kind, _ in TABLES[key]:
            value = getattr(obj, fld)
            if value is None:
                continue
            out[xml] = ("true" if value else "false") if kind == "b" else str(value)
        foreign = getattr(obj, "foreign", None)
        if foreign:
            out.update(foreign.attributes)
        return out

    def foreign(self, el: etree._Element, obj) -> None:
        foreign = getattr(obj, "foreign", None)
        if foreign and foreign.elements:
            for fragment in foreign.elements:
                el.append(etree.ProcessingInstruction("refi-bridge-foreign", str(len(self.fragments))))
                self.fragments.append(fragment)

    def text_element(self, parent: etree._Element, name: str, text: str | None) -> None:
        if text is not None:
            self.element(parent, name).text = text

    def refs(self, parent: etree._Element, name: str, guids: Iterable[str], attribute: str = "targetGUID") -> None:
        q = self.q + name
        for guid in guids:
            etree.SubElement(parent, q, {attribute: guid})

    # -- documents -------------------------------------------------------------------------------------------

    def project(self, project: Project, origin: str | None) -> etree._Element:
        attrib = self.attrs(project, "Project")
        attrib["origin"] = origin or f"refi_bridge {__version__}"
        root = etree.Element(self.q + "Project", nsmap=self.nsmap(project))
        root.set(f"{{{XSI}}}schemaLocation", f"{self.ns} {SCHEMA_LOCATION[self.ns]}")
        for key, value in attrib.items():
            root.set(key, value)
        if project.users:
            users = self.element(root, "Users")
            for user in project.users:
                self.foreign(self.element(users, "User", self.attrs(user, "User")), user)
        if project.codes:
            codes = self.element(self.element(root, "CodeBook"), "Codes")
            for code in project.codes:
                self.code(codes, code, notes=True)
        if project.variables:
            variables = self.element(root, "Variables")
            for variable in project.variables:
                el = self.element(variables, "Variable", self.attrs(variable, "Variable"))
                self.text_element(el, "Description", variable.description)
                self.foreign(el, variable)
        if project.cases:
            cases = self.element(root, "Cases")
            for case in project.cases:
                self.case(cases, case)
        if project.sources:
            sources = self.element(root, "Sources")
            for source in project.sources:
                self.source(sources, source)
        if project.notes:
            notes = self.element(root, "Notes")
            for note in project.notes:
                self.text_source(notes, "Note", note)
        if project.links:
            links = self.element(root, "Links")
            for link in project.links:
                el = self.element(links, "Link", self.attrs(link, "Link"))
                self.refs(el, "NoteRef", link.note_refs)
                self.foreign(el, link)
        if project.sets:
            sets = self.element(root, "Sets")
            for group in project.sets:
                self.set(sets, group, codebook=False)
        if project.graphs:
            graphs = self.element(root, "Graphs")
            for graph in project.graphs:
                el = self.element(graphs, "Graph", self.attrs(graph, "Graph"))
                for vertex in graph.vertices:
                    self.foreign(self.element(el, "Vertex", self.attrs(vertex, "Vertex")), vertex)
                for edge in graph.edges:
                    self.foreign(self.element(el, "Edge", self.attrs(edge, "Edge")), edge)
                self.foreign(el, graph)
        self.text_element(root, "Description", project.description)
        self.refs(root, "NoteRef", project.note_refs)
        self.foreign(root, project)
        return root

    def codebook(self, project: Project, origin: str | None) -> etree._Element:
        root = etree.Element(self.q + "CodeBook", nsmap=self.nsmap(project))
        root.set(f"{{{XSI}}}schemaLocation", f"{self.ns} {SCHEMA_LOCATION[self.ns]}")
        root.set("origin", origin or f"refi_bridge {__version__}")
        if project.foreign:
            for key, value in project.foreign.attributes:
                root.set(key, value)
        codes = self.element(root, "Codes")
        for code in project.codes:
            self.code(codes, code, notes=False)
        code_sets = [group for group in project.sets if group.member_codes or not
                     (group.member_sources or group.member_notes)]
        if code_sets:
            sets = self.element(root, "Sets")
            for group in code_sets:
                self.set(sets, group, codebook=True)
        self.foreign(root, project)
        return root

    # -- elements -------------------------------------------------------------------------------------------

    def code(self, parent: etree._Element, code: Code, notes: bool) -> None:
        el = self.element(parent, "Code", self.attrs(code, "Code"))
        self.text_element(el, "Description", code.description)
        if notes:
            self.refs(el, "NoteRef", code.note_refs)
        for child in code.codes:
            self.code(el, child, notes)
        self.foreign(el, code)

    def set(self, parent: etree._Element, group: Set, codebook: bool) -> None:
        el = self.element(parent, "Set", self.attrs(group, "Set"))
        self.text_element(el, "Description", group.description)
        self.refs(el, "MemberCode", group.member_codes, "guid" if codebook else "targetGUID")
        if not codebook:
            self.refs(el, "MemberSource", group.member_sources)
            self.refs(el, "MemberNote", group.member_notes)
        self.foreign(el, group)

    def case(self, parent: etree._Element, case: Case) -> None:
        el = self.element(parent, "Case", self.attrs(case, "Case"))
        self.text_element(el, "Description", case.description)
        self.refs(el, "CodeRef", case.code_refs)
        for value in case.variable_values:
            self.variable_value(el, value)
        self.refs(el, "SourceRef", case.source_refs)
        self.refs(el, "SelectionRef", case.selection_refs)
        self.foreign(el, case)

    def variable_value(self, parent: etree._Element, value: VariableValue) -> None:
        el = self.element(parent, "VariableValue")
        self.element(el, "VariableRef", {"targetGUID": value.variable_guid})
        if value.type is not None:
            self.element(el, value.type + "Value").text = value.value or ""

    def coding(self, parent: etree._Element, coding: Coding) -> None:
        attrib = {"guid": coding.guid}
        if coding.creating_user is not None:
            attrib["creatingUser"] = coding.creating_user
        if coding.creation_date_time is not None:
            attrib["creationDateTime"] = coding.creation_date_time
        if coding.foreign:
            attrib.update(coding.foreign.attributes)
        el = etree.SubElement(parent, self.q + "Coding", attrib)
        etree.SubElement(el, self.q + "CodeRef", {"targetGUID": coding.code_guid})
        self.refs(el, "NoteRef", coding.note_refs)
        self.foreign(el, coding)

    def selection_tail(self, el: etree._Element, selection) -> None:
        for coding in selection.codings:
            self.coding(el, coding)
        self.refs(el, "NoteRef", selection.note_refs)
        self.foreign(el, selection)

    def text_file(self, owner) -> None:
        """Register the plain-text file of a TextSource-like object, if it has one inside the archive."""
        path = owner.plain_text_path
        if path is None or owner.text is None:
            return
        scheme = SCHEME.match(path)
        if not scheme or scheme.group(1).lower() != "internal":
            return
        name = path[scheme.end():].lstrip("/")
        bom = owner.text_bom if self.bom is None else self.bom
        data = encode_text(owner.text, bom)
        if self.texts.get(name, data) != data:
            raise ProjectStructureError(f"two texts are to be written to {path!r} with different contents "
                                        f"(the second is {type(owner).__name__} {owner.guid}); give one of them "
                                        "its own plain_text_path")
        self.texts[name] = data

    def text_source(self, parent: etree._Element, name: str, source) -> None:
        """TextSource, Note, Representation and TextDescription share one type in the schema."""
        attrib = self.attrs(source, "TextSource")
        el = self.element(parent, name, attrib)
        self.text_element(el, "Description", source.description)
        if source.plain_text_path is None and source.text is not None:
            self.element(el, "PlainTextContent").text = source.text
        self.text_file(source)
        offsets = OffsetMap(source.text) if source.text is not None and self.unit != CODEPOINT else None
        if offsets is not None and not offsets.diverges(self.unit):
            offsets = None
        q = self.q + "PlainTextSelection"
        for selection in source.selections:
            attrib = self.attrs(selection, "PlainTextSelection")
            if offsets is not None:
                attrib["startPosition"] = str(offsets.from_codepoint(selection.start, self.unit))
                attrib["endPosition"] = str(offsets.from_codepoint(selection.end, self.unit))
            sel = etree.SubElement(el, q, attrib)
            self.text_element(sel, "Description", selection.description)
            self.selection_tail(sel, selection)
        for coding in source.codings:
            self.coding(el, coding)
        self.refs(el, "NoteRef", source.note_refs)
        for value in source.variable_values:
            self.variable_value(el, value)
        self.foreign(el, source)

    def source(self, parent: etree._Element, source) -> None:
        if isinstance(source, TextSource):
            self.text_source(parent, "TextSource", source)
            return
        kind = type(source).__name__
        el = self.element(parent, kind, self.attrs(source, "MediaSource"))
        self.text_element(el, "Description", source.description)
        if isinstance(source, PictureSource):
            if source.text_description is not None:
                self.text_source(el, "TextDescription", source.text_description)
            for selection in source.selections:
                self.area(el, "PictureSelection", selection)
        elif isinstance(source, PDFSource):
            for selection in source.selections:
                self.area(el, "PDFSelection", selection)
            if source.representation is not None:
                self.text_source(el, "Representation", source.representation)
        else:
            for transcript in source.transcripts:
                self.transcript(el, transcript)
            name = "AudioSelection" if isinstance(source, AudioSource) else "VideoSelection"
            for selection in source.selections:
                self.area(el, name, selection)
        for coding in source.codings:
            self.coding(el, coding)
        self.refs(el, "NoteRef", source.note_refs)
        for value in source.variable_values:
            self.variable_value(el, value)
        self.foreign(el, source)

    def area(self, parent: etree._Element, name: str, selection) -> None:
        table = {"AudioSelection": "MediaSelection", "VideoSelection": "MediaSelection"}.get(name, name)
        el = self.element(parent, name, self.attrs(selection, table))
        self.text_element(el, "Description", selection.description)
        if isinstance(selection, PDFSelection) and selection.representation is not None:
            self.text_source(el, "Representation", selection.representation)
        self.selection_tail(el, selection)

    def transcript(self, parent: etree._Element, transcript: Transcript) -> None:
        el = self.element(parent, "Transcript", self.attrs(transcript, "Transcript"))
        self.text_element(el, "Description", transcript.description)
        if transcript.plain_text_path is None and transcript.text is not None:
            self.element(el, "PlainTextContent").text = transcript.text
        self.text_file(transcript)
        offsets = OffsetMap(transcript.text) if transcript.text is not None and self.unit != CODEPOINT else None
        for point in transcript.sync_points:
            attrib = self.attrs(point, "SyncPoint")
            if offsets is not None and point.position is not None:
                attrib["position"] = str(offsets.from_codepoint(point.position, self.unit))
            self.foreign(self.element(el, "SyncPoint", attrib), point)
        for selection in transcript.selections:
            self.area(el, "TranscriptSelection", selection)
        self.refs(el, "NoteRef", transcript.note_refs)
        self.foreign(el, transcript)


def _pi_escape(value: str) -> str:
    return (value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
            .replace(">", "&gt;"))


def internal_name(path: str | None) -> str | None:
    """The file name an ``internal://`` path (or a path without scheme) names inside ``sources/``."""
    if not path:
        return None
    scheme = SCHEME.match(path)
    if scheme and scheme.group(1).lower() != "internal":
        return None
    return path[scheme.end():].lstrip("/") if scheme else path.lstrip("/")
