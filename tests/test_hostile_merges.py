"""Merging hostile or unlucky returned files: every coding stays on its own text, or is listed as not carried.

Each returned file is built by hand (tests/hostile.py); the counts of every file summary must add up.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import replace

import pytest
from hostile import ANA, BEN, OTHER, THEME, archive, guid, project, span, text_source
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import projects

import refi_bridge
from refi_bridge.errors import RefiBridgeWarning
from refi_bridge.model import (
    PlainTextSelection,
    TextSource,
    coder_name,
    coder_of,
    guid_key,
    name_key,
    without_codings,
)
from refi_bridge.team import anchoring
from refi_bridge.team.anchoring import Alignment
from refi_bridge.team.jobs import merge_files
from refi_bridge.team.merging import MergeInput, merge_projects

DOC1, DOC2 = "d0000000-0000-4000-8000-000000000001", "d0000000-0000-4000-8000-000000000002"
TEXT1 = "The quick brown fox jumps over the lazy dog."
TEXT2 = "Lorem ipsum dolor sit amet, consectetur adipiscing."


def read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        return refi_bridge.read(path)


def coded(merged) -> set[tuple[str, str, str, str]]:
    """(source name, code name, coder, coded text) of every text coding of a project."""
    names = {guid_key(c.guid): c.name for c, _ in merged.iter_codes()}
    users = merged.users_by_guid()
    out = set()
    for record in merged.iter_codings():
        if isinstance(record.selection, PlainTextSelection):
            text = record.owner.text[record.selection.start:record.selection.end]
            out.add((record.source.name, names[guid_key(record.coding.code_guid)],
                     coder_name(coder_of(record), users), text))
    return out


def counts_add_up(report) -> None:
    for summary in report.files:
        assert summary.codings_in_file == (summary.codings_added + summary.codings_duplicate
                                           + summary.codings_not_carried), summary


def master(tmp_path):
    return archive(tmp_path / "master.qdpx", project(text_source(DOC1, "Doc 1", TEXT1),
                                                     text_source(DOC2, "Doc 2", TEXT2), name="master"))


# -- two sources with one GUID in a returned file -------------------------------------------------------------

def twin_guid_return(tmp_path, name="ben.qdpx"):
    """Ben's tool gave both documents Doc 1's GUID; he coded 'quick' in Doc 1 and 'ipsum' in Doc 2."""
    return archive(tmp_path / name, project(
        text_source(DOC1, "Doc 1", TEXT1, span(4, 9, THEME, BEN)),
        text_source(DOC1, "Doc 2", TEXT2, span(6, 11, OTHER, BEN)),
        user_pairs=((BEN, "Ben"),), name="ben"))


def test_two_sources_with_one_guid_keep_their_codings_on_their_own_texts(tmp_path):
    result = merge_files([master(tmp_path), twin_guid_return(tmp_path)], tmp_path / "merged.qdpx").result
    merged = read(tmp_path / "merged.qdpx")
    assert coded(merged) == {("Doc 1", "Theme", "Ben", "quick"), ("Doc 2", "Other", "Ben", "ipsum")}
    assert [guid_key(s.guid) for s in merged.sources] == [DOC1, DOC2]
    counts_add_up(result.report)
    assert any(DOC1 in note for note in result.report.notes)


def test_two_sources_with_one_guid_with_a_manifest(tmp_path):
    handed = refi_bridge.split(master(tmp_path), ["Ben"], tmp_path / "out")
    returned = twin_guid_return(tmp_path / "out", "ben-returned.qdpx")
    result = merge_files([returned], tmp_path / "merged.qdpx", manifest=handed.manifest).result
    assert coded(read(tmp_path / "merged.qdpx")) == {("Doc 1", "Theme", "Ben", "quick"),
                                                     ("Doc 2", "Other", "Ben", "ipsum")}
    counts_add_up(result.report)


def test_a_master_with_one_guid_twice_keeps_duplicates_apart(tmp_path):
    """Without a manifest the first file is the base: its two same-GUID sources must stay two sources, and a
    coding of the second input on Doc 2 is not a 'duplicate' of the base's coding on Doc 1."""
    base = archive(tmp_path / "ana.qdpx", project(
        text_source(DOC1, "Doc 1", TEXT1, span(4, 9, THEME, ANA)),
        text_source(DOC1, "Doc 2", TEXT2), user_pairs=((ANA, "Ana"),)))
    other = archive(tmp_path / "ana2.qdpx", project(
        text_source(guid("d"), "Doc 1", TEXT1),
        text_source(guid("d"), "Doc 2", TEXT2, span(4, 9, THEME, ANA), span(6, 11, OTHER, ANA)),
        user_pairs=((ANA, "Ana"),)))
    result = merge_files([base, other], tmp_path / "merged.qdpx").result
    assert coded(read(tmp_path / "merged.qdpx")) == {("Doc 1", "Theme", "Ana", "quick"),
                                                     ("Doc 2", "Theme", "Ana", "m ips"),
                                                     ("Doc 2", "Other", "Ana", "ipsum")}
    counts_add_up(result.report)


