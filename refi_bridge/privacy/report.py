"""The report of a pseudonymisation: what each entry replaced and where, which codings moved, what files went.

It is for the researcher who holds the key, and it names the originals (an entry that matched nothing must
be recognisable): keep it with the key, apart from the pseudonymised project. Shown on the console as a few
lines (:meth:`PseudonymisationReport.summary`), written as a workbook or JSON by :func:`write_report`.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from refi_bridge.formats.exchange import atomic_output
from refi_bridge.privacy.key import Entry
from refi_bridge.tables.excel import Sheet, write_workbook

ENTRY_COLUMNS = ("row", "original", "replacement", "category", "match", "replacements", "in_sources",
                 "in_notes", "in_names", "objects")
SHEETS = {
    "entries": ("Entries", "Every entry of the key: how often it was replaced, in source texts, in notes, and in "
                           "names, descriptions and other fields. Entries that matched nothing are marked in "
                           "orange: check their spelling and match mode."),
    "places": ("Where", "Every place an entry was replaced: what kind of text, and the object (by its new name)."),
    "moved": ("Codings moved", "Codings with a boundary inside a replaced word: the boundary moved to the edge of "
                               "the replacement (a start to its start, an end to its end), so the coding covers "
                               "the whole pseudonym. Positions are code points; text is the new coded text."),
    "files": ("Files", "Files the project carried or referred to that the key cannot rewrite, and what was done "
                       "with each."),
    "coders": ("Coders", "Users renamed for blind review (--coders)."),
}


@dataclass
class PseudonymisationReport:
    """Counts and lists of one pseudonymisation (see the module); ``entries`` are the key's."""

    entries: tuple[Entry, ...]
    places: list[dict] = field(default_factory=list)
    moved: list[dict] = field(default_factory=list)
    files: list[dict] = field(default_factory=list)
    coders: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    codings: int = 0
    shifted: int = 0
    codes_renamed: int = 0

    def add_place(self, entry: int, where: str, what: str, group: str, count: int) -> None:
        item = self.entries[entry]
        self.places.append({"row": item.row, "original": item.original, "replacement": item.replacement,
                            "where": where, "object": what, "group": group, "count": count, "_entry": entry})

    @property
    def replacements(self) -> int:
        """Occurrences replaced in all."""
        return sum(place["count"] for place in self.places)

    def per_entry(self) -> pd.DataFrame:
        """One row per entry of the key, in key order (see :data:`ENTRY_COLUMNS`)."""
        totals: dict[int, dict] = defaultdict(lambda: {"sources": 0, "notes": 0, "names": 0, "objects": set()})
        for place in self.places:
            total = totals[place["_entry"]]
            total[place["group"]] += place["count"]
            total["objects"].add(place["object"])
        rows = []
        for index, entry in enumerate(self.entries):
            total = totals[index]
            rows.append((entry.row, entry.original, entry.replacement, entry.category, entry.match,
                         total["sources"] + total["notes"] + total["names"], total["sources"], total["notes"],
                         total["names"], len(total["objects"])))
        return pd.DataFrame.from_records(rows, columns=list(ENTRY_COLUMNS))

    def unmatched(self) -> list[Entry]:
        """Entries that replaced nothing (a misspelling, a wrong match mode, or a name not in this project)."""
        found = {place["_entry"] for place in self.places}
        return [entry for index, entry in enumerate(self.entries) if index not in found]

    def media_warnings(self) -> list[str]:
        """One sentence per media file kept on request."""
        return [f"{row['object']}: {row['kind']} {row['file']!r} was kept as it is (--keep-media); it may still "
                "identify people - look at it before sharing" for row in self.files if row["action"] == "kept"]

    def frames(self) -> dict[str, pd.DataFrame]:
        """The report's tables, named as :data:`SHEETS`."""
        places = pd.DataFrame([{k: v for k, v in p.items() if not k.startswith("_")} for p in self.places],
                              columns=["row", "original", "replacement", "where", "object", "group", "count"])
        return {
            "entries": self.per_entry(),
            "places": places,
            "moved": pd.DataFrame(self.moved, columns=["object", "code", "coder", "old_start", "old_end", "start",
                                                       "end", "edge inside a replaced word", "text"]),
            "files": pd.DataFrame(self.files, columns=["file", "object", "kind", "action", "why"]),
            "coders": pd.DataFrame(self.coders, columns=["user", "alias"]),
        }

    def summary(self) -> list[str]:
        """The report in a few lines, for the console."""
        entries = self.per_entry()
        by_group = {group: int(entries[f"in_{group}"].sum()) for group in ("sources", "notes", "names")}
        lines = [f"replaced {self.replacements:,} occurrences of {int((entries['replacements'] > 0).sum())} of "
                 f"{len(self.entries)} key entries: {by_group['sources']:,} in source texts, {by_group['notes']:,} in "
                 f"notes, {by_group['names']:,} in names, descriptions and other fields"]
        unmatched = self.unmatched()
        if unmatched:
            shown = ", ".join(entry.label for entry in unmatched[:5])
            more = f" and {len(unmatched) - 5} more" if len(unmatched) > 5 else ""
            lines.append(f"{_count(len(unmatched), 'entry', 'entries')} matched nothing: {shown}{more}; check the "
                         "spelling and the match mode")
        moved = len(self.moved)
        lines.append(f"{_count(self.codings, 'coding')}: {self.shifted:,} moved with their text, {moved:,} of them had "
                     "a boundary inside a replaced word and now cover the whole replacement")
        actions: dict[str, int] = defaultdict(int)
        for row in self.files:
            actions[f"{row['kind']} {row['action']}"] += 1
        if actions:
            lines.append("files: " + ", ".join(f"{what}: {count}" for what, count in sorted(actions.items())))
        if self.coders:
            lines.append(f"{_count(len(self.coders), 'coder')} renamed")
        if self.codes_renamed:
            lines.append(f"{_count(self.codes_renamed, 'code name')} rewritten")
        lines.extend(f"note: {note}" for note in self.notes)
        return lines

    def to_dict(self) -> dict:
        """The report as plain data (JSON)."""
        frames = self.frames()
        return {
            "summary": self.summary(),
            "replacements": self.replacements,
            "codings": self.codings,
            "codings_shifted": self.shifted,
            "codings_moved_to_an_edge": len(self.moved),
            "unmatched": [{"row": e.row, "original": e.original} for e in self.unmatched()],
            "notes": list(self.notes),
            **{name: json.loads(frame.to_json(orient="records", force_ascii=False)) for name, frame in frames.items()},
        }


