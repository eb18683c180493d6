"""Pseudonymising: the key, positions through the rewrite, the whole project, the files no key can rewrite,
the report, the draft key, the command; properties on random projects and acceptance on real files."""

from __future__ import annotations

import html
import io
import json
import warnings
import zipfile
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import refi_bridge
from refi_bridge.agreement import compute
from refi_bridge.errors import ProjectFileError, PseudonymisationError, RefiBridgeWarning
from refi_bridge.formats.validation import validate
from refi_bridge.model import (
    AudioSource,
    Code,
    Coding,
    Foreign,
    PlainTextSelection,
    Project,
    SyncPoint,
    TextSource,
    Transcript,
    TranscriptSelection,
    User,
    guid_key,
)
from refi_bridge.privacy.key import Entry, Key, read_key
from refi_bridge.privacy.pseudonymising import pseudonymise
from refi_bridge.privacy.rewriting import rewrite
from refi_bridge.privacy.suggesting import suggest, write_suggestion
from refi_bridge.tables.matrices import matrix
from tests.conftest import CORPUS
from tests.strategies import ORIGINAL_ALPHABET, key_entries, named_projects

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dyad-study"
CODER_FILES = ("ingrid-nvivo.qdpx", "tomas-atlasti.qdpx", "amara-refi.qdpx")
CONSTRUCTIVE = CORPUS / "nvivo" / "nvivo20.5-mac_constructive-turn-cases.qdpx"
PICTURES = CORPUS / "nvivo" / "nvivo14.23-mac_memes-pictures.qdpx"
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                           HealthCheck.too_slow])


def read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        return refi_bridge.read(path)