# -- codings on a PDF's Representation or a picture's TextDescription ---------------------------------------------

PDF, PICTURE = "d0000000-0000-4000-8000-0000000000f1", "d0000000-0000-4000-8000-0000000000f2"
WORDS = "Page one of the report says the fox was quick."


def pdf(inner: str = "") -> str:
    return f'<PDFSource guid="{PDF}" name="Report" path="internal://report.pdf">{inner}</PDFSource>'


def picture(inner: str = "") -> str:
    return f'<PictureSource guid="{PICTURE}" name="Photo" path="internal://photo.png">{inner}</PictureSource>'


def described(tag: str, *selections: str) -> str:
    return (f'<{tag} guid="{guid()}" name="text of it"><PlainTextContent>{WORDS}</PlainTextContent>'
            f'{"".join(selections)}</{tag}>')


FILES = {"sources/report.pdf": b"%PDF-1.4 hand made", "sources/photo.png": b"\x89PNG hand made"}


def test_codings_on_a_representation_or_description_the_master_lacks_are_carried(tmp_path):
    base = archive(tmp_path / "master.qdpx", project(pdf(), picture()), FILES)
    returned = archive(tmp_path / "ben.qdpx", project(
        pdf(described("Representation", span(16, 22, THEME, BEN))),
        picture(described("TextDescription", span(32, 35, OTHER, BEN))),
        user_pairs=((BEN, "Ben"),)), FILES)
    handed = refi_bridge.split(base, ["Ben"], tmp_path / "out")
    result = merge_files([returned], tmp_path / "merged.qdpx", manifest=handed.manifest).result
    merged = read(tmp_path / "merged.qdpx")
    assert coded(merged) == {("Report", "Theme", "Ben", "report"), ("Photo", "Other", "Ben", "fox")}
    counts_add_up(result.report)
    assert result.report.files[0].codings_added == 2


def test_codings_on_a_representation_are_placed_on_the_masters_own(tmp_path):
    """The master has a representation with other words before the passage: the coding is re-anchored."""
    base = archive(tmp_path / "master.qdpx", project(pdf(
        f'<Representation guid="{guid()}" name="r"><PlainTextContent>Cover. {WORDS}</PlainTextContent>'
        "</Representation>")), FILES)
    returned = archive(tmp_path / "ben.qdpx", project(pdf(described("Representation", span(16, 22, THEME, BEN))),
                                                      user_pairs=((BEN, "Ben"),)), FILES)
    result = merge_files([base, returned], tmp_path / "merged.qdpx").result
    assert coded(read(tmp_path / "merged.qdpx")) == {("Report", "Theme", "Ben", "report")}
    counts_add_up(result.report)


@pytest.mark.parametrize("tag, make", [("Representation", pdf), ("TextDescription", picture)])
def test_a_description_without_text_is_listed_not_dropped(tmp_path, tag, make):
    """A coder's description whose text is outside the archive cannot be checked: its codings are carried
    with the description, so nothing disappears between the file and the report."""
    base = archive(tmp_path / "master.qdpx", project(make()), FILES)
    inner = (f'<{tag} guid="{guid()}" plainTextPath="relative://elsewhere.txt">{span(0, 4, THEME, BEN)}</{tag}>')
    returned = archive(tmp_path / "ben.qdpx", project(make(inner), user_pairs=((BEN, "Ben"),)), FILES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)  # the text outside the archive is named
        result = merge_files([base, returned], tmp_path / "merged.qdpx").result
    counts_add_up(result.report)
    merged = read(tmp_path / "merged.qdpx")
    carried = sum(1 for _ in merged.iter_codings())
    summary = result.report.files[1]
    assert carried == summary.codings_added
    assert summary.codings_added + summary.codings_not_carried == 1


# -- the invariant: every coding of every input is in the merged project on its own text, or listed --------------

def placements(merged) -> dict[tuple, str]:
    """Every coding as (source name, code, coder, where it sits and what it covers) -> its GUID."""
    users = merged.users_by_guid()
    out = {}
    for record in merged.iter_codings():
        selection = record.selection
        if isinstance(selection, PlainTextSelection):
            on = record.owner is record.source
            where = ("source" if on else "described", record.owner.text[selection.start:selection.end])
        elif selection is None:
            where = ("whole",)
        else:
            where = (type(selection).__name__, selection.second_x)
        coder = coder_name(coder_of(record), users)
        out[(record.source.name, guid_key(record.coding.code_guid), coder and name_key(coder), where)] = \
            record.coding.guid
    return out


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_coding_of_every_input_is_merged_on_its_own_text_or_listed(data):
    coded_project = data.draw(projects(max_sources=3, min_sources=1, described=3, one_coding_per_selection=True))
    sources = [replace(s, name=f"S{i}") for i, s in enumerate(coded_project.sources)]
    master_sources = []
    for source in sources:
        bare = without_codings(source)
        if data.draw(st.booleans(), label="the master lacks the description"):
            bare = replace(bare, **{field: None for field in ("representation", "text_description")
                                    if hasattr(bare, field)})
        master_sources.append(bare)
    master = replace(coded_project, sources=tuple(master_sources))
    if len(sources) > 1 and data.draw(st.booleans(), label="two sources share a GUID"):
        first, second = data.draw(st.permutations(range(len(sources))))[:2]
        sources[second] = replace(sources[second], guid=sources[first].guid)
    returned = replace(coded_project, sources=tuple(sources))
    result = merge_projects([MergeInput(returned, "returned")], base=master)
    counts_add_up(result.report)
    merged = placements(result.project)
    listed = " ".join(row.what for row in result.report.not_carried)
    for key, coding_guid in placements(returned).items():
        assert key in merged or coding_guid in listed, key
    assert [s.text for s in result.project.sources if isinstance(s, TextSource)] == \
        [s.text for s in master.sources if isinstance(s, TextSource)]


