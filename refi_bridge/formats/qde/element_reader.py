"""The reader's common ground: attributes by name table, typed values, vendor extensions, texts."""

from __future__ import annotations

from collections.abc import Iterable

from lxml import etree

from refi_bridge.errors import ProjectStructureError
from refi_bridge.formats.encoding import DecodedText, decode_text
from refi_bridge.formats.positions import CODEPOINT
from refi_bridge.formats.qde.fragments import canonical
from refi_bridge.formats.qde.names import KNOWN, ROOT_HINTS, SCHEME, TABLES, Tags, TextResolver
from refi_bridge.model import Foreign


class ElementReader:
    """What every element reader needs: the name tables, typed attributes, foreign content, texts.

    One instance reads one document and collects warnings instead of printing them.
    """

    def __init__(self, namespace: str, path: str, resolve: TextResolver | None) -> None:
        self.ns = namespace
        self.path = path
        self.resolve = resolve
        self.warnings: list[str] = []
        self.unit = CODEPOINT
        self.unit_evidence: str | None = None
        self._texts: dict[str, tuple[str | None, bool, str | None]] = {}
        self._decoded: dict[str, DecodedText] = {}  # archive file -> its text, however paths spell it
        self.unresolved = 0
        self.unconverted = False
        self.saw_foreign = False
        # -- user GUIDs, dates and code GUIDs repeat on every coding: one string object each saves a fifth
        #    of the memory of a large project --
        self.share = {}.setdefault
        self.fixes: list[str] = []
        self.t = Tags(namespace)
        self.doc_kind = "qde"
        self.container: str | None = None
        self.pi: dict | None = None
        self.check_spans = True  # validation lists impossible spans itself instead of stopping at the first

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
        for xml, fld, kind, required in TABLES[key]:
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
            known = KNOWN[key]
            extra = tuple((k, v) for k, v in attrib.items() if k not in known and k not in ROOT_HINTS)
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
        collected.append(canonical(child))

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
            if len(inline):
                # -- the parser splits the text at a processing instruction or element: .text is only the part
                #    before it, and no reading of the rest is more right than another --
                what = "a processing instruction" if isinstance(inline[0], etree._ProcessingInstruction) else \
                    f"an element <{etree.QName(inline[0]).localname}>"
                raise ProjectStructureError(
                    f"{self.path}: line {inline.sourceline}: <PlainTextContent> of {self.where(el).split(': ', 1)[1]} "
                    f"holds {what} inside its text; REFI-QDA texts are plain text. Remove it, or export the project "
                    "again.", self.path, inline.sourceline, "PlainTextContent")
            if path is not None:
                self.warn(f"{self.where(el)} has both PlainTextContent and plainTextPath; the inline text "
                          "was kept and the path was dropped")
            return inline.text or "", False, None
        if path is None:
            return None, False, None
        return self.file_text(el, path)

    def file_text(self, el: etree._Element, path: str) -> tuple[str | None, bool, str | None]:
        scheme = SCHEME.match(path)
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
        found = self.resolve(name)
        if found is None:
            self.warn(f"{self.where(el)}: plainTextPath {path!r} is not in the archive; the source has no "
                      "text")
            result: tuple[str | None, bool, str | None] = (None, False, path)
        else:
            spelled, data = found
            decoded = self._decoded.get(spelled)
            if decoded is None:
                decoded = self._decoded[spelled] = decode_text(data, f"{self.path}: {path}")
                if decoded.warning:
                    self.warn(decoded.warning)
            canonical = path
            if not scheme:
                # -- a path without a scheme (qc) crashes QualCoder and empties NVivo 15 imports: fix it --
                canonical = f"internal://{spelled}"
                self.fixes.append(f"plainTextPath {path!r} had no scheme; it is {canonical}")
            elif spelled != name:
                # -- one file, one name: other spellings would be written as copies of it --
                canonical = f"internal://{spelled}"
                self.fixes.append(f"plainTextPath {path!r} names the archive's file {spelled!r}; it is {canonical}")
            result = (decoded.text, decoded.bom, canonical)
        self._texts[path] = result
        return result

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
