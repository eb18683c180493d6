"""The demo study: deterministic, shaped like the real one, and exported as each tool would."""

from __future__ import annotations

import csv
import warnings
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from conftest import guid_case_free

import refi_bridge
from refi_bridge.demo.pipeline import write_study
from refi_bridge.demo.study import ABSENT, TROUBLED, generate
from refi_bridge.errors import RefiBridgeWarning
from refi_bridge.formats.validation import validate
from refi_bridge.model import guid_key

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dyad-study"
FILES = ["master.qdpx", "truth.qdpx", "ingrid-nvivo.qdpx", "tomas-atlasti.qdpx", "amara-refi.qdpx"]


def read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        return refi_bridge.read(path)


@pytest.fixture(scope="module")
def study():
    return generate()


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def test_generator_is_deterministic(study):
    again = generate()
    assert again.master == study.master and again.passages == study.passages
    assert [f.project for f in again.coder_files] == [f.project for f in study.coder_files]
    assert generate(seed=7).passages != study.passages


def test_generator_still_reproduces_the_committed_fixtures(study, tmp_path):
    write_study(study, tmp_path)
    for name in FILES:
        assert members(tmp_path / name) == members(FIXTURES / name), name
    assert (tmp_path / "passages.csv").read_bytes() == (FIXTURES / "passages.csv").read_bytes()


def test_dyads_cases_and_variables(study):
    master = study.master
    assert [c.name for c in master.cases] == [f"Dyad {n:02d}" for n in range(1, 13)]
    variables = {v.guid: v.name for v in master.variables}
    outcome = {c.name: {variables[v.variable_guid]: v.value for v in c.variable_values} for c in master.cases}
    assert sorted(n for n, v in outcome.items() if v["Outcome"] == "troubled") == [
        f"Dyad {n:02d}" for n in TROUBLED]
    assert Counter(v["Clinic"] for v in outcome.values()) == {"public": 7, "private": 5}
    assert len(master.sources) == 47
    assert "D08-client-S3" not in {s.name for s in master.sources}
    assert all(len(c.source_refs) == 4 for c in master.cases if c.name != "Dyad 08")
    perspective = Counter(v.value for s in master.sources for v in s.variable_values
                          if variables[v.variable_guid] == "Perspective")
    assert perspective == {"therapist": 24, "client": 23}
    assert not list(master.iter_codings())


def test_codebook_has_five_themes_with_subcodes(study):
    codes = study.master.codes
    assert [c.name for c in codes] == ["1. Safety/withdrawal", "2. Equal partners", "3. Competence",
                                       "4. Togetherness", "5. Optimal level of tension"]
    assert all(2 <= len(c.codes) <= 4 and c.color and c.description for c in codes)


def test_texts_are_unicode_and_vary_in_length(study):
    texts = [s.text for s in study.master.sources]
    joined = "".join(texts)
    assert any(ord(ch) > 0xFFFF for ch in joined) and "’" in joined and "é" in joined
    assert max(map(len, texts)) > 1.5 * min(map(len, texts))


def test_truth_follows_table_1(study):
    paths = study.truth.code_paths()
    present = defaultdict(set)
    case_of = {ref: case.name for case in study.truth.cases for ref in case.source_refs}
    for record in study.truth.iter_codings():
        theme = int(paths[guid_key(record.coding.code_guid)][0].split(".")[0])
        present[theme].add(int(case_of[record.source.guid].split()[1]))
    for theme in range(1, 6):
        assert present[theme] == set(range(1, 13)) - ABSENT.get(theme, set()), theme


@pytest.mark.parametrize("name", FILES)
def test_fixture_files_are_valid_and_round_trip(name, tmp_path):
    path = FIXTURES / name
    assert validate(str(path)).ok
    project = read(path)
    refi_bridge.write(project, tmp_path / "copy.qdpx")
    assert guid_case_free(read(tmp_path / "copy.qdpx")) == guid_case_free(project)


def test_each_file_looks_like_its_tool_wrote_it():
    nvivo = members(FIXTURES / "ingrid-nvivo.qdpx")
    texts = [data for name, data in nvivo.items() if name.endswith(".txt")]
    assert all(name.startswith("Sources/") for name in nvivo if name != "project.qde")
    assert all(t.startswith(b"\xef\xbb\xbf") and b"\r\n" in t for t in texts)
    assert read(FIXTURES / "ingrid-nvivo.qdpx").read_info.position_unit == "utf16"
    atlas = read(FIXTURES / "tomas-atlasti.qdpx")
    assert atlas.read_info.qde_member == "Dyad study.qde"
    assert all(s.guid == s.guid.upper() for s in atlas.sources)
    assert "ATLAS.ti" in {u.name for u in atlas.users} and list(atlas.coders()) == ["Tomás Ferreira"]
    # -- the truth is the master with codings added; every coder's export mints its own GUIDs --
    guid_sets = [{guid_key(s.guid) for s in read(FIXTURES / n).sources} for n in FILES if n != "truth.qdpx"]
    for i, first in enumerate(guid_sets):
        for second in guid_sets[i + 1:]:
            assert first.isdisjoint(second)


def expected(coder: str) -> Counter:
    with (FIXTURES / "passages.csv").open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    texts = {s.name: s.text for s in read(FIXTURES / "master.qdpx").sources}
    return Counter((r["source"], texts[r["source"]][int(r["start"]):int(r["end"])], r["code"])
                   for r in rows if r["coder"] == coder)


@pytest.mark.parametrize("name, coder", [("ingrid-nvivo.qdpx", "Ingrid Halvorsen"),
                                         ("tomas-atlasti.qdpx", "Tomás Ferreira"),
                                         ("amara-refi.qdpx", "Amara Okafor"), ("truth.qdpx", "truth")])
def test_each_file_holds_exactly_its_coders_passages(name, coder):
    project = read(FIXTURES / name)
    paths = project.code_paths()
    got = Counter((r.source.name, r.owner.text[r.selection.start:r.selection.end].replace("\r\n", "\n"),
                   paths[guid_key(r.coding.code_guid)][-1]) for r in project.iter_codings())
    assert got == expected(coder) and sum(got.values()) > 150


def test_coders_deviate_from_the_truth_in_every_way(study):
    truth = {(p.source, p.start, p.end): p.code_path for p in study.passages if p.coder == "truth"}
    for coder in ("Ingrid Halvorsen", "Tomás Ferreira", "Amara Okafor"):
        mine = {(p.source, p.start, p.end): p.code_path for p in study.passages if p.coder == coder}
        same_span = set(mine) & set(truth)
        assert len(same_span) < len(truth)                                   # missed or moved
        assert any(mine[k] != truth[k] for k in same_span)                   # a wrong subcode
        assert any(k[0] == t[0] and k[1] < t[2] and t[1] < k[2] and k != t   # a shifted boundary
                   for k in mine for t in truth if k not in truth)
        assert len(set(mine) - set(truth)) > 0


def test_scale_multiplies_dyads():
    big = generate(scale=2)
    assert len(big.master.cases) == 24 and len(big.master.sources) == 94