def write(project, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        refi_bridge.write(project, path)
    return path


# -------------------------------------------------------------------------------------------------------
# Oracles: a naive matcher, a grep of every byte of an archive, the coded text a coding must have
# -------------------------------------------------------------------------------------------------------

def _word(character: str) -> bool:
    return character.isalnum() or character == "_"


def occurrences(text: str, entry: Entry, lower: str | None = None):
    """Every place ``entry`` matches in ``text`` by the key's rules, found by plain search (``lower``: the
    text in lower case, when the caller has it)."""
    if entry.ignore_case:
        hay, needle = (lower if lower is not None else text.lower()), entry.original.lower()
    else:
        hay, needle = text, entry.original
    start = -1
    while (start := hay.find(needle, start + 1)) != -1:
        end = start + len(needle)
        if not entry.anywhere and ((start > 0 and _word(text[start - 1]) and _word(text[start])) or
                                   (end < len(text) and _word(text[end - 1]) and _word(text[end]))):
            continue
        yield start, end


def naive_find(text: str, entries) -> list[tuple[int, int, str]]:
    """Every match the key's rules allow, by searching for every entry everywhere; longest first, then
    earliest."""
    lower = text.lower()
    candidates = [(start, end, entry.replacement) for entry in entries for start, end in occurrences(text, entry, lower)]
    chosen = []
    for start, end, replacement in sorted(candidates, key=lambda c: (c[0] - c[1], c[0])):
        if all(end <= s or start >= e for s, e, _ in chosen):
            chosen.append((start, end, replacement))
    return sorted(chosen)


def members(data: bytes, name: str) -> list[tuple[str, str]]:
    """Every member of an archive, and of archives inside it (a .docx), as text with XML entities resolved."""
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return [item for member in archive.namelist() for item in members(archive.read(member), f"{name}!{member}")]
    encoding = "utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    return [(name, html.unescape(data.decode(encoding, errors="replace")))]


def leftovers(path: Path, entries, skip: tuple[str, ...] = ()) -> list[str]:
    """Originals of ``entries`` still found in any member of the archive at ``path`` (and in its member names),
    but in members whose names end with ``skip`` (media kept on purpose)."""
    found = []
    names = "\n".join(zipfile.ZipFile(path).namelist()) if zipfile.is_zipfile(path) else ""
    for member, text in members(path.read_bytes(), path.name) + [("member names", names)]:
        if member.lower().endswith(skip):
            continue
        lower = text.lower()
        for entry in entries:
            for start, end in occurrences(text, entry, lower):
                found.append(f"{member}: {entry.original!r} in ...{text[max(0, start - 30):end + 30]!r}")
                break
    return found


def expected_coded_text(text: str, start: int, end: int, matches) -> str:
    """The coded text a selection must have after the key: its span widened over any replaced word it cuts,
    with every replaced word in it replaced (an empty selection stays empty)."""
    if start == end:
        return ""
    for s, e, _ in matches:
        if s < start < e:
            start = s
        if s < end < e:
            end = e
    if start == end:
        return ""
    pieces, position = [], start
    for s, e, replacement in matches:
        if s >= start and e <= end:
            pieces += [text[position:s], replacement]
            position = e
    return "".join(pieces) + text[position:end]


def coded_texts(project: Project) -> dict[str, str]:
    """The coded text of every text selection (in sources and notes), keyed by the selection's GUID."""
    out = {}
    from refi_bridge.formats.positions import text_owners

    for owner in text_owners(project.sources, project.notes):
        for selection in owner.selections:
            out[guid_key(selection.guid)] = (owner.text or "")[selection.start:selection.end]
    return out


def move(offset: int, matches, end: bool) -> int:
    """Where an offset lands after ``matches`` are replaced: inside one, at the edge of its replacement."""
    shift = 0
    for s, e, replacement in matches:
        if offset <= s:
            break
        if offset < e:
            return s + shift + (len(replacement) if end else 0)
        shift += len(replacement) - (e - s)
    return offset + shift


def passes_of(text: str, entries) -> list[tuple[str, list]]:
    """The key applied pass by pass until no original is left: each pass's text and its matches."""
    passes = []
    for _ in range(8):
        matches = naive_find(text, entries)
        if not matches:
            break
        passes.append((text, matches))
        text = apply(text, matches)
    return passes + [(text, [])]


def passage_after(passes, start: int, end: int) -> str:
    """The passage ``[start, end)`` of the first text must cover in the last: pass by pass, the passage with
    the key applied, widened over any replaced word it cuts."""
    for (text, matches), (new, _) in zip(passes, passes[1:]):
        expected = expected_coded_text(text, start, end, matches)
        start, end = move(start, matches, False), start if start == end else move(end, matches, True)
        end = start if expected == "" else end
        assert new[start:end] == expected  # the two readings of "the key applied" agree
    return passes[-1][0][start:end]


def apply(text: str, matches) -> str:
    pieces, position = [], 0
    for s, e, replacement in matches:
        pieces += [text[position:s], replacement]
        position = e
    return "".join(pieces) + text[position:]


def check_codings_on_their_passages(before: Project, after: Project, key: Key) -> int:
    """Assert that every text selection of ``after`` covers its passage of ``before`` with the key applied;
    return how many selections were checked."""
    from refi_bridge.formats.positions import text_owners

    new = coded_texts(after)
    checked = 0
    for owner in text_owners(before.sources, before.notes):
        passes = passes_of(owner.text or "", key.entries) if owner.selections else []
        for selection in owner.selections:
            expected = passage_after(passes, selection.start, selection.end)
            assert new[guid_key(selection.guid)] == expected, (owner.name, selection.start, selection.end)
            checked += 1
    old_codings = {guid_key(r.coding.guid): r for r in before.iter_codings()}
    new_codings = {guid_key(r.coding.guid): r for r in after.iter_codings()}
    assert old_codings.keys() == new_codings.keys()
    for guid, record in old_codings.items():
        moved = new_codings[guid]
        assert guid_key(moved.source.guid) == guid_key(record.source.guid)
        assert (moved.selection is None) == (record.selection is None)  # whole-source codings stay whole
    return checked


# -------------------------------------------------------------------------------------------------------
# The key
# -------------------------------------------------------------------------------------------------------

def key_of(*rows) -> Key:
    return Key(Entry(o, r, ignore_case="i" in m, anywhere="a" in m, row=n) for n, (o, r, m) in enumerate(rows, 2))


def test_whole_words_case_sensitive_by_default():
    key = key_of(("Ann", "[P1]", ""))
    assert key.apply("Ann, Annika and ann met Ann.") == "[P1], Annika and ann met [P1]."


def test_ignore_case_and_anywhere():
    assert key_of(("ingrid", "[P1]", "i")).apply("INGRID and Ingrid, not Ingridsen") == "[P1] and [P1], not Ingridsen"
    assert key_of(("Halvor", "[P2]", "a")).apply("Halvorsen and Halvor") == "[P2]sen and [P2]"
    assert key_of(("halvor", "[P2]", "ai")).apply("HALVORSEN") == "[P2]SEN"


def test_several_words_and_the_longest_entry_wins_where_entries_overlap():
    key = key_of(("Verizon", "[O1]", ""), ("Verizon Media", "[O2]", ""), ("Media Group", "[O3]", ""))
    assert key.apply("Verizon Media and Verizon, Media Group") == "[O2] and [O1], [O3]"
    # -- overlapping from different starts: the longer match wins, the shorter ones fill what is left --
    key = key_of(("Maria Anna", "[P1]", ""), ("Anna Berg Hansen", "[P2]", ""), ("Maria", "[P3]", ""))
    assert key.apply("Maria Anna Berg Hansen") == "[P3] [P2]"
    # -- across kinds of match: the longer one wins whatever its kind --
    key = key_of(("anna", "[P1]", "i"), ("Anna Berg", "[P2]", ""))
    assert key.apply("Anna Berg, ANNA") == "[P2], [P1]"


def test_originals_with_punctuation_match_at_their_edges():
    key = key_of(("AT&T", "[O1]", ""), ("Dr. Smith", "[P1]", ""), ("C++", "[L1]", ""))
    assert key.apply("AT&T's Dr. Smith wrote C++, not C++x") == "[O1]'s [P1] wrote [L1], not [L1]x"


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_the_matcher_finds_what_trying_every_entry_everywhere_finds(data):
    entries = data.draw(key_entries(max_entries=6))
    key = Key(entries)
    text = data.draw(st.lists(st.one_of(st.text(ORIGINAL_ALPHABET + " ._-x", max_size=6),
                                        st.sampled_from([e.original for e in entries] or ["a"])), max_size=10))
    text = "".join(text)
    found = [(m.start, m.end, entries[m.entry].replacement) for m in key.find(text)]
    assert found == naive_find(text, entries)
    assert key.apply(text) == passes_of(text, entries)[-1][0]


def test_a_replacement_that_contains_an_original_is_refused():
    with pytest.raises(PseudonymisationError, match=r"row 3.*contains the original of row 2 \('Ingrid'\)"):
        key_of(("Ingrid", "[P1]", ""), ("Halvorsen", "Ingrid's husband", ""))
    with pytest.raises(PseudonymisationError, match="contains its own original"):
        key_of(("Ingrid", "Ingrid H.", ""))
    with pytest.raises(PseudonymisationError, match=r"\[Person 1\].*contains the original of row 2"):
        key_of(("Person", "[P]", ""), ("Ingrid", "[Person 1]", ""))


def test_rows_that_cannot_work_are_refused_with_their_row():
    with pytest.raises(PseudonymisationError, match="row 3 .*no replacement"):
        key_of(("Ingrid", "[P1]", ""), ("Tomás", " ", ""))
    with pytest.raises(PseudonymisationError, match="row 2 .* and row 3 .* replace the same original"):
        key_of(("Ingrid", "[P1]", ""), ("Ingrid", "[P2]", ""))
    with pytest.raises(PseudonymisationError, match="both match 'INGRID' with different replacements"):
        key_of(("INGRID", "[P1]", ""), ("ingrid", "[P2]", "i"))


def test_key_files_csv_and_xlsx(tmp_path):
    csv = tmp_path / "key.csv"
    csv.write_text("original,replacement,category,match\nIngrid Halvorsen,[Person 1],person,\n"
                   "oslo,[Place 1],place,ignore-case\n\nHalvor,[P2],,anywhere\n", encoding="utf-8-sig")
    key = read_key(csv)
    assert [(e.original, e.replacement, e.category, e.match, e.row) for e in key] == [
        ("Ingrid Halvorsen", "[Person 1]", "person", "word", 2), ("oslo", "[Place 1]", "place", "ignore-case", 3),
        ("Halvor", "[P2]", None, "anywhere", 5)]
    # -- a workbook with a title above the header, and extra columns, as --suggest writes it --
    xlsx = tmp_path / "key.xlsx"
    with pd.ExcelWriter(xlsx) as writer:
        pd.DataFrame([["Draft key", None, None], [None, None, None], ["original", "replacement", "count"],
                      ["Ingrid", "[Person 1]", 3]]).to_excel(writer, header=False, index=False)
    assert [(e.original, e.row) for e in read_key(xlsx)] == [("Ingrid", 4)]


def test_bad_key_files_give_one_line_errors(tmp_path):
    with pytest.raises(ProjectFileError, match="does not exist"):
        read_key(tmp_path / "missing.csv")
    (tmp_path / "key.ods").write_text("x")
    with pytest.raises(ProjectFileError, match=r"\.csv or \.xlsx"):
        read_key(tmp_path / "key.ods")
    (tmp_path / "nohead.csv").write_text("name,alias\nIngrid,[P1]\n")
    with pytest.raises(PseudonymisationError, match="no header row with the columns original and replacement"):
        read_key(tmp_path / "nohead.csv")
    (tmp_path / "mode.csv").write_text("original,replacement,match\nIngrid,[P1],fuzzy\n")
    with pytest.raises(PseudonymisationError, match="row 2: match 'fuzzy'"):
        read_key(tmp_path / "mode.csv")
    (tmp_path / "latin.csv").write_bytes("original,replacement\nTom\xe1s,[P1]\n".encode("latin-1"))
    with pytest.raises(ProjectFileError, match="not a UTF-8 text file"):
        read_key(tmp_path / "latin.csv")
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ProjectFileError, match="broken.xlsx: not a readable ZIP file"):
        read_key(tmp_path / "broken.xlsx")


