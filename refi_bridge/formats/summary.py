"""What ``refi-bridge inspect`` reports: counts of everything in a project, and who coded how much."""

from __future__ import annotations

import re
from collections import Counter

from refi_bridge.formats.positions import UNIT_LABELS
from refi_bridge.model import PlainTextSelection, Project


def summarize(project: Project) -> dict:
    """A JSON-ready summary: origin and the tool it names, position unit, counts (integers), coders with
    their coding counts."""
    info = project.read_info
    kinds = Counter(type(source).__name__ for source in project.sources)
    selections = sum(1 for _ in project.iter_selections())
    text_selections = sum(1 for _, s, _ in project.iter_selections() if isinstance(s, PlainTextSelection))
    whole = sum(len(source.codings) for source in project.sources)
    tool, version = producer(project.origin)
    return {
        "file": info.path if info else None,
        "kind": info.kind if info else None,
        "name": project.name,
        "origin": project.origin,
        "tool": tool,
        "tool_version": version,
        "position_unit": info.position_unit if info else None,
        "position_unit_label": UNIT_LABELS.get(info.position_unit) if info and info.position_unit else None,
        "position_evidence": info.position_evidence if info else None,
        "users": len(project.users),
        "codes": sum(1 for _ in project.iter_codes()),
        "sources": len(project.sources),
        "sources_by_kind": dict(sorted(kinds.items())),
        "selections": selections,
        "text_selections": text_selections,
        "codings": sum(1 for _ in project.iter_codings()),
        "whole_source_codings": whole,
        "cases": len(project.cases),
        "variables": len(project.variables),
        "notes": len(project.notes),
        "sets": len(project.sets),
        "links": len(project.links),
        "graphs": len(project.graphs),
        "files": len(project.files),
        "coders": project.coders(),
        "fixes": list(info.fixes) if info else [],
        "warnings": list(info.warnings) if info else [],
    }


# -- how tools name themselves in ``origin`` (see docs/dialects.md): a pattern, and the name we report --
_TOOLS = (
    (r"\bnvivo\b", "NVivo"),
    (r"\batlas\.?ti\b", "ATLAS.ti"),
    (r"\bmaxqda\b", "MAXQDA"),
    (r"\bqualcoder\b|^qc\b", "QualCoder"),
    (r"\btaguette\b", "Taguette"),
    (r"\bquirkos\b", "Quirkos"),
    (r"\btransana\b", "Transana"),
    (r"\bf4analyse\b", "f4analyse"),
    (r"\brefi_bridge\b", "refi_bridge"),
)
_VERSION = re.compile(r"\d+(?:\.\d+)+|\d+")


def producer(origin: str | None) -> tuple[str | None, str | None]:
    """The tool and its version from an ``origin`` attribute: ``("NVivo", "12.7.0")`` for "NVivo for Mac
    12.7.0", ``("MAXQDA", "24.7.0")`` for "MAXQDA 24 (Release 24.7.0)".

    Known tools get one spelling whatever their files say ("qc 1.3.2" is QualCoder); an unknown tool is its
    origin without the version. The version prefers a dotted number (a release) to a bare one (a year).
    """
    text = " ".join((origin or "").split())
    if not text:
        return None, None
    numbers = _VERSION.findall(text)
    dotted = [n for n in numbers if "." in n]
    version = (dotted or numbers or [None])[0]
    lowered = text.lower()
    for pattern, name in _TOOLS:
        if re.search(pattern, lowered):
            return name, version
    name = _VERSION.sub("", text).strip(" ,;:-()[]")
    return " ".join(name.split()) or text, version