# -- re-anchoring: about linear in the text, and honest about boundaries inside a character ------------------------

def transcript(paragraphs: int, typos_every: int = 0) -> tuple[str, str]:
    """A coder's copy and the master of a long transcript with blank lines; the master fixes typos."""
    lines = [f"Paragraph {n}: the client spoke about topic {n % 17} and teh weather." for n in range(paragraphs)]
    copy = "\n\n".join(lines)
    fixed = [line.replace("teh", "the") if typos_every and n % typos_every == 0 else line
             for n, line in enumerate(lines)]
    if not typos_every:
        fixed[paragraphs // 3] = fixed[paragraphs // 3].replace("teh", "the")
    return copy, "\n\n".join(fixed)


def alignment_work(monkeypatch, old: str, new: str) -> int:
    """The cost of aligning two texts, counted, not timed: every pair of items difflib is given to compare
    (its cost is bounded by their product), plus every line of Python run in the anchoring module."""
    work = 0
    real = anchoring.difflib.SequenceMatcher

    class Counting(real):
        def __init__(self, isjunk=None, a="", b="", autojunk=True):
            nonlocal work
            work += len(a) * len(b)
            super().__init__(isjunk, a, b, autojunk)

    def tracer(frame, event, arg):
        nonlocal work
        if frame.f_code.co_filename != anchoring.__file__:
            return None
        if event == "line":
            work += 1
        return tracer

    with monkeypatch.context() as patch:
        patch.setattr(anchoring.difflib, "SequenceMatcher", Counting)
        sys.settrace(tracer)
        try:
            alignment = Alignment(old, new)
            alignment.place(len(old) // 2, len(old) // 2 + 40)
        finally:
            sys.settrace(None)
    return work


@pytest.mark.parametrize("typos_every", [0, 50], ids=["one typo fixed", "a typo fixed every 50 paragraphs"])
def test_reanchoring_a_long_transcript_costs_about_linear_work(monkeypatch, typos_every):
    small = alignment_work(monkeypatch, *transcript(500, typos_every))
    large = alignment_work(monkeypatch, *transcript(2000, typos_every))
    assert large <= 5 * small, (small, large)  # four times the text: quadratic work would be sixteen times


def test_a_typo_fix_keeps_every_other_paragraph_exact():
    copy, master = transcript(3000)
    alignment = Alignment(copy, master)
    starts = [n for n in range(len(copy)) if copy.startswith("Paragraph ", n)]
    for n in (0, 999, 1001, 2999):
        start = starts[n]
        end = copy.index("\n", start) if "\n" in copy[start:] else len(copy)
        placement = alignment.place(start, end)
        assert placement.exact and master[placement.start:placement.end] == copy[start:end]


@pytest.mark.parametrize("master", ["Café au lait, please.", "Café au lait, please! And cake."],
                         ids=["same after normalising", "edited"])
def test_a_boundary_inside_a_combining_sequence_is_not_called_exact(master):
    copy = "Cafe\u0301 au lait, please."  # e + COMBINING ACUTE ACCENT
    alignment = Alignment(copy, master)
    inside = alignment.place(0, 4)  # "Cafe": the coder's span stops before the accent
    assert not inside.exact
    whole = alignment.place(0, 5)
    assert whole.exact and master[whole.start:whole.end] == "Café"


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(st.sampled_from(["", "", "a", "b", "same line", "Tom: yes", "Ana: no", "😊 ok"]), min_size=1,
                      max_size=40),
       edit=st.integers(0, 39), replacement=st.text("xyz ", max_size=6), crlf=st.booleans())
def test_lines_away_from_an_edit_are_placed_exactly(lines, edit, replacement, crlf):
    edit %= len(lines)
    copy = "\n".join(lines)
    changed = lines[:edit] + [lines[edit] + replacement + "!"] + lines[edit + 1:]
    master = "\n".join(changed)
    if crlf:
        master = master.replace("\n", "\r\n")
    alignment = Alignment(copy, master)
    before = len("\n".join(lines[:edit]))
    after = len(copy) - len("\n".join(lines[edit + 1:]))
    for start, end in ((0, before), (after, len(copy))):
        placement = alignment.place(start, end)
        assert placement.exact
        assert master[placement.start:placement.end].replace("\r\n", "\n") == copy[start:end]
