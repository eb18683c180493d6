"""The workbooks a researcher reads: agreement, merge report and theme-by-case matrix.

Each function lays out tables that were already computed; the layout itself (fonts, widths, print set-up)
is :mod:`refi_bridge.tables.excel`'s, and the numbers are the computations' own.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from refi_bridge.agreement.report import RELIABLE, TENTATIVE, AgreementReport
from refi_bridge.formats.exchange import atomic_output
from refi_bridge.tables.excel import Sheet, write_workbook
from refi_bridge.team.merging import MergeReport

GOOD, FAIR, POOR = "C6EFCE", "FFEB9C", "FFC7CE"
ALPHA_COLUMNS = ("u_alpha_binary", "presence_alpha", "u_alpha", "cu_alpha", "u_alpha_binary (codes pooled)",
                 "u_alpha_binary without")

GROUP_COLOURS = [("DCE6F1", "9BC2E6"), ("FCE4D6", "F4B084"), ("E2EFDA", "A9D08E"), ("FFF2CC", "FFD966"),
                 ("EDE2F6", "C9A9E0"), ("F2F2F2", "BFBFBF")]


def _alpha_fill(_: int, column: str, value: object) -> str | None:
    """Colour an alpha by Krippendorff's thresholds (a convention shown beside the number)."""
    if column not in ALPHA_COLUMNS:
        return None
    if not isinstance(value, float):
        return None
    return GOOD if value >= RELIABLE else FAIR if value >= TENTATIVE else POOR


def _pair_fill(_: int, column: str, value: object) -> str | None:
    if column == "coder" or not isinstance(value, float):
        return None
    return GOOD if value >= RELIABLE else FAIR if value >= TENTATIVE else POOR



def agreement_workbook(report: AgreementReport, path: str | os.PathLike) -> None:
    """Write an agreement report as a workbook: an explanation first, the disagreements last."""
    three = {c: "0.000" for c in report.per_code.columns if c not in ("code", "code_path")
             and not c.startswith(("segments", "characters"))}
    legend = [("alpha >= .800: reliable", GOOD), (".667 <= alpha < .800: tentative", FAIR),
              ("alpha < .667: discard or revise", POOR)]
    about = pd.DataFrame({"statement": report.statement})
    sheets = [
        Sheet("About", about, title="Inter-coder agreement", caption=[
            f"Coders: {', '.join(report.coders)}. Every number on the following sheets is defined here; the "
            "Coverage sheet says which sources and codes each measure covered."],
            wrap=["statement"], widths={"statement": 130}, autofilter=False),
        Sheet("Per code", report.per_code, title="Agreement per code", caption=[
            "u_alpha_binary: Krippendorff's |u-alpha on the characters of all documents (is this passage coded "
            "with this code?), with its 95% bootstrap interval (ci_low, ci_high). presence_*: is the code in the "
            "document at all. match/f1: segments matching at the overlap thresholds; holsti: identical segments.",
            "nvivo_*, pooled_char_kappa, maxqda_kappa, qualcoder_kappa: what those tools would report "
            "(QualCoder's kappa is not Cohen's)."], cell_fill=_alpha_fill, legend=legend, number_formats=three,
            freeze_columns=1),
        Sheet("Per document", report.per_document, title="Agreement per document", cell_fill=_alpha_fill,
              number_formats={"u_alpha_binary (codes pooled)": "0.000"}, legend=legend),
        Sheet("Per case", report.per_case, title="Agreement per case", cell_fill=_alpha_fill,
              number_formats={"u_alpha_binary (codes pooled)": "0.000"}, legend=legend),
        Sheet("Coder pairs", report.pairs.reset_index(), title="|u-alpha for every pair of coders (codes pooled)",
              cell_fill=_pair_fill, number_formats={c: "0.000" for c in report.coders}, legend=legend),
        Sheet("Leave one out", report.leave_one_out, title="|u-alpha without each coder",
              caption=["A coder whose removal raises agreement much is the one to talk to first."],
              cell_fill=_alpha_fill, number_formats={"u_alpha_binary without": "0.000", "with everyone": "0.000",
                                                     "change": "+0.000;-0.000"}),
        Sheet("Code groups", report.groups, title="Code groups: a theme and its subcodes as one variable",
              caption=["u-alpha: where and which subcode; cu-alpha: which subcode where coders both coded "
                       "(cu_coverage: the share of the text it rests on). Needs mutually exclusive subcodes."],
              cell_fill=_alpha_fill, number_formats={c: "0.000" for c in ("u_alpha", "u_alpha_binary", "cu_alpha")}
              | {"cu_coverage": "0.0%"}),
        Sheet("Regions", report.regions, title="Pictures and PDF areas: agreement per code", caption=[
            "regions <coder>: rectangles each coder drew with the code (picture areas, and PDF areas that did not "
            "anchor to the PDF's text); sources, pages: where they lie. presence_*: is the code on the picture "
            "(or PDF without text) at all; alpha, agreement and Gwet's AC1 over those sources.",
            f"match/f1: two coders' rectangles of the code on one picture or PDF page match when their "
            f"intersection over union reaches {report.settings.get('overlap', 0.9):.0%} (or "
            f"{report.settings.get('lenient', 0.5):.0%}); one to one by an optimal assignment; match counts "
            "rectangles with a match, f1 one-to-one pairs."] if len(report.regions) else [
            "No picture or PDF area codings in this project: nothing to measure here."],
            cell_fill=_alpha_fill, legend=legend if len(report.regions) else (),
            number_formats={c: "0.000" for c in report.regions.columns if c.startswith(("presence", "match", "f1"))},
            freeze_columns=1, fit_to_page=True),
        Sheet("Coverage", report.coverage, title="Which sources and codes each measure covered",
              widths={"measure": 62, "sources": 110, "codes": 8}, autofilter=False, fit_to_page=True),
        Sheet("Overall", report.overall, title="Overall", number_formats={"value": "0.000"}),
        Sheet("Disagreements", report.disagreements, title="Disagreements for the consensus meeting", caption=[
            "One row per passage the coders marked differently, in text order. kind: miss (a coder did not mark "
            "it), boundary (all marked it, differently), different code (a coder gave it another code), or "
            "miss / different code (one of each). Keep source, code, start, end, source_guid and code_guid as "
            "they are.",
            "Write a resolution per row: a coder's name (take their span), union, intersection, none, or spans "
            "like 120-245; then run `refi-bridge consensus PROJECT --resolutions THIS-FILE -o consensus.qdpx`."],
            wrap=["passage"] + [c for c in report.disagreements.columns if c.endswith(": text")],
            widths={"passage": 50, "resolution": 18, **{c: 40 for c in report.disagreements.columns
                                                           if c.endswith(": text")}}),
    ]
    target = Path(path)
    with atomic_output(target) as temporary:
        write_workbook(temporary, sheets)


