"""Split and merge: nothing lost, nothing duplicated, every coding with its coder, on the master text."""

from __future__ import annotations

import csv
import json
import random
import uuid
import warnings
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import NVIVO_MAC, NVIVO_WIN
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from strategies import projects

import refi_bridge
from refi_bridge.cli import cli
from refi_bridge.errors import MergeError, RefiBridgeWarning
from refi_bridge.model import (
    Code,
    Coding,
    PlainTextSelection,
    TextSource,
    User,
    coder_name,
    coder_of,
    guid_key,
    map_guids,
    name_key,
)
from refi_bridge.team.merging import MergeInput, merge_projects

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dyad-study"
CODER_FILES = ["ingrid-nvivo.qdpx", "tomas-atlasti.qdpx", "amara-refi.qdpx"]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        return refi_bridge.read(path)


def passages(project, by_text: bool = True) -> Counter:
    """(source position and name, code path, coder, coded text normalised) for every coding."""
    paths, users = project.code_paths(), project.users_by_guid()
    position = {id(source): index for index, source in enumerate(project.sources)}
    out: Counter = Counter()
    for record in project.iter_codings():
        text = None
        if isinstance(record.selection, PlainTextSelection):
            full, sel = record.owner.text, record.selection
            # -- where the span lies in the text with line breaks unified, and what it says --
            at = (len(full[:sel.start].replace("\r\n", "\n")), len(full[:sel.end].replace("\r\n", "\n")))
            text = (at, " ".join(full[sel.start:sel.end].replace("\r\n", "\n").split()) if by_text
                    else full[sel.start:sel.end])
        coder = coder_name(coder_of(record), users)
        out[((position[id(record.source)], record.source.name),
             tuple(name_key(p) for p in paths[guid_key(record.coding.code_guid)]), name_key(coder), text)] += 1
    return out


# -- making coder copies of a master, as tools return them ------------------------------------------------

def remap_guids(project, rng: random.Random):
    """Every GUID replaced by a fresh one, consistently, as a tool's re-export does."""
    table: dict[str, str] = {}

    def new(guid):
        key = guid_key(guid)
        if key not in table:
            table[key] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        return table[key]

    return map_guids(project, new)


def crlf(source: TextSource) -> TextSource:
    """The source as NVivo for Windows writes it: CR LF and a BOM, positions moved along."""
    if source.text is None or "\r" in source.text:
        return source

    def move(offset):
        return offset + source.text.count("\n", 0, offset)

    return replace(source, text=source.text.replace("\n", "\r\n"), text_bom=True,
                   selections=tuple(replace(s, start=move(s.start), end=move(s.end)) for s in source.selections))


@st.composite
def coder_copies(draw):
    """A master without codings and 1-3 coders' copies, each re-exported with its own GUIDs and codings."""
    master = draw(projects(max_sources=3, min_sources=1))
    master = replace(master, sources=tuple(replace(s, selections=(), codings=()) for s in master.sources))
    codes = [c for c, _ in master.iter_codes()]
    copies = []
    for index in range(draw(st.integers(1, 3))):
        coder = User(guid=str(draw(st.uuids())), name=f"Coder {index}")
        sources = []
        for source in master.sources:
            selections = []
            for _ in range(draw(st.integers(0, 3))):
                start = draw(st.integers(0, len(source.text)))
                end = draw(st.integers(start, len(source.text)))
                selections.append(PlainTextSelection(
                    guid=str(draw(st.uuids())), start=start, end=end, creating_user=coder.guid,
                    codings=(Coding(guid=str(draw(st.uuids())), code_guid=draw(st.sampled_from(codes)).guid,
                                    creating_user=coder.guid),)))
            sources.append(replace(source, selections=tuple(selections)))
        copy = replace(master, users=(coder,), sources=tuple(sources))
        if draw(st.booleans()):
            copy = replace(copy, sources=tuple(crlf(s) for s in copy.sources))
        copies.append(remap_guids(copy, random.Random(draw(st.integers(0, 2**32)))))
    return master, copies


# -- properties ---------------------------------------------------------------------------------------------

@SETTINGS
@given(project=projects())
def test_merging_one_project_gives_it_back(project):
    assert merge_projects([MergeInput(project, "p")]).project == project


@SETTINGS
@given(project=projects())
def test_merging_a_project_with_itself_gives_it_back(project):
    result = merge_projects([MergeInput(project, "a"), MergeInput(project, "b")])
    assert result.project == project
    assert result.report.files[1].codings_added == 0


