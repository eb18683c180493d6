"""Reading the codebook's elements: users, codes and sets."""

from __future__ import annotations

from lxml import etree

from refi_bridge.errors import ProjectStructureError
from refi_bridge.formats.qde.element_reader import ElementReader
from refi_bridge.model import Code, Set, User

MAX_CODE_DEPTH = 100


class CodebookElements(ElementReader):
    """Reading the codebook's elements: users, codes and sets."""

    def user(self, el: etree._Element) -> User:
        values, foreign = self.attributes(el, "User")
        extra: list[str] = []
        for child in el:
            self.foreign_child(child, extra)
        return User(**values, foreign=self.merge_foreign(foreign, extra))

    def code(self, el: etree._Element, depth: int = 1) -> Code:
        t = self.t
        if depth > MAX_CODE_DEPTH:
            # -- no codebook is that deep, and every walk of the tree (here and in the tools) recurses --
            raise ProjectStructureError(
                f"{self.where(el)}: the code tree is more than {MAX_CODE_DEPTH} levels deep; no real codebook is. "
                "The file is damaged or hostile; export the project again.", self.path, el.sourceline, "Code")
        values, foreign = self.attributes(el, "Code")
        values.setdefault("name", "")
        description = None
        note_refs: list[str] = []
        children: list[Code] = []
        extra: list[str] = []
        for child in el:
            tag = child.tag
            if tag == t.Code:
                children.append(self.code(child, depth + 1))
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
