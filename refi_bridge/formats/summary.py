"""What ``refi-bridge inspect`` reports: counts of everything in a project, and who coded how much."""

from __future__ import annotations

from collections import Counter

from refi_bridge.formats.positions import UNIT_LABELS
from refi_bridge.model import PlainTextSelection, Project


def summarize(project: Project) -> dict:
    """A JSON-ready summary: origin, position unit, counts (integers), coders with their coding counts."""
    info = project.read_info
    kinds = Counter(type(source).__name__ for source in project.sources)
    selections = sum(1 for _ in project.iter_selections())
    text_selections = sum(1 for _, s, _ in project.iter_selections() if isinstance(s, PlainTextSelection))
    whole = sum(len(source.codings) for source in project.sources)
    return {
        "file": info.path if info else None,
        "kind": info.kind if info else None,
        "name": project.name,
        "origin": project.origin,
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
