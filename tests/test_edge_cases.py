"""Edge cases found in review: each test is a defect that once existed, written so that it cannot come back."""

from __future__ import annotations

import uuid
import warnings
import zipfile
from pathlib import Path

import pytest
from conftest import error_line, guid_case_free
from openpyxl import load_workbook

import refi_bridge
from refi_bridge.agreement import compute
from refi_bridge.agreement.spans import collect
from refi_bridge.cli import cli
from refi_bridge.errors import RefiBridgeWarning, UnsafeFileError
from refi_bridge.model import (
    AudioSource,
    Code,
    Coding,
    Note,
    PDFSource,
    PictureSelection,
    PictureSource,
    PlainTextSelection,
    Project,
    SyncPoint,
    TextSource,
    Transcript,
    TranscriptSelection,
    User,
)
from refi_bridge.team.merging import Manifest, MergeInput, merge_projects


def g() -> str:
    return str(uuid.uuid4())


def text_project(text, spans, users=(("u1", "Anna"),), codes=(("c1", "Theme"),), **source):
    selections = tuple(PlainTextSelection(guid=g(), start=s, end=e, codings=(Coding(guid=g(), code_guid=c,
                                                                                     creating_user=u),))
                       for s, e, c, u in spans)
    return Project(name="p", users=tuple(User(guid=a, name=b) for a, b in users),
                   codes=tuple(Code(guid=a, name=b) for a, b in codes),
                   sources=(TextSource(guid=source.get("guid", "s1"), name=source.get("name", "Doc"), text=text,
                                       selections=selections),))


def read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        return refi_bridge.read(path)


# -- merging ------------------------------------------------------------------------------------------------

def picture(guid, name, user):
    return PictureSource(guid=guid, name=name, path="internal://image1.png", selections=(PictureSelection(
        guid=g(), first_x=0, first_y=0, second_x=5, second_y=5,
        codings=(Coding(guid=g(), code_guid="c1", creating_user=user),)),))


def test_a_coders_file_never_replaces_another_file_of_the_same_name(tmp_path):
    base = Project(name="m", users=(User(guid="ua", name="Anna"),), codes=(Code(guid="c1", name="T"),),
                   sources=(picture("P1", "kitchen", "ua"),), files={"image1.png": b"KITCHEN"})
    coder = Project(name="b", users=(User(guid="ub", name="Bob"),), codes=(Code(guid="c1", name="T"),),
                    sources=(picture("P2", "garden", "ub"),), files={"image1.png": b"GARDEN"})
    merged = merge_projects([MergeInput(coder, "b")], base=base).project
    assert [s.name for s in merged.sources] == ["kitchen", "garden"]
    contents = {s.name: merged.files[s.path[len("internal://"):]] for s in merged.sources}
    assert contents == {"kitchen": b"KITCHEN", "garden": b"GARDEN"}
    refi_bridge.write(merged, tmp_path / "m.qdpx")
    assert {s.name: s.path for s in read(tmp_path / "m.qdpx").sources}["garden"] != "internal://image1.png"


def recording(transcript_guid, points_prefix, coded, source_guid):
    points = (SyncPoint(guid=points_prefix + "-0000-4000-8000-000000000000", position=0, time_stamp=0),
              SyncPoint(guid=points_prefix + "-0000-4000-8000-000000000001", position=5, time_stamp=1000))
    selections = (TranscriptSelection(guid=g(), from_sync_point=points[0].guid, to_sync_point=points[1].guid,
                                      codings=(Coding(guid=g(), code_guid="c1", creating_user="u2"),)),) if coded else ()
    transcript = Transcript(guid=transcript_guid, text="hello world", sync_points=points, selections=selections)
    return AudioSource(guid=source_guid, name="Recording", path="internal://r.m4a", transcripts=(transcript,))


def test_transcript_codings_land_on_our_transcript_and_sync_points():
    base = Project(name="m", users=(User(guid="u1", name="Anna"),), codes=(Code(guid="c1", name="Theme"),),
                   sources=(recording("t1", "aaaaaaaa", False, "a1"),))
    coder = Project(name="b", users=(User(guid="u2", name="Bob"),), codes=(Code(guid="c1", name="Theme"),),
                    sources=(recording("t2", "bbbbbbbb", True, "zz"),))
    result = merge_projects([MergeInput(coder, "bob")], base=base)
    [transcript] = result.project.sources[0].transcripts
    [selection] = transcript.selections
    ours = {p.guid for p in transcript.sync_points}
    assert {selection.from_sync_point, selection.to_sync_point} == ours
    assert result.report.coders[0].codings_in_merge == 1 and result.report.files[0].codings_not_carried == 0


