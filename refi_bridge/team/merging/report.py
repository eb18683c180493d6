"""What a merge tells: per file, source, code and coder, with everything re-anchored or not carried."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from refi_bridge.model import Project


@dataclass
class FileSummary:
    file: str
    role: str                  # "master" (given), "base" (the first file, no master) or "merged"
    origin: str | None
    position_unit: str | None
    coder: str | None          # the coder the file was handed to / given by --coder
    override: bool
    users_found: dict[str, int]  # user -> codings credited to them in the file, as the file says
    sources_by_guid: int = 0
    sources_by_hash: int = 0
    sources_by_name: int = 0
    sources_new: int = 0
    codes_by_guid: int = 0
    codes_by_map: int = 0
    codes_by_path: int = 0
    codes_by_name: int = 0
    codes_new: int = 0
    codings_in_file: int = 0
    codings_added: int = 0
    codings_duplicate: int = 0
    codings_reanchored: int = 0
    codings_inexact: int = 0
    codings_not_carried: int = 0


@dataclass
class SourceMatch:
    file: str
    source: str
    matched: str | None
    how: str                   # guid, hash, name, new, base
    text: str                  # identical, line breaks/BOM/Unicode, edited, none


@dataclass
class CodeMatch:
    file: str
    code_path: str
    matched_path: str
    how: str                   # guid, map, path, name, new, base


@dataclass
class Conflict:
    file: str
    code_path: str
    what: str                  # parent, name, color, description
    merged_value: str | None
    file_value: str | None


@dataclass
class Reanchored:
    file: str
    source: str
    coder: str | None
    code_path: str
    old_start: int
    old_end: int
    new_start: int
    new_end: int
    old_text: str
    new_text: str
    exact: bool


@dataclass
class NotCarried:
    file: str
    element: str
    what: str
    why: str


@dataclass
class CoderCount:
    coder: str
    file: str
    codings_in_file: int
    codings_in_merge: int = 0


EXAMPLES = 3


@dataclass
class Look:
    """A kind of thing in the report that a person should check: what (a phrase that starts with a plural
    noun, or a note), how many, in which table (and file), with a few examples."""

    what: str
    count: int
    table: str
    file: str
    examples: list[str]

    def phrase(self) -> str:
        """The count and what: "46 codes whose parent differs...", "1 coding not placed exactly..."."""
        if self.table == "files":  # a note: a sentence of its own
            return self.what
        noun, _, rest = self.what.partition(" ")
        if self.count == 1 and noun.endswith("s"):
            noun = noun[:-1]
        return f"{self.count:,} {noun} {rest}"


@dataclass
class MergeReport:
    """Everything a researcher needs to trust a merge, as rows."""

    base: str
    files: list[FileSummary] = field(default_factory=list)
    sources: list[SourceMatch] = field(default_factory=list)
    codes: list[CodeMatch] = field(default_factory=list)
    new_codes: list[CodeMatch] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    reanchored: list[Reanchored] = field(default_factory=list)
    not_carried: list[NotCarried] = field(default_factory=list)
    coders: list[CoderCount] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    TABLES = ("files", "sources", "codes", "new_codes", "conflicts", "reanchored", "not_carried", "coders")

    def to_dict(self) -> dict:
        return {"base": self.base, "verdict": self.verdict(), "needs_a_look": [asdict(look) for look in self.looks()],
                "notes": list(self.notes),
                **{name: [asdict(row) for row in getattr(self, name)] for name in self.TABLES}}

    # -- the reading of the report: what it says in one line, and what a person should check --

    def coder_names(self) -> list[str]:
        return list(dict.fromkeys(row.coder for row in self.coders if row.coder))

    def codings(self) -> int:
        """Codings the merged project holds (the base's and every file's, duplicates once)."""
        return sum(f.codings_in_file if f.role == "master" else f.codings_added for f in self.files)

    def source_matches(self) -> str:
        """How the files' sources were matched, in words: "47 sources matched by text"."""
        how: dict[str, set[str]] = {}
        for row in self.sources:
            if row.how != "base":
                how.setdefault(row.how, set()).add(row.matched or row.source)
        words = {"guid": "by GUID", "hash": "by text", "name": "by name", "new": "added as new"}
        if not how:
            return "no sources to match"
        if len(how) == 1:
            kind, names = next(iter(how.items()))
            return f"{len(names):,} sources matched {words.get(kind, kind)}"
        total = len(set().union(*how.values()))
        return (f"{total:,} sources matched ("
                + ", ".join(f"{len(names):,} {words.get(kind, kind)}" for kind, names in how.items()) + ")")

    def conflict_groups(self) -> list[Look]:
        """Conflicts of one kind together: per file and differing attribute, a count and examples. The examples
        are the distinct differences, most frequent first (46 subcodes whose parent differs are usually a few
        renamed parents)."""
        groups: dict[tuple[str, str], list[Conflict]] = {}
        for row in self.conflicts:
            groups.setdefault((row.file, row.what), []).append(row)
        out = []
        for (file, what), rows in groups.items():
            pairs: dict[tuple, list[str]] = {}
            for r in rows:
                pairs.setdefault((r.file_value, r.merged_value), []).append(r.code_path)
            ranked = sorted(pairs.items(), key=lambda item: -len(item[1]))
            examples = [(f"{codes[0]}: " if len(codes) == 1 else f"{len(codes)} codes: ")
                        + f"'{here or '(none)'}' here, '{merged or '(none)'}' merged"
                        for (here, merged), codes in ranked[:EXAMPLES]]
            out.append(Look(f"codes whose {what} differs from the merged project's", len(rows), "conflicts", file,
                            examples))
        return out

    def looks(self) -> list[Look]:
        """What needs a human look, one entry per kind of thing and file, with a count and examples."""
        return [
            *_grouped([r for r in self.reanchored if not r.exact], "reanchored",
                      lambda r: "codings not placed exactly: the coded text differs in the master",
                      lambda r: f"{r.source} {r.new_start}-{r.new_end} ({r.code_path})"),
            *_grouped(self.not_carried, "not_carried", lambda r: f"{r.element}s not carried: {r.why}",
                      lambda r: r.what),
            *_grouped([r for r in self.sources if r.how != "base" and r.text == "edited"], "sources",
                      lambda r: "sources whose text was edited by the coder", lambda r: r.source),
            *_grouped([r for r in self.sources if r.how == "new"], "sources",
                      lambda r: "sources the master does not have, added", lambda r: r.source),
            *_grouped(self.new_codes, "new_codes", lambda r: "codes a coder added to the codebook",
                      lambda r: r.code_path),
            *self.conflict_groups(),
            *(Look(note, 1, "files", "", []) for note in self.notes),
        ]

    def verdict(self) -> str:
        """The report in one line: what was merged, and whether anything needs a look."""
        files = sum(1 for f in self.files if f.role != "master")  # the master is no file that was merged
        coders = self.coder_names()
        merged = (f"{files} file{'s' if files != 1 else ''} merged: {self.codings():,} codings by {len(coders)} "
                  f"coder{'s' if len(coders) != 1 else ''}; {self.source_matches()}")
        looks = self.looks()
        if not looks:
            return f"{merged}; nothing needs a look."
        things = "; ".join(look.phrase() for look in looks[:3])
        more = f"; and {len(looks) - 3} more" if len(looks) > 3 else ""
        return f"{len(looks)} thing{'s' if len(looks) != 1 else ''} need{'' if len(looks) != 1 else 's'} a look: " \
               f"{things}{more}. ({merged}.)"

    def frames(self) -> dict:
        """The report's tables as pandas DataFrames (pandas is imported only here)."""
        import pandas as pd

        out = {}
        for name in self.TABLES:
            rows = [asdict(row) for row in getattr(self, name)]
            out[name] = pd.DataFrame(rows) if rows else pd.DataFrame(columns=_columns(name))
        return out


def _grouped(rows, table: str, what, example) -> list[Look]:
    """Rows of one kind, one :class:`Look` per file and per ``what(row)``, with the first examples."""
    groups: dict[tuple[str, str], list] = {}
    for row in rows:
        groups.setdefault((row.file, what(row)), []).append(row)
    return [Look(text, len(group), table, file, [example(r) for r in group[:EXAMPLES]])
            for (file, text), group in groups.items()]


def _columns(table: str) -> list[str]:
    kind = {"files": FileSummary, "sources": SourceMatch, "codes": CodeMatch, "new_codes": CodeMatch,
            "conflicts": Conflict, "reanchored": Reanchored, "not_carried": NotCarried, "coders": CoderCount}
    return list(kind[table].__dataclass_fields__)


@dataclass(frozen=True)
class MergeResult:
    """The merged project and the report on how it was made."""

    project: Project
    report: MergeReport
