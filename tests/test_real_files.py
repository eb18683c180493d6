"""Real projects from real tools, end to end: every step right where one tool's file meets another's.

Each test names the corpus file that showed the seam (issue 10); none of them may pass by staying silent.
"""

from __future__ import annotations

import warnings
import zipfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import CORPUS, CORPUS_FILES, corpus_id, document_bytes
from lxml import etree

import refi_bridge
from refi_bridge.agreement import compute
from refi_bridge.agreement.consensus import build as build_consensus
from refi_bridge.cli import cli
from refi_bridge.errors import AgreementError, MergeError, ProjectFileError, RefiBridgeWarning
from refi_bridge.formats import dialects
from refi_bridge.formats.validation import validate
from refi_bridge.model import Code, TextSource, User, derived_guid, map_codings, new_guid
from refi_bridge.team.jobs import merge_files
from refi_bridge.team.jobs import split as split_files
from refi_bridge.team.merging import MergeInput, merge_projects

HEGARTY = CORPUS / "nvivo" / "nvivo20.1-win_hegarty-metasynthesis.qdpx"
CASES = CORPUS / "nvivo" / "nvivo20.5-mac_constructive-turn-cases.qdpx"
SPEC_EXAMPLE = CORPUS / "atlasti" / "atlasti8.4-mac_refi-spec-example2_project.qde"
PROJECTS = [p for p in CORPUS_FILES if p.suffix != ".qdc"]


