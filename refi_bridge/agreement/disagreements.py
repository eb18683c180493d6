"""The disagreements to discuss: one row per discordant passage, in text order, with an empty resolution.

For each document and code, the coders' segments are grouped into passages (segments that overlap). A
passage on which every coder of the document has exactly the same segment is agreement; every other passage
is listed as

* ``boundary``: every coder marked it, with different boundaries;
* ``different code``: a coder who did not mark it with this code gave the same text another code;
* ``miss``: a coder did not mark it at all.
"""

from __future__ import annotations

import pandas as pd

from refi_bridge.agreement.spans import AgreementData

EXCERPT = 300


def disagreements(data: AgreementData) -> pd.DataFrame:
    """The disagreements table (columns listed in :data:`COLUMNS` plus one span and one text per coder)."""
    rows = []
    for d, document in enumerate(data.documents):
        coders = data.coders_of(d)
        if len(coders) < 2:
            continue
        for code in data.by_document.get(d, ()):
            for passage in _passages(data, d, code, coders):
                start = min(s for spans in passage.values() for s, _ in spans)
                end = max(e for spans in passage.values() for _, e in spans)
                identical = (set(passage) == set(coders) and
                             len({tuple(spans) for spans in passage.values()}) == 1 and
                             all(len(spans) == 1 for spans in passage.values()))
                if identical:
                    continue
                missing = [c for c in coders if c not in passage]
                other = {c: _other_code(data, d, code, c, start, end) for c in missing}
                if not missing:
                    kind = "boundary"
                elif all(other.values()):
                    kind = "different code"
                elif any(other.values()):
                    kind = "miss / different code"
                else:
                    kind = "miss"
                info = data.codes[code]
                row = {"source": document.name, "case": document.case, "code": info.name,
                       "code_path": " > ".join(info.path), "start": start, "end": end, "kind": kind,
                       "passage": _excerpt(document.text[start:end])}
                for c in data.coders:
                    spans = passage.get(c)
                    if spans:
                        row[f"{c}: span"] = "; ".join(f"{s}-{e}" for s, e in spans)
                        row[f"{c}: text"] = " […] ".join(_excerpt(document.text[s:e]) for s, e in spans)
                    elif c in coders:
                        row[f"{c}: span"] = f"other code: {other[c]}" if other.get(c) else "not coded"
                        row[f"{c}: text"] = ""
                    else:
                        row[f"{c}: span"] = "did not code this document"
                        row[f"{c}: text"] = ""
                row["resolution"] = ""
                row["source_guid"] = document.guid
                row["code_guid"] = info.guid
                rows.append((d, start, end, info.path, row))
    rows.sort(key=lambda item: item[:4])
    columns = ["source", "case", "code", "code_path", "start", "end", "kind", "passage"]
    for c in data.coders:
        columns += [f"{c}: span", f"{c}: text"]
    columns += ["resolution", "source_guid", "code_guid"]
    return pd.DataFrame([row for *_, row in rows], columns=columns)


def agreed(data: AgreementData) -> list[tuple[int, str, tuple[int, int]]]:
    """Passages every coder of the document marked identically: ``(document, code, span)``."""
    out = []
    for d in range(len(data.documents)):
        coders = data.coders_of(d)
        if len(coders) < 2:
            continue
        for code in data.by_document.get(d, ()):
            for passage in _passages(data, d, code, coders):
                spans = {tuple(v) for v in passage.values()}
                if set(passage) == set(coders) and len(spans) == 1 and all(len(v) == 1 for v in passage.values()):
                    out.append((d, code, next(iter(passage.values()))[0]))
    return out


def _passages(data: AgreementData, d: int, code: str, coders: list[str]) -> list[dict[str, list[tuple[int, int]]]]:
    """Groups of the coders' segments that overlap, as {coder: [spans]}."""
    segments = sorted((s, e, c) for c in coders for s, e in data.spans_of(d, code, c))
    groups: list[dict] = []
    reach = -1
    for start, end, coder in segments:
        if not groups or start >= reach:
            groups.append({})
            reach = end
        else:
            reach = max(reach, end)
        groups[-1].setdefault(coder, []).append((start, end))
    return groups


def _other_code(data: AgreementData, d: int, code: str, coder: str, start: int, end: int) -> str | None:
    """The name of another code the coder gave to text overlapping [start, end), if any."""
    found = []
    for other in data.by_document.get(d, ()):
        if other == code:
            continue
        for s, e in data.spans_of(d, other, coder):
            if s < end and start < e:
                found.append(data.codes[other].name)
                break
    return ", ".join(sorted(found)) or None


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"