def test_a_transcript_without_counterpart_is_reported_not_dropped_silently():
    base = Project(name="m", users=(), codes=(Code(guid="c1", name="Theme"),),
                   sources=(AudioSource(guid="a1", name="Recording", path="internal://r.m4a"),))
    coder = Project(name="b", users=(User(guid="u2", name="Bob"),), codes=(Code(guid="c1", name="Theme"),),
                    sources=(recording("t2", "bbbbbbbb", True, "zz"),))
    result = merge_projects([MergeInput(coder, "bob")], base=base)
    assert result.report.files[0].codings_not_carried == 1
    assert result.report.not_carried[0].element == "TranscriptSelection"


def test_a_new_document_returned_by_two_coders_is_added_once():
    base = text_project("master text", [])
    one = text_project("interview nine", [(0, 9, "c1", "u1")], name="Interview 9", guid=g())
    two = text_project("interview nine", [(0, 9, "c1", "u2")], users=(("u2", "Bo"),), name="Interview 9", guid=g())
    merged = merge_projects([MergeInput(one, "a"), MergeInput(two, "b")], base=base).project
    assert [s.name for s in merged.sources] == ["Doc", "Interview 9"]
    assert merged.coders() == {"Anna": 1, "Bo": 1}


def test_memos_with_one_file_name_can_both_be_written(tmp_path):
    base = Project(name="m", notes=(Note(guid=g(), name="memo", text="first", plain_text_path="internal://memo.txt"),))
    coder = Project(name="b", notes=(Note(guid=g(), name="memo 2", text="second", plain_text_path="internal://memo.txt"),))
    merged = merge_projects([MergeInput(coder, "b")], base=base).project
    refi_bridge.write(merged, tmp_path / "m.qdpx")
    assert sorted(n.text for n in read(tmp_path / "m.qdpx").notes) == ["first", "second"]


def test_a_child_of_a_mapped_parent_lands_under_the_mapped_parent():
    base = Project(name="m", codes=(Code(guid=g(), name="Emotions"),))
    coder = Project(name="b", codes=(Code(guid=g(), name="Feelings", codes=(Code(guid=g(), name="Joy"),)),))
    merged = merge_projects([MergeInput(coder, "b")], base=base, code_map={"Feelings": "Emotions"}).project
    assert [path for _, path in merged.iter_codes()] == [("Emotions",), ("Emotions", "Joy")]


def test_a_returned_file_goes_to_the_coder_whose_name_it_has_exactly():
    manifest = Manifest(master="m.qdpx", sources={}, codes={},
                        assignment={"Ana": {"file": "ana.qdpx", "sources": []},
                                    "Anabel": {"file": "anabel.qdpx", "sources": []}})
    nobody = Project(name="x")
    assert manifest.coder_for(nobody, "anabel.qdpx") == "Anabel"
    assert manifest.coder_for(nobody, "ana.qdpx") == "Ana"
    assert manifest.coder_for(nobody, "anabel-export.qdpx") == "Anabel"


def test_coder_override_on_the_first_file_reaches_pdf_text_codings():
    representation = TextSource(guid="r1", text="pdf text here", selections=(PlainTextSelection(
        guid="q1", start=0, end=3, codings=(Coding(guid="k1", code_guid="c1", creating_user="ux"),)),))
    pdf = PDFSource(guid="p1", name="P", path="internal://p.pdf", representation=representation)
    first = Project(name="a", users=(User(guid="ux", name="Exporter"),), codes=(Code(guid="c1", name="T"),),
                    sources=(pdf,))
    merged = merge_projects([MergeInput(first, "a.qdpx", coder="Ingrid", override=True)]).project
    assert merged.coders() == {"Ingrid": 1}


# -- split --------------------------------------------------------------------------------------------------

def test_split_gives_every_coder_a_file_of_their_own(tmp_path):
    master = tmp_path / "in.qdpx"
    refi_bridge.write(text_project("some text", []), master)
    handed = refi_bridge.split(master, ["李娜", "王芳", "Master"], tmp_path / "out")
    files = {coder: path.name for coder, path in handed.files.items()}
    assert len(set(files.values())) == 3 and "master.qdpx" not in files.values()
    for coder, path in handed.files.items():
        assert coder in {u.name for u in read(path).users}


# -- agreement ------------------------------------------------------------------------------------------------

