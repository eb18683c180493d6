"""Reading cases, variables and their values."""

from __future__ import annotations

from lxml import etree

from refi_bridge.formats.qde.element_reader import ElementReader
from refi_bridge.model import Case, Variable, VariableValue


class CaseElements(ElementReader):
    """Reading cases, variables and their values."""

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
