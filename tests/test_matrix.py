"""The representativeness table: Table 1 of the study reproduced, every option, and a workbook that reads back."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from openpyxl import load_workbook

import refi_bridge
from refi_bridge.cli import cli
from refi_bridge.demo.study import ABSENT, POSITIVE, TROUBLED
from refi_bridge.errors import RefiBridgeWarning
from refi_bridge.tables.matrices import MARK, MatrixError, build, initials, matrix
from refi_bridge.tables.reports import matrix as write_matrix

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dyad-study"
CODER_FILES = ("ingrid-nvivo.qdpx", "tomas-atlasti.qdpx", "amara-refi.qdpx")
DYADS = [f"Dyad {n:02d}" for n in range(1, 13)]
THEMES = ["1. Safety/withdrawal", "2. Equal partners", "3. Competence", "4. Togetherness",
          "5. Optimal level of tension"]


def read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        return refi_bridge.read(path)


@pytest.fixture(scope="module")
def merged(tmp_path_factory):
    folder = tmp_path_factory.mktemp("matrix")
    handed = refi_bridge.split(FIXTURES / "master.qdpx", ["Ingrid Halvorsen", "Tomás Ferreira", "Amara Okafor"],
                               folder / "handout")
    result = refi_bridge.merge([FIXTURES / n for n in CODER_FILES], manifest=handed.manifest)
    path = folder / "merged.qdpx"
    refi_bridge.write(result.project, path)
    return path


def table_1() -> dict[tuple[str, str], bool]:
    return {(theme, dyad): int(dyad[-2:]) not in ABSENT.get(t, set())
            for t, theme in enumerate(THEMES, start=1) for dyad in DYADS}


def test_acceptance_table_1_from_the_merged_coders(merged):
    """Five themes x Dyad 01-12, marks exactly as the study's truth, troubled and positive apart."""
    frame = matrix(read(merged), group_by="variable:Outcome", min_coders=2)
    assert list(frame.index) == THEMES
    assert sorted(frame.columns) == DYADS
    marks = {(theme, dyad): frame.loc[theme, dyad] == MARK for theme in THEMES for dyad in DYADS}
    assert marks == table_1()
    groups = frame.attrs["groups"]
    assert {d for d in DYADS if groups[d] == "troubled"} == {f"Dyad {n:02d}" for n in TROUBLED}
    assert {d for d in DYADS if groups[d] == "positive"} == {f"Dyad {n:02d}" for n in POSITIVE}
    assert list(frame.columns) == [f"Dyad {n:02d}" for n in POSITIVE] + [f"Dyad {n:02d}" for n in TROUBLED]


def test_truth_gives_table_1_with_one_coder():
    frame = matrix(read(FIXTURES / "truth.qdpx"))
    assert {(t, d): frame.loc[t, d] == MARK for t in THEMES for d in DYADS} == table_1()
    assert list(frame.columns) == DYADS  # no grouping: the cases' own order


def test_workbook_matrix_sheet_groups_colours_and_totals(merged, tmp_path):
    out = tmp_path / "matrix.xlsx"
    write_matrix(merged, out, group_by="variable:Outcome", min_coders=2)
    book = load_workbook(out)
    assert book.sheetnames == ["Matrix", "Quotes", "Data"]
    sheet = book["Matrix"]
    rows = list(sheet.iter_rows())
    header = next(i for i, r in enumerate(rows) if r[0].value == "Theme")
    labels = [c.value for c in rows[header]]
    assert labels[0] == "Theme" and labels[-1] == "n of N" and sorted(labels[1:-1]) == DYADS
    fill = {labels[i]: rows[header + 1][i].fill.start_color.rgb for i in range(1, len(labels) - 1)}
    troubled = {fill[f"Dyad {n:02d}"] for n in TROUBLED}
    positive = {fill[f"Dyad {n:02d}"] for n in POSITIVE}
    assert len(troubled) == 1 and len(positive) == 1 and troubled != positive
    body = {rows[header + 1 + k][0].value: rows[header + 1 + k] for k in range(len(THEMES))}
    assert body["2. Equal partners"][-1].value == "11 of 12"
    assert body["5. Optimal level of tension"][-1].value == "9 of 12"
    totals = rows[header + 1 + len(THEMES)]
    assert totals[0].value == "Themes per column"
    assert totals[labels.index("Dyad 11")].value == 2 and totals[labels.index("Dyad 01")].value == 5
    groups_row = [c.value for c in rows[header - 1] if c.value]
    assert groups_row == ["Outcome: positive", "Outcome: troubled"]
    assert sheet.freeze_panes == f"B{header + 2}"
    legend = [r[0].value for r in rows[header + len(THEMES) + 2:] if r[0].value]
    assert "Outcome: troubled" in legend and "Outcome: positive" in legend


