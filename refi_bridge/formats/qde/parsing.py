"""Bytes to a safe XML tree: DOCTYPEs refused before any parser sees them, syntax errors made readable."""

from __future__ import annotations

import codecs
import re
from html import unescape

from lxml import etree

from refi_bridge.errors import ProjectFileError, UnsafeFileError
from refi_bridge.formats.qde.names import NS_PREFIX, PARSER, PI_PAIR, PI_TARGET

# -- byte-order marks, longest first: a UTF-32 LE mark begins like a UTF-16 LE one --
_BOMS = ((codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF8, "utf-8"),
         (codecs.BOM_UTF16_BE, "utf-16-be"), (codecs.BOM_UTF16_LE, "utf-16-le"))
# -- without a mark, the bytes of the first "<" tell the family of the encoding (XML 1.0, appendix F); the
#    two unusual UTF-32 byte orders have no codec, so they are refused rather than passed on to the parser --
_SIGNATURES = ((b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"), (b"\x00\x00<\x00", None),
               (b"\x00<\x00\x00", None), (b"\x00<", "utf-16-be"), (b"<\x00", "utf-16-le"),
               (b"\x4c\x6f\xa7\x94", "cp037"))
_DECLARED = re.compile(rb"<\?xml\s[^>]*?encoding\s*=\s*[\"']([^\"']{1,40})[\"']")
_DECLARATION = re.compile(r"^(\ufeff?<\?xml\s[^>]*?encoding\s*=\s*[\"'])([^\"']{1,40})([\"'])")
_SPACE = re.compile(rb"[ \t\r\n]*")


def _encoding(data: bytes) -> tuple[str | None, int]:
    """The codec a document's first bytes call for (``"utf-8"`` for every ASCII-like one) and its BOM's length.

    None means an encoding nothing here can decode.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return codec, len(bom)
    for signature, codec in _SIGNATURES:
        if data.startswith(signature):
            return codec, 0
    return "utf-8", 0


def looks_like_xml(data: bytes) -> bool:
    """True when a file's bytes begin as an XML document does, in any encoding."""
    codec, bom = _encoding(data[:4])
    if codec != "utf-8":
        return True
    return data[bom:bom + 4096].lstrip(b" \t\r\n").startswith(b"<")


def utf8_document(data: bytes, path: str) -> bytes:
    """The document as UTF-8 without BOM, whatever encoding it came in: what the parser gets is what was checked.

    REFI-QDA is UTF-8; a document in another encoding (UTF-16 or UTF-32 with or without a mark, EBCDIC, an
    8-bit one its declaration names) is decoded here and its declaration made to say UTF-8, so that no
    check has to understand encodings the parser would decode behind its back.
    """
    codec, bom = _encoding(data[:4])
    if codec is None:
        raise ProjectFileError(f"{path}: in a UTF-32 byte order nothing can read; REFI-QDA files are UTF-8. "
                               "Export the project again.", path)
    if codec == "utf-8":
        declared = _DECLARED.match(data, bom, bom + 4096)
        name = declared.group(1).decode("ascii", "replace") if declared else "utf-8"
        family = _codec_name(name, path)
        # -- a UTF-16 or UTF-32 label on single bytes is a mislabel the parser also ignores --
        if family in ("utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"):
            return data[bom:] if bom else data
        codec = family
    elif codec == "cp037":
        declared = _DECLARED.match(data[:4096].decode("cp037").encode("ascii", "replace"))
        codec = _codec_name(declared.group(1).decode("ascii") if declared else "cp037", path)
    try:
        text = data[bom:].decode(codec)
    except UnicodeDecodeError as error:
        raise ProjectFileError(f"{path}: not readable as {codec} (byte {error.start + bom}); REFI-QDA files are "
                               "UTF-8. Export the project again.", path) from None
    return _DECLARATION.sub(r"\g<1>utf-8\g<3>", text, count=1).encode("utf-8")


def _codec_name(name: str, path: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise ProjectFileError(f"{path}: declares the encoding {name!r}, which cannot be read; REFI-QDA files are "
                               "UTF-8. Export the project again.", path) from None


def refuse_doctype(data: bytes, path: str) -> bytes:
    """Return the document as UTF-8 without BOM (see :func:`utf8_document`); refuse it if its prolog declares
    a DOCTYPE.

    REFI-QDA documents never have one, and a DTD is how entity-expansion and external-entity attacks are
    made; refusing it before parsing means no parser setting has to be trusted to defuse them. Blanks are
    skipped by a regular expression, so a prolog of gigabytes of them costs what reading it costs.
    """
    data = utf8_document(data, path)
    position = 0
    length = len(data)
    while position < length:
        position = _SPACE.match(data, position).end()
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


def one_line(message: object) -> str:
    """A parser's message on one line (libxml2 ends some with a newline, or spreads them over two)."""
    return " ".join(str(message).split())


def syntax_error(error: etree.XMLSyntaxError, path: str) -> ProjectFileError:
    line = getattr(error, "lineno", None)
    return ProjectFileError(f"{path}: line {line}: not well-formed XML: {one_line(error.msg)}. The file is "
                            "damaged or not a REFI-QDA document; export it again from the QDA tool.", path)


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
