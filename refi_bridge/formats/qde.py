"""The XML of REFI-QDA documents (``project.qde``, ``.qde``, ``.qdc``) to the model and back.

One configured parser for the whole library; reading matches elements by local name in whatever
``urn:QDA-XML:*`` namespace the document uses, converts text positions from the file's unit (decided by
:func:`refi_bridge.positions.decide_unit`) into code points, and keeps what it does not know in ``foreign``.
Writing emits the standard namespace, children in schema order, and the positions of the chosen dialect.
Files are not this module's business: the container hands it bytes and a way to fetch a source's text.
"""

from __future__ import annotations

import gc
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from html import unescape

from lxml import etree

from refi_bridge import __version__
from refi_bridge.errors import ProjectFileError, ProjectStructureError, UnsafeFileError
from refi_bridge.formats.encoding import decode_text, encode_text
from refi_bridge.formats.positions import (
    CODEPOINT,
    UNIT_LABELS,
    OffsetMap,
    decide_unit,
    positions_to_codepoints,
    text_owners,
)
from refi_bridge.model import (
    AudioSelection,
    AudioSource,
    Case,
    Code,
    Coding,
    Edge,
    Foreign,
    Graph,
    Link,
    Note,
    PDFSelection,
    PDFSource,
    PictureSelection,
    PictureSource,
    PlainTextSelection,
    Project,
    ReadInfo,
    Set,
    SyncPoint,
    TextSource,
    Transcript,
    TranscriptSelection,
    User,
    Variable,
    VariableValue,
    Vertex,
    VideoSelection,
    VideoSource,
)

NS_PROJECT = "urn:QDA-XML:project:1.0"
NS_CODEBOOK = "urn:QDA-XML:codebook:1.0"
NS_PREFIX = "urn:QDA-XML:"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = {
    NS_PROJECT: "http://schema.qdasoftware.org/versions/Project/v1.0/Project.xsd",
    NS_CODEBOOK: "http://schema.qdasoftware.org/versions/Codebook/v1.0/Codebook.xsd",
}
PI_TARGET = "refi-bridge"

# -- one parser for the library: no DTD, no entities, no network; huge_tree only lifts libxml2's size caps
#    on single text nodes (long inline texts), which is safe once DTDs are refused --
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                         huge_tree=True, remove_comments=True)

TextResolver = Callable[[str], "bytes | None"]

# ---------------------------------------------------------------------------------------------------------
# Name tables: XML attribute, model field, kind. Kinds: s = string, i = integer, b = boolean.
# A "!" after the XML name marks an attribute the schema requires.
# ---------------------------------------------------------------------------------------------------------
_AUDIT = (("creatingUser", "creating_user", "s"), ("creationDateTime", "creation_date_time", "s"),
          ("modifyingUser", "modifying_user", "s"), ("modifiedDateTime", "modified_date_time", "s"))