def test_coders_named_alike_in_case_keep_all_their_spans():
    project = text_project("x" * 100, [(0, 10, "c1", "u1"), (50, 60, "c1", "u3"), (0, 10, "c1", "u2"),
                                       (50, 60, "c1", "u2")], users=(("u1", "Anna"), ("u3", "anna"), ("u2", "Bob")))
    data = collect(project)
    assert data.spans[(0, "c1")]["Anna"] == [(0, 10), (50, 60)]
    assert compute(project, bootstrap=0).per_code.loc[0, "u_alpha_binary"] == pytest.approx(1.0)


def test_agreement_on_a_selection_outside_its_text_is_reported_not_a_crash():
    project = text_project("x" * 30, [(20, 35, "c1", "u1"), (20, 30, "c1", "u2")],
                           users=(("u1", "Anna"), ("u2", "Bob")))
    report = compute(project, bootstrap=0)
    assert report.per_code.loc[0, "u_alpha_binary"] == pytest.approx(1.0)
    assert any("outside their text" in line for line in report.statement)


# -- reading and writing -------------------------------------------------------------------------------------------

def test_a_project_without_name_is_read_with_a_warning(tmp_path):
    path = tmp_path / "noname.qde"
    path.write_bytes(b'<Project xmlns="urn:QDA-XML:project:1.0"/>')
    with pytest.warns(RefiBridgeWarning, match="has no name"):
        project = refi_bridge.read(path)
    assert project.name == ""


def test_names_stored_in_code_page_437_are_no_zip_bomb(tmp_path, monkeypatch):
    source = tmp_path / "c.qdpx"
    project = Project(name="p", sources=(TextSource(guid="s1", name="A", text="Some text",
                                                    plain_text_path="internal://Entrevista_Ñoño.txt"),))
    refi_bridge.write(project, source)

    def cp437(self):  # how older zip tools store names: code page 437, no UTF-8 flag
        try:
            return self.filename.encode("ascii"), self.flag_bits
        except UnicodeEncodeError:
            return self.filename.encode("cp437"), self.flag_bits & ~0x800

    monkeypatch.setattr(zipfile.ZipInfo, "_encodeFilenameFlags", cp437)
    target = tmp_path / "old.qdpx"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
    monkeypatch.undo()
    assert [s.text for s in read(target).sources] == ["Some text"]


def test_utf16_documents_cannot_slip_a_doctype_past_the_check(tmp_path):
    attack = ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE p [<!ENTITY x "INTERNAL">]>'
              '<Project xmlns="urn:QDA-XML:project:1.0" name="a&x;"/>').encode("utf-16")
    path = tmp_path / "attack.qde"
    path.write_bytes(attack)
    with pytest.raises(UnsafeFileError, match="DOCTYPE"):
        refi_bridge.read(path)


def test_excel_shows_text_that_starts_with_an_equals_sign_and_never_runs_it(tmp_path):
    project = text_project('=HYPERLINK("http://example.invalid","x") and more', [(0, 10, "c1", "u1")],
                           codes=(("c1", "=1+2"),))
    path = tmp_path / "p.qdpx"
    refi_bridge.write(project, path)
    out = tmp_path / "codings.xlsx"
    from refi_bridge.tables.export import export_codings

    export_codings(path, out)
    sheet = load_workbook(out)["Codings"]
    cells = [c for row in sheet.iter_rows() for c in row if isinstance(c.value, str) and c.value.startswith("=")]
    assert cells and all(c.data_type == "s" for c in cells)


def test_a_name_collision_in_source_text_files_is_resolved_on_merge(tmp_path):
    """The same plain-text file name for two different texts (new document from a coder)."""
    path_source = Project(name="b", sources=(TextSource(guid=g(), name="Other", text="another text",
                                                        plain_text_path="internal://s1.txt"),))
    base = Project(name="m", sources=(TextSource(guid="s1", name="Doc", text="one text",
                                                 plain_text_path="internal://s1.txt"),))
    merged = merge_projects([MergeInput(path_source, "b")], base=base).project
    refi_bridge.write(merged, tmp_path / "m.qdpx")
    assert sorted(s.text for s in read(tmp_path / "m.qdpx").sources) == ["another text", "one text"]