def matrix_workbook(built, path: str | os.PathLike, *, title: str | None = None) -> None:
    """Write a matrix (:class:`refi_bridge.matrices.Matrix`) as a workbook: the matrix, the quotes behind
    every marked cell, and a long table for pivot tables."""
    from refi_bridge.tables.matrices import summaries

    table = built.table
    split = isinstance(table.columns, pd.MultiIndex)
    keys = list(table.columns)
    names = [f"{k[0]} | {k[1]}" if split else str(k) for k in keys]
    frame = pd.DataFrame(table.values, columns=names)
    top = [k[0] if split else k for k in keys]
    labels = list(dict.fromkeys(top))
    per_row, per_column = summaries(table)
    frame.insert(0, "Theme", list(table.index))
    frame["n of N"] = [f"{n} of {len(labels)}" for n in per_row]
    totals = {"Theme": "Themes per column"}
    totals.update({name: count for name, count in zip(names, per_column)})
    totals["n of N"] = ""
    frame = pd.concat([frame, pd.DataFrame([totals])], ignore_index=True)
    groups = built.groups
    colour_of = {g: GROUP_COLOURS[i % len(GROUP_COLOURS)] for i, g in enumerate(built.group_order)}
    fills = {name: colour_of[groups[t]][0] for name, t in zip(names, top) if groups.get(t) in colour_of}
    header_fills = {name: colour_of[groups[t]][1] for name, t in zip(names, top) if groups.get(t) in colour_of}
    header_rows = []
    if built.group_order:
        spans, start = [], 1
        for i in range(1, len(names) + 1):
            if i == len(names) or groups.get(top[i]) != groups.get(top[start - 1]):
                group = groups.get(top[start - 1])
                spans.append((f"{built.group_variable}: {group}" if group else "", start, i,
                              colour_of[group][1] if group in colour_of else None))
                start = i + 1
        header_rows.append(spans)
    if split:
        spans, start = [], 1
        for i in range(1, len(names) + 1):
            if i == len(names) or top[i] != top[start - 1]:
                group = groups.get(top[start - 1])
                spans.append((top[start - 1], start, i, colour_of[group][1] if group in colour_of else None))
                start = i + 1
        header_rows.append(spans)
    shown = ["Theme"] + [str(k[1]) if split else str(k) for k in keys] + ["n of N"]

    def cell_fill(row: int, column: str, value: object) -> str | None:
        if row == len(frame) - 1:
            return None
        return fills.get(column)

    who = "coders: " + ", ".join(sorted({c.coder for c in built.contributions if c.coder}, key=str.casefold))
    counting = (f"coded by at least {built.min_coders} of the coders" if built.min_coders > 1 else "coded by any coder")
    what = {"mark": f"{'×'} marks the columns that provided information to each theme",
            "count": "each cell counts the codings", "sources": "each cell counts the sources",
            "coders": "each cell names the coders who marked the theme there ("
                       + ", ".join(f"{k} = {v}" for k, v in table.attrs.get("coders", {}).items()) + ")"}[built.cell]
    caption = [f"{what[0].upper()}{what[1:]} ({counting}; {who}). Rows: {built.rows}; columns: {built.columns}"
               + (f", split by {built.split_variable}" if built.split_variable else "") + "."]
    if built.group_order:
        caption.append(f"Columns are grouped and coloured by {built.group_variable}: "
                       + ", ".join(f"{g} ({['blue', 'orange', 'green', 'yellow', 'purple', 'grey'][i % 6]})"
                                   for i, g in enumerate(built.group_order)) + ".")
    caption.append("Each row ends with the number of columns in which the theme is present; the last row counts "
                   "the themes of each column.")
    legend = [(f"{built.group_variable}: {g}", colour_of[g][1]) for g in built.group_order]
    matrix_sheet = Sheet("Matrix", frame, title=title or "Representativeness table", caption=caption,
                         header_rows=header_rows, column_fills=header_fills, cell_fill=cell_fill,
                         legend=legend, center=[n for n in names] + ["n of N"], freeze_columns=1,
                         autofilter=False, header_labels=shown, bold_last_row=True, fit_to_page=True,
                         widths={"Theme": max(14, min(45, max(len(str(t)) for t in frame["Theme"]) + 2)),
                                 **{n: 11 if split else 9 for n in names}, "n of N": 9})
    quotes = _quotes(built)
    data = _long(built)
    sheets = [matrix_sheet,
              Sheet("Quotes", quotes, title="The passages behind every marked cell",
                    caption=["For the analysis seminar: every coded passage that puts a theme into a column."],
                    wrap=["text"], widths={"text": 90}),
              Sheet("Data", data, title="Long table for pivot tables",
                    caption=["One row per coding and column; start and end are code point offsets."])]
    target = Path(path)
    with atomic_output(target) as temporary:
        write_workbook(temporary, sheets)