# -------------------------------------------------------------------------------------------------------
# Positions through the rewrite
# -------------------------------------------------------------------------------------------------------

def test_positions_shift_after_a_replacement_and_snap_to_its_edges_inside_it():
    text = "I met Ingrid today. Ingrid said hello."
    done = rewrite(text, key_of(("Ingrid", "[Person 1]", "")))
    assert done.text == "I met [Person 1] today. [Person 1] said hello."
    positions = done.positions
    assert positions.start(0) == 0 and positions.end(6) == 6          # before: unchanged
    assert positions.start(6) == 6 and positions.end(12) == 16         # exactly the word: the replacement
    assert positions.start(8) == 6 and positions.end(9) == 16          # inside: to the edges
    assert positions.start(13) == 17 and positions.end(18) == 22       # after one: shifted by four
    assert positions.start(20) == 24 and positions.end(38) == 46       # after two: by eight
    assert positions.inside(8) and not positions.inside(6) and not positions.inside(12)


# -------------------------------------------------------------------------------------------------------
# Properties on random projects and keys
# -------------------------------------------------------------------------------------------------------

@st.composite
def keyed_projects(draw):
    entries = draw(key_entries())
    return draw(named_projects(entries)), entries


@SETTINGS
@given(drawn=keyed_projects())
def test_nothing_of_the_key_is_left_and_every_coding_is_on_its_passage(drawn, tmp_path_factory):
    project, entries = drawn
    key = Key(entries)
    aliases = {user.guid: f"Coder {i}" for i, user in enumerate(project.users, 1)}
    result = pseudonymise(project, key, codes=True, coders=aliases)
    path = write(result.project, tmp_path_factory.mktemp("ps") / "out.qdpx")
    assert leftovers(path, entries) == []
    back = read(path)
    check_codings_on_their_passages(project, back, key)
    assert validate(str(path)).ok, [str(f) for f in validate(str(path)).errors]
    assert sorted(back.coders()) == sorted({aliases[u] for u in aliases if any(
        r.coding.creating_user == u or (r.selection and r.selection.creating_user == u and not r.coding.creating_user)
        for r in project.iter_codings())})


