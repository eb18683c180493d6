"""The workbooks as a person sees them: reloaded with openpyxl and checked cell by cell - the sheet a PI
opens first, headers a researcher reads, print set-up, row heights that fit their text, number formats.

(The pictures in docs/images come from rendering these workbooks with LibreOffice: docs/render.py.)
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

import refi_bridge
from refi_bridge.cli import cli
from refi_bridge.errors import RefiBridgeWarning
from refi_bridge.tables.excel import LINE_HEIGHT, Page, Sheet, Table, Text, line_count, write_workbook
from refi_bridge.tables.merge_report import write_merge_report
from refi_bridge.team.merging import MergeReport
from refi_bridge.team.merging.report import (
    CodeMatch,
    CoderCount,
    Conflict,
    FileSummary,
    Reanchored,
    SourceMatch,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dyad-study"
CODER_FILES = ("ingrid-nvivo.qdpx", "tomas-atlasti.qdpx", "amara-refi.qdpx")
CODERS = ["Ingrid Halvorsen", "Tomás Ferreira", "Amara Okafor"]


def rows_of(sheet) -> list[list]:
    return [[c.value for c in row] for row in sheet.iter_rows()]


def header_index(rows: list[list], first: str) -> int:
    return next(i for i, r in enumerate(rows) if r and r[0] == first)


def assert_prints_like_a_report(sheet, *, one_page: bool = False) -> None:
    """Landscape, one page wide (and tall, for a summary), a footer with the page."""
    setup = sheet.page_setup
    assert setup.orientation == "landscape" and setup.fitToWidth == 1
    assert setup.fitToHeight == (1 if one_page else 0)
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert "&P" in sheet.oddFooter.center.text


# -------------------------------------------------------------------------------------------------------
# The layout engine
# -------------------------------------------------------------------------------------------------------

def test_every_sheet_prints_landscape_one_page_wide_with_its_header_on_every_page(tmp_path):
    frame = pd.DataFrame({"name": ["a", "b"], "text": ["short", "word " * 200], "n": [3, 12_345],
                          "share": [0.5, 0.25], "alpha": [0.81234, 1], "guid": ["g1", "g2"]})
    out = tmp_path / "t.xlsx"
    write_workbook(out, [Sheet("T", frame, title="Title", caption=["A caption."], wrap=["text"],
                               widths={"text": 40}, number_formats={"share": "0.0%", "alpha": "0.000",
                                                                    "n": "#,##0"},
                               notes={"alpha": "What alpha means."}, print_columns=5, freeze_columns=1)])
    sheet = load_workbook(out)["T"]
    rows = rows_of(sheet)
    header = header_index(rows, "name") + 1                       # 1-based row of the header
    assert_prints_like_a_report(sheet)
    assert sheet.print_title_rows == f"${header}:${header}"
    assert sheet.freeze_panes == f"B{header + 1}"
    assert sheet.print_area == f"'T'!$A$1:$E${header + 2}"      # the GUID column is not printed
    # -- a wrapped row is as tall as its text; a short one keeps the default height --
    tall = sheet.row_dimensions[header + 2].height
    assert tall >= line_count("word " * 200, 40) * LINE_HEIGHT and line_count("word " * 200, 40) >= 20
    assert sheet.row_dimensions[header + 1].height is None
    # -- integers stay integers, shares are percentages, coefficients have three decimals --
    cells = {c.column_letter: c for c in sheet[header + 2]}
    assert cells["C"].value == 12_345 and cells["C"].number_format == "#,##0"
    assert cells["D"].number_format == "0.0%" and cells["E"].number_format == "0.000"
    assert sheet[f"E{header}"].comment.text == "What alpha means."


def test_an_integer_never_shows_three_decimals(tmp_path):
    frame = pd.DataFrame({"measure": ["coders", "alpha"], "value": pd.Series([3, 0.75], dtype=object)})
    out = tmp_path / "t.xlsx"
    write_workbook(out, [Sheet("T", frame, number_formats={"value": "0.000"})])
    sheet = load_workbook(out)["T"]
    assert [(c.value, c.number_format) for c in sheet["B"][1:]] == [(3, "General"), (0.75, "0.000")]


def test_a_caption_wraps_across_the_table_and_gets_the_height_it_needs(tmp_path):
    caption = "A long caption that explains the table at length. " * 8
    frame = pd.DataFrame({"a": [1], "b": [2], "c": [3]})
    out = tmp_path / "t.xlsx"
    write_workbook(out, [Sheet("T", frame, caption=[caption], widths={"a": 10, "b": 10, "c": 10})])
    sheet = load_workbook(out)["T"]
    assert "A1:C1" in {str(r) for r in sheet.merged_cells.ranges}
    assert sheet.row_dimensions[1].height >= line_count(caption, 30) * LINE_HEIGHT > 4 * LINE_HEIGHT


def test_line_count_wraps_word_by_word():
    assert line_count("short", 20) == 1
    assert line_count("word " * 40, 20) >= 8
    assert line_count("one\ntwo\nthree", 40) == 3
    assert line_count("x" * 10_000, 10) == 30  # a page's worth at most


def test_a_page_lays_blocks_below_and_beside_each_other(tmp_path):
    table = pd.DataFrame({"k": ["a", "b"], "v": [1, 2]})
    out = tmp_path / "p.xlsx"
    write_workbook(out, [Page("P", [20, 10, 30], [
        Text(["Title"], style="title"),
        Table(table, labels=["Key", "Value"]),
        Text(["Beside the table."], first=2, beside=True),
        Text(["Below everything."]),
    ])])
    sheet = load_workbook(out)["P"]
    assert_prints_like_a_report(sheet, one_page=True)
    assert sheet["A1"].value == "Title" and sheet["A1"].font.b
    assert [sheet["A3"].value, sheet["B3"].value] == ["Key", "Value"] and sheet["A5"].value == "b"
    assert sheet["C3"].value == "Beside the table."
    assert sheet["A7"].value == "Below everything." and "A7:C7" in {str(r) for r in sheet.merged_cells.ranges}
    assert [sheet.column_dimensions[c].width for c in "ABC"] == [20, 10, 30]


# -------------------------------------------------------------------------------------------------------
# The agreement workbook
# -------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def agreement(tmp_path_factory):
    folder = tmp_path_factory.mktemp("agreement")
    handed = refi_bridge.split(FIXTURES / "master.qdpx", CODERS, folder / "handout")
    merged = folder / "merged.qdpx"
    refi_bridge.write(refi_bridge.merge([FIXTURES / n for n in CODER_FILES], manifest=handed.manifest).project,
                      merged)
    from refi_bridge.tables.reports import agreement as run

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        report = run(merged, folder / "agreement.xlsx", json_path=folder / "agreement.json", bootstrap=200)
    return report, load_workbook(folder / "agreement.xlsx"), json.loads((folder / "agreement.json").read_text())


def test_the_agreement_workbook_opens_on_a_one_page_summary(agreement):
    report, book, _ = agreement
    assert book.sheetnames[0] == "Summary" and book.active.title == "Summary"
    sheet = book["Summary"]
    assert_prints_like_a_report(sheet, one_page=True)
    rows = rows_of(sheet)
    text = " ".join(str(v) for r in rows for v in r if v is not None)
    assert "Inter-coder agreement: merged.qdpx" in text
    assert "Amara Okafor, Ingrid Halvorsen and Tomás Ferreira (3 coders) on 47 text documents, 64,928 characters" in text
    header = header_index(rows, "Code")
    assert rows[header][:4] == ["Code", "|uα", "95% CI", "Verdict"] and rows[header][4:7] == sorted(CODERS)
    body = rows[header + 1: header + 1 + len(report.per_code)]
    per_code = report.per_code.set_index("code_path")
    for code, alpha, interval, verdict, *segments in (r[:7] for r in body):
        row = per_code.loc[code]
        assert alpha == pytest.approx(row["u_alpha_binary"])
        assert interval == f"{row['ci_low']:.3f} – {row['ci_high']:.3f}"
        assert verdict == ("reliable" if alpha >= 0.8 else "tentative" if alpha >= 0.667 else "revise")
        assert segments == [row[f"segments {c}"] for c in sorted(CODERS)]
    colours = {sheet.cell(row=header + 2 + i, column=4).fill.start_color.rgb[-6:] for i in range(len(body))}
    assert colours <= {"C6EFCE", "FFEB9C", "FFC7CE"} and len(colours) >= 2
    overall = report.overall.set_index("measure")["value"]
    assert ["Median |uα per code", pytest.approx(overall["median |u-alpha per code"])] in [r[:2] for r in rows]
    assert ["|uα, all codes pooled", pytest.approx(overall["|u-alpha, all codes pooled"])] in [r[:2] for r in rows]
    # -- the chart: per-code |uα with its interval as error bars and the two thresholds as lines --
    (chart,) = sheet._charts
    assert len(chart.series) == 1 and chart.series[0].errBars.errValType == "cust"
    assert [s.tx.strRef.f for s in chart._charts[1].series] and len(chart._charts[1].series) == 2
    # -- a methods paragraph with this study's numbers --
    heading = next(i for i, r in enumerate(rows) if isinstance(r[0], str) and r[0].startswith("Methods"))
    methods = rows[heading + 1][0]
    assert methods == report.methods and "Three coders" in methods and "47 text documents (64,928 characters)" in methods
    assert "1,000" not in methods and "(200 resamples)" in methods


def test_detail_sheets_show_researchers_headers_with_their_meanings(agreement):
    report, book, data = agreement
    sheet = book["Per code"]
    rows = rows_of(sheet)
    header = header_index(rows, "Code")
    labels = rows[header]
    assert labels[:4] == ["Code", "|uα", "95% CI low", "95% CI high"] and "Presence agreement" in labels
    assert not [label for label in labels if "_" in str(label)]
    assert "Krippendorff" in sheet.cell(row=header + 1, column=2).comment.text
    assert sheet.cell(row=header + 2, column=2).number_format == "0.000"
    share = labels.index("Presence agreement") + 1
    assert sheet.cell(row=header + 2, column=share).number_format == "0.0%"
    segments = book["Segments"]
    rows = rows_of(segments)
    header = header_index(rows, "Code")
    assert isinstance(rows[header + 1][1], int) and segments.cell(row=header + 2, column=5).number_format == "#,##0"
    about = " ".join(str(v) for r in rows_of(book["About"]) for v in r if v)
    assert "What each column means" in about and "95% CI low" in about and "QualCoder κ" in about
    # -- the JSON keeps the machine names --
    assert {"u_alpha_binary", "ci_low", "ci_high"} <= set(data["per_code"][0])
    assert data["methods"] == report.methods and data["facts"]["characters"] == 64_928


def test_every_agreement_sheet_prints_like_a_report_and_undefined_says_why(agreement):
    _, book, _ = agreement
    for sheet in book.worksheets:
        assert_prints_like_a_report(sheet, one_page=sheet.title == "Summary")
    rows = rows_of(book["Overall"])
    undefined = [(i, r) for i, r in enumerate(rows) if r[1] == "undefined"]
    assert undefined, "the demo's all-codes-as-one-variable values are undefined (codes overlap)"
    i, _ = undefined[0]
    assert book["Overall"].cell(row=i + 1, column=2).comment.text.endswith(".")
    assert not [r for r in rows if isinstance(r[1], str) and r[1].startswith("undefined:")]
    counts = [r for r in rows if r[0] == "Coders"]
    assert counts and counts[0][1] == 3 and book["Overall"].cell(row=rows.index(counts[0]) + 1,
                                                                  column=2).number_format == "General"


# -------------------------------------------------------------------------------------------------------
# The merge report
# -------------------------------------------------------------------------------------------------------

def test_the_merge_report_opens_on_its_verdict_and_what_needs_a_look(tmp_path):
    report = MergeReport(base="master.qdpx")
    report.files = [FileSummary("a.qdpx", "merged", "NVivo", "utf16", "Ada", False, {"Ada": 10},
                                sources_by_hash=2, codings_in_file=10, codings_added=10),
                    FileSummary("b.qdpx", "merged", "ATLAS.ti", "codepoint", "Bo", False, {"Bo": 5},
                                sources_by_hash=2, codings_in_file=5, codings_added=5, codings_inexact=1)]
    report.sources = [SourceMatch(f, s, s, "hash", "identical") for f in ("a.qdpx", "b.qdpx") for s in ("s1", "s2")]
    report.coders = [CoderCount("Ada", "a.qdpx", 10, 10), CoderCount("Bo", "b.qdpx", 5, 5)]
    report.conflicts = [Conflict("b.qdpx", f"Theme > code {i}", "parent", "Theme", "Old theme") for i in range(40)]
    report.conflicts += [Conflict("b.qdpx", "Theme", "color", "#FF0000", "#00FF00")]
    report.reanchored = [Reanchored("b.qdpx", "s1", "Bo", "Theme > code 1", 0, 5, 1, 6, "hello", "hallo", False)]
    report.new_codes = [CodeMatch("b.qdpx", "Extra", "Extra", "new")]
    out = tmp_path / "report.xlsx"
    write_merge_report(report, out, merged="merged.qdpx")
    book = load_workbook(out)
    assert book.sheetnames[0] == "Summary" and "Conflict list" in book.sheetnames
    sheet = book["Summary"]
    assert_prints_like_a_report(sheet, one_page=True)
    rows = rows_of(sheet)
    assert rows[0][0] == "Merge report: merged.qdpx"
    assert rows[1][0] == report.verdict() and rows[1][0].startswith("4 things need a look: 1 coding not placed "
                                                                    "exactly")
    assert "(2 files merged: 15 codings by 2 coders; 2 sources matched by text.)" in rows[1][0]
    looks = rows[header_index(rows, "What") + 1:]
    grouped = [r for r in looks if r[0] and "parent differs" in r[0]]
    assert grouped and grouped[0][1] == 40 and "40 codes: 'Old theme' here, 'Theme' merged" in grouped[0][2]
    conflicts = rows_of(book["Conflicts"])
    header = header_index(conflicts, "File")
    assert [r[:3] for r in conflicts[header + 1:]] == [["b.qdpx", "parent", 40], ["b.qdpx", "color", 1]]
    files = rows_of(book["Files"])
    labels = [r[0] for r in files]
    assert "Codings not placed exactly" in labels and "codings_inexact" not in labels
    positions = files[labels.index("Positions counted in")]
    assert positions[1:] == ["UTF-16 code units", "code points"]
    reanchored = rows_of(book["Re-anchored"])
    assert "Text in the master" in reanchored[header_index(reanchored, "File")]
    for ws in book.worksheets:
        assert_prints_like_a_report(ws, one_page=ws.title == "Summary")


def test_a_clean_merge_says_nothing_needs_a_look(runner, tmp_path):
    result = runner.invoke(cli, ["merge", *[str(FIXTURES / n) for n in CODER_FILES], "-o", str(tmp_path / "m.qdpx"),
                                 "--report", str(tmp_path / "r.xlsx")])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("nothing needs a look.")
    assert rows_of(load_workbook(tmp_path / "r.xlsx")["Summary"])[1][0].endswith("nothing needs a look.")


# -------------------------------------------------------------------------------------------------------
# The export
# -------------------------------------------------------------------------------------------------------

def test_export_csv_opens_right_in_excel_and_reads_like_the_workbook(runner, tmp_path):
    csv_file, xlsx = tmp_path / "codings.csv", tmp_path / "codings.xlsx"
    for out in (csv_file, xlsx):
        assert runner.invoke(cli, ["export", str(FIXTURES / "amara-refi.qdpx"), "-o", str(out)]).exit_code == 0
    raw = csv_file.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfsource,case,code_path,coder,text,start,end")
    table = pd.read_csv(csv_file, encoding="utf-8-sig")
    assert list(table.columns[-5:]) == ["coding_guid", "source_guid", "selection_guid", "code_guid", "coder_guid"]
    sheet = load_workbook(xlsx)["Codings"]
    rows = rows_of(sheet)
    header = header_index(rows, "source")
    assert rows[header] == list(table.columns)
    assert_prints_like_a_report(sheet)
    last = get_column_letter(len(table.columns) - 5)
    assert sheet.print_area.endswith(f"${last}${len(rows)}")       # the GUIDs are not printed
    assert isinstance(rows[header + 1][5], int) and rows[header + 1][1].startswith("Dyad")


def test_a_sheet_with_no_table_says_so_on_a_readable_line(tmp_path):
    out = tmp_path / "t.xlsx"
    write_workbook(out, [Sheet("Empty", pd.DataFrame(), title="Pictures", caption=["Nothing to measure here."])])
    sheet = load_workbook(out)["Empty"]
    assert sheet.column_dimensions["A"].width >= 60 and sheet.row_dimensions[2].height <= 2 * LINE_HEIGHT
