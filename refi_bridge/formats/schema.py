"""XSD validation against refi_bridge's own REFI-QDA schemas (``schemas/project.xsd``, ``schemas/codebook.xsd``).

The schemas ship inside the wheel as ``refi_bridge/schemas``; in a source checkout they are read from the
top-level ``schemas/`` folder.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from lxml import etree

from refi_bridge.errors import ProjectFileError

SCHEMA_FILES = {"Project": "project.xsd", "CodeBook": "codebook.xsd"}


def schema_directory() -> Path:
    """Where the XSDs are: package data in an installed wheel, else the checkout's ``schemas/``."""
    packaged = resources.files("refi_bridge") / "schemas"
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[2] / "schemas"
    if checkout.is_dir():
        return checkout
    raise ProjectFileError("refi_bridge's XSD schemas are missing from the installation; reinstall the package.")


@cache
def load_schema(root_name: str) -> etree.XMLSchema:
    """The compiled XSD for a document whose root element is ``Project`` or ``CodeBook``."""
    path = schema_directory() / SCHEMA_FILES[root_name]
    # -- our own file, but parsed with the same no-network, no-entity settings as everything else --
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(path), parser))


def schema_errors(root: etree._Element) -> list[tuple[int | None, str, str | None]]:
    """Validate a parsed document; return ``(line, message, element path)`` for every violation."""
    local = etree.QName(root).localname
    schema = load_schema(local)
    if schema.validate(root.getroottree()):
        return []
    return [(entry.line, entry.message, getattr(entry, "path", None)) for entry in schema.error_log]
