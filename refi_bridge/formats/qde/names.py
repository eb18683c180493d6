"""REFI-QDA's names: namespaces, the element and attribute tables, and the library's one XML parser.

Each table row is XML attribute, model field, kind (s string, i integer, b boolean); a "!" after the XML
name marks an attribute the schema requires.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lxml import etree

from refi_bridge.model import AudioSource, PDFSource, PictureSource, TextSource, VideoSource

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

# -- a file of the archive's sources folder by the name a path gives: (the name as the archive spells it, its
#    bytes), or None when the archive has no such file --
TextResolver = Callable[[str], "tuple[str, bytes] | None"]

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
TABLES = {key: tuple((xml.rstrip("!"), fld, kind, xml.endswith("!")) for xml, fld, kind in table)
           for key, table in ATTRIBUTES.items()}
KNOWN = {key: frozenset(xml for xml, _, _, _ in table) for key, table in TABLES.items()}
ROOT_HINTS = frozenset({f"{{{XSI}}}schemaLocation", f"{{{XSI}}}noNamespaceSchemaLocation"})

VALUE_ELEMENTS = ("TextValue", "BooleanValue", "IntegerValue", "FloatValue", "DateValue", "DateTimeValue")
SCHEME = re.compile(r"^(internal|relative|absolute)://", re.IGNORECASE)
PI_PAIR = re.compile(r'([\w-]+)="([^"]*)"')


class Tags:
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
