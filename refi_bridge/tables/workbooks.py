"""The workbooks a researcher reads: inter-coder agreement and the theme-by-case matrix.

Each function lays out tables that were already computed; the layout itself (fonts, widths, print set-up)
is :mod:`refi_bridge.tables.excel`'s, and the numbers are the computations' own. Sheets show headers a
researcher reads ("|uα", "95% CI low") with their meaning in a comment on the header and on the About
sheet; the JSON keeps the machine names.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from refi_bridge.agreement.report import RELIABLE, TENTATIVE, AgreementReport
from refi_bridge.formats.exchange import atomic_output
from refi_bridge.progress import Progress, Reporter
from refi_bridge.tables.excel import Chart, Page, Sheet, Table, Text, write_workbook
from refi_bridge.tables.matrices import MARK

GOOD, FAIR, POOR = "C6EFCE", "FFEB9C", "FFC7CE"                   # cell fills: reliable, tentative, revise
BAR_GOOD, BAR_FAIR, BAR_POOR = "70AD47", "F4B183", "E06666"       # the same verdicts as chart bars
COEFFICIENT, SHARE, COUNT = "0.000", "0.0%", "#,##0"
GROUP_COLOURS = [("DCE6F1", "9BC2E6"), ("FCE4D6", "F4B084"), ("E2EFDA", "A9D08E"), ("FFF2CC", "FFD966"),
                 ("EDE2F6", "C9A9E0"), ("F2F2F2", "BFBFBF")]
UNDEFINED = "undefined"
SUMMARY_CODES = 30   # a summary with more codes than this cannot print on one readable page

# -- what every agreement column is called on the sheets, how its numbers look, and what it means --
AGREEMENT_COLUMNS: dict[str, tuple[str, str, str]] = {
    "code": ("Code", "", "The code's name."),
    "code_path": ("Code", "", "The code's path of names, top level first."),
    "u_alpha_binary": ("|uα", COEFFICIENT,
                       "Krippendorff's binary unitizing alpha (Krippendorff et al. 2016; ATLAS.ti's alpha-binary): "
                       "do the coders mark the same characters with this code? All documents' characters form one "
                       "continuum; coded and uncoded text both count; chance is modelled. 1 is perfect agreement, "
                       "0 what chance gives."),
    "ci_low": ("95% CI low", COEFFICIENT, "Lower end of the 95% percentile interval of |uα from resampling "
               "documents (bootstrap)."),
    "ci_high": ("95% CI high", COEFFICIENT, "Upper end of the 95% interval of |uα."),
    "presence_alpha": ("Presence α", COEFFICIENT, "Krippendorff's alpha on whether the code is present in a "
                       "document at all (units: documents; MAXQDA's code existence). Collapses when nearly every "
                       "document has the code."),
    "presence_agreement": ("Presence agreement", SHARE, "Share of documents on which the coders agree that the "
                           "code is present or absent."),
    "presence_ac1": ("Presence AC1", COEFFICIENT, "Gwet's AC1 on presence: chance-corrected like alpha, but "
                     "stable when nearly every document has the code."),
    "holsti": ("Holsti", COEFFICIENT, "Holsti's index 2A/(N1+N2), A the segments both coders marked identically."),
    "nvivo_kappa_mean": ("NVivo κ (mean)", COEFFICIENT, "NVivo's Coding Comparison kappa on the characters of "
                         "each document, averaged over documents where a coder used the code."),
    "nvivo_kappa_weighted": ("NVivo κ (by size)", COEFFICIENT, "NVivo's kappa per document, weighted by the "
                             "document's length."),
    "nvivo_agreement_mean": ("NVivo agreement (mean)", SHARE, "NVivo's percent agreement on characters per "
                             "document, averaged over all documents."),
    "nvivo_agreement_weighted": ("NVivo agreement (by size)", SHARE, "NVivo's percent agreement per document, "
                                 "weighted by the document's length."),
    "pooled_char_kappa": ("Pooled character κ", COEFFICIENT, "Cohen's kappa on the characters of all documents "
                          "pooled."),
    "maxqda_kappa": ("MAXQDA κ", COEFFICIENT, "MAXQDA's kappa: Brennan-Prediger on the segment match rate, "
                     "(P - 1/k)/(1 - 1/k) with k the codes in the analysis; it rises when unused codes are added."),
    "qualcoder_kappa": ("QualCoder κ", COEFFICIENT, "QualCoder's 'kappa', which is not Cohen's: its universe is the "
                        "coded characters only. Shown so that numbers from QualCoder can be matched."),
    "source": ("Source", "", "The document."),
    "case": ("Case", "", "The case the document belongs to."),
    "characters": ("Characters", COUNT, "Length of the text in characters (Unicode code points)."),
    "coders": ("Coders", "", "The coders compared on the document."),
    "documents": ("Documents", COUNT, "Documents of the case compared."),
    "u_alpha_binary (codes pooled)": ("|uα, codes pooled", COEFFICIENT, "|uα with all codes collapsed into one "
                                      "value: are the same characters coded at all?"),
    "left out": ("Coder left out", "", "The coder removed from the comparison."),
    "u_alpha_binary without": ("|uα without them", COEFFICIENT, "|uα (codes pooled) of the remaining coders."),
    "with everyone": ("|uα with everyone", COEFFICIENT, "|uα (codes pooled) of all coders."),
    "change": ("Change", "+0.000;-0.000;0.000", "How much agreement rises (+) or falls (-) without this coder."),
    "group": ("Code group", "", "A top-level code and its subcodes, taken as the values of one variable."),
    "codes": ("Codes", COUNT, "Codes in the group."),
    "u_alpha": ("uα", COEFFICIENT, "Krippendorff's unitizing alpha with the subcodes as values: where, and with "
                "which subcode."),
    "cu_alpha": ("cuα", COEFFICIENT, "Which subcode, on the text both coders coded; read it with its coverage."),
    "cu_coverage": ("cuα coverage", SHARE, "Share of the text that cuα rests on."),
    "coder": ("Coder", "", "A coder."),
    "sources": ("Pictures and PDFs", COUNT, "Pictures and PDFs (without text) with a region of the code."),
    "pages": ("Pages", COUNT, "Pictures and PDF pages with a region of the code."),
    "measure": ("Measure", "", "What is measured."),
    "value": ("Value", "", "Its value."),
}


def _agreement_column(name: str) -> tuple[str, str, str]:
    """Label, number format and meaning of an agreement column, fixed or made from its name."""
    if name in AGREEMENT_COLUMNS:
        return AGREEMENT_COLUMNS[name]
    found = re.fullmatch(r"(segments|characters|regions) (.+)", name)
    if found:
        what, coder = found.groups()
        meaning = {"segments": "Segments this coder marked with the code (overlapping ones united)",
                   "characters": "Characters this coder covered with the code",
                   "regions": "Rectangles this coder drew with the code on pictures and PDF pages"}[what]
        return coder, COUNT, f"{meaning}: {coder}."
    found = re.fullmatch(r"(match|f1)_(\d+)%", name)
    if found:
        what, level = found.groups()
        if what == "match":
            return (f"Match {level}%", SHARE, f"MAXQDA's segment agreement: share of all segments that another "
                    f"coder matched with the same code, overlapping by at least {level}% (intersection over union).")
        return (f"F1 {level}%", COEFFICIENT, f"Segments matched one to one at {level}% overlap: 2 x pairs / "
                "all segments (positive specific agreement).")
    return name, COEFFICIENT, ""


def verdict(value: object) -> str:
    """Krippendorff's reading of an alpha: reliable, tentative, revise (or undefined)."""
    if not isinstance(value, float):
        return UNDEFINED
    return "reliable" if value >= RELIABLE else "tentative" if value >= TENTATIVE else "revise"


