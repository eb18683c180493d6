"""The qualcoder dialect writes what QualCoder 4 keeps, in the forms it keeps it.

Each rule was measured by running QualCoder's own import headless (``tests/clients/qualcoder_check.py``);
these tests hold our files to those forms on the real exports that showed each loss, so that CI, which
cannot run QualCoder, still fails when a form breaks.
"""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path

import pytest
from conftest import CORPUS

import refi_bridge
from refi_bridge.errors import RefiBridgeWarning
from refi_bridge.formats import dialects
from refi_bridge.model import PDFSelection, PictureSelection, PlainTextSelection, TextSource, coder_of_coding
from refi_bridge.team.merging import MergeInput, merge_projects

CASES = CORPUS / "nvivo" / "nvivo20.5-mac_constructive-turn-cases.qdpx"
MEMES = CORPUS / "nvivo" / "nvivo14.23-mac_memes-pictures.qdpx"
HEGARTY = CORPUS / "nvivo" / "nvivo20.1-win_hegarty-metasynthesis.qdpx"
UNNAMED = CORPUS / "qc" / "qc1.3.2_demo-project.qdpx"
DEMO_MASTER = Path(__file__).resolve().parent.parent / "fixtures" / "dyad-study" / "master.qdpx"


def read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        return refi_bridge.read(path)


def for_qualcoder(project):
    return dialects.prepare(project, dialects.get("qualcoder"))