def quietly(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        return call(*args, **kwargs)


# -- 1. every writer dialect round-trips through merge ------------------------------------------------------

@pytest.mark.parametrize("path", PROJECTS, ids=corpus_id)
@pytest.mark.parametrize("dialect", list(dialects.DIALECTS))
def test_every_dialect_writes_a_valid_file_that_merges_back_adding_nothing(path, dialect, tmp_path,
                                                                           official_schemas):
    original = quietly(refi_bridge.read, path)
    converted = tmp_path / f"converted{path.suffix}"
    quietly(refi_bridge.write, original, converted, dialect=dialect)
    assert quietly(validate, converted).errors == []
    assert official_schemas["Project"].validate(etree.fromstring(document_bytes(converted)))
    report = merge_projects([MergeInput(quietly(refi_bridge.read, converted), "converted")], base=original).report
    merged = report.files[-1]
    assert (merged.codings_added, len(report.new_codes), len(report.conflicts)) == (0, 0, 0), (
        report.new_codes[:3], report.conflicts[:3])
    assert merged.codings_in_file == merged.codings_duplicate  # every coding came back, each one recognised


def test_a_bare_qde_is_not_written_as_a_qdpx_that_names_files_it_lacks(tmp_path):
    project = quietly(refi_bridge.read, SPEC_EXAMPLE)
    target = tmp_path / "spec.qdpx"
    with pytest.raises(ProjectFileError, match=r"names \d+ files it does not carry.*bare \.qde.*write a \.qde"):
        quietly(refi_bridge.write, project, target)
    assert not target.exists()
    quietly(refi_bridge.write, project, tmp_path / "spec.qde")  # the references are kept where they can be
    assert validate(tmp_path / "spec.qde").errors == []


def test_qualcoder_handouts_of_a_project_with_shared_code_names_merge_back_without_conflicts(tmp_path):
    handout = tmp_path / "handout"
    quietly(split_files, HEGARTY, ["A", "B"], handout, dialect="qualcoder")
    outcome = quietly(merge_files, [handout / "a.qdpx", handout / "b.qdpx"], tmp_path / "merged.qdpx",
                      manifest=handout / "manifest.json")
    report = outcome.result.report
    assert (len(report.conflicts), len(report.new_codes)) == (0, 0)
    assert {f.codes_new for f in report.files} == {0}


def test_convert_for_qualcoder_says_what_it_renamed(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RefiBridgeWarning)
        refi_bridge.write(quietly(refi_bridge.read, HEGARTY), tmp_path / "qc.qdpx", dialect="qualcoder")
    said = [str(w.message) for w in caught]
    assert any("71 codes renamed to their paths" in line and "QualCoder keeps them apart" in line for line in said)


# -- 2. a master that already holds codings ------------------------------------------------------------------

def coded_by(project, name: str, keep=lambda index: True):
    """The project's codings credited to one new coder (as a coder's returned file would be)."""
    user = User(guid=derived_guid("test-coder", name), name=name)
    counter = iter(range(10**9))

    def credit(source):
        def coding(c, _selection):
            return replace(c, creating_user=user.guid)
        source = map_codings(source, coding)
        kept = tuple(s for s in getattr(source, "selections", ()) if keep(next(counter)))
        return replace(source, selections=kept) if hasattr(source, "selections") else source

    return replace(project, users=(*project.users, user), sources=tuple(credit(s) for s in project.sources))


def test_codings_the_master_already_holds_are_kept_said_and_left_out_of_agreement(tmp_path):
    master = quietly(refi_bridge.read, CASES)
    author = {u.name for u in master.users}
    nodes = master.case_nodes()  # 97 of its 874 codings put passages in cases: nobody's coding
    held = sum(1 for r in master.iter_codings() if r.coding.code_guid.lower() not in nodes)
    assert held == 874 - 97
    handout = tmp_path / "handout"
    quietly(split_files, CASES, ["A", "B"], handout)
    for name, keep in (("A", lambda i: True), ("B", lambda i: i % 7 != 0)):
        quietly(refi_bridge.write, coded_by(master, name, keep), tmp_path / f"{name.lower()}-back.qdpx")
    outcome = quietly(merge_files, [tmp_path / "a-back.qdpx", tmp_path / "b-back.qdpx"], tmp_path / "m.qdpx",
                      manifest=handout / "manifest.json", coders={"a-back.qdpx": "A", "b-back.qdpx": "B"})
    report = outcome.result.report
    note = next(n for n in report.notes if n.startswith("the master already holds"))
    assert f"{held:,} codings" in note and any(a in note for a in author)
    master_row = next(f for f in report.files if f.role == "master")
    assert master_row.codings_in_file == held
    merged = quietly(refi_bridge.read, tmp_path / "m.qdpx")
    agreement = compute(merged, bootstrap=0)
    assert agreement.coders == ["A", "B"]
    assert set(agreement.left_out) & author
    assert any(line.startswith("Left out:") for line in agreement.statement)
    everyone = compute(merged, coders=["A", "B", *sorted(set(agreement.left_out))], bootstrap=0)
    assert len(everyone.coders) == 2 + len(agreement.left_out)


# -- 3. NVivo cases are cases --------------------------------------------------------------------------------

def test_nvivo_case_nodes_make_a_theme_by_case_matrix():
    project = quietly(refi_bridge.read, CASES)
    coverage = project.case_coverage()
    assert len(coverage.case_nodes) == len(project.cases) == 68
    built = refi_bridge.matrix(project)
    case_names = {case.name for case in project.cases}
    assert not set(built.index) & case_names  # case nodes are never theme rows
    assert set(built.columns) <= case_names and len(built.columns) > 0
    # -- an oracle from the XML's own words: a theme is present for a case when one of its codings
    #    overlaps one of the passages coded at the case's node --
    paths = project.code_paths()
    case_of_code = {c.guid.lower(): c.name for c in project.cases}
    spans = {}
    for record in project.iter_codings():
        key = record.coding.code_guid.lower()
        if key in case_of_code and record.selection is not None:
            spans.setdefault(record.source.guid, []).append(
                (record.selection.start, record.selection.end, case_of_code[key]))
    expected = set()
    for record in project.iter_codings():
        key = record.coding.code_guid.lower()
        if key in case_of_code or record.selection is None:
            continue
        s = record.selection
        for first, last, case in spans.get(record.source.guid, ()):
            if first < s.end and s.start < last:
                expected.add((paths[key][0], case))
    marked = {(row, column) for row in built.index for column in built.columns if str(built.at[row, column]).strip()}
    assert marked == expected


def test_the_codings_table_and_agreement_use_the_same_case_membership():
    project = quietly(refi_bridge.read, CASES)
    table = project.codings()
    coverage = project.case_coverage()
    names = {c.guid.lower(): c.name for c in project.cases}
    row = table[table["case"].notna() & table["start"].notna()].iloc[0]
    assert row["case"] == "; ".join(names[c] for c in coverage.cases_at(row["source_guid"], row["start"], row["end"]))
    assert table["case"].notna().sum() > 0


def test_a_matrix_that_would_be_empty_is_refused_with_what_to_try(tmp_path, runner):
    project = quietly(refi_bridge.read, CASES)
    cases_only = (*(c for c in project.codes if c.name.startswith("years")), Code(guid=new_guid(), name="Unused"))
    quietly(refi_bridge.write, replace(project, codes=cases_only), tmp_path / "p.qdpx")
    result = runner.invoke(cli, ["matrix", str(tmp_path / "p.qdpx"), "-o", str(tmp_path / "m.xlsx")])
    assert result.exit_code == 1
    assert "would be empty; try --columns sources" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "m.xlsx").exists()