@SETTINGS
@given(data=coder_copies())
def test_no_coding_is_lost_and_each_keeps_its_coder(data):
    master, copies = data
    result = merge_projects([MergeInput(c, f"c{i}") for i, c in enumerate(copies)], base=master)
    expected: Counter = Counter()
    for copy in copies:
        expected |= Counter(set(passages(copy)))  # exact duplicates within a file appear once
    merged = passages(result.project)
    assert set(merged) == set(expected)
    assert all(f.codings_inexact == 0 and f.codings_not_carried == 0 for f in result.report.files)
    assert [s.text for s in result.project.sources] == [s.text for s in master.sources]


@SETTINGS
@given(data=coder_copies(), seed=st.integers(0, 1000))
def test_input_order_does_not_change_the_result(data, seed):
    master, copies = data
    shuffled = copies[:]
    random.Random(seed).shuffle(shuffled)
    first = merge_projects([MergeInput(c, str(i)) for i, c in enumerate(copies)], base=master).project
    second = merge_projects([MergeInput(c, str(i)) for i, c in enumerate(shuffled)], base=master).project
    assert passages(first, by_text=False) == passages(second, by_text=False)
    assert sorted(path for _, path in first.iter_codes()) == sorted(path for _, path in second.iter_codes())


@SETTINGS
@given(data=coder_copies())
def test_split_then_code_then_merge_gives_the_master_with_every_coding(data, tmp_path_factory):
    master, copies = data
    folder = tmp_path_factory.mktemp("split")
    refi_bridge.write(master, folder / "master-original.qdpx")
    coders = [f"Coder {i}" for i in range(len(copies))]
    handed = refi_bridge.split(folder / "master-original.qdpx", coders, folder / "out")
    for coder in coders:  # each coder's file holds the codebook, every source, no codings
        mine = read(handed.files[coder])
        assert not list(mine.iter_codings()) and len(mine.sources) == len(master.sources)
    # -- what comes back: coded in the coders' tools, re-exported with the tools' own GUIDs --
    returned = copies
    result = refi_bridge.merge(returned, manifest=handed.manifest)
    assert passages(result.project) == sum((Counter(set(passages(c))) for c in returned), Counter())
    assert [guid_key(s.guid) for s in result.project.sources] == [guid_key(s.guid) for s in master.sources]


# -- the demo study -------------------------------------------------------------------------------------------

def test_demo_merge_gives_exactly_the_generated_codings_per_coder(tmp_path):
    handed = refi_bridge.split(FIXTURES / "master.qdpx", ["Ingrid Halvorsen", "Tomás Ferreira", "Amara Okafor"],
                               tmp_path)
    result = refi_bridge.merge([FIXTURES / n for n in CODER_FILES], manifest=handed.manifest)
    project = result.project
    with (FIXTURES / "passages.csv").open(encoding="utf-8") as stream:
        rows = [r for r in csv.DictReader(stream) if r["coder"] != "truth"]
    expected = Counter((r["coder"], r["source"], int(r["start"]), int(r["end"]), r["code"]) for r in rows)
    paths, users = project.code_paths(), project.users_by_guid()
    got = Counter((users[guid_key(r.coding.creating_user)].name, r.source.name, r.selection.start,
                   r.selection.end, paths[guid_key(r.coding.code_guid)][-1]) for r in project.iter_codings())
    assert got == expected
    assert {f.coder for f in result.report.files} == {"Ingrid Halvorsen", "Tomás Ferreira", "Amara Okafor"}
    assert all(f.sources_by_hash == 47 for f in result.report.files)
    assert result.report.new_codes == [] and result.report.conflicts == []
    nvivo = next(f for f in result.report.files if f.file == "ingrid-nvivo.qdpx")
    assert nvivo.codings_reanchored == 205 and nvivo.codings_inexact == 0


def test_real_nvivo_exports_of_one_project_merge_without_duplicates():
    """Acceptance: Windows and Mac exports (all GUIDs different, other units) credited to one coder."""
    win, mac = read(NVIVO_WIN), read(NVIVO_MAC)
    result = merge_projects([MergeInput(win, "win", "Gergo", True), MergeInput(mac, "mac", "Gergo", True)])
    summary = {f.file: f for f in result.report.files}
    assert summary["mac"].codings_added == 0 and summary["mac"].codings_duplicate == 297
    assert summary["mac"].codes_new == 0 and summary["mac"].codings_inexact == 0
    assert result.project.coders() == {"Gergo": 303}
    assert len(result.project.sources) == 2


# -- codes, coders, texts ---------------------------------------------------------------------------------

def base_and_copy():
    master = read(FIXTURES / "master.qdpx")
    copy = read(FIXTURES / "amara-refi.qdpx")
    return master, copy


