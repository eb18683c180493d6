"""Bytes to a safe XML tree: DOCTYPEs refused before any parser sees them, syntax errors made readable."""

from __future__ import annotations

from html import unescape

from lxml import etree

from refi_bridge.errors import ProjectFileError, UnsafeFileError
from refi_bridge.formats.qde.names import NS_PREFIX, PARSER, PI_PAIR, PI_TARGET


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


def syntax_error(error: etree.XMLSyntaxError, path: str) -> ProjectFileError:
    line = getattr(error, "lineno", None)
    return ProjectFileError(f"{path}: line {line}: not well-formed XML: {error.msg}. The file is damaged or "
                            "not a REFI-QDA document; export it again from the QDA tool.", path)


def parse_xml(data: bytes, path: str) -> etree._Element:
    """Parse REFI-QDA XML safely into a tree and return its root (validation needs the whole tree)."""
    data = refuse_doctype(data, path)
    try:
        return etree.fromstring(data, PARSER)
    except etree.XMLSyntaxError as error:
        raise syntax_error(error, path) from None


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


def own_instruction(root: etree._Element) -> dict[str, str] | None:
    """The pseudo-attributes of a ``<?refi-bridge ...?>`` processing instruction before the root, if any."""
    node = root.getprevious()
    while node is not None:
        if isinstance(node, etree._ProcessingInstruction) and node.target == PI_TARGET:
            return {key: unescape(value) for key, value in PI_PAIR.findall(node.text or "")}
        node = node.getprevious()
    return None
