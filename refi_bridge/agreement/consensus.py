"""The consensus layer: what the team agreed, as codings of its own coder, ``consensus``.

The passages every coder marked identically go in as they are. For each listed disagreement the team
writes a resolution in the disagreements sheet:

=======================  ===============================================================
resolution               consensus coding
=======================  ===============================================================
a coder's name           that coder's span(s) of the passage
``union`` / ``all``      everything any coder marked
``intersection``         only what every coder who marked it marked
``none`` / ``reject``    no coding
``120-245; 300-310``     these spans (code points of the source's text)
(empty)                  unresolved: no coding, and reported
=======================  ===============================================================
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from refi_bridge.agreement.disagreements import agreed, disagreements
from refi_bridge.agreement.spans import CONSENSUS, collect, unite_spans
from refi_bridge.errors import AgreementError
from refi_bridge.model import (
    Coding,
    PDFSource,
    PlainTextSelection,
    Project,
    TextSource,
    User,
    coder_of_coding,
    derived_guid,
    guid_key,
    name_key,
)

# -- only the documented words: "both" reads as union to some teams and as intersection to others, so a
#    word that could mean either is refused with its row, never guessed --
REJECT = {"none"}
UNION = {"union"}
INTERSECTION = {"intersection"}
_SPANS = re.compile(r"^\s*\d+\s*-\s*\d+\s*(;\s*\d+\s*-\s*\d+\s*)*$")


@dataclass
class ConsensusResult:
    """The project with its consensus layer, and what went into it."""

    project: Project
    agreed: int = 0
    resolved: int = 0
    rejected: int = 0
    unresolved: list[str] = field(default_factory=list)


def _derived(*parts: object) -> str:
    return derived_guid("refi-bridge-consensus", *map(str, parts))


def _spans(text: object) -> list[tuple[int, int]]:
    if not isinstance(text, str) or not _SPANS.match(text):
        return []
    out = []
    for part in text.split(";"):
        start, end = (int(x) for x in part.split("-"))
        out.append((start, end))
    return out


def build(project: Project, rows: Iterable[Mapping[str, object]], coders: list[str] | None = None) -> ConsensusResult:
    """Add (or replace) the consensus layer of ``project`` from the filled-in disagreement ``rows``.

    Rows are matched to the project's disagreements by source, code and passage (start and end); the
    coders' spans are taken from the project, not from the sheet, so edited or hidden columns change
    nothing. A disagreement without a row is unresolved; a row that is no disagreement of the project, two
    rows for one passage, or a resolution that names nothing known is an error pointing at the row.

    ``coders`` are those the sheet compared; by default agreement's default coders, plus any coder the sheet
    has a ``<coder>: span`` column for (an agreement run with ``--coders`` may have compared coders the
    default leaves out, such as the master's own).
    """
    rows = list(rows)
    data = collect(project, coders)
    if coders is None:
        known = {name_key(c) for c in data.coders}
        named = dict.fromkeys(key[: -len(": span")] for row in rows[:1] for key in row
                              if isinstance(key, str) and key.endswith(": span"))
        extra = [c for c in named if name_key(c) not in known and name_key(c) in data.left_out_keys]
        if extra:
            data = collect(project, [*data.coders, *extra])
    result = ConsensusResult(project)
    wanted: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for d, code, span in agreed(data):
        wanted.setdefault((guid_key(data.documents[d].guid), code), []).append(span)
        result.agreed += 1
    expected = {}
    for row in disagreements(data).to_dict(orient="records"):
        expected[(guid_key(row["source_guid"]), guid_key(row["code_guid"]), int(row["start"]), int(row["end"]))] = row
    lengths = {guid_key(d.guid): d.length for d in data.documents}
    by_name = {name_key(c): c for c in data.coders}
    problems: list[str] = []
    answered: dict[tuple, int] = {}
    for number, row in enumerate(rows, start=1):
        where = f"row {row.get('_row', number)}"
        try:
            key = (guid_key(str(row.get("source_guid", ""))), guid_key(str(row.get("code_guid", ""))),
                   int(row.get("start")), int(row.get("end")))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            problems.append(f"{where}: its source_guid, code_guid, start and end cells must be kept as written")
            continue
        passage = expected.get(key)
        if passage is None:
            problems.append(f"{where}: not a disagreement of this project (a sheet from another project, or "
                            "its source, code, start or end cells were edited)")
            continue
        if key in answered:
            problems.append(f"{where}: the same passage as row {answered[key]}; keep one of them")
            continue
        answered[key] = row.get("_row", number)  # type: ignore[assignment]
        resolution = row.get("resolution")
        if resolution is None or (isinstance(resolution, float) and math.isnan(resolution)) or not str(resolution).strip():
            result.unresolved.append(f"{passage['source']} {passage['start']}-{passage['end']} {passage['code']}")
            continue
        value = str(resolution).strip()
        choice = value.casefold()
        coded = {c: _spans(passage.get(f"{c}: span")) for c in data.coders}
        source, code = key[0], key[1]
        if choice in REJECT:
            spans: list[tuple[int, int]] = []
            result.rejected += 1
        elif choice in UNION:
            spans = unite_spans(s for c in coded.values() for s in c)[0]
        elif choice in INTERSECTION:
            marked = [v for v in coded.values() if v]
            spans = marked[0] if marked else []
            for other in marked[1:]:
                spans = _intersect(spans, other)
        elif name_key(value) in by_name:
            spans = coded[by_name[name_key(value)]]
        elif _SPANS.match(value):
            spans = _spans(value)
            if any(s >= e or e > lengths[source] for s, e in spans):
                problems.append(f"{where}: span {value} is empty or beyond the text ({lengths[source]} characters)")
                continue
        else:
            problems.append(f"{where}: resolution {value!r} is not a coder ({', '.join(data.coders)}), union "
                            "(everything any coder marked), intersection (what all marked), none, or spans like "
                            "120-245")
            continue
        if choice not in REJECT:
            result.resolved += 1
        wanted.setdefault((source, code), []).extend(spans)
    for key, passage in expected.items():
        if key not in answered:
            result.unresolved.append(f"{passage['source']} {passage['start']}-{passage['end']} {passage['code']} "
                                     "(not in the sheet)")
    if problems:
        raise AgreementError("the resolutions cannot be used: " + "; ".join(problems[:10])
                             + (f"; and {len(problems) - 10} more" if len(problems) > 10 else ""))
    result.project = _with_layer(project, wanted, data.codes)
    return result


def _intersect(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for s1, e1 in a:
        for s2, e2 in b:
            start, end = max(s1, s2), min(e1, e2)
            if start < end:
                out.append((start, end))
    return out


def _with_layer(project: Project, wanted: dict, codes: Mapping) -> Project:
    users = [u for u in project.users]
    consensus = next((u for u in users if name_key(u.name) == CONSENSUS), None)
    if consensus is None:
        consensus = User(guid=_derived("user"), name=CONSENSUS)
        users.append(consensus)
    mine = guid_key(consensus.guid)
    sources = []
    for source in project.sources:
        # -- a PDF's consensus lies on its Representation text, as text selections --
        text = source.representation if isinstance(source, PDFSource) and source.representation is not None \
            else source if isinstance(source, TextSource) else None
        if text is None:
            sources.append(source)
            continue
        # -- a new consensus replaces the old one --
        kept = []
        for selection in text.selections:
            rest = tuple(c for c in selection.codings if guid_key(coder_of_coding(c, selection)) != mine)
            if rest or not selection.codings:
                kept.append(replace(selection, codings=rest) if len(rest) != len(selection.codings) else selection)
        key = guid_key(source.guid)
        for (doc, code), spans in sorted(wanted.items()):
            if doc != key:
                continue
            for start, end in unite_spans(spans)[0]:
                guid = _derived(key, code, start, end)
                kept.append(PlainTextSelection(
                    guid=guid, start=start, end=end, creating_user=consensus.guid,
                    codings=(Coding(guid=_derived(guid, "coding"), code_guid=codes[code].guid,
                                    creating_user=consensus.guid),)))
        if text is source:
            sources.append(replace(source, selections=tuple(kept)))
        else:
            sources.append(replace(source, representation=replace(text, selections=tuple(kept))))
    return replace(project, users=tuple(users), sources=tuple(sources), read_info=None)
