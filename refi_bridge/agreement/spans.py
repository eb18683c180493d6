"""From a merged project to what agreement is computed on: each coder's spans per document and code, and
each coder's regions per picture or PDF page and code.

All coders are compared on the same text (the merged project's), so a span is a pair of code point offsets
into one text: a text source's, or a PDF's Representation text (text selections on it, and area
selections anchored to it, see :mod:`refi_bridge.agreement.pdf_text`). Each coder's overlapping spans of
one code are united first (a coder who codes a passage twice has not agreed with themselves).
Whole-document codings count as presence of the code in the document, not as spans. Picture areas and PDF
areas that do not anchor to text are regions (:mod:`refi_bridge.agreement.regions`). Codings of other
kinds are counted by kind and left out.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from refi_bridge.agreement.pdf_text import anchor
from refi_bridge.agreement.regions import Region
from refi_bridge.errors import AgreementError
from refi_bridge.model import (
    ASSIGNED,
    TOOL_USERS,
    AudioSelection,
    AudioSource,
    PDFSelection,
    PDFSource,
    PictureSelection,
    PictureSource,
    PlainTextSelection,
    Project,
    TextSource,
    VideoSelection,
    VideoSource,
    coder_of,
    codes_named,
    guid_key,
    name_key,
)

CONSENSUS = "consensus"

Span = tuple[int, int]


@dataclass
class Document:
    guid: str
    name: str
    case: str | None          # the names of the cases covering the document, joined (for display)
    length: int
    text: str
    cases: tuple[str, ...] = ()  # every case covering all or part of the document (see CaseCoverage)
    kind: str = "text"           # "text", or "PDF" for a PDF's Representation text


@dataclass
class RegionSource:
    """A picture, or a PDF whose areas are measured as regions (``document``: its index among the documents
    when the PDF also has a text)."""

    guid: str
    name: str
    case: str | None
    kind: str            # "picture" or "PDF"
    document: int | None = None


@dataclass
class CodeInfo:
    guid: str
    name: str
    path: tuple[str, ...]
    parent: str | None   # GUID key of the parent code
    top: str             # GUID key of the top-level code it belongs to


@dataclass
class AgreementData:
    """Spans per (document, code, coder), and what was set aside, with the reasons."""

    coders: list[str]
    documents: list[Document]
    codes: dict[str, CodeInfo]                      # GUID key -> code, the codes of the text measures
    spans: dict[tuple[int, str], dict[str, list[Span]]] = field(default_factory=dict)
    whole: dict[tuple[int, str], set[str]] = field(default_factory=dict)  # (doc, code) -> coders, whole doc
    present: list[set[str]] = field(default_factory=list)                # per document: coders who coded it
    merged_overlaps: int = 0
    clipped: int = 0
    assignment_rule: str = ""
    other_sources: int = 0                                               # codings set aside, all kinds
    set_aside: dict[str, int] = field(default_factory=dict)              # kind -> codings set aside
    pdf_origins: dict[str, int] = field(default_factory=dict)            # PDF area codings by text origin
    region_sources: list[RegionSource] = field(default_factory=list)
    # -- (region source, page or None, code) -> coder -> rectangles; whole-source codings of region sources --
    regions: dict[tuple[int, int | None, str], dict[str, list[Region]]] = field(default_factory=dict)
    region_whole: dict[tuple[int, str], set[str]] = field(default_factory=dict)
    region_present: list[set[str]] = field(default_factory=list)         # per region source: coders compared
    region_codes: dict[str, CodeInfo] = field(default_factory=dict)       # codes of the region measures
    areas: dict[tuple[int, str], set[str]] = field(default_factory=dict)  # (document, code) -> coders with PDF
    #                                                                       areas that did not anchor to its text
    segments: dict[str, int] = field(default_factory=dict)               # coder -> segments after uniting
    by_document: dict[int, list[str]] = field(default_factory=dict)      # document -> codes with spans
    by_code: dict[str, list[int]] = field(default_factory=dict)          # code -> documents with spans
    left_out: list[str] = field(default_factory=list)                    # coders of the project not compared

    @property
    def left_out_keys(self) -> set[str]:
        return {name_key(c) for c in self.left_out}
    def coders_of(self, doc: int) -> list[str]:
        """The coders compared on a document (see ``assignment_rule``), in the order of ``coders``."""
        cache = self.__dict__.setdefault("_compared", {})
        if doc not in cache:
            cache[doc] = [c for c in self.coders if c in self.present[doc]]
        return cache[doc]

    def spans_of(self, doc: int, code: str, coder: str) -> list[Span]:
        return self.spans.get((doc, code), {}).get(coder, [])

    def region_coders_of(self, canvas: int) -> list[str]:
        """The coders compared on a region source, in the order of ``coders``."""
        return [c for c in self.coders if c in self.region_present[canvas]]


def unite_spans(spans: Iterable[Span]) -> tuple[list[Span], int]:
    """Sorted spans with overlapping ones united (touching ones kept apart); also how many were united."""
    if isinstance(spans, list) and len(spans) == 1:
        return ([spans[0]] if spans[0][1] > spans[0][0] else []), 0
    ordered = sorted(s for s in spans if s[1] > s[0])
    out: list[list[int]] = []
    united = 0
    for start, end in ordered:
        if out and start < out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
            united += 1
        else:
            out.append([start, end])
    return [(a, b) for a, b in out], united


def collect(project: Project, coders: Sequence[str] | None = None, codes: Sequence[str] | None = None,
            only_coded_documents: bool = False) -> AgreementData:
    """Gather the spans and regions of ``coders`` (default: every coder but the consensus layer) for
    ``codes`` (names or paths ``"Theme > sub"``; default: every code that was used), and who read which
    source: the ``Assigned to <coder>`` sets if the project has them, else everyone everything (or, with
    ``only_coded_documents``, the sources each coder made a coding in).

    Text sources and PDFs with a Representation text are documents (PDF area selections anchored to the
    text by :mod:`refi_bridge.agreement.pdf_text` count as spans of it); pictures and PDFs without text are
    region sources; PDF areas that do not anchor and picture areas are regions. Codings of other kinds
    (audio, video, transcripts, picture descriptions) are counted by kind and set aside.
    """
    users = project.users_by_guid()
    all_codes: dict[str, CodeInfo] = {}

    def walk(code, path, parent, top):
        key = guid_key(code.guid)
        here = path + (code.name,)
        all_codes[key] = CodeInfo(code.guid, code.name, here, parent, top or key)
        for child in code.codes:
            walk(child, here, key, top or key)

    for code in project.codes:
        walk(code, (), None, None)
    coverage = project.case_coverage()
    case_names = {guid_key(case.guid): case.name or case.guid for case in project.cases}

    def cases_of(source) -> tuple[str, ...]:
        return tuple(case_names[c] for c in coverage.cases_at(source.guid))

    def document(source, kind: str) -> Document:
        text = source.text if kind == "text" else source.representation.text
        cases = cases_of(source)
        return Document(source.guid, source.label, "; ".join(cases) or None, len(text), text, cases,
                        "text" if kind == "text" else "PDF")
    documents: list[Document] = []
    index_of: dict[str, int] = {}
    raw: dict[tuple[int, str], dict[str, list[Span]]] = defaultdict(lambda: defaultdict(list))
    whole: dict[tuple[int, str], set[str]] = defaultdict(set)
    present: dict[int, set[str]] = defaultdict(set)
    canvases: list[RegionSource] = []
    canvas_of: dict[str, int] = {}
    raw_regions: dict[tuple[int, int | None, str], dict[str, list[Region]]] = defaultdict(lambda: defaultdict(list))
    region_whole: dict[tuple[int, str], set[str]] = defaultdict(set)
    region_present: dict[int, set[str]] = defaultdict(set)
    seen_coders: dict[str, str] = {}
    names: dict[str, str] = {}   # user GUID -> coder name, looked up once per user
    code_keys: dict[str, str] = {}
    set_aside: Counter = Counter()
    pdf_origins: Counter = Counter()
    clipped = 0
    last_source, kind, doc, anchors = None, None, -1, {}

    def region_source(source, doc_index: int | None) -> int:
        key = guid_key(source.guid)
        if key not in canvas_of:
            canvas_of[key] = len(canvases)
            canvases.append(RegionSource(source.guid, source.label, "; ".join(cases_of(source)) or None,
                                         "picture" if isinstance(source, PictureSource) else "PDF", doc_index))
        return canvas_of[key]

    case_nodes = coverage.case_nodes
    for record in project.iter_codings():
        source, selection = record.source, record.selection
        if case_nodes and guid_key(record.coding.code_guid) in case_nodes:
            continue  # which case a passage is in (NVivo's case nodes): no code to agree on, nobody's coding
        if source is not last_source:
            last_source, kind = source, _kind_of(source)
            if kind in ("text", "pdf text"):
                key = guid_key(source.guid)
                if key not in index_of:
                    index_of[key] = len(documents)
                    documents.append(document(source, kind))
                doc = index_of[key]
                anchors = anchor(source) if kind == "pdf text" else {}
        what = _what(kind, record)
        if what is None or what.startswith("set aside:"):
            set_aside[what[len("set aside: "):] if what else f"codings of {kind}"] += 1
            continue
        guid = coder_of(record)
        if guid is None:
            continue
        coder = names.get(guid)
        if coder is None:
            if guid_key(guid) in TOOL_USERS:
                continue
            user = users.get(guid_key(guid))
            coder = names[guid] = user.name if user is not None and user.name else guid
            seen_coders.setdefault(name_key(coder), coder)
        code = code_keys.get(record.coding.code_guid)
        if code is None:
            code = code_keys[record.coding.code_guid] = guid_key(record.coding.code_guid)
        if code not in all_codes:
            continue
        if what == "span":
            present[doc].add(coder)
            start, end = selection.start, selection.end
            length = documents[doc].length
            if start < 0 or end > length or start > end:
                clipped += 1  # a span outside its text (the file is damaged); what lies inside counts
                start, end = max(0, min(start, length)), max(0, min(end, length))
            raw[(doc, code)][coder].append((start, end))
        elif what == "whole":
            present[doc].add(coder)
            whole[(doc, code)].add(coder)
        elif what == "pdf area":
            present[doc].add(coder)
            found = anchors[guid_key(selection.guid)]
            pdf_origins[found.origin] += 1
            if found.origin == "twin":
                continue  # -- ATLAS.ti 8's second record of a text selection: counted once, as the text --
            if found.anchored:
                raw[(doc, code)][coder].append((found.start, found.end))
            else:
                canvas = region_source(source, doc)
                raw_regions[(canvas, selection.page, code)][coder].append(_region(selection))
        else:  # a region of a picture or of a PDF without text, or a whole-source coding of one
            canvas = region_source(source, None)
            region_present[canvas].add(coder)
            if what == "region whole":
                region_whole[(canvas, code)].add(coder)
            else:
                page = selection.page if isinstance(selection, PDFSelection) else None
                raw_regions[(canvas, page, code)][coder].append(_region(selection))
    # -- sources nobody coded are still read by every coder: uncoded text, pictures with nothing marked --
    for source in project.sources:
        key, kind = guid_key(source.guid), _kind_of(source)
        if kind in ("text", "pdf text") and key not in index_of:
            index_of[key] = len(documents)
            documents.append(document(source, kind))
        elif kind in ("picture", "pdf areas") and key not in canvas_of:
            region_source(source, None)
    assigned = {name_key(s.name[len(ASSIGNED):]): {guid_key(g) for g in s.member_sources}
                for s in project.sets if s.name.startswith(ASSIGNED)}
    chosen, left_out = _choose_coders(seen_coders, coders, assigned, set_aside)
    chosen_keys = {name_key(c) for c in chosen}
    # -- a code takes part in the text measures when it was used in a document (as a span, on the whole
    #    document, or as a PDF area of it), in the region measures when used on a region source or as a region --
    in_documents = {code for (_, code) in list(raw) + list(whole)}
    in_documents |= {k for (canvas, _, k) in raw_regions if canvases[canvas].document is not None}
    in_regions = {k for (_, _, k) in raw_regions} | {code for (_, code) in region_whole}
    used = in_documents | in_regions
    # -- NVivo's case nodes say which case a passage belongs to: they are cases, not codes to agree on --
    selected = _choose_codes(all_codes, used - coverage.case_nodes if not codes else used, codes)
    data = AgreementData(chosen, documents, {k: all_codes[k] for k in selected
                                             if k in in_documents or k not in in_regions})
    data.region_codes = {k: all_codes[k] for k in selected if k in in_regions}
    data.set_aside = dict(set_aside)
    data.other_sources = sum(set_aside.values())
    data.pdf_origins = dict(pdf_origins)
    data.clipped = clipped
    data.left_out = left_out
    data.region_sources = canvases
    canonical = {name_key(c): c for c in chosen}  # coders named differently in case only are one coder

    def readers(guid: str, coded: set[str]) -> set[str]:
        if only_coded_documents:
            return {canonical[name_key(c)] for c in coded if name_key(c) in chosen_keys}
        if assigned and all(name_key(c) in assigned for c in chosen):
            return {c for c in chosen if guid_key(guid) in assigned[name_key(c)]}
        return set(chosen)

    data.present = [readers(document.guid, present[i]) for i, document in enumerate(documents)]
    data.region_present = [data.present[r.document] if r.document is not None
                           else readers(r.guid, region_present[i]) for i, r in enumerate(canvases)]
    if only_coded_documents:
        data.assignment_rule = ("a coder is compared only on sources in which they made a coding "
                                "(--only-coded-documents).")
    elif assigned and all(name_key(c) in assigned for c in chosen):
        data.assignment_rule = "each coder is compared on the sources assigned to them (sets 'Assigned to ...')."
    else:
        data.assignment_rule = ("every coder is compared on every source; a coder who made no coding in "
                                "a source is taken to have found nothing to code there.")
        if assigned:
            lacking = [c for c in chosen if name_key(c) not in assigned]
            data.assignment_rule += (" (The project says which sources were assigned to "
                                     f"{', '.join(sorted(assigned))}, but not to {', '.join(lacking)}; merge with "
                                     "--coder FILE=NAME so that the names agree.)")
    segments: dict[str, int] = defaultdict(int)
    chosen_as = {name: canonical[name_key(name)] for name in seen_coders.values() if name_key(name) in chosen_keys}
    chosen_as.update({name: canonical[name_key(name)] for name in names.values() if name_key(name) in chosen_keys})
    for (doc, code), per_coder in raw.items():
        if code not in data.codes:
            continue
        for coder, spans in per_coder.items():
            as_chosen = chosen_as.get(coder)
            if as_chosen is None:
                continue
            # -- "Anna" and "anna" are one coder: their spans go together before uniting --
            per = data.spans.setdefault((doc, code), {})
            previous = per.get(as_chosen, [])
            united, merged = unite_spans(previous + spans)
            data.merged_overlaps += merged
            segments[as_chosen] += len(united) - len(previous)
            per[as_chosen] = united
    for (doc, code), who in whole.items():
        if code in data.codes:
            data.whole[(doc, code)] = {canonical[name_key(c)] for c in who if name_key(c) in chosen_keys}
    for (canvas, page, code), per_coder in raw_regions.items():
        if code not in data.region_codes:
            continue
        for coder, regions in per_coder.items():
            as_chosen = chosen_as.get(coder)
            if as_chosen is not None:
                # -- a coder who drew one rectangle twice has not agreed with themselves --
                mine = data.regions.setdefault((canvas, page, code), {}).setdefault(as_chosen, [])
                mine.extend(r for r in dict.fromkeys(regions) if r not in mine)
                document = canvases[canvas].document
                if document is not None and code in data.codes:
                    data.areas.setdefault((document, code), set()).add(as_chosen)
    for (canvas, code), who in region_whole.items():
        if code in data.region_codes:
            data.region_whole[(canvas, code)] = {canonical[name_key(c)] for c in who if name_key(c) in chosen_keys}
    data.segments = dict(segments)
    for doc, code in sorted(data.spans, key=lambda key: (key[0], data.codes[key[1]].path)):
        data.by_document.setdefault(doc, []).append(code)
        data.by_code.setdefault(code, []).append(doc)
    return data


def _kind_of(source) -> str:
    """What agreement makes of a source: ``text``, ``pdf text`` (a PDF with its Representation text),
    ``pdf areas`` (a PDF without it), ``picture``, or the kind it sets aside."""
    if isinstance(source, TextSource):
        return "text" if source.text is not None else "text sources without their text"
    if isinstance(source, PDFSource):
        has_text = source.representation is not None and source.representation.text is not None
        return "pdf text" if has_text else "pdf areas"
    if isinstance(source, PictureSource):
        return "picture"
    return "audio" if isinstance(source, AudioSource) else "video" if isinstance(source, VideoSource) else "other"


def _what(kind: str, record) -> str | None:
    """How a coding of a source of ``kind`` is measured: ``span``, ``whole``, ``pdf area``, ``region``,
    ``region whole``, or ``set aside: <what it is>``."""
    selection = record.selection
    if kind in ("text", "pdf text"):
        if selection is None:
            return "whole"
        if isinstance(selection, PlainTextSelection) and (record.owner is record.source or kind == "pdf text"):
            return "span"
        if isinstance(selection, PDFSelection):
            return "pdf area"
        return "set aside: selections inside a text's parts"
    if kind in ("picture", "pdf areas"):
        if selection is None:
            return "region whole"
        if isinstance(selection, (PictureSelection, PDFSelection)):
            return "region"
        return "set aside: picture descriptions" if kind == "picture" else "set aside: PDF text without its text"
    if kind in ("audio", "video"):
        if selection is None:
            return f"set aside: whole {kind} codings"
        if isinstance(selection, (AudioSelection, VideoSelection)):
            return f"set aside: {kind} segments"
        return "set aside: transcript selections"
    return f"set aside: {kind}"


def _region(selection) -> Region:
    return Region.of(selection.first_x, selection.first_y, selection.second_x, selection.second_y)


def _choose_coders(seen: dict[str, str], wanted: Sequence[str] | None, assigned: dict[str, set[str]],
                   set_aside: Counter | None = None) -> tuple[list[str], list[str]]:
    """The coders to compare, and the coders of the project left out of the comparison.

    By default these are the coders the project says were handed sources (merge --manifest records them
    as sets "Assigned to <coder>"): codings the master already held (a pilot, the PI's own pass, a lab
    account) are kept in the project but are not a coder of this round. ``wanted`` overrides.
    """
    aside = describe_set_aside(set_aside or {})
    left_out: list[str] = []
    if wanted:
        missing = [w for w in wanted if name_key(w) not in seen]
        if missing:
            known = ", ".join(sorted(seen.values())) or "nobody"
            raise AgreementError(f"no codings by {', '.join(missing)} that agreement can measure; the project's "
                                 f"text, PDF and picture sources were coded by {known}"
                                 + (f" ({aside} cannot be measured)" if aside else ""))
        chosen = [seen[name_key(w)] for w in wanted]
    else:
        chosen = sorted(v for k, v in seen.items() if k != CONSENSUS)
        handed = [c for c in chosen if name_key(c) in assigned]
        if assigned:
            left_out = [c for c in chosen if name_key(c) not in assigned]
            if len(handed) < 2:
                others = ""
                if left_out:
                    others = (f"; the project also holds codings by {', '.join(left_out)}, handed no sources "
                              "(codings the master already held)")
                raise AgreementError(
                    f"agreement needs two or more of the coders who were handed sources, and only "
                    f"{', '.join(handed) or 'none'} of them coded{others}. Merge every coder's file, or name the "
                    "coders to compare with --coders")
            chosen = handed
    if len(chosen) < 2:
        if wanted:
            raise AgreementError(f"agreement needs two or more coders; --coders names only {', '.join(chosen)}")
        if not chosen and aside:
            raise AgreementError(f"agreement cannot measure this project's codings: {aside}. It measures codings "
                                 "of text, PDF and picture sources.")
        found = (f"the project's codings of text, PDF and picture sources are all by {chosen[0]}" if chosen
                 else "the project has no codings")
        raise AgreementError(f"agreement needs two or more coders; {found}"
                             + (f" ({aside} cannot be measured)" if aside else "")
                             + ". Merge the coders' files first (`refi-bridge merge`).")
    return chosen, left_out


def describe_set_aside(counts: dict[str, int]) -> str:
    """``"1,726 codings are video segments; 12 are transcript selections"``: what agreement left out."""
    parts = sorted(counts.items(), key=lambda item: -item[1])
    out = []
    for i, (kind, count) in enumerate(parts):
        noun = ("coding is" if count == 1 else "codings are") if i == 0 else ("is" if count == 1 else "are")
        out.append(f"{count:,} {noun} {kind}")
    return "; ".join(out)


def _choose_codes(codes: dict[str, CodeInfo], used: set[str], wanted: Sequence[str] | None) -> list[str]:
    if not wanted:
        return [k for k in codes if k in used]
    out = []
    paths = {key: info.path for key, info in codes.items()}
    for item in wanted:
        matches = codes_named(item, paths)
        if not matches:
            raise AgreementError(f"no code {item!r} in the project")
        out.extend(m for m in matches if m not in out)
    return out