@pytest.mark.parametrize("namespace", ["urn:QDA-XML:codebook:0:4", "urn:QDA-XML:codebook:1:0"])
def test_old_codebook_namespaces_are_read_and_written_in_the_standard_one(tmp_path, namespace):
    path = tmp_path / "old.qdc"
    path.write_text(f'<?xml version="1.0" encoding="utf-8"?><CodeBook xmlns="{namespace}" origin="MAXQDA 24">'
                    '<Codes><Code guid="{AAAAAAAA-0000-4000-8000-000000000001}" name="Hope" isCodable="true"/>'
                    '</Codes></CodeBook>', encoding="utf-8")
    project = read(path)
    assert project.codes[0].guid == "{AAAAAAAA-0000-4000-8000-000000000001}"  # read as written
    out = tmp_path / "new.qdc"
    refi_bridge.write(project, out)
    assert b'xmlns="urn:QDA-XML:codebook:1.0"' in out.read_bytes()
    assert read(out).codes[0].guid == "AAAAAAAA-0000-4000-8000-000000000001"  # written without braces
    assert guid_case_free(read(out).codes) == guid_case_free(project.codes)


# -- the command on a researcher's mistakes ---------------------------------------------------------------------

DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "dyad-study"
CODERS = "Ingrid Halvorsen,Tomás Ferreira,Amara Okafor"
RETURNED = [str(DEMO / n) for n in ("ingrid-nvivo.qdpx", "tomas-atlasti.qdpx", "amara-refi.qdpx")]


@pytest.fixture(scope="module")
def handed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("handed")
    result = refi_bridge.split(DEMO / "master.qdpx", CODERS.split(","), folder / "handout")
    merged = folder / "merged.qdpx"
    refi_bridge.write(refi_bridge.merge([Path(p) for p in RETURNED], manifest=result.manifest).project, merged)
    return result, merged


def digest(path):
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.mark.parametrize("args", [
    ["agreement", "{merged}", "-o", "{merged}"],
    ["agreement", "{merged}", "-o", "{tmp}/a.xlsx", "--json", "{merged}"],
    ["matrix", "{merged}", "-o", "{merged}"],
    ["merge", RETURNED[0], "-o", "{tmp}/x.qdpx", "--report", RETURNED[0]],
    ["merge", RETURNED[0], "--manifest", "{manifest}", "-o", "{master}"],
    ["merge", RETURNED[0], "-o", "{tmp}/x.qdpx", "--report", "{manifest}"],
])
def test_no_command_writes_over_an_input(runner, handed, tmp_path, args):
    result_split, merged = handed
    values = {"merged": str(merged), "tmp": str(tmp_path), "manifest": str(result_split.manifest),
              "master": str(result_split.master_copy)}
    protected = [merged, result_split.manifest, result_split.master_copy, Path(RETURNED[0])]
    before = {p: digest(p) for p in protected}
    result = runner.invoke(cli, [a.format(**values) for a in args])
    assert result.exit_code == 1 and ("refusing to overwrite" in result.stderr or "must be a" in result.stderr)
    assert {p: digest(p) for p in protected} == before
    assert not (tmp_path / "x.qdpx").exists() and not (tmp_path / "a.xlsx").exists()  # nothing half-written


@pytest.mark.parametrize("args, message", [
    (["agreement", "{merged}", "-o", "{tmp}/out.csv"], "must be a .xlsx"),
    (["matrix", "{merged}", "-o", "{tmp}/out.qdpx"], "must be a .xlsx"),
    (["agreement", "{merged}", "--json", "{tmp}/out.xlsx"], "must be a .json"),
    (["consensus", "{merged}", "--resolutions", "{tmp}/r.csv", "-o", "{tmp}/c.qdpx"], "not an Excel workbook"),
    (["merge", RETURNED[0], "--manifest", "{tmp}/r.csv", "-o", "{tmp}/m.qdpx"], "not valid JSON"),
    (["merge", RETURNED[0], "--manifest", "{tmp}/list.json", "-o", "{tmp}/m.qdpx"], "not a refi-bridge manifest"),
    (["merge", RETURNED[0], "--code-map", "{tmp}/book.xlsx", "-o", "{tmp}/m.qdpx"], "not a CSV text file"),
    (["split", str(DEMO / "master.qdpx"), "--coders", "consensus,Bo", "-o", "{tmp}/h"], "agreed layer"),
    (["matrix", "{merged}", "-o", "{tmp}/m.xlsx", "--split", "variable:Outcome"], "no source has a value"),
    (["matrix", "{merged}", "-o", "{tmp}/m.xlsx", "--min-coders", "4"], "only 3 coder"),
    (["matrix", "{merged}", "-o", "{tmp}/m.xlsx", "--rows", "level:9"], "no such codes"),
    (["agreement", "{merged}", "-o", "{tmp}/a.xlsx", "--coders", "Ingrid Halvorsen"], "names only"),
])
def test_mistakes_get_one_line_and_exit_1(runner, handed, tmp_path, args, message):
    _, merged = handed
    (tmp_path / "r.csv").write_text("source,resolution\nx,union\n", encoding="utf-8")
    (tmp_path / "list.json").write_text("[1]", encoding="utf-8")
    (tmp_path / "book.xlsx").write_bytes(b"PK\x03\x04\xb2\xb2\xb2 binary")
    result = runner.invoke(cli, [a.format(merged=merged, tmp=tmp_path) for a in args])
    assert result.exit_code == 1, result.output
    assert message in error_line(result)


