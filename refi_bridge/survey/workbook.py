"""The summary workbook of a survey: files by tool, their validity, codings by tool, and the problem files.

The numbers are tallied while files.parquet is written, row by row (:class:`Tally`), so the workbook costs
no second pass and no table of the whole archive in memory; the layout is :mod:`refi_bridge.tables.excel`'s.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import pandas as pd

from refi_bridge.survey.columns import NOT_VALID, REFUSED, VALID, VERDICTS, WARNINGS
from refi_bridge.tables.excel import Sheet

NO_TOOL = "(no origin)"
PROBLEMS_LISTED = 10_000
# -- a problem as the sheet shows it: long enough to say what is wrong, short enough for a few printed
#    lines; files.parquet has every message whole --
PROBLEM_SHOWN = 300
GOOD, FAIR, POOR = "C6EFCE", "FFEB9C", "FFC7CE"
VERDICT_FILLS = {VALID: GOOD, WARNINGS: FAIR, NOT_VALID: POOR, REFUSED: POOR}
MEANINGS = {
    VALID: "matches the REFI-QDA schema and every rule it cannot state",
    WARNINGS: "valid; something a tool may trip on (a non-standard namespace, a path without scheme...)",
    NOT_VALID: "breaks the schema or a rule (dangling references, positions outside their text...)",
    REFUSED: "not a REFI-QDA file, damaged, or unsafe to open (zip bomb, zip slip, XML entities)",
}


@dataclass
class _Tool:
    versions: Counter = field(default_factory=Counter)
    files: int = 0
    readable: int = 0
    verdicts: Counter = field(default_factory=Counter)
    size: int = 0
    sources: int = 0
    codings: int = 0
    text_codings: int = 0
    whole_source_codings: int = 0
    with_codings: int = 0
    coders: int = 0
    most_codings: int = 0


@dataclass
class Tally:
    """Counts by tool and verdict, and the first problem files, gathered from rows as they stream past."""

    tools: dict[str, _Tool] = field(default_factory=lambda: defaultdict(_Tool))
    verdicts: Counter = field(default_factory=Counter)
    unreadable_by_verdict: Counter = field(default_factory=Counter)
    problems: list[tuple] = field(default_factory=list)
    problem_count: int = 0

    def watch(self, rows: Iterable[dict]) -> Iterator[dict]:
        """Pass ``rows`` through, counting each."""
        for row in rows:
            self.add(row)
            yield row

    def add(self, row: dict) -> None:
        tool = self.tools[row.get("tool") or NO_TOOL]
        tool.files += 1
        if row.get("tool_version"):
            tool.versions[row["tool_version"]] += 1
        verdict = row.get("verdict") or REFUSED
        tool.verdicts[verdict] += 1
        self.verdicts[verdict] += 1
        tool.size += row.get("size") or 0
        if row.get("readable"):
            tool.readable += 1
            codings = row.get("codings") or 0
            tool.sources += row.get("sources") or 0
            tool.codings += codings
            tool.text_codings += row.get("text_codings") or 0
            tool.whole_source_codings += row.get("whole_source_codings") or 0
            tool.with_codings += codings > 0
            tool.coders += row.get("coder_count") or 0
            tool.most_codings = max(tool.most_codings, codings)
        else:
            self.unreadable_by_verdict[verdict] += 1
        if verdict in (NOT_VALID, REFUSED) or not row.get("readable"):
            self.problem_count += 1
            if len(self.problems) < PROBLEMS_LISTED:
                findings = row.get("findings") or []
                problem = row.get("error") or (findings[0] if findings else "")
                if len(problem) > PROBLEM_SHOWN:
                    problem = problem[: PROBLEM_SHOWN - 1] + "\u2026"
                self.problems.append((row["file"], row.get("tool"), verdict, "yes" if row.get("readable") else "no",
                                      row.get("validation_errors"), row.get("error_type"), problem))

    @property
    def files(self) -> int:
        return sum(tool.files for tool in self.tools.values())

    @property
    def unreadable(self) -> int:
        return sum(tool.files - tool.readable for tool in self.tools.values())

    @property
    def codings(self) -> int:
        return sum(tool.codings for tool in self.tools.values())


def summary_sheets(tally: Tally, paths: Sequence[str], when: str) -> list[Sheet]:
    """The sheets of summary.xlsx."""
    order = sorted(tally.tools, key=lambda name: (-tally.tools[name].files, name.lower()))
    about = (f"{tally.files} files surveyed from {named(paths)} on {when}: {tally.files - tally.unreadable} "
             f"read, {tally.unreadable} could not be read; {tally.codings} codings. Every file is a row of "
             "files.parquet, every coding a row of codings.parquet.")
    by_tool = pd.DataFrame([{
        "tool": name, "versions": _versions(tally.tools[name].versions), "files": tally.tools[name].files,
        "readable": tally.tools[name].readable, "unreadable": tally.tools[name].files - tally.tools[name].readable,
        **{verdict: tally.tools[name].verdicts[verdict] for verdict in VERDICTS},
        "size (MB)": round(tally.tools[name].size / 1e6, 1), "sources": tally.tools[name].sources,
        "codings": tally.tools[name].codings} for name in order])
    by_tool = _with_total(by_tool, "tool", ("versions",))
    validity = pd.DataFrame([{
        "verdict": verdict, "files": tally.verdicts[verdict],
        "share": tally.verdicts[verdict] / tally.files if tally.files else 0.0,
        "of them unreadable": tally.unreadable_by_verdict[verdict], "meaning": MEANINGS[verdict]}
        for verdict in VERDICTS])
    codings = pd.DataFrame([{
        "tool": name, "files read": t.readable, "files with codings": t.with_codings, "codings": t.codings,
        "text codings": t.text_codings, "whole-source codings": t.whole_source_codings,
        "other codings": t.codings - t.text_codings - t.whole_source_codings,
        "codings per file": round(t.codings / t.readable, 1) if t.readable else None,
        "most in one file": t.most_codings,
        "coders per file": round(t.coders / t.readable, 1) if t.readable else None}
        for name, t in ((name, tally.tools[name]) for name in order) if t.readable])
    codings = _with_total(codings, "tool", ("codings per file", "most in one file", "coders per file"))
    if not codings.empty:
        read = codings["files read"].iloc[-1]
        codings.loc[codings.index[-1], "codings per file"] = round(tally.codings / read, 1) if read else None
        codings.loc[codings.index[-1], "most in one file"] = codings["most in one file"].iloc[:-1].max()
    problems = pd.DataFrame(tally.problems, columns=["file", "tool", "verdict", "readable", "validation errors",
                                                     "error type", "problem"])
    listed = ([f"The first {PROBLEMS_LISTED} of {tally.problem_count}; files.parquet has them all."]
              if tally.problem_count > len(tally.problems) else [])
    return [
        Sheet("Files by tool", by_tool, title="Files by tool", caption=[about, (
            "readable: refi_bridge could read it; the verdict columns are what `refi-bridge validate` says "
            "(see the Validity sheet).")], bold_last_row=True, number_formats={"size (MB)": "0.0"},
            column_fills={v: VERDICT_FILLS[v] for v in VERDICTS}, one_page=True),
        Sheet("Validity", validity, title="Validity", caption=[
            "What `refi-bridge validate` says of each file: the schema, and the rules no schema states."],
            number_formats={"share": "0.0%"}, widths={"share": 9, "meaning": 90},
            cell_fill=lambda _, column, value: VERDICT_FILLS.get(value) if column == "verdict" else None,
            autofilter=False, one_page=True),
        Sheet("Codings by tool", codings, title="Codings by tool", caption=[
            "Codings of the files that could be read. other codings: of PDF, picture, audio, video and transcript "
            "selections."], bold_last_row=True, number_formats={"codings per file": "0.0", "coders per file": "0.0"},
            one_page=True),
        Sheet("Problems", problems, title="Files that are not valid or could not be read",
              caption=["problem: why the file could not be read, else the first finding of validation (the "
                       "whole message is in files.parquet)."] + listed,
              widths={"problem": 80, "file": 45}, wrap=["file", "problem"],
              cell_fill=lambda _, column, value: VERDICT_FILLS.get(value) if column == "verdict" else None),
    ]


def named(paths: Sequence[str], shown: int = 3) -> str:
    """Paths for a sentence: a shell's ``archive/*.qdpx`` may give thousands."""
    more = f" and {len(paths) - shown} more" if len(paths) > shown else ""
    return ", ".join(paths[:shown]) + more


def _versions(versions: Counter, shown: int = 4) -> str:
    ranked = [version for version, _ in versions.most_common()]
    more = f" (+{len(ranked) - shown} more)" if len(ranked) > shown else ""
    return ", ".join(sorted(ranked[:shown], key=_version_key)) + more


def _version_key(version: str) -> tuple:
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))


def _with_total(frame: pd.DataFrame, label: str, blank: Sequence[str]) -> pd.DataFrame:
    """The frame with a last row adding up its number columns (``blank`` ones left empty)."""
    if frame.empty:
        return frame
    total = {column: (frame[column].sum() if column not in blank and pd.api.types.is_numeric_dtype(frame[column])
                      else None) for column in frame.columns}
    total[label] = "all"
    return pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