ATTRIBUTES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "Project": (("name!", "name", "s"), ("origin", "origin", "s"),
                ("creatingUserGUID", "creating_user", "s"), ("creationDateTime", "creation_date_time", "s"),
                ("modifyingUserGUID", "modifying_user", "s"), ("modifiedDateTime", "modified_date_time", "s"),
                ("basePath", "base_path", "s")),
    "User": (("guid!", "guid", "s"), ("name", "name", "s"), ("id", "id", "s")),
    "Code": (("guid!", "guid", "s"), ("name!", "name", "s"), ("isCodable!", "is_codable", "b"),
             ("color", "color", "s")),
    "Set": (("guid!", "guid", "s"), ("name!", "name", "s")),
    "Variable": (("guid!", "guid", "s"), ("name!", "name", "s"), ("typeOfVariable!", "type_of_variable", "s")),
    "Case": (("guid!", "guid", "s"), ("name", "name", "s")),
    "TextSource": (("guid!", "guid", "s"), ("name", "name", "s"), ("richTextPath", "rich_text_path", "s"),
                   ("plainTextPath", "plain_text_path", "s")) + _AUDIT,
    "MediaSource": (("guid!", "guid", "s"), ("name", "name", "s"), ("path", "path", "s"),
                    ("currentPath", "current_path", "s")) + _AUDIT,
    "PlainTextSelection": (("guid!", "guid", "s"), ("name", "name", "s"), ("startPosition!", "start", "i"),
                           ("endPosition!", "end", "i")) + _AUDIT,
    "PictureSelection": (("guid!", "guid", "s"), ("name", "name", "s"), ("firstX!", "first_x", "i"),
                         ("firstY!", "first_y", "i"), ("secondX!", "second_x", "i"),
                         ("secondY!", "second_y", "i")) + _AUDIT,
    "PDFSelection": (("guid!", "guid", "s"), ("name", "name", "s"), ("page!", "page", "i"),
                     ("firstX!", "first_x", "i"), ("firstY!", "first_y", "i"), ("secondX!", "second_x", "i"),
                     ("secondY!", "second_y", "i")) + _AUDIT,
    "MediaSelection": (("guid!", "guid", "s"), ("name", "name", "s"), ("begin!", "begin", "i"),
                       ("end!", "end", "i")) + _AUDIT,
    "TranscriptSelection": (("guid!", "guid", "s"), ("name", "name", "s"),
                            ("fromSyncPoint", "from_sync_point", "s"),
                            ("toSyncPoint", "to_sync_point", "s")) + _AUDIT,
    "Transcript": (("guid!", "guid", "s"), ("name", "name", "s"), ("richTextPath", "rich_text_path", "s"),
                   ("plainTextPath", "plain_text_path", "s")) + _AUDIT,
    "SyncPoint": (("guid!", "guid", "s"), ("timeStamp", "time_stamp", "i"), ("position", "position", "i")),
    "Coding": (("guid!", "guid", "s"), ("creatingUser", "creating_user", "s"),
               ("creationDateTime", "creation_date_time", "s")),
    "Link": (("guid!", "guid", "s"), ("name", "name", "s"), ("direction", "direction", "s"),
             ("color", "color", "s"), ("originGUID", "origin_guid", "s"), ("targetGUID", "target_guid", "s")),
    "Graph": (("guid!", "guid", "s"), ("name", "name", "s")),
    "Vertex": (("guid!", "guid", "s"), ("representedGUID", "represented_guid", "s"), ("name", "name", "s"),
               ("firstX!", "first_x", "i"), ("firstY!", "first_y", "i"), ("secondX", "second_x", "i"),
               ("secondY", "second_y", "i"), ("shape", "shape", "s"), ("color", "color", "s")),
    "Edge": (("guid!", "guid", "s"), ("representedGUID", "represented_guid", "s"), ("name", "name", "s"),
             ("sourceVertex!", "source_vertex", "s"), ("targetVertex!", "target_vertex", "s"),
             ("color", "color", "s"), ("direction", "direction", "s"), ("lineStyle", "line_style", "s")),
}
# -- the same tables without the "!" marks, for lookups --
_TABLES = {key: tuple((xml.rstrip("!"), fld, kind, xml.endswith("!")) for xml, fld, kind in table)
           for key, table in ATTRIBUTES.items()}
_KNOWN = {key: frozenset(xml for xml, _, _, _ in table) for key, table in _TABLES.items()}
_ROOT_HINTS = frozenset({f"{{{XSI}}}schemaLocation", f"{{{XSI}}}noNamespaceSchemaLocation"})

VALUE_ELEMENTS = ("TextValue", "BooleanValue", "IntegerValue", "FloatValue", "DateValue", "DateTimeValue")
_SCHEME = re.compile(r"^(internal|relative|absolute)://", re.IGNORECASE)
_PI_PAIR = re.compile(r'([\w-]+)="([^"]*)"')


# =========================================================================================================
# Reading
# =========================================================================================================