def test_quotes_sheet_lists_the_passages_behind_every_mark(merged, tmp_path):
    out = tmp_path / "matrix.xlsx"
    built = write_matrix(merged, out, group_by="variable:Outcome", min_coders=2)
    sheet = load_workbook(out)["Quotes"]
    rows = list(sheet.iter_rows(values_only=True))
    header = next(i for i, r in enumerate(rows) if r[0] == "Theme")
    names = rows[header]
    assert {"Source", "Perspective", "Session", "Coder", "Code", "Text"} <= set(names)
    quoted = {(r[0], r[1]) for r in rows[header + 1:]}
    marked = {(t, d) for t in THEMES for d in DYADS if built.table.loc[t, d] == MARK}
    assert quoted == marked
    assert len(rows) - header - 1 == len(built.contributions)


def test_split_by_perspective_and_session(merged):
    project = read(merged)
    frame = matrix(project, split="variable:Perspective")
    assert frame.columns.nlevels == 2
    assert set(frame.columns.get_level_values("split")) == {"client", "therapist"}
    assert ("Dyad 08", "client") in frame.columns and frame.shape[1] == 24
    sessions = matrix(project, split="variable:Session", cell="count")
    assert set(sessions.columns.get_level_values("split")) == {"3", "5"}
    # Dyad 08's client skipped the session-3 interview: nothing can come from it
    per_perspective = matrix(project, split="variable:Session", cell="sources")
    assert per_perspective.loc[:, ("Dyad 08", "3")].max() <= 1


def test_cells_count_sources_and_coders(merged):
    project = read(merged)
    codings = matrix(project, cell="codings")
    counts = matrix(project, cell="count")
    sources = matrix(project, cell="sources")
    coders = matrix(project, cell="coders")
    assert (codings.values >= counts.values).all() and (counts.values >= sources.values).all()
    assert sources.values.max() <= 4
    assert int(codings.values.sum()) == sum(1 for _ in project.iter_codings())
    # -- three coders marking much the same passages: far fewer passages than codings --
    assert int(counts.values.sum()) < 0.6 * int(codings.values.sum())
    assert coders.attrs["coders"] == {"AO": "Amara Okafor", "IH": "Ingrid Halvorsen", "TF": "Tomás Ferreira"}
    assert coders.loc["1. Safety/withdrawal", "Dyad 01"] == "AO IH TF"


def test_min_coders_and_coder_layers(merged):
    project = read(merged)
    any_coder = matrix(project)
    all_three = matrix(project, min_coders=3)
    assert (all_three == MARK).values.sum() <= (any_coder == MARK).values.sum()
    one = matrix(project, coders=["Amara Okafor"])
    assert (one == MARK).values.sum() <= (any_coder == MARK).values.sum()
    with pytest.raises(MatrixError, match="no codings by consensus"):
        matrix(project, coders=["consensus"])


def test_rows_codes_levels_and_sets(merged):
    project = read(merged)
    assert len(matrix(project, rows="codes")) == 18
    level2 = matrix(project, rows="level:2")
    assert len(level2) == 13 and all(" > " in label for label in level2.index)
    with pytest.raises(MatrixError, match="no sets of codes"):
        matrix(project, rows="sets")
    from dataclasses import replace

    from refi_bridge.model import Set

    grouped = replace(project, sets=(Set(guid="11111111-2222-4333-8444-555555555555", name="Fear and shame",
                                         member_codes=(project.codes[0].guid, project.codes[1].guid)),))
    sets = matrix(grouped, rows="sets")
    assert list(sets.index) == ["Fear and shame"]


def test_columns_sources_variable_and_pattern(merged):
    project = read(merged)
    assert matrix(project, columns="sources").shape[1] == 47
    perspective = matrix(project, columns="variable:Perspective")
    assert list(perspective.columns) == ["client", "therapist"]
    outcome = matrix(project, columns="variable:Outcome")  # a case variable
    assert list(outcome.columns) == ["positive", "troubled"]
    from dataclasses import replace

    no_cases = replace(project, cases=())
    with pytest.raises(MatrixError, match="no cases"):
        matrix(no_cases)
    by_name = matrix(no_cases, columns=r"pattern:D(\d+)-")
    assert list(by_name.columns) == [f"{n:02d}" for n in range(1, 13)]
    assert (by_name.values == matrix(project).values).all()
    with pytest.raises(MatrixError, match="not a regular expression"):
        matrix(project, columns="pattern:D(")
    with pytest.raises(MatrixError, match="no variable 'Mood'"):
        matrix(project, group_by="variable:Mood")


def test_initials_are_distinct():
    assert initials(["Ada Lovelace", "Alan Lee", "Bo"]) == {"Ada Lovelace": "AL", "Alan Lee": "AlLe", "Bo": "B"}