def _variable_columns(built) -> list[str]:
    return sorted({k for c in built.contributions for k in c.variables}, key=str.casefold)


def _quotes(built) -> pd.DataFrame:
    variables = _variable_columns(built)
    rows = []
    for c in sorted(built.contributions, key=lambda c: (c.row, c.column, c.source, c.start or 0)):
        row = {"theme": c.row, "column": c.column}
        if built.split_variable:
            row[built.split_variable] = c.split
        row["source"] = c.source
        for name in variables:
            row[name] = c.variables.get(name)
        row.update({"coder": c.coder, "code": c.code, "text": " ".join((c.text or "").split())})
        rows.append(row)
    return pd.DataFrame(rows, columns=["theme", "column"] + ([built.split_variable] if built.split_variable else [])
                        + ["source"] + variables + ["coder", "code", "text"])


def _long(built) -> pd.DataFrame:
    variables = _variable_columns(built)
    rows = [{"theme": c.row, "column": c.column, "split": c.split, "group": c.group, "source": c.source,
             **{name: c.variables.get(name) for name in variables}, "coder": c.coder, "code": c.code,
             "code_path": c.code_path, "start": c.start, "end": c.end, "text": c.text}
            for c in built.contributions]
    return pd.DataFrame(rows, columns=["theme", "column", "split", "group", "source", *variables, "coder", "code",
                                       "code_path", "start", "end", "text"])


SHEET_NOTES = {
    "files": ("Files", "One row per input: what matched and how, and the codings it brought."),
    "coders": ("Coders", "Codings per coder in each file (as credited there) and in the merged project."),
    "sources": ("Sources", "How each source of each file was matched to the master: by GUID, by the hash of "
                "its normalised text, by name, or added as new; and whether its text differs."),
    "codes": ("Codes", "How each code of each file was matched: GUID, --code-map, path of names, unique "
              "name, or new."),
    "new_codes": ("New codes", "Codes a coder added that the master lacks; each is added once."),
    "conflicts": ("Conflicts", "Codes matched across files whose parent, name, colour or description "
                  "differ; the merged project keeps the first value."),
    "reanchored": ("Re-anchored", "Codings moved onto the master text because the coder's copy differed; "
                   "'exact' is false where the coded text changed: check those by hand."),
    "not_carried": ("Not carried", "What could not be carried into the merged project, and why."),
}


def write_merge_report(report: MergeReport, path: str | os.PathLike) -> None:
    """The merge report as a workbook a researcher reads to trust the merge."""
    frames = report.frames()
    sheets = []
    for name in ("files", "coders", "sources", "codes", "new_codes", "conflicts", "reanchored", "not_carried"):
        title, caption = SHEET_NOTES[name]
        frame = frames[name]
        lines = [caption, f"{len(frame)} rows. Base texts: {report.base}."]
        if name == "files":
            lines += [f"Note: {note}" for note in report.notes]
        if frame.empty:
            lines.append("Nothing to report here.")
        sheets.append(Sheet(name=title, frame=frame, title=f"Merge report: {title.lower()}", caption=lines,
                            wrap=[c for c in ("old_text", "new_text", "why", "what") if c in frame.columns],
                            widths={"old_text": 50, "new_text": 50, "users_found": 40}))
    target = Path(path)
    with atomic_output(target) as temporary:
        write_workbook(temporary, sheets)