def refuse_doctype(data: bytes, path: str) -> bytes:
    """Return the document without a leading BOM; refuse it if its prolog declares a DOCTYPE.

    REFI-QDA documents never have one, and a DTD is how entity-expansion and external-entity attacks are
    made; refusing it before parsing means no parser setting has to be trusted to defuse them.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # a BOM before <?xml (old QualCoder); lxml handles it, but naive tools do not
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")) or data[:2] in (b"<\x00", b"\x00<"):
        # -- REFI-QDA is UTF-8, but a UTF-16 document must not slip its DOCTYPE past the check --
        try:
            refuse_doctype(data.decode("utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else
                                       ("utf-16-le" if data[:2] == b"<\x00" else "utf-16-be")).encode("utf-8"), path)
        except UnicodeDecodeError:
            raise ProjectFileError(f"{path}: not readable as UTF-16 or UTF-8 XML.", path) from None
        return data
    position = 0
    length = len(data)
    while position < length:
        while position < length and data[position] in b" \t\r\n":
            position += 1
        if data.startswith(b"<?", position):
            end = data.find(b"?>", position)
            position = length if end < 0 else end + 2
        elif data.startswith(b"<!--", position):
            end = data.find(b"-->", position)
            position = length if end < 0 else end + 3
        elif data.startswith(b"<!", position):
            raise UnsafeFileError(f"{path}: refused: the XML has a DOCTYPE declaration. REFI-QDA files never "
                                  "do, and DTDs are how entity and external-file attacks are made.", path)
        else:
            break
    return data


def _syntax_error(error: etree.XMLSyntaxError, path: str) -> ProjectFileError:
    line = getattr(error, "lineno", None)
    return ProjectFileError(f"{path}: line {line}: not well-formed XML: {error.msg}. The file is damaged or "
                            "not a REFI-QDA document; export it again from the QDA tool.", path)


def parse_xml(data: bytes, path: str) -> etree._Element:
    """Parse REFI-QDA XML safely into a tree and return its root (validation needs the whole tree)."""
    data = refuse_doctype(data, path)
    try:
        return etree.fromstring(data, PARSER)
    except etree.XMLSyntaxError as error:
        raise _syntax_error(error, path) from None


def document_kind(root: etree._Element, path: str) -> tuple[str, str]:
    """Return ``("qde" | "qdc", namespace)`` for a parsed root, or raise a clear error."""
    qname = etree.QName(root)
    namespace = qname.namespace or ""
    if qname.localname == "Project":
        kind = "qde"
    elif qname.localname == "CodeBook":
        kind = "qdc"
    else:
        raise ProjectFileError(f"{path}: the root element is <{qname.localname}>, not <Project> or <CodeBook>; "
                               "this is not a REFI-QDA project or codebook.", path)
    if namespace and not namespace.startswith(NS_PREFIX):
        raise ProjectFileError(f"{path}: the root element is in namespace {namespace!r}, not a REFI-QDA one "
                               f"({NS_PREFIX}...); this is not a REFI-QDA file.", path)
    return kind, namespace


_STREAMED = ("{*}TextSource", "{*}PictureSource", "{*}PDFSource", "{*}AudioSource", "{*}VideoSource", "{*}Note")


def read_document(data: bytes, *, path: str, resolve: TextResolver | None = None,
                  kind: str | None = None) -> Project:
    """Parse a ``.qde``/``.qdc`` document (bytes) into a Project.

    ``resolve(name)`` returns the bytes of a file of the archive's sources folder, or None; without it
    (a bare ``.qde``) texts kept in files stay unknown. ``kind`` goes into ``read_info``.

    Sources and notes, the bulk of any project, are built as the parser reaches their end and then dropped
    from the tree, so the whole tree never sits in memory next to the model.
    """
    data = refuse_doctype(data, path)
    collecting = gc.isenabled()
    gc.disable()  # hundreds of thousands of acyclic objects: the cyclic collector would only slow us down
    try:
        events = etree.iterparse(io.BytesIO(data), events=("end",), tag=_STREAMED, resolve_entities=False,
                                 no_network=True, load_dtd=False, huge_tree=True, remove_comments=True)
        reader: _Reader | None = None
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
            raise _syntax_error(error, path) from None
        for finished in done:
            finished.getparent().remove(finished)
        if reader is None:
            reader = _reader_for(root, path, resolve, kind)
        return reader.finish(root, streamed if (streamed["sources"] or streamed["notes"]) else None)
    finally:
        if collecting:
            gc.enable()


def read_root(root: etree._Element, *, path: str, resolve: TextResolver | None = None,
              container: str | None = None) -> Project:
    """Build a Project from a whole parsed tree (validation has one; reading streams instead)."""
    return _reader_for(root, path, resolve, container).finish(root, None)


def _reader_for(root: etree._Element, path: str, resolve: TextResolver | None, container: str | None) -> _Reader:
    doc_kind, namespace = document_kind(root, path)
    if container == "qdpx" and doc_kind != "qde":
        raise ProjectFileError(f"{path}: the archive holds a codebook, not a project; a .qdpx must hold a "
                               "<Project> document.", path)
    reader = _Reader(namespace, path, resolve)
    reader.doc_kind = doc_kind
    reader.container = container
    reader.pi = _own_instruction(root)
    return reader


def _own_instruction(root: etree._Element) -> dict[str, str] | None:
    """The pseudo-attributes of a ``<?refi-bridge ...?>`` processing instruction before the root, if any."""
    node = root.getprevious()
    while node is not None:
        if isinstance(node, etree._ProcessingInstruction) and node.target == PI_TARGET:
            return {key: unescape(value) for key, value in _PI_PAIR.findall(node.text or "")}
        node = node.getprevious()
    return None


class _Reader:
    """One pass over one document; collects warnings instead of printing them."""

    def __init__(self, namespace: str, path: str, resolve: TextResolver | None) -> None:
        self.ns = namespace
        self.path = path
        self.resolve = resolve
        self.warnings: list[str] = []
        self.unit = CODEPOINT
        self.unit_evidence: str | None = None
        self._texts: dict[str, tuple[str | None, bool, str | None]] = {}
        self.unresolved = 0
        self.unconverted = False
        self.saw_foreign = False
        # -- user GUIDs, dates and code GUIDs repeat on every coding: one string object each saves a fifth
        #    of the memory of a large project --
        self.share = {}.setdefault
        self.fixes: list[str] = []
        self.t = _Tags(namespace)
        self.doc_kind = "qde"
        self.container: str | None = None
        self.pi: dict | None = None

    # -- helpers ------------------------------------------------------------------------------------------

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def where(self, el: etree._Element) -> str:
        local = etree.QName(el).localname
        guid = el.get("guid")
        ident = f" guid={guid}" if guid else ""
        return f"{self.path}: line {el.sourceline}: <{local}{ident}>"

    def attributes(self, el: etree._Element, key: str) -> tuple[dict, Foreign | None]:
        """Read the attributes of ``el`` by the name table ``key``; unknown ones go to Foreign."""
        attrib = el.attrib
        values: dict = {}
        for xml, fld, kind, required in _TABLES[key]:
            raw = attrib.get(xml)
            if raw is None:
                if required:
                    self.missing(el, xml)
                continue
            if kind == "i":
                values[fld] = self.integer(el, xml, raw)
            elif kind == "b":
                values[fld] = self.boolean(el, xml, raw)
            else:
                values[fld] = raw
        foreign = None
        if len(attrib) > len(values):
            known = _KNOWN[key]
            extra = tuple((k, v) for k, v in attrib.items() if k not in known and k not in _ROOT_HINTS)
            if extra:
                foreign = Foreign(attributes=extra)
                self.saw_foreign = True
        return values, foreign

    def missing(self, el: etree._Element, attribute: str) -> None:
        if attribute == "name":
            return  # Code/Set/Variable names are required, but an empty name is better than no project
        raise ProjectStructureError(
            f"{self.where(el)} has no {attribute} attribute, which REFI-QDA requires. The file is damaged or "
            "was written by a non-conforming tool; export it again, or fix the element by hand.",
            self.path, el.sourceline, etree.QName(el).localname)

    def integer(self, el: etree._Element, attribute: str, raw: str) -> int:
        try:
            return int(raw)
        except ValueError:
            raise ProjectStructureError(
                f"{self.where(el)}: {attribute}={raw!r} is not a whole number. Fix the value or export the "
                "project again.", self.path, el.sourceline, etree.QName(el).localname) from None

    def boolean(self, el: etree._Element, attribute: str, raw: str) -> bool:
        value = raw.strip().lower()
        if value in ("true", "1"):
            return True
        if value in ("false", "0"):
            return False
        raise ProjectStructureError(
            f"{self.where(el)}: {attribute}={raw!r} is not true or false. Fix the value or export the project "
            "again.", self.path, el.sourceline, etree.QName(el).localname)

    def foreign_child(self, child: etree._Element, collected: list[str]) -> None:
        if not isinstance(child.tag, str):
            return  # processing instructions
        self.saw_foreign = True
        # -- exclusive canonical form: the same element reads the same wherever its namespaces were declared --
        collected.append(etree.tostring(child, method="c14n", exclusive=True, with_comments=False).decode("utf-8"))

    @staticmethod
    def merge_foreign(attrs: Foreign | None, elements: list[str]) -> Foreign | None:
        if not elements:
            return attrs
        return Foreign(attributes=attrs.attributes if attrs else (), elements=tuple(elements))

    def dropped(self, el: etree._Element, what: str) -> None:
        self.warn(f"{self.where(el)}: {what} cannot be carried and was dropped")

    # -- texts ----------------------------------------------------------------------------------------------

    def text_of(self, el: etree._Element) -> tuple[str | None, bool, str | None]:
        """The text of a TextSource-like element: (text, had BOM, normalised plainTextPath)."""
        t = self.t
        inline = el.find(t.PlainTextContent)
        path = el.get("plainTextPath")
        if inline is not None:
            if path is not None:
                self.warn(f"{self.where(el)} has both PlainTextContent and plainTextPath; the inline text "
                          "was kept and the path was dropped")
            return inline.text or "", False, None
        if path is None:
            return None, False, None
        return self.file_text(el, path)

    def file_text(self, el: etree._Element, path: str) -> tuple[str | None, bool, str | None]:
        scheme = _SCHEME.match(path)
        name = path[scheme.end():].lstrip("/") if scheme else path.lstrip("/")
        kind = scheme.group(1).lower() if scheme else None
        if kind in ("relative", "absolute"):
            self.warn(f"{self.where(el)}: its text is outside the archive ({path}) and was not read; its "
                      "selections keep their positions as written")
            return None, False, path
        if path in self._texts:
            return self._texts[path]
        if self.resolve is None:
            self.unresolved += 1
            self._texts[path] = (None, False, path)
            return self._texts[path]
        data = self.resolve(name)
        if data is None:
            self.warn(f"{self.where(el)}: plainTextPath {path!r} is not in the archive; the source has no "
                      "text")
            result: tuple[str | None, bool, str | None] = (None, False, path)
        else:
            decoded = decode_text(data, f"{self.path}: {path}")
            if decoded.warning:
                self.warn(decoded.warning)
            # -- a path without a scheme (qc) crashes QualCoder and empties NVivo 15 imports: fix it --
            if not scheme:
                self.fixes.append(f"plainTextPath {path!r} had no scheme; it is internal://{name}")
            result = (decoded.text, decoded.bom, path if scheme else f"internal://{name}")
        self._texts[path] = result
        return result

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
        attrs = tuple((k, v) for k, v in root.attrib.items() if k != "origin" and k not in _ROOT_HINTS)
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

    def items(self, container: etree._Element, tag: str) -> Iterable[etree._Element]:
        """The children of a list container with the expected tag; anything else there is reported."""
        for el in container:
            if el.tag == tag:
                yield el
            elif isinstance(el.tag, str):
                self.dropped(el, f"<{etree.QName(el).localname}> inside <{etree.QName(container).localname}>")

    def is_source(self, el: etree._Element) -> bool:
        if el.tag in self.t.source_tags:
            return True
        self.dropped(el, f"<{etree.QName(el).localname}> inside <Sources>")
        return False

    def ref(self, el: etree._Element, attribute: str = "targetGUID") -> str:
        value = el.get(attribute)
        if value is None:
            self.missing(el, attribute)
        if len(el.attrib) > 1:
            self.dropped(el, "attributes other than " + attribute)
        return value  # type: ignore[return-value]

    # -- element readers ----------------------------------------------------------------------------------

    def user(self, el: etree._Element) -> User:
        values, foreign = self.attributes(el, "User")
        extra: list[str] = []
        for child in el:
            self.foreign_child(child, extra)
        return User(**values, foreign=self.merge_foreign(foreign, extra))

    def code(self, el: etree._Element) -> Code:
        t = self.t
        values, foreign = self.attributes(el, "Code")
        values.setdefault("name", "")
        description = None
        note_refs: list[str] = []
        children: list[Code] = []
        extra: list[str] = []
        for child in el:
            tag = child.tag
            if tag == t.Code:
                children.append(self.code(child))
            elif tag == t.Description:
                description = child.text or ""
            elif tag == t.NoteRef:
                note_refs.append(self.ref(child))
            else:
                self.foreign_child(child, extra)
        return Code(**values, description=description, note_refs=tuple(note_refs), codes=tuple(children),
                    foreign=self.merge_foreign(foreign, extra))

    def set(self, el: etree._Element, codebook: bool = False) -> Set:
        t = self.t
        values, foreign = self.attributes(el, "Set")
        values.setdefault("name", "")
        description = None
        members: dict[str, list[str]] = {"codes": [], "sources": [], "notes": []}
        extra: list[str] = []
        for child in el:
            tag = child.tag
            if tag == t.MemberCode:
                # -- the codebook schema names the attribute "guid", the project schema "targetGUID" --
                attribute = "guid" if codebook or child.get("targetGUID") is None else "targetGUID"
                members["codes"].append(self.ref(child, attribute))
            elif tag == t.MemberSource:
                members["sources"].append(self.ref(child))
            elif tag == t.MemberNote:
                members["notes"].append(self.ref(child))
            elif tag == t.Description:
                description = child.text or ""
            else:
                self.foreign_child(child, extra)
        return Set(**values, description=description, member_codes=tuple(members["codes"]),
                   member_sources=tuple(members["sources"]), member_notes=tuple(members["notes"]),
                   foreign=self.merge_foreign(foreign, extra))

    def variable(self, el: etree._Element) -> Variable:
        values, foreign = self.attributes(el, "Variable")
        values.setdefault("name", "")
        description = None
        extra: list[str] = []
        for child in el:
            if child.tag == self.t.Description:
                description = child.text or ""
            else:
                self.foreign_child(child, extra)
        return Variable(**values, description=description, foreign=self.merge_foreign(foreign, extra))

    def variable_value(self, el: etree._Element) -> VariableValue:
        t = self.t
        variable = None
        kind = value = None
        for child in el:
            tag = child.tag
            if tag == t.VariableRef:
                variable = self.ref(child)
            elif tag in t.value_tags:
                kind = t.value_tags[tag]
                value = child.text or ""
            elif isinstance(tag, str):
                self.dropped(child, f"<{etree.QName(child).localname}> inside <VariableValue>")
        if variable is None:
            self.missing(el, "VariableRef")
        return VariableValue(variable_guid=variable, type=kind, value=value)  # type: ignore[arg-type]

    def case(self, el: etree._Element) -> Case:
        t = self.t
        values, foreign = self.attributes(el, "Case")
        description = None
        lists: dict[str, list] = {"code_refs": [], "variable_values": [], "source_refs": [], "selection_refs": []}
        extra: list[str] = []
        for child in el:
            tag = child.tag
            if tag == t.CodeRef:
                lists["code_refs"].append(self.ref(child))
            elif tag == t.VariableValue:
                lists["variable_values"].append(self.variable_value(child))
            elif tag == t.SourceRef:
                lists["source_refs"].append(self.ref(child))
            elif tag == t.SelectionRef:
                lists["selection_refs"].append(self.ref(child))
            elif tag == t.Description:
                description = child.text or ""
            else:
                self.foreign_child(child, extra)
        return Case(**values, description=description, **{k: tuple(v) for k, v in lists.items()},
                    foreign=self.merge_foreign(foreign, extra))

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
        if not _KNOWN["Coding"].issuperset(attrib.keys()):
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
        if guid is None or start is None or end is None or not _KNOWN["PlainTextSelection"].issuperset(attrib.keys()):
            return self.plain_text_selection_in_full(el)
        try:
            start, end = int(start), int(end)
        except ValueError:
            return self.plain_text_selection_in_full(el)
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
        extra: list[str] = []
        parts = self.selection_parts(el, extra)
        return PlainTextSelection(**values, **parts, foreign=self.merge_foreign(foreign, extra))

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

    def link(self, el: etree._Element) -> Link:
        values, foreign = self.attributes(el, "Link")
        note_refs: list[str] = []
        extra: list[str] = []
        for child in el:
            if child.tag == self.t.NoteRef:
                note_refs.append(self.ref(child))
            else:
                self.foreign_child(child, extra)
        return Link(**values, note_refs=tuple(note_refs), foreign=self.merge_foreign(foreign, extra))

    def graph(self, el: etree._Element) -> Graph:
        t = self.t
        values, foreign = self.attributes(el, "Graph")
        vertices: list[Vertex] = []
        edges: list[Edge] = []
        extra: list[str] = []
        for child in el:
            if child.tag == t.Vertex:
                vertices.append(Vertex(**self.plain(child, "Vertex")))
            elif child.tag == t.Edge:
                edges.append(Edge(**self.plain(child, "Edge")))
            else:
                self.foreign_child(child, extra)
        return Graph(**values, vertices=tuple(vertices), edges=tuple(edges),
                     foreign=self.merge_foreign(foreign, extra))

    def plain(self, el: etree._Element, key: str) -> dict:
        """Attributes of an element without children of its own (Vertex, Edge)."""
        values, foreign = self.attributes(el, key)
        extra: list[str] = []
        for child in el:
            self.foreign_child(child, extra)
        values["foreign"] = self.merge_foreign(foreign, extra)
        return values


class _Tags:
    """Clark-notation tag names in the document's namespace, computed once per document."""

    _NAMES = ("Users", "User", "CodeBook", "Codes", "Code", "Variables", "Variable", "Cases", "Case", "Sources",
              "TextSource", "PictureSource", "PDFSource", "AudioSource", "VideoSource", "Notes", "Note", "Links",
              "Link", "Sets", "Set", "Graphs", "Graph", "Vertex", "Edge", "Description", "NoteRef", "CodeRef",
              "SourceRef", "SelectionRef", "VariableRef", "VariableValue", "PlainTextContent",
              "PlainTextSelection", "PictureSelection", "PDFSelection", "AudioSelection", "VideoSelection",
              "TranscriptSelection", "Transcript", "SyncPoint", "Coding", "Representation", "TextDescription",
              "MemberCode", "MemberSource", "MemberNote")

    def __init__(self, namespace: str) -> None:
        prefix = f"{{{namespace}}}" if namespace else ""
        for name in self._NAMES:
            setattr(self, name, prefix + name)
        self.source_tags = {prefix + "TextSource": TextSource, prefix + "PictureSource": PictureSource,
                            prefix + "PDFSource": PDFSource, prefix + "AudioSource": AudioSource,
                            prefix + "VideoSource": VideoSource}
        self.value_tags = {prefix + name: name[: -len("Value")] for name in VALUE_ELEMENTS}


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
        for xml, fld, kind, _ in _TABLES[key]:
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
        scheme = _SCHEME.match(path)
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


def map_fragment_text(fragment: str, change: Callable[[str], str]) -> str:
    """A vendor element as :attr:`Foreign.elements` keeps it, with ``change`` applied to every text, tail and
    attribute value inside it (element and attribute names, and namespaces, are left as they are).

    Returned in the same exclusive canonical form the reader keeps, so that an unchanged fragment compares
    equal to the original.
    """
    root = etree.fromstring(fragment.encode("utf-8"), PARSER)
    for el in root.iter():
        if el.text:
            el.text = change(el.text)
        if el is not root and el.tail:
            el.tail = change(el.tail)
        if isinstance(el.tag, str):
            for name, value in el.attrib.items():
                el.set(name, change(value))
    return etree.tostring(root, method="c14n", exclusive=True, with_comments=False).decode("utf-8")


def internal_name(path: str | None) -> str | None:
    """The file name an ``internal://`` path (or a path without scheme) names inside ``sources/``."""
    if not path:
        return None
    scheme = _SCHEME.match(path)
    if scheme and scheme.group(1).lower() != "internal":
        return None
    return path[scheme.end():].lstrip("/") if scheme else path.lstrip("/")