@SETTINGS
@given(drawn=keyed_projects())
def test_an_empty_key_gives_back_the_same_project(drawn):
    project, _ = drawn
    result = pseudonymise(project, {})
    assert result.project == project
    assert result.report.replacements == 0 and result.report.moved == []


# -------------------------------------------------------------------------------------------------------
# Real files
# -------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_merged(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    handed = refi_bridge.split(FIXTURES / "master.qdpx", ["Ingrid Halvorsen", "Tomás Ferreira", "Amara Okafor"],
                               folder / "handout")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        result = refi_bridge.merge([FIXTURES / n for n in CODER_FILES], manifest=handed.manifest)
    return write(result.project, folder / "merged.qdpx")


DEMO_KEY = (("Interviewer", "[Role 1]", ""), ("Therapist", "[Role 2]", ""), ("TV", "[Medium]", ""),
            ("therapist", "[role]", ""), ("good hands", "[phrase 1]", ""), ("panic", "[fear 1]", "i"),
            ("session", "[meeting]", ""), ("she", "[person]", ""), ("Dyad 01", "[Dyad X]", ""),
            ("safe", "[S]", "a"), ("Nobody Here", "[P9]", ""))


def test_demo_merge_pseudonymised_keeps_codings_agreement_and_matrix(demo_merged, tmp_path):
    key = key_of(*DEMO_KEY)
    before = read(demo_merged)
    result = pseudonymise(before, key, codes=True, coders={"Ingrid Halvorsen": "Coder A",
                                                           "Tomás Ferreira": "Coder B", "Amara Okafor": "Coder C"})
    out = write(result.project, tmp_path / "shared.qdpx")
    assert leftovers(out, key.entries) == []
    after = read(out)
    assert check_codings_on_their_passages(before, after, key) == sum(1 for _ in before.iter_selections())
    report = result.report
    assert [e.original for e in report.unmatched()] == ["Nobody Here"]
    assert report.codings == 606 and report.shifted > 500
    assert validate(str(out)).ok
    # -- agreement: the same coders, and where text length plays no part (presence), the same numbers --
    old, new = compute(before, bootstrap=0), compute(after, bootstrap=0)
    assert new.coders == ["Coder A", "Coder B", "Coder C"]
    assert len(new.disagreements) == len(old.disagreements)
    presence = [c for c in old.per_code.columns if "presence" in c]
    assert presence and (old.per_code[presence].fillna(-9).values == new.per_code[presence].fillna(-9).values).all()
    # -- the matrix: the same marks, with Dyad 01 under its pseudonym --
    old_matrix = matrix(before, group_by="variable:Outcome", min_coders=2)
    new_matrix = matrix(after, group_by="variable:Outcome", min_coders=2)
    assert (new_matrix.rename(columns={"[Dyad X]": "Dyad 01"}).sort_index(axis=1).values ==
            old_matrix.sort_index(axis=1).values).all()