def _verdict_fill(value: object) -> str | None:
    return {"reliable": GOOD, "tentative": FAIR, "revise": POOR}.get(verdict(value))


def _shown(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as a sheet shows it: "undefined: why" becomes "undefined" (the why goes in a comment)."""
    return frame.map(lambda v: UNDEFINED if isinstance(v, str) and v.startswith("undefined:") else v)


def _why(frame: pd.DataFrame):
    """Comment for a cell: why its value is undefined."""
    columns = list(frame.columns)

    def note(row: int, column: str, _: object) -> str | None:
        value = frame.iat[row, columns.index(column)] if column in columns else None
        if isinstance(value, str) and value.startswith("undefined:"):
            return value.removeprefix("undefined:").strip().capitalize() + "."
        return None
    return note


def _alpha_sheet(name: str, frame: pd.DataFrame, title: str, caption=(), alphas=(), **options) -> Sheet:
    """A detail sheet of agreement numbers: researcher's headers and their meanings, number formats, alphas
    coloured by their verdict, and "undefined" with its reason."""
    columns = [str(c) for c in frame.columns]
    described = {c: _agreement_column(c) for c in columns}
    wanted = set(alphas)

    def fill(_: int, column: str, value: object) -> str | None:
        return _verdict_fill(value) if column in wanted else None

    return Sheet(name, _shown(frame), title=title, caption=list(caption),
                 header_labels=[described[c][0] for c in columns],
                 number_formats={c: f for c, (_, f, _) in described.items() if f},
                 notes={c: m for c, (_, _, m) in described.items() if m}, cell_fill=fill, cell_note=_why(frame),
                 legend=LEGEND if wanted else (), **options)


LEGEND = [("reliable: α ≥ .800", GOOD), ("tentative: .667 ≤ α < .800", FAIR), ("revise: α < .667", POOR)]


def agreement_workbook(report: AgreementReport, path: str | os.PathLike, *, source: str | None = None,
                       progress: Progress | Reporter | None = None) -> None:
    """Write an agreement report as a workbook: a one-page Summary first, the detail sheets after it, the
    disagreements for the consensus meeting, and About (how every number was made) last.

    ``source`` names the project file the numbers are from.
    """
    per_code = report.per_code
    coders = report.coders
    segments = [f"segments {c}" for c in coders]
    characters = [f"characters {c}" for c in coders]
    measures = [c for c in per_code.columns if c not in ("code", *segments, *characters)]
    tools = [c for c in measures if c.startswith(("nvivo_", "maxqda_", "qualcoder_", "pooled_char"))]
    headline = [c for c in measures if c not in tools]
    sheets = [
        _summary(report, source),
        _alpha_sheet("Per code", per_code[headline], "Agreement per code", caption=[
            "|uα with its 95% bootstrap interval; presence: is the code in the document at all; match and F1: "
            "segments matching at the overlap thresholds; Holsti: identical segments. Every header has a comment "
            "saying what it measures; the About sheet lists them all."],
            alphas=["u_alpha_binary", "presence_alpha"], freeze_columns=1, wrap=["code_path"],
            max_width=45),
        _alpha_sheet("Segments", per_code[["code_path", *segments, *characters]], "Segments and characters per "
                     "coder", caption=["How much each coder coded with each code: segments after uniting a coder's "
                                       "overlapping segments, and the characters they cover."],
                     header_rows=[[("Segments", 1, len(coders), None),
                                   ("Characters", len(coders) + 1, 2 * len(coders), None)]],
                     freeze_columns=1, wrap=["code_path"], max_width=45),
        _alpha_sheet("Tool numbers", per_code[["code_path", *tools]], "What NVivo, MAXQDA and QualCoder would "
                     "report", caption=["For matching numbers from those tools, not for a paper: with more than two "
                                        "coders they are averaged over coder pairs. QualCoder's kappa is not "
                                        "Cohen's."], freeze_columns=1, wrap=["code_path"], max_width=45),
        _alpha_sheet("Per document", report.per_document, "Agreement per document",
                     alphas=["u_alpha_binary (codes pooled)"], freeze_columns=1,
                     header_rows=_coder_group(report.per_document.columns, "segments ", "Segments")),
        _alpha_sheet("Per case", report.per_case, "Agreement per case", alphas=["u_alpha_binary (codes pooled)"]),
        _alpha_sheet("Coder pairs", report.pairs.reset_index(), "|uα for every pair of coders (codes pooled)",
                     alphas=coders),
        _alpha_sheet("Leave one out", report.leave_one_out, "|uα without each coder", caption=[
            "A coder whose removal raises agreement much is the one to talk to first."],
            alphas=["u_alpha_binary without", "with everyone"]),
        _alpha_sheet("Code groups", report.groups, "Code groups: a theme and its subcodes as one variable", caption=[
            "uα: where and which subcode; cuα: which subcode where coders both coded (read it with its coverage). "
            "Needs mutually exclusive subcodes."], alphas=["u_alpha", "u_alpha_binary", "cu_alpha"]),
        _alpha_sheet("Regions", report.regions, "Pictures and PDF areas: agreement per code", caption=[
            "Regions: the rectangles each coder drew with the code (picture areas, and PDF areas that did not "
            "anchor to the PDF's text). Presence: is the code on the picture (or PDF without text) at all; "
            "alpha, agreement and Gwet's AC1 over those sources.",
            f"Match and F1: two coders' rectangles of the code on one picture or PDF page match when their "
            f"intersection over union reaches {report.settings.get('overlap', 0.9):.0%} (or "
            f"{report.settings.get('lenient', 0.5):.0%}); one to one by an optimal assignment; match counts "
            "rectangles with a match, F1 one-to-one pairs."] if len(report.regions) else [
            "No picture or PDF area codings in this project: nothing to measure here."],
            alphas=["presence_alpha"] if len(report.regions) else [], freeze_columns=1, wrap=["code_path"],
            max_width=45, header_rows=_coder_group(report.regions.columns, "regions ", "Regions")),
        Sheet("Coverage", report.coverage, title="Which sources and codes each measure covered",
              header_labels=["Measure", "Sources", "Codes"], wrap=["measure", "sources"],
              widths={"measure": 40, "sources": 90, "codes": 9}, center=["codes"], autofilter=False),
        _overall_sheet(report),
        _disagreements_sheet(report),
        _about(report),
    ]
    target = Path(path)
    with atomic_output(target) as temporary:
        write_workbook(temporary, sheets, progress=progress)


def _coder_group(columns, prefix: str, label: str) -> list:
    """A grouped header over the per-coder columns that start with ``prefix``."""
    names = [str(c) for c in columns]
    at = [i for i, c in enumerate(names) if c.startswith(prefix)]
    return [[(label, at[0], at[-1], None)]] if at else []


def _summary(report: AgreementReport, source: str | None) -> Page:
    """The page a PI reads: who was compared on what, |uα per code with its interval and verdict, the overall
    values, a chart, and a methods paragraph to quote."""
    facts = report.facts
    per_code = report.per_code
    coders = report.coders
    overall = report.overall.set_index("measure")["value"]
    rows = []
    for _, row in per_code.iterrows():
        value = row["u_alpha_binary"]
        low, high = row.get("ci_low"), row.get("ci_high")
        interval = (f"{_three(low)} – {_three(high)}" if isinstance(value, float) and isinstance(low, float)
                    and pd.notna(low) else "")
        rows.append({"code": row["code_path"], "alpha": value if isinstance(value, float) else UNDEFINED,
                     "interval": interval, "verdict": verdict(value),
                     **{f"segments {c}": row[f"segments {c}"] for c in coders}})
    table = pd.DataFrame(rows, columns=["code", "alpha", "interval", "verdict", *[f"segments {c}" for c in coders]])
    code_width = max([12, *(len(str(c)) * 0.95 + 2 for c in table["code"])])
    widths = [min(50.0, code_width), 12.0, 15.0, 11.0] + [max(10.0, min(16.0, len(c) * 0.8 + 2)) for c in coders]
    bootstrap = report.settings.get("bootstrap", 0)
    interval_note = (f"95% CI: percentile interval from {bootstrap:,} bootstrap resamples of documents."
                     if bootstrap else "No bootstrap interval was computed (--bootstrap 0).")
    headline = Table(
        table, labels=["Code", "|uα", "95% CI", "Verdict", *coders],
        header_rows=[[("|uα per code", 0, 3, None), ("Segments per coder", 4, 3 + len(coders), None)]],
        number_formats={"alpha": COEFFICIENT, **{f"segments {c}": COUNT for c in coders}},
        cell_fill=lambda _, column, value: (
            {"reliable": GOOD, "tentative": FAIR, "revise": POOR}.get(str(value)) if column == "verdict" else None),
        cell_note=_why(per_code[["code_path", "u_alpha_binary"]].rename(columns={"code_path": "code",
                                                                                   "u_alpha_binary": "alpha"})),
        notes={"alpha": AGREEMENT_COLUMNS["u_alpha_binary"][2], "interval": interval_note,
               "verdict": "Krippendorff's thresholds: reliable at .800 or more, tentative conclusions only from "
                          ".667, discard or revise the code below .667."},
        wrap=["code"], center=["interval", "verdict"])
    compared = (f"{_names(coders)} ({len(coders)} coders) on {facts['documents_compared']} text documents, "
                f"{facts['characters']:,} characters; {facts['codes']} codes")
    blocks: list = [
        Text([f"Inter-coder agreement{': ' + source if source else ''}"], style="title"),
        Text([f"Compared: {compared}."
              + (f" {facts['documents_with_fewer_coders']} documents had fewer than all coders."
                 if facts["documents_with_fewer_coders"] else ""),
              f"Headline: |uα (Krippendorff's binary unitizing alpha) per code on the characters of all documents; "
              f"{interval_note} Verdict by Krippendorff's thresholds: reliable ≥ .800 (green), tentative ≥ .667 "
              "(yellow), revise below (red)."], gap=0),
    ]
    few = len(per_code) <= SUMMARY_CODES
    values = [v for v in per_code["u_alpha_binary"] if isinstance(v, float)] if len(per_code) else []
    summary_rows = []
    if values:
        summary_rows += [("Median |uα per code", overall.get("median |u-alpha per code")),
                         ("IQR |uα per code", str(overall.get("IQR |u-alpha per code")).replace(" to ", "–")),
                         ("Codes with |uα ≥ .667", f"{sum(v >= TENTATIVE for v in values)} of {len(values)}"),
                         ("Codes with |uα ≥ .800", f"{sum(v >= RELIABLE for v in values)} of {len(values)}")]
    summary_rows += [("|uα, all codes pooled", overall.get("|u-alpha, all codes pooled")),
                     ("Disagreements listed", facts["disagreements"])]
    values_table = pd.DataFrame(summary_rows, columns=["measure", "value"])
    values_table["value"] = [UNDEFINED if isinstance(v, str) and v.startswith("undefined") else v
                             for v in values_table["value"]]
    overview: list = [Table(values_table, labels=["Overall", ""], number_formats={"value": COEFFICIENT},
                            bold_columns=["measure"], center=["value"])]
    if len(per_code):
        names = _short_names(per_code)
        overview.append(Chart(
            categories=names, name="|uα", values=[v if isinstance(v, float) else None for v in per_code["u_alpha_binary"]],
            low=[_number(v) for v in per_code["ci_low"]], high=[_number(v) for v in per_code["ci_high"]],
            lines=[(".667", TENTATIVE, "C00000"), (".800", RELIABLE, "00B050")],
            colours=[{"reliable": BAR_GOOD, "tentative": BAR_FAIR, "revise": BAR_POOR}.get(verdict(v))
                     for v in per_code["u_alpha_binary"]],
            y_title="|uα", y_min=min(0.0, _floor(min([*(v for v in per_code["ci_low"] if _number(v) is not None),
                                                        *values, 0.0]))),
            # -- beside the overall values while the bars are few; across the page when there are many --
            rows=16 if few else 20, first=2 if few else 0, beside=few))
    overview += [Text(["Methods, as a paper can say it (check the wording before you use it)"], style="heading"),
                 Text([report.methods], gap=0)]
    # -- a long table goes last, so that the overview is on the first page and the table's header repeats --
    blocks += [headline, *overview] if few else [*overview, headline]
    return Page("Summary", widths, blocks, one_page=few)


def _three(value: float) -> str:
    """Three decimals, and no minus sign on a zero (-0.0004 is 0.000, not -0.000)."""
    text = f"{value:.3f}"
    return "0.000" if text == "-0.000" else text


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, float) and pd.notna(value) else None


def _floor(value: float) -> float:
    import math

    return math.floor(value * 5) / 5


def _short_names(per_code: pd.DataFrame) -> list[str]:
    """Chart labels: a code's name, or its path where two codes share a name."""
    names = list(per_code["code"])
    return [path if names.count(name) > 1 else name for name, path in zip(names, per_code["code_path"])]


def _overall_sheet(report: AgreementReport) -> Sheet:
    frame = report.overall.copy()
    frame["measure"] = [_readable(m) for m in frame["measure"]]

    def number_format(row: int, _: str, value: object) -> str | None:
        measure = str(report.overall.iat[row, 0])
        if isinstance(value, float) and measure.startswith(("share", "presence agreement", "segment match rate")):
            return SHARE
        return COEFFICIENT if isinstance(value, float) else None

    return Sheet("Overall", _shown(frame), title="Overall", header_labels=["Measure", "Value"],
                 cell_format=number_format, cell_note=_why(frame), widths={"measure": 48, "value": 14},
                 center=["value"])


def _readable(measure: str) -> str:
    measure = measure[:1].upper() + measure[1:]
    return (measure.replace("|u-alpha", "|uα").replace("cu-alpha", "cuα").replace("u-alpha", "uα")
            .replace(">= ", "≥ "))


def _disagreements_sheet(report: AgreementReport) -> Sheet:
    frame = report.disagreements
    texts = [c for c in frame.columns if c.endswith(": text")]
    spans = [c for c in frame.columns if c.endswith(": span")]
    guids = [c for c in frame.columns if c.endswith("_guid")]
    return Sheet("Disagreements", frame, title="Disagreements for the consensus meeting", caption=[
        "One row per passage the coders marked differently, in text order. kind: miss (a coder did not mark it), "
        "boundary (all marked it, differently), different code (a coder gave it another code), or miss / "
        "different code (one of each). Keep source, code, start, end, source_guid and code_guid as they are; "
        "the column names stay as written, since `refi-bridge consensus` reads them back.",
        "Write a resolution per row: a coder's name (take their span), union, intersection, none, or spans like "
        "120-245; then run `refi-bridge consensus PROJECT --resolutions THIS-FILE -o consensus.qdpx`."],
        wrap=["passage", "code", "code_path", "kind", *texts, *spans],
        widths={"passage": 45, "resolution": 16, "code": 14, "code_path": 22, "source": 16, "case": 10,
                "kind": 11, **dict.fromkeys(texts, 34), **dict.fromkeys(spans, 14)},
        number_formats={"start": "0", "end": "0"}, freeze_columns=1,
        print_columns=len(frame.columns) - len(guids) if guids == list(frame.columns[-len(guids):]) else None)


def _about(report: AgreementReport) -> Page:
    """How every number was made (the statement), and what every column means."""
    statement = []
    for line in report.statement:
        topic, _, text = line.partition(": ")
        statement.append((topic, text) if text and len(topic) < 30 else ("", line))
    glossary, sections = [], []
    seen = set()
    for sheet, columns in (("Summary and Per code", ["u_alpha_binary", "ci_low", "ci_high", "presence_alpha",
                                                     "presence_agreement", "presence_ac1"]
                            + [c for c in report.per_code.columns if re.fullmatch(r"(match|f1)_\d+%", c)]
                            + ["holsti"]),
                           ("Tool numbers", [c for c in report.per_code.columns
                                             if c.startswith(("nvivo_", "maxqda_", "qualcoder_", "pooled_char"))]),
                           ("Per document, per case, coder pairs", ["u_alpha_binary (codes pooled)", "characters"]),
                           ("Leave one out", ["left out", "u_alpha_binary without", "with everyone", "change"]),
                           ("Code groups", ["u_alpha", "cu_alpha", "cu_coverage"]),
                           ("Regions (pictures and PDF areas)", ["sources", "pages"])):
        sections.append(len(glossary))
        glossary.append((sheet, ""))
        for column in columns:
            label, _, meaning = _agreement_column(column)
            if (label, meaning) not in seen and meaning:
                seen.add((label, meaning))
                glossary.append((label, meaning))
    about = pd.DataFrame(statement, columns=["topic", "statement"])
    terms = pd.DataFrame(glossary, columns=["column", "meaning"])
    return Page("About", [24, 110], [
        Text(["About these numbers"], style="title"),
        Text(["How the agreement was computed, for the methods section and for a reviewer; the Coverage sheet says "
              "which sources and codes each measure covered."], style="caption", gap=0),
        Table(about, labels=["Topic", "How it was done"], wrap=["statement", "topic"], bold_columns=["topic"]),
        Text(["What each column means"], style="heading"),
        Table(terms, labels=["Column", "Meaning"], wrap=["meaning"], section_rows=sections),
    ], one_page=False)


def matrix_workbook(built, path: str | os.PathLike, *, title: str | None = None,
                    progress: Progress | Reporter | None = None) -> None:
    """Write a matrix (:class:`refi_bridge.tables.matrices.Matrix`) as a workbook: the matrix, the quotes
    behind every marked cell, and a long table for pivot tables."""
    from refi_bridge.tables.matrices import summaries

    table = built.table
    split = isinstance(table.columns, pd.MultiIndex)
    keys = list(table.columns)
    names = [f"{k[0]} | {k[1]}" if split else str(k) for k in keys]
    counting = built.cell in ("count", "codings", "sources")
    # -- an empty cell is blank, not 0: the eye finds the filled ones --
    values = [[None if v is None or (counting and (pd.isna(v) or v == 0)) else v for v in row]
              for row in table.values.tolist()]
    frame = pd.DataFrame(values, columns=names)
    top = [k[0] if split else k for k in keys]
    labels = list(dict.fromkeys(top))
    per_row, per_column = summaries(table)
    headings = [i for i, label in enumerate(table.index) if label in set(built.headings)]
    frame.insert(0, "Theme", list(table.index))
    frame["n of N"] = [f"{n} of {len(labels)}" if n is not None else None for n in per_row]
    noun = {"themes": "Themes", "sets": "Sets"}.get(built.rows, "Codes")
    totals = {"Theme": f"{noun} per column"}
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
    counted = (f"coded by at least {built.min_coders} of the coders" if built.min_coders > 1 else "coded by any coder")
    what = {"mark": f"{MARK} marks the columns that provided information to each theme",
            "count": "each cell counts passages: overlapping segments of one code by different coders are one "
                     "passage",
            "codings": "each cell counts codings: a passage coded by three coders counts 3",
            "sources": "each cell counts the sources (interviews) that contributed",
            "coders": "each cell names the coders who marked the theme there ("
                      + ", ".join(f"{k} = {v}" for k, v in table.attrs.get("coders", {}).items()) + ")"}[built.cell]
    instead = {"count": " (--cell codings counts every coder's coding instead.)",
               "codings": " (--cell count counts passages instead.)"}.get(built.cell, "")
    caption = [f"{what[0].upper()}{what[1:]}; {counted} ({who}). Rows: {built.rows}; columns: {built.columns}"
               + (f", split by {built.split_variable}" if built.split_variable else "") + "." + instead]
    if built.group_order:
        caption.append(f"Columns are grouped and coloured by {built.group_variable}: "
                       + ", ".join(f"{g} ({['blue', 'orange', 'green', 'yellow', 'purple', 'grey'][i % 6]})"
                                   for i, g in enumerate(built.group_order)) + ".")
    caption.append(f"Each row ends with the number of columns in which it is present; the last row counts the "
                   f"{noun.lower()} present in each column." + (" Codes that cannot be coded are headings."
                                                                 if headings else ""))
    legend = [(f"{built.group_variable}: {g}", colour_of[g][1]) for g in built.group_order]
    label_width = max(14, min(45, max(len(str(t)) for t in frame["Theme"]) + 2))
    matrix_sheet = Sheet("Matrix", frame, title=title or "Representativeness table", caption=caption,
                         header_rows=header_rows, column_fills=header_fills, cell_fill=cell_fill,
                         legend=legend, center=[n for n in names] + ["n of N"], freeze_columns=1,
                         autofilter=False, header_labels=shown, bold_last_row=True, section_rows=headings,
                         wrap=["Theme"], widths={"Theme": label_width, **{n: 11 if split else 9 for n in names},
                                                 "n of N": 9},
                         number_formats={n: "0" for n in names})
    quotes = _quotes(built)
    data = _long(built)
    variables = _variable_columns(built)
    sheets = [matrix_sheet,
              Sheet("Quotes", quotes, title="The passages behind every marked cell",
                    caption=["For the analysis seminar: every coded passage that puts a theme into a column."],
                    header_labels=[_title(c, variables) for c in quotes.columns],
                    wrap=["text", "theme", "code", "source"],
                    widths={"text": 80, "theme": 20, "code": 20, "source": 18, "coder": 16}, freeze_columns=1),
              Sheet("Data", data, title="Long table for pivot tables",
                    caption=["One row per coding and column; start and end are code point offsets. The column "
                             "names stay short for pivot tables."],
                    wrap=["text", "code_path"], widths={"text": 60, "code_path": 28, "theme": 18, "source": 18},
                    number_formats={"start": "0", "end": "0"}, freeze_columns=1)]
    target = Path(path)
    with atomic_output(target) as temporary:
        write_workbook(temporary, sheets, progress=progress)


def _title(column: str, variables: list[str]) -> str:
    """A column name as a header: variables as they are named, ours capitalised."""
    return column if column in variables else column[:1].upper() + column[1:]


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