def written(project, tmp_path):
    """The project as QualCoder will read it: written in the dialect and read back."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        refi_bridge.write(project, tmp_path / "qc.qdpx", dialect="qualcoder")
    return read(tmp_path / "qc.qdpx")


def test_nvivo_case_nodes_become_top_level_codes_with_the_case_guid_and_a_name_of_their_own():
    original = read(CASES)
    prepared, notes = for_qualcoder(original)
    case_guids = {case.guid for case in prepared.cases}  # exact strings: QualCoder compares them so
    top = {code.guid: code for code in prepared.codes}
    assert case_guids <= set(top), "every case node is a top-level code with the case's own GUID string"
    assert all(top[g].is_codable and not top[g].codes for g in case_guids)
    names = Counter(code.name.casefold() for code, _ in prepared.iter_codes())
    assert all(names[top[g].name.casefold()] == 1 for g in case_guids)
    assert len({case.name for case in prepared.cases}) == len(prepared.cases)
    at_cases = sum(1 for r in prepared.iter_codings() if r.coding.code_guid in case_guids)
    assert at_cases == 97  # every case coding of the NVivo file is still there, now in QualCoder's form
    merged = merge_projects([MergeInput(prepared, "qc")], base=original).report
    assert (len(merged.new_codes), len(merged.conflicts), merged.files[-1].codings_added) == (0, 0, 0)


def test_a_cases_sources_become_codings_over_the_whole_text_at_the_cases_code(tmp_path):
    master = read(DEMO_MASTER)
    linked = {(case.guid, ref) for case in master.cases for ref in case.source_refs}
    assert linked
    again = written(master, tmp_path)
    lengths = {s.guid.lower(): len(s.text) for s in again.sources if isinstance(s, TextSource)}
    whole = {(r.coding.code_guid.lower(), r.source.guid.lower()) for r in again.iter_codings()
             if isinstance(r.selection, PlainTextSelection)
             and (r.selection.start, r.selection.end) == (0, lengths[r.source.guid.lower()])}
    assert {(c.lower(), s.lower()) for c, s in linked} <= whole
    report = merge_projects([MergeInput(again, "qc")], base=master).report
    assert (len(report.new_codes), len(report.conflicts), report.files[-1].codings_added) == (0, 0, 0)


def test_picture_areas_are_split_per_coder_dated_and_named():
    prepared, _ = for_qualcoder(read(MEMES))
    areas = [s for s in prepared.iter_selections() if isinstance(s[1], (PictureSelection, PDFSelection))]
    assert len(areas) > 0
    for _, area, _ in areas:
        assert area.creation_date_time and area.name is not None
        coders = {coder_of_coding(c, area) for c in area.codings}
        assert coders <= {area.creating_user}, "QualCoder credits every coding of an area to its creator"


def test_texts_are_lf_only_without_bom_and_every_coding_keeps_its_text(tmp_path):
    original = read(HEGARTY)
    assert any("\r\n" in s.text for s in original.sources if isinstance(s, TextSource))
    again = written(original, tmp_path)
    assert not any("\r" in s.text or s.text_bom for s in again.sources if isinstance(s, TextSource))

    def coded(project):
        return Counter((r.source.guid.lower(), r.coding.guid.lower(),
                        r.owner.text[r.selection.start:r.selection.end].replace("\r\n", "\n"))
                       for r in project.iter_codings() if isinstance(r.selection, PlainTextSelection))

    assert coded(again) == coded(original)


def test_unnamed_sources_are_named_after_their_files(tmp_path):
    original = read(UNNAMED)
    assert any(not s.name for s in original.sources)
    again = written(original, tmp_path)
    names = [s.name for s in again.sources]
    assert all(names) and len(set(names)) == len(names)
    assert not any(name in ("None",) for name in names)


def test_notes_on_passages_become_annotations_and_notes_on_sources_memos():
    from dataclasses import replace

    from refi_bridge.model import Note

    project = read(DEMO_MASTER)
    source = next(s for s in project.sources if isinstance(s, TextSource) and s.text)
    passage = PlainTextSelection(guid="11111111-1111-4111-8111-111111111111", start=0, end=5,
                                 note_refs=("22222222-2222-4222-8222-222222222222",))
    notes = (Note(guid="22222222-2222-4222-8222-222222222222", name="On the opening", text="Ask about this."),
             Note(guid="33333333-3333-4333-8333-333333333333", name="On the file", text="Recorded twice."))
    changed = replace(source, selections=(*source.selections, passage), note_refs=(notes[1].guid,))
    project = replace(project, notes=notes,
                      sources=tuple(changed if s is source else s for s in project.sources))
    prepared, said = for_qualcoder(project)
    out = next(s for s in prepared.sources if s.guid == source.guid)
    annotations = [s for s in out.selections if not s.codings and s.description]
    assert [(a.start, a.end, a.description) for a in annotations] == [(0, 5, "Ask about this.")]
    assert "Recorded twice." in (out.description or "") and not out.note_refs
    assert all(n.creation_date_time and n.plain_text_path for n in prepared.notes)
    assert len({n.name for n in prepared.notes}) == len(prepared.notes)
    assert any("annotations" in line for line in said) and any("memos" in line for line in said)


@pytest.mark.parametrize("path", [CASES, MEMES], ids=lambda p: p.name)
def test_one_line_names_what_qualcoder_cannot_hold(path):
    project = read(path)
    _, said = for_qualcoder(project)
    cannot = [line for line in said if line.startswith("QualCoder cannot hold")]
    expected = bool(project.graphs or project.links or any(s.member_codes or s.member_notes for s in project.sets))
    assert len(cannot) == int(expected)


def as_qualcoder_exports_it(project):
    """What QualCoder's own REFI export makes of an imported project (measured on its export of our files):
    every GUID new, texts with a BOM, the project named after its database, case codes gone."""
    import uuid
    from dataclasses import replace

    fresh: dict[str, str] = {}
    cases = {case.guid.lower() for case in project.cases}
    project = replace(project, codes=tuple(c for c in project.codes if c.guid.lower() not in cases))
    project = replace(project, sources=tuple(
        replace(s, selections=tuple(sel for sel in s.selections
                                    if not any(c.code_guid.lower() in cases for c in sel.codings)))
        if isinstance(s, TextSource) else s for s in project.sources))
    project = refi_bridge.model.map_guids(project, lambda g: fresh.setdefault(g.lower(), str(uuid.uuid4())))
    sources = tuple(replace(s, text_bom=True) if isinstance(s, TextSource) else s for s in project.sources)
    return replace(project, name="project.qda", origin="QualCoder 4.0 Beta", sources=sources)


@pytest.mark.parametrize("path", [CASES, HEGARTY, UNNAMED, CORPUS / "nvivo" / "nvivo15.0-mac_qc-project-reexport.qdpx"],
                         ids=lambda p: p.name)
def test_a_qualcoder_reexport_of_our_file_merges_back_adding_nothing(path, tmp_path):
    original = read(path)
    exported = as_qualcoder_exports_it(written(original, tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        refi_bridge.write(exported, tmp_path / "export.qdpx")
    report = merge_projects([MergeInput(read(tmp_path / "export.qdpx"), "qc-export")], base=original).report
    merged = report.files[-1]
    assert merged.sources_by_guid == 0 and merged.codes_by_guid == 0  # nothing matched by GUID: none was kept
    assert (merged.codings_added, len(report.new_codes), len(report.conflicts)) == (0, 0, 0)
    assert merged.codings_duplicate == merged.codings_in_file