ORGANISATIONS = (("CNN", "[Org 1]", ""), ("BBC", "[Org 2]", ""), ("Guardian", "[Org 3]", ""),
                 ("Verizon Media", "[Org 4]", ""), ("FOX News", "[Org 5]", ""), ("MGN", "[Org 6]", ""),
                 ("MGN Ltd", "[Org 7]", ""), ("ABC", "[Org 8]", ""), ("ABC Online", "[Org 9]", ""),
                 ("Washington Post", "[Org 10]", ""), ("Facebook", "[Platform 1]", "i"), ("Forbes", "[Org 11]", ""),
                 ("MailOnline", "[Org 12]", ""), ("BuzzFeed", "[Org 13]", ""))


def test_real_nvivo_project_with_organisation_names(tmp_path):
    key = key_of(*ORGANISATIONS)
    before = read(CONSTRUCTIVE)
    assert any(name.endswith(".docx") for name in before.files)
    result = pseudonymise(before, key)
    out = write(result.project, tmp_path / "shared.qdpx")
    assert leftovers(out, key.entries) == []
    assert not any(n.endswith(".docx") for n in zipfile.ZipFile(out).namelist())
    after = read(out)
    assert check_codings_on_their_passages(before, after, key) == 874
    report = result.report
    assert report.replacements > 250 and report.shifted > 250
    assert {row["kind"] for row in report.files} == {"rich-text original"} and len(report.files) == 79
    assert [e.original for e in report.unmatched()] == ["MGN"]  # every MGN here is "MGN Ltd"
    # -- the theme-by-case matrix, and agreement once a second reader has coded the same passages --
    assert (matrix(after).values == matrix(before).values).all()
    assert compute(second_reader(after), bootstrap=0).coders == ["Monika Maciuliene", "Second reader"]


def test_real_nvivo_project_with_the_draft_key_as_it_comes(tmp_path):
    """The workflow without review: every suggestion taken as it is; nothing of it left, codings whose edges
    fell inside a replaced word moved to its edges."""
    before = read(CONSTRUCTIVE)
    draft = suggest(before)
    key = Key(Entry(row.original, row.replacement, row=i) for i, row in enumerate(draft.itertuples(), 2))
    assert len(key) > 100 and {"person", "organisation", "e-mail", "url"} <= set(draft["category"])
    result = pseudonymise(before, key, codes=True)
    out = write(result.project, tmp_path / "shared.qdpx")
    assert leftovers(out, key.entries) == []
    assert check_codings_on_their_passages(before, read(out), key) == 874
    assert result.report.unmatched() == [] and len(result.report.moved) > 0
    assert all(row["text"].startswith("[") or row["text"].endswith("]") for row in result.report.moved)


CORPUS_PROJECTS = sorted(p for p in CORPUS.glob("*/*") if p.suffix in (".qdpx", ".qde"))
MEDIA = (".jpeg", ".jpg", ".png", ".pdf", ".mp3", ".m4a", ".wav", ".mp4", ".mov")


@pytest.mark.parametrize("path", CORPUS_PROJECTS, ids=lambda p: p.name)
def test_every_real_export_with_its_draft_key(path, tmp_path):
    """Every tool's export, with the 300 most frequent suggestions of its draft as the key and media kept:
    nothing of the key left outside the media, every coding on its passage, a valid file."""
    before = read(path)
    draft = suggest(before).sort_values("count", ascending=False, kind="stable").head(300)
    key = Key(Entry(row.original, row.replacement) for row in draft.itertuples())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)  # media kept: named one by one
        result = pseudonymise(before, key, codes=True, keep_media=True)
    out = write(result.project, tmp_path / f"shared{path.suffix}")
    assert leftovers(out, key.entries, skip=MEDIA) == []
    check_codings_on_their_passages(before, read(out), key)
    if path.suffix == ".qdpx":
        assert validate(str(out)).ok


