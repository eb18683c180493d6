"""From a merged project to what agreement is computed on: each coder's spans per document and code.

All coders are compared on the same text (the merged project's), so a span is a pair of code point offsets
into one text. Each coder's overlapping spans of one code are united first (a coder who codes a passage
twice has not agreed with themselves). Whole-document codings count as presence of the code in the
document, not as spans. Only text sources take part; other sources are counted and left out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from refi_bridge.errors import AgreementError
from refi_bridge.model import (
    TOOL_USERS,
    PlainTextSelection,
    Project,
    TextSource,
    coder_of,
    guid_key,
    name_key,
    parse_path,
    path_key,
)

CONSENSUS = "consensus"
ASSIGNED = "Assigned to "  # the name of the set that lists a coder's sources, written by merge --manifest

Span = tuple[int, int]


@dataclass
class Document:
    guid: str
    name: str
    case: str | None          # the names of the cases covering the document, joined (for display)
    length: int
    text: str
    cases: tuple[str, ...] = ()  # every case covering all or part of the document (see CaseCoverage)


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
    codes: dict[str, CodeInfo]                      # GUID key -> code
    spans: dict[tuple[int, str], dict[str, list[Span]]] = field(default_factory=dict)
    whole: dict[tuple[int, str], set[str]] = field(default_factory=dict)  # (doc, code) -> coders, whole doc
    present: list[set[str]] = field(default_factory=list)                # per document: coders who coded it
    merged_overlaps: int = 0
    clipped: int = 0
    assignment_rule: str = ""
    other_sources: int = 0
    segments: dict[str, int] = field(default_factory=dict)               # coder -> segments after uniting
    by_document: dict[int, list[str]] = field(default_factory=dict)      # document -> codes with spans
    by_code: dict[str, list[int]] = field(default_factory=dict)          # code -> documents with spans
    left_out: list[str] = field(default_factory=list)                    # coders of the project not compared

    def coders_of(self, doc: int) -> list[str]:
        """The coders compared on a document (see ``assignment_rule``), in the order of ``coders``."""
        cache = self.__dict__.setdefault("_compared", {})
        if doc not in cache:
            cache[doc] = [c for c in self.coders if c in self.present[doc]]
        return cache[doc]

    def spans_of(self, doc: int, code: str, coder: str) -> list[Span]:
        return self.spans.get((doc, code), {}).get(coder, [])


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
    """Gather the spans of ``coders`` (default: every coder but the consensus layer) for ``codes``
    (names or paths ``"Theme > sub"``; default: every code that was used), and who read which document:
    the ``Assigned to <coder>`` sets if the project has them, else everyone everything (or, with
    ``only_coded_documents``, the documents each coder made a coding in)."""
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

    def document(source) -> Document:
        cases = tuple(case_names[c] for c in coverage.cases_at(source.guid))
        return Document(source.guid, source.label, "; ".join(cases) or None, len(source.text), source.text, cases)
    documents: list[Document] = []
    index_of: dict[str, int] = {}
    raw: dict[tuple[int, str], dict[str, list[Span]]] = defaultdict(lambda: defaultdict(list))
    whole: dict[tuple[int, str], set[str]] = defaultdict(set)
    present: dict[int, set[str]] = defaultdict(set)
    seen_coders: dict[str, str] = {}
    names: dict[str, str] = {}   # user GUID -> coder name, looked up once per user
    code_keys: dict[str, str] = {}
    other = clipped = 0
    last_source, doc = None, -1
    for record in project.iter_codings():
        source = record.source
        if not isinstance(source, TextSource) or source.text is None:
            other += 1
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
        if source is not last_source:
            key = guid_key(source.guid)
            if key not in index_of:
                index_of[key] = len(documents)
                documents.append(document(source))
            doc, last_source = index_of[key], source
        code = code_keys.get(record.coding.code_guid)
        if code is None:
            code = code_keys[record.coding.code_guid] = guid_key(record.coding.code_guid)
        if code not in all_codes:
            continue
        present[doc].add(coder)
        if record.selection is None:
            whole[(doc, code)].add(coder)
        elif isinstance(record.selection, PlainTextSelection) and record.owner is source:
            start, end = record.selection.start, record.selection.end
            length = len(source.text)
            if start < 0 or end > length or start > end:
                clipped += 1  # a span outside its text (the file is damaged); what lies inside counts
                start, end = max(0, min(start, length)), max(0, min(end, length))
            raw[(doc, code)][coder].append((start, end))
    # -- text sources nobody coded are still read by every coder and count as uncoded text --
    for source in project.sources:
        if isinstance(source, TextSource) and source.text is not None and guid_key(source.guid) not in index_of:
            index_of[guid_key(source.guid)] = len(documents)
            documents.append(document(source))
    assigned = {name_key(s.name[len(ASSIGNED):]): {guid_key(g) for g in s.member_sources}
                for s in project.sets if s.name.startswith(ASSIGNED)}
    chosen, left_out = _choose_coders(seen_coders, coders, assigned)
    chosen_keys = {name_key(c) for c in chosen}
    used = {code for (_, code) in list(raw) + list(whole)}
    # -- NVivo's case nodes say which case a passage belongs to: they are cases, not codes to agree on --
    selected = _choose_codes(all_codes, used - coverage.case_nodes if not codes else used, codes)
    data = AgreementData(chosen, documents, {k: all_codes[k] for k in selected})
    data.other_sources = other
    data.clipped = clipped
    data.left_out = left_out
    canonical = {name_key(c): c for c in chosen}  # coders named differently in case only are one coder
    if only_coded_documents:
        data.present = [{canonical[name_key(c)] for c in present[i] if name_key(c) in chosen_keys}
                        for i in range(len(documents))]
        data.assignment_rule = ("a coder is compared only on documents in which they made a coding "
                                "(--only-coded-documents).")
    elif assigned and all(name_key(c) in assigned for c in chosen):
        data.present = [{c for c in chosen if guid_key(doc.guid) in assigned[name_key(c)]} for doc in documents]
        data.assignment_rule = "each coder is compared on the documents assigned to them (sets 'Assigned to ...')."
    else:
        data.present = [set(chosen) for _ in documents]
        data.assignment_rule = ("every coder is compared on every text document; a coder who made no coding in "
                                "a document is taken to have found nothing to code there.")
        if assigned:
            lacking = [c for c in chosen if name_key(c) not in assigned]
            data.assignment_rule += (" (The project says which documents were assigned to "
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
    data.segments = dict(segments)
    for doc, code in sorted(data.spans, key=lambda key: (key[0], data.codes[key[1]].path)):
        data.by_document.setdefault(doc, []).append(code)
        data.by_code.setdefault(code, []).append(doc)
    return data


def _choose_coders(seen: dict[str, str], wanted: Sequence[str] | None,
                   assigned: dict[str, set[str]]) -> tuple[list[str], list[str]]:
    """The coders to compare, and the coders of the project left out of the comparison.

    By default these are the coders the project says were handed sources (merge --manifest records them
    as sets "Assigned to <coder>"): codings the master already held (a pilot, the PI's own pass, a lab
    account) are kept in the project but are not a coder of this round. ``wanted`` overrides.
    """
    left_out: list[str] = []
    if wanted:
        missing = [w for w in wanted if name_key(w) not in seen]
        if missing:
            raise AgreementError(f"no codings by {', '.join(missing)} in the project; its coders are "
                                 f"{', '.join(sorted(seen.values())) or 'none'}")
        chosen = [seen[name_key(w)] for w in wanted]
    else:
        chosen = sorted(v for k, v in seen.items() if k != CONSENSUS)
        handed = [c for c in chosen if name_key(c) in assigned]
        if assigned and len(handed) >= 2:
            chosen, left_out = handed, [c for c in chosen if name_key(c) not in assigned]
    if len(chosen) < 2:
        if wanted:
            raise AgreementError(f"agreement needs two or more coders; --coders names only {', '.join(chosen)}")
        raise AgreementError(f"agreement needs two or more coders; the project has {', '.join(chosen) or 'none'}. "
                             "Merge the coders' files first (`refi-bridge merge`).")
    return chosen, left_out


def _choose_codes(codes: dict[str, CodeInfo], used: set[str], wanted: Sequence[str] | None) -> list[str]:
    if not wanted:
        return [k for k in codes if k in used]
    out = []
    for item in wanted:
        # -- a code is named by its path ("Theme > sub") or by its name, which may itself contain ">" --
        target, whole = path_key(parse_path(item)), name_key(item)
        matches = [k for k, c in codes.items() if path_key(c.path) == target or name_key(c.name) == whole]
        if not matches:
            raise AgreementError(f"no code {item!r} in the project")
        out.extend(m for m in matches if m not in out)
    return out
