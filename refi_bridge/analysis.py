"""Analysis jobs on files: the agreement workbook, the consensus project (and the matrix workbook).

This module reads projects, calls the pure computations, and lays their tables out as workbooks; the
statistics are :mod:`refi_bridge.agreement`'s, the layout :mod:`refi_bridge.excel`'s.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from refi_bridge.agreement.consensus import ConsensusResult, build
from refi_bridge.agreement.report import RELIABLE, TENTATIVE, AgreementReport, compute
from refi_bridge.errors import AgreementError, RefiBridgeWarning
from refi_bridge.excel import Sheet, read_table, write_workbook
from refi_bridge.exchange import atomic_output, check_outputs, read, write

Progress = Callable[[str], None]

GOOD, FAIR, POOR = "C6EFCE", "FFEB9C", "FFC7CE"
ALPHA_COLUMNS = ("u_alpha_binary", "presence_alpha", "u_alpha", "cu_alpha", "u_alpha_binary (codes pooled)",
                 "u_alpha_binary without")


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


def _quiet(progress: Progress | None) -> Progress:
    return progress or (lambda _: None)


def agreement_workbook(report: AgreementReport, path: str | os.PathLike) -> None:
    """Write an agreement report as a workbook: an explanation first, the disagreements last."""
    three = {c: "0.000" for c in report.per_code.columns if c not in ("code", "code_path")
             and not c.startswith(("segments", "characters"))}
    legend = [("alpha >= .800: reliable", GOOD), (".667 <= alpha < .800: tentative", FAIR),
              ("alpha < .667: discard or revise", POOR)]
    about = pd.DataFrame({"statement": report.statement})
    sheets = [
        Sheet("About", about, title="Inter-coder agreement", caption=[
            f"Coders: {', '.join(report.coders)}. Every number on the following sheets is defined here."],
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


def agreement(project_path: str | os.PathLike, output: str | os.PathLike | None = None, *,
              json_path: str | os.PathLike | None = None, coders: Sequence[str] | None = None,
              codes: Sequence[str] | None = None, overlap: float = 0.9, bootstrap: int = 1000,
              only_coded_documents: bool = False, progress: Progress | None = None) -> AgreementReport:
    """Compute agreement for a project file and write the workbook (``output``) and JSON (``json_path``)."""
    say = _quiet(progress)
    check_outputs([(output, (".xlsx",)), (json_path, (".json",))], [project_path])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        project = read(project_path)
    say(f"read {Path(project_path).name}; computing agreement ({bootstrap} bootstrap resamples)")
    report = compute(project, coders=coders, codes=codes, overlap=overlap, bootstrap=bootstrap,
                     only_coded_documents=only_coded_documents)
    if output is not None:
        agreement_workbook(report, output)
        say(f"wrote {output}")
    if json_path is not None:
        target = Path(json_path)
        with atomic_output(target) as temporary:
            temporary.write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
        say(f"wrote {json_path}")
    return report


def consensus(project_path: str | os.PathLike, resolutions: str | os.PathLike, output: str | os.PathLike, *,
              dialect: str = "refi", progress: Progress | None = None) -> ConsensusResult:
    """Turn a filled-in disagreements sheet into a ``consensus`` coder layer and write the project."""
    say = _quiet(progress)
    check_outputs([(output, (".qdpx", ".qde"))], [project_path, resolutions])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        project = read(project_path)
    try:
        rows = read_table(resolutions, "Disagreements", "source")
    except LookupError as error:
        raise AgreementError(f"{resolutions}: {error.args[0]}; give the agreement.xlsx that `refi-bridge "
                             "agreement` wrote, with its resolution column filled in.") from None
    for column in ("resolution", "source_guid", "code_guid"):
        if column not in rows.columns:
            raise AgreementError(f"{resolutions}: the Disagreements sheet has no {column!r} column; it must be "
                                 "the sheet refi-bridge wrote, with its columns kept.")
    try:
        result = build(project, rows.to_dict(orient="records"))
    except AgreementError as error:
        raise AgreementError(f"{resolutions}: {error}") from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        write(result.project, output, dialect=dialect, protect=[project_path, resolutions])
    say(f"wrote {output}: {result.agreed} agreed passages, {result.resolved} resolved, {result.rejected} "
        f"rejected, {len(result.unresolved)} unresolved")
    return result


# -------------------------------------------------------------------------------------------------------
# Matrices
# -------------------------------------------------------------------------------------------------------

# -- light fills for cells and stronger ones for headers, one pair per column group --
GROUP_COLOURS = [("DCE6F1", "9BC2E6"), ("FCE4D6", "F4B084"), ("E2EFDA", "A9D08E"), ("FFF2CC", "FFD966"),
                 ("EDE2F6", "C9A9E0"), ("F2F2F2", "BFBFBF")]


def matrix_workbook(built, path: str | os.PathLike, *, title: str | None = None) -> None:
    """Write a matrix (:class:`refi_bridge.matrices.Matrix`) as a workbook: the matrix, the quotes behind
    every marked cell, and a long table for pivot tables."""
    from refi_bridge.matrices import summaries

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


def matrix(project_path: str | os.PathLike, output: str | os.PathLike, *, rows: str = "themes",
           columns: str = "cases", split: str | None = None, group_by: str | None = None, cell: str = "mark",
           min_coders: int = 1, coders: Sequence[str] | None = None, title: str | None = None,
           progress: Progress | None = None):
    """Build the matrix of a project file and write its workbook; returns the :class:`Matrix`."""
    from refi_bridge.matrices import build as build_matrix

    say = _quiet(progress)
    check_outputs([(output, (".xlsx",))], [project_path])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        project = read(project_path)
    built = build_matrix(project, rows=rows, columns=columns, split=split, group_by=group_by, cell=cell,
                         min_coders=min_coders, coders=coders)
    matrix_workbook(built, output, title=title)
    say(f"wrote {output}: {built.table.shape[0]} rows x {built.table.shape[1]} columns, "
        f"{len(built.contributions)} passages behind them")
    return built