def second_reader(project: Project) -> Project:
    """The project with every other coding repeated by a second user, so that agreement can be computed."""
    reader = User(guid="00000000-0000-4000-8000-000000000002", name="Second reader")
    sources = []
    for source in project.sources:
        selections = tuple(replace(s, codings=s.codings + tuple(
            Coding(guid=f"{c.guid[:-4]}beef", code_guid=c.code_guid, creating_user=reader.guid)
            for c in s.codings[: (i % 2)])) for i, s in enumerate(getattr(source, "selections", ())))
        sources.append(replace(source, selections=selections))
    return replace(project, users=project.users + (reader,), sources=tuple(sources))


def test_media_are_refused_unless_kept_and_then_named(tmp_path):
    project = read(PICTURES)
    key = key_of(("memes", "[topic]", "i"))
    with pytest.raises(PseudonymisationError, match="carries 27 media files .*--keep-media"):
        pseudonymise(project, key)
    with pytest.warns(RefiBridgeWarning) as caught:
        result = pseudonymise(project, key, keep_media=True)
    assert leftovers(write(result.project, tmp_path / "kept.qdpx"), key.entries, skip=MEDIA) == []
    named = [str(w.message) for w in caught if "was kept as it is" in str(w.message)]
    assert len(named) == 27 and all("picture" in message for message in named)
    out = write(result.project, tmp_path / "pictures.qdpx")
    kept = [n for n in zipfile.ZipFile(out).namelist() if n.endswith(".jpeg")]
    assert len(kept) == 27 and not any(n.endswith(".docx") for n in zipfile.ZipFile(out).namelist())
    assert validate(str(out)).ok


# -------------------------------------------------------------------------------------------------------
# Every place a name can hide
# -------------------------------------------------------------------------------------------------------

def small_project(**changes) -> Project:
    text = "Ingrid met Tomás in Oslo. Ingrid laughed."
    source = TextSource(guid="11111111-1111-4111-8111-111111111111", name="Ingrid interview", text=text,
                        plain_text_path="internal://Ingrid interview.txt",
                        rich_text_path="internal://Ingrid interview.docx",
                        selections=(PlainTextSelection(guid="22222222-2222-4222-8222-222222222222", start=2, end=24,
                                                       name="grid met Tomás in Oslo",
                                                       codings=(Coding(guid="33333333-3333-4333-8333-333333333333",
                                                                       code_guid="44444444-4444-4444-8444-444444444444"),)),),
                        codings=(Coding(guid="55555555-5555-4555-8555-555555555555",
                                        code_guid="44444444-4444-4444-8444-444444444444"),),
                        foreign=Foreign(attributes=(("{urn:x}interviewer", "Tomás"),),
                                        elements=('<x:note xmlns:x="urn:x" who="Ingrid">Ingrid &amp; Tomás</x:note>',)))
    base = Project(name="Ingrid's project", description="Interviews with Tomás", sources=(source,),
                   codes=(Code(guid="44444444-4444-4444-8444-444444444444", name="About Ingrid",
                               description="Where Ingrid talks"),),
                   users=(User(guid="66666666-6666-4666-8666-666666666666", name="Tomás", id="TF"),),
                   files={"Ingrid interview.docx": b"PK\x03\x04 docx bytes", ".root": b"", "stray.bin": b"data"})
    return replace(base, **changes)


def test_names_descriptions_paths_vendor_data_and_rich_text(tmp_path):
    key = key_of(("Ingrid", "[P1]", ""), ("Tomás", "[P2]", ""), ("Oslo", "[City]", ""))
    result = pseudonymise(small_project(), key)
    project = result.project
    source = project.sources[0]
    assert source.name == "[P1] interview" and source.text == "[P1] met [P2] in [City]. [P1] laughed."
    assert source.rich_text_path is None and source.plain_text_path == "internal://11111111-1111-4111-8111-111111111111.txt"
    selection = source.selections[0]
    assert (selection.start, selection.end) == (0, 23) and source.text[0:23] == "[P1] met [P2] in [City]"
    assert selection.name == "grid met [P2] in [City]"  # a stored excerpt is text like any other
    assert source.foreign.attributes == (("{urn:x}interviewer", "[P2]"),)
    assert "Ingrid" not in source.foreign.elements[0] and "[P1] &amp; [P2]" in source.foreign.elements[0]
    assert project.name == "[P1]'s project" and project.description == "Interviews with [P2]"
    assert project.codes[0].name == "About Ingrid" and project.codes[0].description == "Where [P1] talks"
    assert project.users[0].name == "Tomás"
    assert set(project.files) == {".root"}
    assert any("code names contain" in n for n in result.report.notes)
    assert any("user names contain" in n for n in result.report.notes)
    kinds = {(row["kind"], row["action"]) for row in result.report.files}
    assert kinds == {("rich-text original", "dropped"), ("plain text", "renamed"), ("unreferenced file", "dropped")}
    out = write(project, tmp_path / "out.qdpx")
    left = leftovers(out, key.entries)  # what the options left: the code's name and the user's
    assert len(left) == 2 and 'name="About Ingrid"' in left[0] and 'name="Tomás"' in left[1]
    # -- asked for: code names and users too --
    full = pseudonymise(small_project(), key, codes=True, coders={"Tomás": "Coder A"}).project
    assert full.codes[0].name == "About [P1]" and full.users[0].name == "Coder A" and full.users[0].id is None
    assert leftovers(write(full, tmp_path / "full.qdpx"), key.entries) == []


