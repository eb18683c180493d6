"""Vendor elements as :attr:`~refi_bridge.model.Foreign.elements` keeps them: XML fragments in one canonical
form, and a way to rewrite the text inside one without touching its markup."""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from refi_bridge.formats.qde.names import PARSER


def canonical(element: etree._Element) -> str:
    """An element as a fragment in exclusive canonical form: the same element reads the same wherever its
    namespaces were declared."""
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False).decode("utf-8")


def map_fragment_text(fragment: str, change: Callable[[str], str]) -> str:
    """A fragment with ``change`` applied to every text, tail and attribute value inside it (element and
    attribute names, and namespaces, are left as they are); an unchanged fragment comes back equal."""
    root = etree.fromstring(fragment.encode("utf-8"), PARSER)
    for el in root.iter():
        if el.text:
            el.text = change(el.text)
        if el is not root and el.tail:
            el.tail = change(el.tail)
        if isinstance(el.tag, str):
            for name, value in el.attrib.items():
                el.set(name, change(value))
    return canonical(root)
