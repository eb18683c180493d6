"""Golden tests on real exports: every corpus file reads, keeps everything, and round-trips in every dialect."""

from __future__ import annotations

import json
import warnings
import zipfile
from collections import Counter

import pytest
from conftest import CORPUS_FILES, NVIVO_MAC, NVIVO_WIN, REFI, corpus_id, document_bytes, guid_case_free
from lxml import etree

import refi_bridge
from refi_bridge.errors import RefiBridgeWarning
from refi_bridge.model import PlainTextSelection, TextSource, guid_key

ANALYSIS = {entry["file"]: entry for entry in json.loads((REFI / "corpus-analysis.json").read_text())}


def read_quietly(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        return refi_bridge.read(path)


def raw_counts(path) -> Counter:
    """Element counts straight from the XML: an oracle independent of the reader."""
    root = etree.fromstring(document_bytes(path))
    return Counter(etree.QName(el).localname for el in root.iter() if isinstance(el.tag, str))


def coded_passages(project, paths=None) -> Counter:
    """(code path, coder, whitespace-normalised coded text) for every text coding; ``paths`` names the codes."""
    paths = paths if paths is not None else project.code_paths()
    users = project.users_by_guid()
    out: Counter = Counter()
    for record in project.iter_codings():
        text = None
        if isinstance(record.selection, PlainTextSelection) and record.owner.text is not None:
            text = " ".join(record.owner.text[record.selection.start:record.selection.end].split())
        coder = refi_bridge.model.coder_name(refi_bridge.model.coder_of(record), users)
        out[(paths.get(guid_key(record.coding.code_guid)), coder, text)] += 1
    return out


@pytest.mark.parametrize("path", CORPUS_FILES, ids=corpus_id)
def test_every_corpus_file_reads_with_all_its_elements(path):
    project = read_quietly(path)
    counts = raw_counts(path)
    assert sum(1 for _ in project.iter_codes()) == counts["Code"]
    assert len(project.users) == counts["User"]
    codings_in_notes = sum(len(s.codings) for n in project.notes for s in n.selections)
    assert sum(1 for _ in project.iter_codings()) + codings_in_notes == counts["Coding"]
    assert len(project.sets) == counts["Set"]
    assert len(project.cases) == counts["Case"]
    assert len(project.variables) == counts["Variable"]
    assert len(project.notes) == counts["Note"]
    assert len(project.links) == counts["Link"]
    kinds = Counter(type(s).__name__ for s in project.sources)
    for kind in ("TextSource", "PictureSource", "PDFSource", "AudioSource", "VideoSource"):
        assert kinds[kind] == counts[kind]
    analysis = ANALYSIS.get(f"{path.parent.name}/{path.name}")
    if analysis is not None:  # the measured facts of the first twelve files
        assert sum(1 for _ in project.iter_codes()) == analysis["counts"].get("Code", 0)
        assert len(project.sources) == sum(analysis["counts"].get(k, 0) for k in
                                           ("TextSource", "PictureSource", "PDFSource", "AudioSource",
                                            "VideoSource"))


@pytest.mark.parametrize("path", [p for p in CORPUS_FILES if "nvivo" in p.name and p.suffix == ".qdpx"],
                         ids=corpus_id)
def test_nvivo_positions_are_read_as_utf16_units(path):
    project = read_quietly(path)
    assert project.read_info.position_unit == "utf16"
    assert "NVivo" in project.read_info.position_evidence


def test_emoji_before_a_selection_shifts_nvivo_positions_to_the_right_words():
    """NVivo Mac counts an emoji as two units; read as code points the passages would start mid-word."""
    project = read_quietly(NVIVO_MAC)
    assert "confirmed" in project.read_info.position_evidence
    shifted = 0
    for _, selection, owner in project.iter_selections():
        before = owner.text[: selection.start]
        shifted += sum(1 for ch in before if ord(ch) > 0xFFFF) > 0
    assert shifted > 100  # many selections sit after an emoji, so the conversion mattered


def test_mac_and_windows_exports_of_one_project_hold_the_same_codings():
    """Acceptance: every one of the 297 Mac codings is in the Windows export, same code path and text."""
    mac, win = read_quietly(NVIVO_MAC), read_quietly(NVIVO_WIN)
    win_paths, mac_paths = win.code_paths(), mac.code_paths()

    def passages(project, paths):
        out = Counter()
        for record in project.iter_codings():
            text = record.owner.text[record.selection.start:record.selection.end]
            out[(paths[guid_key(record.coding.code_guid)], " ".join(text.split()))] += 1
        return out

    mac_codings, win_codings = passages(mac, mac_paths), passages(win, win_paths)
    assert sum(mac_codings.values()) == 297
    missing = [key for key, n in mac_codings.items() if win_codings[key] < n]
    assert missing == []
    # the two files really differ in every way the quirks say
    assert {guid_key(c.guid) for c, _ in mac.iter_codes()}.isdisjoint({guid_key(c.guid) for c, _ in win.iter_codes()})
    assert any(s.text_bom for s in win.sources) and not any(s.text_bom for s in mac.sources)
    assert "\r\n" in win.sources[0].text and "\r\n" not in mac.sources[0].text
    assert win.read_info.sources_folder == "Sources" and mac.read_info.sources_folder == "sources"


@pytest.mark.parametrize("path", CORPUS_FILES, ids=corpus_id)
def test_refi_round_trip_is_lossless_and_schema_valid(path, tmp_path, official_schemas):
    project = read_quietly(path)
    out = tmp_path / ("copy" + path.suffix)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        refi_bridge.write(project, out)
    again = read_quietly(out)
    assert guid_case_free(again) == guid_case_free(project)  # GUIDs are written in upper case
    assert coded_passages(again) == coded_passages(project)
    root = etree.fromstring(document_bytes(out))
    schema = official_schemas[etree.QName(root).localname]
    assert schema.validate(root), schema.error_log
    assert etree.QName(root).namespace in ("urn:QDA-XML:project:1.0", "urn:QDA-XML:codebook:1.0")


@pytest.mark.parametrize("path", [p for p in CORPUS_FILES if p.suffix == ".qdpx"], ids=corpus_id)
def test_archive_files_are_carried_byte_for_byte(path, tmp_path):
    project = read_quietly(path)
    out = tmp_path / "copy.qdpx"
    refi_bridge.write(project, out)
    with zipfile.ZipFile(path) as original, zipfile.ZipFile(out) as copy:
        before = {n.split("/", 1)[1]: original.read(n) for n in original.namelist()
                  if n.lower().startswith("sources/") and not n.endswith("/")}
        after = {n.split("/", 1)[1]: copy.read(n) for n in copy.namelist() if n.startswith("sources/")}
        assert "project.qde" in copy.namelist()
    assert after == before  # texts included: BOM and CR LF kept


@pytest.mark.parametrize("path", [p for p in CORPUS_FILES if p.suffix != ".qdc"], ids=corpus_id)
@pytest.mark.parametrize("dialect", ["nvivo", "qualcoder"])
def test_other_dialects_keep_every_coded_passage(path, dialect, tmp_path, official_schemas):
    project = read_quietly(path)
    out = tmp_path / ("copy" + path.suffix)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        refi_bridge.write(project, out, dialect=dialect)
    again = read_quietly(out)
    # -- code names may have been made unique for QualCoder: each code's GUID says which code it was --
    before, after = coded_passages(project), coded_passages(again, project.code_paths())
    assert after == before
    root = etree.fromstring(document_bytes(out))
    assert official_schemas["Project"].validate(root), official_schemas["Project"].error_log


def test_nvivo_dialect_writes_utf16_positions(tmp_path):
    project = read_quietly(NVIVO_MAC)
    out = tmp_path / "for-nvivo.qdpx"
    refi_bridge.write(project, out, dialect="nvivo")
    original = etree.fromstring(document_bytes(NVIVO_MAC))
    written = etree.fromstring(document_bytes(out))

    def spans(root):
        ns = {"q": "urn:QDA-XML:project:1.0"}
        return sorted((int(s.get("startPosition")), int(s.get("endPosition")))
                      for s in root.iterfind(".//q:PlainTextSelection", ns))

    assert spans(written) == spans(original)  # exactly the numbers NVivo wrote


def test_qualcoder_dialect_writes_what_qualcoder_imports(tmp_path):
    project = read_quietly(NVIVO_WIN)
    out = tmp_path / "for-qualcoder.qdpx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        refi_bridge.write(project, out, dialect="qualcoder")
    with zipfile.ZipFile(out) as zf:
        texts = [zf.read(n) for n in zf.namelist() if n.endswith(".txt")]
    assert texts and not any(t.startswith(b"\xef\xbb\xbf") for t in texts)  # QualCoder keeps a BOM as text
    again = read_quietly(out)
    users = again.users_by_guid()
    for _, selection, _ in again.iter_selections():
        coders = {refi_bridge.model.coder_of_coding(c, selection) for c in selection.codings}
        assert coders == {selection.creating_user} or not coders  # QualCoder credits the selection's creator
    names = [code.name.casefold() for code, _ in again.iter_codes()]
    assert len(names) == len(set(names))  # QualCoder merges codes of equal name
    assert all(u.name for u in users.values())


def test_atlas_pdf_quotations_keep_all_their_codings():
    path = next(p for p in CORPUS_FILES if "mepit" in p.name)
    project = read_quietly(path)
    pdf = project.sources[0]
    assert type(pdf).__name__ == "PDFSource"
    assert len(pdf.selections) == 391
    assert sum(len(s.codings) for s in pdf.selections) == 866
    assert pdf.representation is not None and pdf.representation.text
    assert project.coders() == {"Mobile46": 866}  # the ATLAS.ti pseudo-user is not a coder
    table = project.codings()
    assert table["locator"].str.startswith("page").all()


def test_nvivo_cases_and_variables_are_kept():
    path = next(p for p in CORPUS_FILES if "constructive" in p.name)
    project = read_quietly(path)
    assert len(project.cases) == 68 and len(project.variables) == 2
    values = [v for s in project.sources for v in s.variables_values] if False else \
        [v for s in project.sources for v in s.variable_values]
    assert len(values) == 120 and all(v.type == "Text" for v in values)


def test_spec_example_keeps_media_transcripts_graphs_and_links():
    path = next(p for p in CORPUS_FILES if p.suffix == ".qde")
    with pytest.warns(RefiBridgeWarning, match="bare .qde"):
        project = refi_bridge.read(path)
    transcripts = [t for s in project.sources for t in getattr(s, "transcripts", ())]
    assert len(transcripts) == 3 and sum(len(t.sync_points) for t in transcripts) == 13
    assert len(project.graphs) == 1 and len(project.graphs[0].vertices) == 3
    assert len(project.links) == 1 and len(project.notes) == 2
    assert all(isinstance(s, TextSource) or s.path for s in project.sources)


def test_codebook_files_read_as_codebooks():
    for path in [p for p in CORPUS_FILES if p.suffix == ".qdc"]:
        project = read_quietly(path)
        assert project.read_info.kind == "qdc"
        assert project.codes and not project.sources


def test_taguette_empty_sets_are_dropped_on_writing(tmp_path, official_schemas):
    path = next(p for p in CORPUS_FILES if "uto-tag" in p.name)
    assert not official_schemas["CodeBook"].validate(etree.fromstring(path.read_bytes()))
    out = tmp_path / "fixed.qdc"
    refi_bridge.write(read_quietly(path), out)
    assert official_schemas["CodeBook"].validate(etree.fromstring(out.read_bytes()))
