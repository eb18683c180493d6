"""The XML of REFI-QDA documents (``project.qde``, ``.qde``, ``.qdc``) to the model and back.

One configured parser for the whole library; reading matches elements by local name in whatever
``urn:QDA-XML:*`` namespace the document uses, converts text positions from the file's unit (decided by
:func:`refi_bridge.positions.decide_unit`) into code points, and keeps what it does not know in ``foreign``.
Writing emits the standard namespace, children in schema order, and the positions of the chosen dialect.
Files are not this module's business: the container hands it bytes and a way to fetch a source's text.
"""

from refi_bridge.formats.qde.fragments import map_fragment_text
from refi_bridge.formats.qde.names import NS_CODEBOOK, NS_PREFIX, NS_PROJECT, PARSER, PI_TARGET, TextResolver
from refi_bridge.formats.qde.parsing import document_kind, looks_like_xml, one_line, parse_xml, refuse_doctype
from refi_bridge.formats.qde.reader import read_document, read_root
from refi_bridge.formats.qde.writer import Written, internal_name, write_codebook, write_project

__all__ = ["NS_CODEBOOK", "NS_PREFIX", "NS_PROJECT", "PARSER", "PI_TARGET", "TextResolver", "document_kind",
           "looks_like_xml", "one_line", "parse_xml", "refuse_doctype", "read_document", "read_root", "Written",
           "internal_name", "write_codebook", "write_project", "map_fragment_text"]
