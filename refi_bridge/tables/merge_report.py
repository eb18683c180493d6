"""The merge report as a workbook: a Summary that gives the verdict in one line, the codings per coder and
what needs a human look; then one sheet per table of :class:`~refi_bridge.team.merging.MergeReport`.

The reading of the report (the verdict, what needs a look, conflicts grouped by kind) is the report's own;
this module lays it out. Headers are the words a researcher uses; the JSON keeps the machine names.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from refi_bridge.formats.exchange import atomic_output
from refi_bridge.formats.positions import UNIT_LABELS
from refi_bridge.progress import Progress, Reporter
from refi_bridge.tables.excel import Page, Sheet, Table, Text, write_workbook
from refi_bridge.team.merging import MergeReport

GOOD, LOOK = "C6EFCE", "FFEB9C"

# -- the per-file counts, as rows of the (transposed) Files sheet: field, label, meaning --
FILE_ROWS = [
    ("role", "Role", "base: the merged project's texts are this file's; merged: its codings were carried onto "
     "them"),
    ("coder", "Coder", "The coder the file was handed to (manifest) or credited to (--coder)."),
    ("origin", "Made by", "The tool that wrote the file."),
    ("position_unit", "Positions counted in", "How the tool counts text positions; codings were converted."),
    ("users_found", "Users in the file (codings)", "The users the file names, with their codings."),
    ("sources_by_guid", "Sources matched by GUID", ""),
    ("sources_by_hash", "Sources matched by text", "By a hash of the normalised text: the same text, whatever "
     "its GUID or name."),
    ("sources_by_name", "Sources matched by name only", "The text differs; codings were re-anchored."),
    ("sources_new", "Sources added", "Sources the master does not have."),
    ("codes_by_guid", "Codes matched by GUID", ""),
    ("codes_by_map", "Codes matched by --code-map", ""),
    ("codes_by_path", "Codes matched by path of names", ""),
    ("codes_by_name", "Codes matched by unique name", ""),
    ("codes_new", "Codes added", "Codes the master does not have."),
    ("codings_in_file", "Codings in the file", ""),
    ("codings_added", "Codings in the merged project", ""),
    ("codings_duplicate", "Exact duplicates, kept once", ""),
    ("codings_reanchored", "Codings re-anchored onto the master text", "Moved to where their text is in the "
     "master, because the coder's copy of the text differed (line breaks, encoding, edits)."),
    ("codings_inexact", "Codings not placed exactly", "Re-anchored where the coded text itself differs: check "
     "them on the Re-anchored sheet."),
    ("codings_not_carried", "Codings not carried", "See the Not carried sheet."),
]
HOW = {"guid": "GUID", "hash": "text", "name": "name", "new": "new", "base": "master", "map": "--code-map",
       "path": "path of names"}
TABLE_SHEETS = {"files": "Files", "sources": "Sources", "codes": "Codes", "new_codes": "New codes",
                "conflicts": "Conflicts", "reanchored": "Re-anchored", "not_carried": "Not carried"}


def write_merge_report(report: MergeReport, path: str | os.PathLike, *, merged: str | None = None,
                       progress: Progress | Reporter | None = None) -> None:
    """The merge report as a workbook a researcher reads to trust the merge (``merged`` names the result)."""
    frames = report.frames()
    sheets = [_summary(report, merged), _files(report),
              _sheet("Sources", frames["sources"], "How each source was matched", [
                  "By GUID, by the hash of its normalised text, by name, or added as new; and whether its text "
                  "differs from the master's (line breaks, byte-order mark or Unicode form only, or edited)."],
                  {"file": "File", "source": "Source", "matched": "Matched to", "how": "Matched by",
                   "text": "Text"}),
              _sheet("Codes", frames["codes"], "How each code was matched", [
                  "By GUID, --code-map, path of names, unique name, or added as new."],
                  {"file": "File", "code_path": "Code", "matched_path": "Matched to", "how": "Matched by"}),
              _sheet("New codes", frames["new_codes"], "Codes a coder added", [
                  "Codes the master lacks; each is added once."],
                  {"file": "File", "code_path": "Code", "matched_path": "In the merged project",
                   "how": "Matched by"}),
              _conflicts(report),
              _sheet("Re-anchored", _reanchored(frames["reanchored"]), "Codings moved onto the master text", [
                  "Codings whose coder's copy of the text differed, moved to where their text is in the master. "
                  "Exact: no means the coded text itself differs - check those first (they are listed first)."],
                  {"file": "File", "source": "Source", "coder": "Coder", "code_path": "Code",
                   "old_start": "Start in the file", "old_end": "End in the file", "new_start": "Start",
                   "new_end": "End", "exact": "Exact", "old_text": "Text in the file", "new_text": "Text in the master"},
                  wrap=["old_text", "new_text", "code_path"], widths={"old_text": 40, "new_text": 40}),
              _sheet("Not carried", frames["not_carried"], "What could not be carried, and why", [],
                     {"file": "File", "element": "Element", "what": "What", "why": "Why"}, wrap=["what", "why"],
                     widths={"why": 60, "what": 40})]
    if report.conflicts:
        sheets.append(_sheet("Conflict list", frames["conflicts"], "Every code whose attributes differ", [
            "The merged project keeps the first file's value."],
            {"file": "File", "code_path": "Code", "what": "What differs", "merged_value": "Merged value",
             "file_value": "Value in the file"}, wrap=["code_path", "merged_value", "file_value"],
            widths={"code_path": 45, "merged_value": 35, "file_value": 35}))
    target = Path(path)
    with atomic_output(target) as temporary:
        write_workbook(temporary, sheets, progress=progress)


def _summary(report: MergeReport, merged: str | None) -> Page:
    looks = report.looks()
    per_coder: dict[str, list] = {}
    for row in report.coders:
        entry = per_coder.setdefault(row.coder, [row.coder, row.codings_in_merge, []])
        entry[2].append(f"{row.file} ({row.codings_in_file:,} codings in the file)")
    coders = pd.DataFrame([(c, n, "; ".join(files)) for c, n, files in per_coder.values()],
                          columns=["coder", "codings", "files"])
    blocks: list = [
        Text([f"Merge report{': ' + merged if merged else ''}"], style="title"),
        Text([report.verdict()], bold=True, fill=LOOK if looks else GOOD, gap=0),
        Text([f"Base texts: {report.base}. {report.source_matches()[:1].upper()}{report.source_matches()[1:]}; "
              f"{len(report.codes):,} codes matched, {len(report.new_codes):,} added."], style="caption", gap=0),
        Text(["Codings per coder"], style="heading"),
        Table(coders, labels=["Coder", "Codings", "From"], number_formats={"codings": "#,##0"}, wrap=["files"],
              center=["codings"], gap=0),
    ]
    if looks:
        rows = [(look.what, look.count,
                 (f"In {look.file}" if look.file else "")
                 + (f" ({TABLE_SHEETS[look.table]} sheet)" if look.table in TABLE_SHEETS and look.examples else "")
                 + (": " if look.file or look.examples else "") + "; ".join(look.examples)
                 + (" ..." if look.count > len(look.examples) and look.examples else ""))
                for look in looks]
        frame = pd.DataFrame(rows, columns=["what", "count", "examples"])
        blocks += [Text([f"What needs a look ({len(looks)})"], style="heading"),
                   Table(frame, labels=["What", "How many", "Where, and examples"], wrap=["what", "examples"],
                         number_formats={"count": "#,##0"}, center=["count"], gap=0)]
    else:
        blocks.append(Text(["Nothing needs a look: every coding was placed exactly, nothing was left out, no "
                            "code differs between the files, and no coder changed a text or the codebook."],
                           style="caption"))
    return Page("Summary", [42.0, 11.0, 95.0], blocks, one_page=len(looks) <= 25)


def _files(report: MergeReport) -> Sheet:
    """One column per file, one row per count: 20 counts read down, not across."""
    files = report.files
    labels = [f.file for f in files]
    rows = []
    for name, label, _ in FILE_ROWS:
        values = [getattr(f, name) for f in files]
        if name == "users_found":
            values = ["; ".join(f"{user}: {n}" for user, n in v.items()) for v in values]
        if name == "coder":
            values = [f"{v} (--coder)" if v and f.override else v for v, f in zip(values, files)]
        if name == "position_unit":
            values = [UNIT_LABELS.get(v, v) for v in values]
        rows.append([label, *values])
    frame = pd.DataFrame(rows, columns=["measure", *[f"file {i}" for i in range(len(files))]])
    notes = {label: meaning for _, label, meaning in FILE_ROWS if meaning}
    return Sheet("Files", frame, title="What each file brought",
                 caption=[f"Base texts: {report.base}. One column per input file."],
                 header_labels=["", *labels], wrap=["measure", *frame.columns[1:]],
                 widths={"measure": 36, **{c: max(18, min(30, len(label) + 2)) for c, label in
                                           zip(frame.columns[1:], labels)}},
                 cell_note=lambda row, column, _: notes.get(rows[row][0]) if column == "measure" else None,
                 number_formats={c: "#,##0" for c in frame.columns[1:]}, freeze_columns=1, autofilter=False)


def _conflicts(report: MergeReport) -> Sheet:
    groups = report.conflict_groups()
    frame = pd.DataFrame([(g.file, g.what.removeprefix("codes whose ").removesuffix(" differs from the merged "
                                                                                    "project's"),
                           g.count, "\n".join(g.examples) + ("\n..." if g.count > len(g.examples) else ""))
                          for g in groups], columns=["file", "what", "count", "examples"])
    return _sheet("Conflicts", frame, "Codes whose attributes differ between files, by kind", [
        "One row per file and attribute, with how many codes differ and examples; the merged project keeps the "
        "first file's value." + (" Every code is on the Conflict list sheet." if groups else "")],
        {"file": "File", "what": "What differs", "count": "Codes", "examples": "Examples (value in the file, "
                                                                                  "merged value)"},
        wrap=["examples", "file"], widths={"examples": 90, "file": 30})


def _reanchored(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return frame
    ordered = frame.sort_values("exact", kind="stable")
    ordered["exact"] = ordered["exact"].map({True: "yes", False: "no"})
    columns = ["file", "source", "coder", "code_path", "new_start", "new_end", "exact", "new_text", "old_text",
               "old_start", "old_end"]
    return ordered[[c for c in columns if c in ordered.columns]]


def _sheet(name: str, frame: pd.DataFrame, title: str, caption: list[str], labels: dict[str, str], *,
           wrap=(), widths=None) -> Sheet:
    if "how" in frame.columns:
        frame = frame.assign(how=[HOW.get(v, v) for v in frame["how"]])
    lines = list(caption) + ([] if len(frame) else ["Nothing to report here."])
    return Sheet(name, frame, title=title, caption=lines, header_labels=[labels.get(c, c) for c in frame.columns],
                 wrap=list(wrap), widths=dict(widths or {}), number_formats={
                     c: "0" for c in frame.columns if c.endswith(("_start", "_end"))}, freeze_columns=1)