def test_unknown_coder_and_text_only_in_its_original_are_refused():
    key = key_of(("Ingrid", "[P1]", ""))
    with pytest.raises(PseudonymisationError, match="--coders names 'nobody', who is not a user .*'Tomás'"):
        pseudonymise(small_project(), key, coders={"Nobody": "X"})
    project = small_project()
    source = replace(project.sources[0], text=None, plain_text_path=None, selections=())
    with pytest.raises(PseudonymisationError, match="its text is only in 'Ingrid interview.docx'.*plain texts"):
        pseudonymise(replace(project, sources=(source,)), key)


def test_transcripts_sync_points_and_notes_move_with_their_text():
    transcript = Transcript(guid="77777777-7777-4777-8777-777777777777", name="Ingrid, take 1",
                            text="Hi Ingrid. Yes, Ingrid here.",
                            sync_points=(SyncPoint(guid="a1", time_stamp=0, position=0),
                                         SyncPoint(guid="a2", time_stamp=900, position=11),
                                         SyncPoint(guid="a3", time_stamp=1500, position=19)),
                            selections=(TranscriptSelection(guid="b1", from_sync_point="a2", to_sync_point="a3"),))
    audio = AudioSource(guid="88888888-8888-4888-8888-888888888888", name="Ingrid.m4a", transcripts=(transcript,))
    note = small_project().sources[0]
    note = refi_bridge.Note(guid="99999999-9999-4999-8999-999999999999", name="Memo on Ingrid", text=note.text,
                            selections=note.selections)
    result = pseudonymise(Project(name="p", sources=(audio,), notes=(note,)), key_of(("Ingrid", "[Person 1]", "")))
    new = result.project.sources[0].transcripts[0]
    assert new.text == "Hi [Person 1]. Yes, [Person 1] here." and new.name == "[Person 1], take 1"
    assert [p.position for p in new.sync_points] == [0, 15, 20]  # "Yes", and inside "Ingrid": its start
    assert new.text[15:20] == "Yes, "
    memo = result.project.notes[0]
    assert memo.name == "Memo on [Person 1]" and memo.text[memo.selections[0].start:memo.selections[0].end] == \
        "[Person 1] met Tomás in Oslo"[:28]
    assert result.project.sources[0].name == "[Person 1].m4a"


def test_report_workbook_and_json(tmp_path):
    from refi_bridge.privacy.report import write_report

    result = pseudonymise(small_project(), key_of(("Ingrid", "[P1]", ""), ("Nobody", "[P9]", "")))
    workbook = write_report(result.report, tmp_path / "report.xlsx")
    sheets = pd.read_excel(workbook, sheet_name=None, header=None)
    assert list(sheets) == ["Entries", "Where", "Codings moved", "Files", "Coders"]
    data = json.loads(write_report(result.report, tmp_path / "report.json").read_text(encoding="utf-8"))
    assert data["unmatched"] == [{"row": 3, "original": "Nobody"}]
    assert data["codings_moved_to_an_edge"] == 1 and data["moved"][0]["edge inside a replaced word"] == "start"
    assert [row["replacements"] for row in data["entries"]] == [7, 0]


# -------------------------------------------------------------------------------------------------------
# The draft key
# -------------------------------------------------------------------------------------------------------