def test_a_manifest_of_another_study_is_refused(runner, tmp_path):
    other = refi_bridge.split(DEMO / "master.qdpx", ["Ada", "Bo"], tmp_path / "h")
    study = Project(name="other", sources=(TextSource(guid=g(), name="X", text="nothing alike"),))
    path = tmp_path / "other.qdpx"
    refi_bridge.write(study, path)
    result = runner.invoke(cli, ["merge", str(path), "--manifest", str(other.manifest), "-o", str(tmp_path / "m.qdpx")])
    assert result.exit_code == 1 and "not handed out from this master" in result.stderr


def test_coder_names_that_differ_from_the_split_are_noted_and_assignment_still_applies(tmp_path):
    handed = refi_bridge.split(DEMO / "master.qdpx", ["Ingrid", "Tomás"], tmp_path / "h", sources="D0*-client-*")
    files = {"ingrid.qdpx": RETURNED[0], "tomas.qdpx": RETURNED[1]}
    for name, source in files.items():  # what the coders send back, under the names they were handed
        (tmp_path / name).write_bytes(Path(source).read_bytes())
    result = refi_bridge.merge([tmp_path / n for n in files], manifest=handed.manifest)
    # -- "Ingrid Halvorsen" was handed no file and is no user of the master: the file's coder is meant --
    assert any("Ingrid Halvorsen" in note and "credited to Ingrid" in note for note in result.report.notes)
    assert set(result.project.coders()) == {"Ingrid", "Tomás"}
    report = compute(result.project, bootstrap=0)
    assert any("assigned to them" in line for line in report.statement)
    assert len(report.per_document[report.per_document["coders"].str.count(",") == 1]) == 17


def test_consensus_survives_an_edited_sheet_and_points_at_rows(handed, tmp_path):
    _, merged = handed
    project = read(merged)
    rows = compute(project, bootstrap=0).disagreements.to_dict(orient="records")
    for number, row in enumerate(rows, start=9):
        row["_row"] = number
        row.pop("Amara Okafor: span")  # a column renamed or deleted in Excel changes nothing
    rows[0]["resolution"] = "Amara Okafor"
    from refi_bridge.agreement.consensus import build

    result = build(project, rows[:-50])  # fifty rows deleted
    assert result.resolved == 1 and sum("not in the sheet" in u for u in result.unresolved) == 50
    layer = [r for r in result.project.iter_codings() if result.project.users_by_guid()[
        r.coding.creating_user.lower()].name == "consensus"]
    assert len(layer) == result.agreed + 1
    twice = rows[:2] + [dict(rows[0], resolution="none", _row=99)]
    with pytest.raises(Exception, match="row 99: the same passage as row 9"):
        build(project, twice)
    moved = [dict(rows[0], start=rows[0]["start"] + 1, _row=12)]
    with pytest.raises(Exception, match="row 12: not a disagreement of this project"):
        build(project, moved)


def test_a_codebook_with_no_codes_is_refused(runner, tmp_path):
    blank = tmp_path / "blank.qde"
    blank.write_bytes(b'<Project xmlns="urn:QDA-XML:project:1.0" name="b"/>')
    result = runner.invoke(cli, ["convert", str(blank), str(tmp_path / "x.qdc")])
    assert result.exit_code == 1 and "at least one code" in result.stderr and not (tmp_path / "x.qdc").exists()


def test_split_refuses_an_assignment_that_leaves_a_coder_without_sources(runner, tmp_path):
    table = tmp_path / "a.csv"
    table.write_text("coder,source\nAda,D01-client-S3\n", encoding="utf-8")
    result = runner.invoke(cli, ["split", str(DEMO / "master.qdpx"), "--coders", "Ada,Bo", "--assign", str(table),
                                 "-o", str(tmp_path / "h")])
    assert result.exit_code == 1 and "no source to Bo" in result.stderr