def test_a_code_added_by_two_coders_is_added_once_and_flagged():
    master, copy = base_and_copy()
    theme = copy.codes[0]
    extra = Code(guid=str(uuid.uuid4()), name="Humour")
    one = replace(copy, codes=(replace(theme, codes=theme.codes + (extra,)),) + copy.codes[1:])
    other = remap_guids(one, random.Random(3))
    result = merge_projects([MergeInput(one, "one"), MergeInput(other, "other")], base=master)
    names = [path for _, path in result.project.iter_codes() if path[-1] == "Humour"]
    assert names == [(theme.name, "Humour")]
    assert [r.code_path for r in result.report.new_codes] == [f"{theme.name} > Humour"]


def test_conflicting_colour_and_parent_are_reported_not_duplicated():
    master, copy = base_and_copy()
    first, second = copy.codes[0], copy.codes[1]
    moved = first.codes[0]
    recoloured = replace(first, color="#000000", codes=first.codes[1:])
    changed = replace(copy, codes=(recoloured, replace(second, codes=second.codes + (moved,))) + copy.codes[2:])
    changed = remap_guids(changed, random.Random(5))
    result = merge_projects([MergeInput(changed, "changed")], base=master)
    kinds = {(c.what, c.merged_value, c.file_value) for c in result.report.conflicts}
    assert ("color", first.color, "#000000") in kinds
    assert ("parent", first.name, second.name) in kinds
    assert sum(1 for _, p in result.project.iter_codes()) == sum(1 for _ in master.iter_codes())


def test_code_map_maps_renamed_codes():
    master, copy = base_and_copy()
    theme = copy.codes[0]
    renamed = replace(copy, codes=(replace(theme, codes=(replace(theme.codes[0], name="Safe at last"),)
                                           + theme.codes[1:]),) + copy.codes[1:])
    renamed = remap_guids(renamed, random.Random(9))
    plain = merge_projects([MergeInput(renamed, "r")], base=master)
    assert [r.code_path for r in plain.report.new_codes] == [f"{theme.name} > Safe at last"]
    mapped = merge_projects([MergeInput(renamed, "r")], base=master,
                            code_map={"Safe at last": f"{theme.name} > {theme.codes[0].name}"})
    assert mapped.report.new_codes == []
    assert any(r.how == "map" for r in mapped.report.codes)


def test_an_edited_text_reanchors_codings_and_reports_the_inexact_ones():
    master, copy = base_and_copy()
    source = copy.sources[0]
    first = source.selections[0]
    cut = first.start + 3  # a typo fixed inside the first coded passage, one character removed
    edited_text = source.text[:cut] + source.text[cut + 1:]

    def move(offset):
        return offset - 1 if offset > cut else offset

    edited = replace(source, text=edited_text,
                     selections=tuple(replace(s, start=move(s.start), end=move(s.end)) for s in source.selections))
    copy = replace(copy, sources=(edited,) + copy.sources[1:])
    result = merge_projects([MergeInput(copy, "edited")], base=master)
    summary = result.report.files[0]
    assert summary.codings_not_carried == 0
    assert summary.codings_added == sum(1 for _ in copy.iter_codings())
    inexact = [r for r in result.report.reanchored if not r.exact]
    assert len(inexact) == 1 and inexact[0].old_text != inexact[0].new_text
    assert {r.source for r in result.report.sources if r.text == "edited"} == {source.name}
    # -- the master still has the passage as it was: the coding lands on exactly that span --
    assert (inexact[0].new_start, inexact[0].new_end) == (first.start, first.end)
    assert inexact[0].new_text == master.sources[0].text[first.start:first.end]


def test_coder_override_and_manifest_fallback_and_pseudo_users():
    master, copy = base_and_copy()
    no_users = replace(copy, users=(User(guid="C32A2BD5-537F-4838-8B17-DF9EFBAFDF4B", name="ATLAS.ti"),),
                       sources=tuple(replace(s, selections=tuple(
                           replace(sel, creating_user="C32A2BD5-537F-4838-8B17-DF9EFBAFDF4B",
                                   codings=tuple(replace(c, creating_user=None) for c in sel.codings))
                           for sel in s.selections)) for s in copy.sources))
    result = merge_projects([MergeInput(no_users, "atlas.qdpx", coder="Tomás")], base=master)
    assert result.project.coders() == {"Tomás": 204}
    forced = merge_projects([MergeInput(copy, "x.qdpx", coder="Someone Else", override=True)], base=master)
    assert forced.project.coders() == {"Someone Else": 204}
    assert forced.report.files[0].users_found == {"Amara Okafor": 204}