def test_suggest_finds_recurring_names_and_identifiers_but_not_sentence_starts(tmp_path):
    text = ("Interviewer: How was it?\nIngrid: I talked to Ingrid Halvorsen at Bergen Hospital, then with "
            "Ingrid Halvorsen again. Later we drove back from Oslo. We met in Oslo. Then Tomás came.\n"
            "Ingrid: Write to ingrid.h@example.no or call +47 22 33 44 55 before 12 March 2021; see "
            "https://example.org/x and record 12345678. Bergen Hospital called. the end. The end.")
    project = Project(name="p", sources=(TextSource(guid="g1", name="Interview 1", text=text),))
    frame = suggest(project).set_index("original")
    assert frame.loc["Ingrid Halvorsen", "category"] == "person" and frame.loc["Ingrid Halvorsen", "count"] == 2
    assert frame.loc["Bergen Hospital", "category"] == "organisation"
    assert frame.loc["Oslo", "category"] == "place"
    assert frame.loc["Ingrid", "category"] == "person"  # a speaker label, twice
    assert frame.loc["ingrid.h@example.no", "category"] == "e-mail"
    assert frame.loc["+47 22 33 44 55", "category"] == "phone"
    assert frame.loc["12 March 2021", "category"] == "date"
    assert frame.loc["https://example.org/x", "category"] == "url"
    assert frame.loc["12345678", "category"] == "number"
    assert "Tomás" not in frame.index          # once only
    for ordinary in ("Later", "Then", "The", "Interviewer", "We"):
        assert ordinary not in frame.index
    assert frame.loc["Ingrid Halvorsen", "replacement"].startswith("[Person ")
    assert "[Ingrid Halvorsen]" in frame.loc["Ingrid Halvorsen", "example"]
    # -- the draft, as written, is a key that works; in a CSV, "+47 ..." is kept from being a formula and
    #    read back as it was --
    key = Key(Entry(o, r) for o, r in frame["replacement"].items())
    assert "Halvorsen" not in key.apply(text)
    for suffix in (".csv", ".xlsx"):
        write_suggestion(frame.reset_index(), tmp_path / f"draft{suffix}")
        assert [e.original for e in read_key(tmp_path / f"draft{suffix}")] == list(frame.index)
    assert "'+47 22 33 44 55" in (tmp_path / "draft.csv").read_text(encoding="utf-8-sig")


# -------------------------------------------------------------------------------------------------------
# The command
# -------------------------------------------------------------------------------------------------------

def test_command_suggest_review_pseudonymise(runner, tmp_path, demo_merged):
    from refi_bridge.cli import cli

    draft = tmp_path / "draft.csv"
    result = runner.invoke(cli, ["pseudonymise", str(demo_merged), "--suggest", str(draft)])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(draft).columns.tolist() == ["original", "replacement", "category", "match", "count", "example"]
    key = tmp_path / "key.csv"
    key.write_text("original,replacement\nTV,[Medium]\n", encoding="utf-8")
    out, report = tmp_path / "shared.qdpx", tmp_path / "report.json"
    before = demo_merged.read_bytes()
    result = runner.invoke(cli, ["pseudonymise", str(demo_merged), "--key", str(key), "-o", str(out),
                                 "--report", str(report), "--coders", "Ingrid Halvorsen=Coder A,Amara Okafor=Coder C"])
    assert result.exit_code == 0, result.output
    assert "replaced 8 occurrences of 1 of 1 key entries" in result.output
    assert demo_merged.read_bytes() == before and leftovers(out, read_key(key).entries) == []
    assert json.loads(report.read_text(encoding="utf-8"))["coders"] == [
        {"user": "Ingrid Halvorsen", "alias": "Coder A"}, {"user": "Amara Okafor", "alias": "Coder C"}]


def test_command_errors_are_one_line_and_write_nothing(runner, tmp_path, demo_merged):
    from refi_bridge.cli import cli

    key = tmp_path / "key.csv"
    key.write_text("original,replacement\nIngrid,Ingrid H\n", encoding="utf-8")
    out = tmp_path / "out.qdpx"
    result = runner.invoke(cli, ["pseudonymise", str(demo_merged), "--key", str(key), "-o", str(out)])
    assert result.exit_code == 1 and "contains its own original" in result.output
    assert [line.startswith("Error:") for line in result.output.splitlines()].count(True) == 1
    assert "Traceback" not in result.output and not out.exists()
    result = runner.invoke(cli, ["pseudonymise", str(demo_merged), "--key", str(key)])
    assert result.exit_code == 2 and "give --key KEY and -o OUT.qdpx" in result.output
    result = runner.invoke(cli, ["pseudonymise", str(demo_merged), "--suggest", "d.csv", "--key", str(key)])
    assert result.exit_code == 2
    empty = tmp_path / "empty.csv"
    empty.write_text("original,replacement\n", encoding="utf-8")
    result = runner.invoke(cli, ["pseudonymise", str(demo_merged), "--key", str(empty), "-o", str(out)])
    assert result.exit_code == 1 and "the key has no entries" in result.output
    result = runner.invoke(cli, ["pseudonymise", str(PICTURES), "--key", str(empty), "-o", str(out)])
    assert result.exit_code == 1 and not out.exists()
    result = runner.invoke(cli, ["pseudonymise", str(demo_merged), "--key", str(key), "-o", str(key)])
    assert result.exit_code == 1 and "must be a .qdpx or .qde file" in result.output