# -- 5. real archives and real mistakes ------------------------------------------------------------------------

WIN = CORPUS / "nvivo" / "nvivo12.6-win_vaccine-skepticism_2users.qdpx"


def test_an_archive_zipped_again_with_its_folder_inside_keeps_its_texts(tmp_path):
    nested = tmp_path / "again.qdpx"
    with zipfile.ZipFile(WIN) as source, zipfile.ZipFile(nested, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr("MyProject/" + info.filename, source.read(info.filename))
    original, again = quietly(refi_bridge.read, WIN), quietly(refi_bridge.read, nested)
    assert [s.text for s in again.sources] == [s.text for s in original.sources]
    assert all(s.text for s in again.sources if isinstance(s, TextSource))
    assert validate(nested).errors == []


def two_coders(tmp_path):
    """The 2-user NVivo export handed to Ada and Bo, and both files returned coded as the export is."""
    handout = tmp_path / "handout"
    quietly(split_files, WIN, ["Ada", "Bo"], handout)
    master = quietly(refi_bridge.read, WIN)
    for name, keep in (("Ada", lambda i: True), ("Bo", lambda i: i % 3 != 0)):
        quietly(refi_bridge.write, coded_by(master, name, keep), tmp_path / f"{name.lower()}.qdpx")
    return handout


def test_a_code_map_row_that_matches_nothing_is_reported_with_the_closest_names(tmp_path):
    master = quietly(refi_bridge.read, WIN)
    path = next(p for _, p in master.iter_codes() if len(p) > 1)
    table = tmp_path / "map.csv"
    table.write_text(f"from,to\nNo such code,{path[-1]}\n{path[-1]}x,Nothing like it\n", encoding="utf-8")
    result = quietly(refi_bridge.merge, [WIN, WIN], code_map=table)
    notes = result.report.notes
    assert any("from 'No such code'" in n and "matched no code" in n for n in notes)
    assert any("to 'Nothing like it'" in n and "is no code of the master" in n for n in notes)
    headerless = tmp_path / "bare.csv"
    headerless.write_text(f"old,{path[-1]}\n", encoding="utf-8")
    with pytest.raises(MergeError, match="first row must name the columns from,to"):
        quietly(refi_bridge.merge, [WIN, WIN], code_map=headerless)


def test_a_code_map_may_name_its_target_by_a_unique_name(tmp_path):
    master = quietly(refi_bridge.read, WIN)
    counts = Counter(c.name.casefold() for c, _ in master.iter_codes())
    code, path = next((c, p) for c, p in master.iter_codes() if len(p) > 1 and counts[c.name.casefold()] == 1)
    renamed = replace(master, codes=tuple(_renamed(c, code.guid) for c in master.codes))
    renamed = refi_bridge.model.map_guids(renamed, lambda g: g if g.lower() != code.guid.lower() else new_guid())
    result = merge_projects([MergeInput(renamed, "coder")], base=master, code_map={"Renamed by coder": code.name})
    assert len(result.report.new_codes) == 0
    assert any(row.how == "map" and row.matched_path == " > ".join(path) for row in result.report.codes)


def _renamed(code, guid):
    children = tuple(_renamed(c, guid) for c in code.codes)
    return replace(code, name="Renamed by coder" if code.guid == guid else code.name, codes=children)


def test_merge_says_what_looks_like_a_mistake(tmp_path):
    handout = two_coders(tmp_path)
    other = CORPUS / "maxqda" / "maxqda24.7_icls-conference-themes.qdpx"
    files = [tmp_path / "ada.qdpx", tmp_path / "ada.qdpx", handout / "bo.qdpx"]
    notes = quietly(refi_bridge.merge, files, manifest=handout / "manifest.json").report.notes
    assert any("is the same file as ada.qdpx" in n for n in notes)
    assert any(n.startswith("bo.qdpx: holds no codings") for n in notes)
    notes = quietly(refi_bridge.merge, [WIN, other]).report.notes
    assert any(n.startswith(f"{other.name}: shares no source with") for n in notes)
    stranger = tmp_path / "stranger.qdpx"
    quietly(refi_bridge.write, coded_by(quietly(refi_bridge.read, WIN), "Zed"), stranger)
    notes = quietly(refi_bridge.merge, [stranger], manifest=handout / "manifest.json").report.notes
    assert any("its codings are by" in n and "Zed" in n and "--coder stranger.qdpx=NAME" in n for n in notes)


def test_split_reads_semicolons_refuses_one_coder_and_keeps_a_handout(tmp_path, runner):
    out = tmp_path / "handout"
    result = runner.invoke(cli, ["split", str(WIN), "--coders", "Ada;Bo;Cy", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.glob("*.qdpx")) == ["ada.qdpx", "bo.qdpx", "cy.qdpx", "master.qdpx"]
    before = (out / "ada.qdpx").read_bytes()
    again = runner.invoke(cli, ["split", str(WIN), "--coders", "Ada,Bo", "-o", str(out)])
    assert again.exit_code == 1 and "already holds a handout" in again.output
    assert (out / "ada.qdpx").read_bytes() == before
    assert runner.invoke(cli, ["split", str(WIN), "--coders", "Ada,Bo", "-o", str(out), "--overwrite"]).exit_code == 0
    alone = runner.invoke(cli, ["split", str(WIN), "--coders", "Ada Bo", "-o", str(tmp_path / "x")])
    assert alone.exit_code == 2 and "names one coder" in alone.output
    assert not (tmp_path / "x").exists()


def test_consensus_refuses_words_that_could_mean_union_or_intersection(tmp_path):
    handout = two_coders(tmp_path)
    merged = quietly(refi_bridge.merge, [tmp_path / "ada.qdpx", tmp_path / "bo.qdpx"],
                     manifest=handout / "manifest.json").project
    rows = compute(merged, bootstrap=0).disagreements.to_dict(orient="records")
    assert rows  # Bo left out every third passage
    rows[0]["resolution"] = "both"
    with pytest.raises(AgreementError, match=r"row 1: resolution 'both' is not a coder .*union"):
        build_consensus(merged, rows)
    rows[0]["resolution"] = "union"
    assert build_consensus(merged, rows).resolved == 1


# -- what a review of the above found, each on the file that shows it ------------------------------------------

DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "dyad-study"
RETURNED = [DEMO / n for n in ("ingrid-nvivo.qdpx", "tomas-atlasti.qdpx", "amara-refi.qdpx")]


def test_case_links_written_for_qualcoder_are_nobodys_codings(tmp_path):
    plain = quietly(refi_bridge.merge, [DEMO / "master.qdpx", *RETURNED]).project
    quietly(refi_bridge.write, plain, tmp_path / "qc.qdpx", dialect="qualcoder")
    again = quietly(refi_bridge.read, tmp_path / "qc.qdpx")
    assert set(again.coders()) == set(plain.coders())
    assert compute(again, bootstrap=0).coders == compute(plain, bootstrap=0).coders


def test_a_blind_handout_keeps_which_case_each_passage_is_in(tmp_path):
    master = quietly(refi_bridge.read, CASES)
    quietly(split_files, CASES, ["A", "B"], tmp_path / "h")
    handout = quietly(refi_bridge.read, tmp_path / "h" / "a.qdpx")
    nodes = master.case_nodes()
    kept = [r for r in handout.iter_codings()]
    assert kept and all(r.coding.code_guid.lower() in nodes for r in kept)  # blind: nothing else
    assert len(kept) == sum(1 for r in master.iter_codings() if r.coding.code_guid.lower() in nodes)
    assert validate(tmp_path / "h" / "a.qdpx").errors == []


def test_agreement_refuses_when_fewer_than_two_handed_coders_returned(tmp_path):
    handout = two_coders(tmp_path)
    # -- Bo has not sent a file back yet; the master's own codings must not stand in for a second coder --
    merged = quietly(refi_bridge.merge, [tmp_path / "ada.qdpx"], manifest=handout / "manifest.json").project
    with pytest.raises(AgreementError, match="only Ada of them coded.*handed no sources"):
        compute(merged, bootstrap=0)


def test_a_missing_rich_text_copy_is_dropped_and_a_missing_text_refused_with_the_right_reason(tmp_path):
    def without(suffix, target):
        with zipfile.ZipFile(WIN) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
            dropped = next(i.filename for i in source.infolist() if i.filename.lower().endswith(suffix))
            for info in source.infolist():
                if info.filename != dropped:
                    out.writestr(info, source.read(info.filename))

    without(".docx", tmp_path / "no-docx.qdpx")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RefiBridgeWarning)
        refi_bridge.write(refi_bridge.read(tmp_path / "no-docx.qdpx"), tmp_path / "out.qdpx")
    assert any("rich-text originals" in str(w.message) for w in caught)
    assert validate(tmp_path / "out.qdpx").errors == []
    without(".txt", tmp_path / "no-txt.qdpx")
    with pytest.raises(ProjectFileError, match="its archive does not hold them.*Export the project again"):
        quietly(refi_bridge.write, quietly(refi_bridge.read, tmp_path / "no-txt.qdpx"), tmp_path / "x.qdpx")


def test_a_code_map_target_may_be_a_name_with_separators_and_an_ambiguous_name_is_said():
    master = quietly(refi_bridge.read, WIN)
    code = next(c for c, p in master.iter_codes() if len(p) > 1)
    named = replace(master, codes=tuple(_renamed_to(c, code.guid, "Coke::diet Coke") for c in master.codes))
    report = merge_projects([MergeInput(named, "a")], base=named,
                            code_map={"Coke::diet Coke": "Coke::diet Coke"}).report
    assert not any("is no code of the master" in n for n in report.notes)
    hegarty = quietly(refi_bridge.read, HEGARTY)  # 71 of its codes share a name with another
    counts = Counter(c.name.casefold() for c, _ in hegarty.iter_codes())
    shared = next(c.name for c, _ in hegarty.iter_codes() if counts[c.name.casefold()] > 1)
    report = merge_projects([MergeInput(hegarty, "a")], base=hegarty, code_map={"x": shared}).report
    assert any(f"names {counts[shared.casefold()]} codes of the master; give its path" in n for n in report.notes)


def _renamed_to(code, guid, name):
    children = tuple(_renamed_to(c, guid, name) for c in code.codes)
    return replace(code, name=name if code.guid == guid else code.name, codes=children)


def test_a_macos_zip_and_an_archive_of_two_projects(tmp_path):
    mac = tmp_path / "mac.qdpx"
    with zipfile.ZipFile(WIN) as source, zipfile.ZipFile(mac, "w") as out:
        for info in source.infolist():
            data = source.read(info.filename)
            out.writestr("MyProject/" + info.filename, data)
            out.writestr("__MACOSX/MyProject/._" + info.filename.rpartition("/")[2], b"\x00\x05\x16\x07")
    assert quietly(refi_bridge.read, mac).sources
    two = tmp_path / "two.qdpx"
    with zipfile.ZipFile(WIN) as source, zipfile.ZipFile(two, "w") as out:
        for info in source.infolist():
            for folder in ("One/", "Two/"):
                out.writestr(folder + info.filename, source.read(info.filename))
    with pytest.raises(ProjectFileError, match="2 project documents in folders.*One/project.qde"):
        refi_bridge.read(two)


def test_split_overwrite_removes_the_replaced_handouts_files(tmp_path, runner):
    out = tmp_path / "h"
    assert runner.invoke(cli, ["split", str(WIN), "--coders", "Ada,Bo,Cy", "-o", str(out)]).exit_code == 0
    assert runner.invoke(cli, ["split", str(WIN), "--coders", "Ada,Bo", "-o", str(out), "--overwrite"]).exit_code == 0
    assert sorted(p.name for p in out.glob("*.qdpx")) == ["ada.qdpx", "bo.qdpx", "master.qdpx"]