def test_a_source_no_one_else_has_is_added():
    master, copy = base_and_copy()
    source = copy.sources[0]
    new = replace(source, guid=str(uuid.uuid4()), name="D99-client-S3", text="A new transcript. " * 5,
                  selections=(replace(source.selections[0], start=2, end=10),))
    result = merge_projects([MergeInput(replace(copy, sources=copy.sources + (new,)), "x")], base=master)
    assert result.project.sources[-1].name == "D99-client-S3"
    assert result.report.files[0].sources_new == 1
    assert len(result.project.sources[-1].selections) == 1


def test_bad_manifest_and_unknown_coder_file(tmp_path):
    bad = tmp_path / "manifest.json"
    bad.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(MergeError, match="not a refi-bridge manifest"):
        refi_bridge.merge([FIXTURES / "amara-refi.qdpx"], manifest=bad)
    with pytest.raises(MergeError, match="not among the files"):
        refi_bridge.merge([FIXTURES / "amara-refi.qdpx"], coders={"nobody.qdpx": "X"})


def test_split_assignments(tmp_path):
    handed = refi_bridge.split(FIXTURES / "master.qdpx", ["Ada", "Bo"], tmp_path / "a", sources="D0*-client-*")
    ada = read(handed.files["Ada"])
    assert len(ada.sources) == 17 and all("-client-" in s.name for s in ada.sources)
    assert "Ada" in {u.name for u in ada.users} and not list(ada.iter_codings())
    assert all(set(c.source_refs) <= {s.guid for s in ada.sources} for c in ada.cases)
    table = tmp_path / "assign.csv"
    table.write_text("coder,source\nAda,D01-client-S3\nBo,D02-client-S5\nBo,D02-client-S3\n", encoding="utf-8")
    handed = refi_bridge.split(FIXTURES / "master.qdpx", ["Ada", "Bo"], tmp_path / "b", assign=table)
    assert [s.name for s in read(handed.files["Bo"]).sources] == ["D02-client-S3", "D02-client-S5"]
    manifest = json.loads(handed.manifest.read_text(encoding="utf-8"))
    assert manifest["assignment"]["Ada"]["file"] == "ada.qdpx" and len(manifest["sources"]) == 47
    table.write_text("coder,source\nAda,D77-client-S3\n", encoding="utf-8")
    with pytest.raises(MergeError, match="sources not in the master: D77-client-S3"):
        refi_bridge.split(FIXTURES / "master.qdpx", ["Ada", "Bo"], tmp_path / "c", assign=table)


def test_merge_command_writes_project_report_and_json(runner, tmp_path):
    result = runner.invoke(cli, ["split", str(FIXTURES / "master.qdpx"), "--coders",
                                 "Ingrid Halvorsen,Tomás Ferreira,Amara Okafor", "-o", str(tmp_path / "handout")])
    assert result.exit_code == 0, result.output
    args = ["merge", *[str(FIXTURES / n) for n in CODER_FILES], "--manifest", str(tmp_path / "handout" /
            "manifest.json"), "-o", str(tmp_path / "merged.qdpx"), "--report", str(tmp_path / "report.xlsx"), "--json"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert sum(f["codings_added"] for f in report["files"]) == 606
    sheets = load_workbook(tmp_path / "report.xlsx").sheetnames
    assert sheets == ["Summary", "Files", "Sources", "Codes", "New codes", "Conflicts", "Re-anchored",
                      "Not carried"]
    assert report["verdict"] == ("3 files merged: 606 codings by 3 coders; 47 sources matched by text; nothing "
                                 "needs a look.") and report["needs_a_look"] == []
    assert read(tmp_path / "merged.qdpx").coders() == {"Ingrid Halvorsen": 205, "Tomás Ferreira": 197,
                                                       "Amara Okafor": 204}
    bad = runner.invoke(cli, ["merge", str(FIXTURES / "amara-refi.qdpx"), "-o", str(tmp_path / "m.qdpx"),
                              "--coder", "nonsense"])
    assert bad.exit_code == 1 and "FILE=NAME" in bad.stderr


def test_a_new_source_whose_text_file_name_is_taken_gets_its_own(tmp_path):
    master, copy = base_and_copy()
    taken = master.sources[0]
    clash = replace(copy.sources[0], guid=str(uuid.uuid4()), name="D99-client-S5", text="Different words. " * 4,
                    plain_text_path=taken.plain_text_path, selections=())
    result = merge_projects([MergeInput(replace(copy, sources=copy.sources + (clash,)), "x")], base=master)
    added = result.project.sources[-1]
    assert added.plain_text_path != taken.plain_text_path
    refi_bridge.write(result.project, tmp_path / "merged.qdpx")
    again = read(tmp_path / "merged.qdpx")
    assert again.sources[-1].text == clash.text and again.sources[0].text == taken.text