def test_matrix_command(merged, runner, tmp_path):
    out = tmp_path / "m.xlsx"
    result = runner.invoke(cli, ["matrix", str(merged), "-o", str(out), "--group-by", "variable:Outcome",
                                 "--split", "variable:Perspective", "--cell", "count"])
    assert result.exit_code == 0, result.output
    assert load_workbook(out).sheetnames == ["Matrix", "Quotes", "Data"]
    result = runner.invoke(cli, ["matrix", str(merged), "-o", str(out), "--rows", "level:x"])
    assert result.exit_code == 1 and "level:N takes a number" in result.stderr
    assert build(read(merged)).cell == "mark"


# -- what a cell counts, headings, blank cells, typed variables ----------------------------------------------

def contribution(start, end, coder, code="sub", source="s", selection=None):
    from refi_bridge.tables.matrices import Contribution

    return Contribution(row="T", column="C", split=None, group=None, source=source, source_guid=source, coder=coder,
                        code=code, code_path=f"Theme > {code}", start=start, end=end, text=None,
                        selection=selection)


def test_a_passage_is_overlapping_segments_of_one_code_whoever_coded_them():
    from refi_bridge.tables.matrices import passages

    assert passages([contribution(0, 10, "Ada"), contribution(5, 12, "Bo"), contribution(11, 20, "Cy")]) == 1
    assert passages([contribution(0, 10, "Ada"), contribution(10, 20, "Bo")]) == 2        # touching: two
    assert passages([contribution(0, 10, "Ada"), contribution(0, 10, "Bo", code="other")]) == 2
    assert passages([contribution(0, 10, "Ada"), contribution(0, 10, "Bo", source="t")]) == 2
    whole = [contribution(None, None, "Ada"), contribution(None, None, "Bo")]
    assert passages(whole) == 1                                                            # the whole source
    areas = [contribution(None, None, "Ada", selection="p1"), contribution(None, None, "Bo", selection="p2")]
    assert passages(areas) == 2


def headed_project():
    """A codebook with a heading that cannot be coded, one coded subcode and one unused; two cases."""
    from refi_bridge.model import Case, Code, Coding, PlainTextSelection, Project, TextSource, User

    codes = (Code(guid="t", name="Theme", is_codable=False,
                  codes=(Code(guid="a", name="used"), Code(guid="b", name="unused"))),)
    spans = [(0, 10, "u1"), (5, 15, "u2"), (30, 40, "u1")]
    selections = tuple(PlainTextSelection(guid=f"sel{i}", start=s, end=e,
                                          codings=(Coding(guid=f"c{i}", code_guid="a", creating_user=u),))
                       for i, (s, e, u) in enumerate(spans))
    sources = (TextSource(guid="s1", name="one", text="x" * 50, selections=selections),
               TextSource(guid="s2", name="two", text="y" * 50))
    return Project(name="p", users=(User(guid="u1", name="Ada"), User(guid="u2", name="Bo")), codes=codes,
                   sources=sources, cases=(Case(guid="k1", name="Case 1", source_refs=("s1",)),
                                           Case(guid="k2", name="Case 2", source_refs=("s2",))))


def test_codes_that_cannot_be_coded_are_headings_and_empty_cells_are_blank(tmp_path):
    from refi_bridge.tables.workbooks import matrix_workbook

    built = build(headed_project(), rows="codes", cell="count")
    assert built.headings == ["Theme"] and built.table.attrs["headings"] == ["Theme"]
    assert built.table.loc["Theme > used", "Case 1"] == 2      # three codings, two passages
    assert build(headed_project(), rows="codes", cell="codings").table.loc["Theme > used", "Case 1"] == 3
    out = tmp_path / "m.xlsx"
    matrix_workbook(built, out)
    sheet = load_workbook(out)["Matrix"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    header = next(i for i, r in enumerate(rows) if r[0] == "Theme")
    body = {r[0]: r[1:] for r in rows[header + 1: header + 5]}
    assert body["Theme"] == [None, None, None]                   # a heading: no zeros, no "n of N"
    assert any(f"A{header + 2}" in str(m) for m in sheet.merged_cells.ranges)
    assert body["Theme > used"] == [2, None, "1 of 2"]           # an empty cell is blank, not 0
    assert body["Theme > unused"] == [None, None, "0 of 2"]
    assert body["Codes per column"][:2] == [1, 0]
    caption = " ".join(str(r[0]) for r in rows[:header] if r[0])
    assert "overlapping segments of one code by different coders are one passage" in caption


def test_numeric_variables_stay_numbers_in_quotes_and_data(merged, tmp_path):
    out = tmp_path / "matrix.xlsx"
    write_matrix(merged, out)
    book = load_workbook(out)
    for name in ("Quotes", "Data"):
        rows = list(book[name].iter_rows(values_only=True))
        header = next(i for i, r in enumerate(rows) if r[0] in ("Theme", "theme"))
        column = rows[header].index("Session")
        values = {r[column] for r in rows[header + 1:]}
        assert values == {3, 5}, (name, values)