UNMATCHED = "F8CBAD"
NOTES = {"entries": {
    "replacements": "Occurrences replaced in all: the sum of the next three columns.",
    "in_sources": "In the texts of sources: documents, PDF texts, picture descriptions, transcripts.",
    "in_notes": "In the texts of notes (memos).",
    "in_names": "In names, descriptions, variable values, paths and other fields of anything in the project.",
    "objects": "How many sources, notes, cases and other objects it was found in.",
    "match": "word: whole words, case-sensitive; ignore-case; anywhere: inside words too.",
}}


def _unmatched(_: int, column: str, value: object) -> str | None:
    return UNMATCHED if column == "replacements" and value == 0 else None


def _count(number: int, one: str, many: str | None = None) -> str:
    return f"{number:,} {one if number == 1 else many or one + 's'}"


def write_report(report: PseudonymisationReport, path: str | os.PathLike) -> Path:
    """Write the report as a workbook (``.xlsx``) or JSON (``.json``), atomically."""
    target = Path(path)
    with atomic_output(target) as temporary:
        if target.suffix.lower() == ".json":
            temporary.write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
            return target
        sheets = []
        summary = report.summary()
        for name, frame in report.frames().items():
            title, caption = SHEETS[name]
            lines = [caption] + (["Keep this report with the key, apart from the pseudonymised project: it names "
                                  "the originals."] + summary if name == "entries" else [])
            if frame.empty:
                lines.append("Nothing to report here.")
            sheets.append(Sheet(name=title, frame=frame, title=f"Pseudonymisation: {title.lower()}", caption=lines,
                                wrap=[c for c in ("text", "why", "object") if c in frame.columns],
                                widths={"text": 60, "why": 50, "object": 40}, notes=NOTES.get(name, {}),
                                cell_fill=_unmatched if name == "entries" else None))
        write_workbook(temporary, sheets)
    return target
