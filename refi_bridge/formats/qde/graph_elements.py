"""Reading links and graphs (vertices and edges)."""

from __future__ import annotations

from lxml import etree

from refi_bridge.formats.qde.element_reader import ElementReader
from refi_bridge.model import Edge, Graph, Link, Vertex


class GraphElements(ElementReader):
    """Reading links and graphs (vertices and edges)."""

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
