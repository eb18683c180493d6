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
        return {"base": self.base, "notes": list(self.notes),
                **{name: [asdict(row) for row in getattr(self, name)] for name in self.TABLES}}

    def frames(self) -> dict:
        """The report's tables as pandas DataFrames (pandas is imported only here)."""
        import pandas as pd

        out = {}
        for name in self.TABLES:
            rows = [asdict(row) for row in getattr(self, name)]
            out[name] = pd.DataFrame(rows) if rows else pd.DataFrame(columns=_columns(name))
        return out


def _columns(table: str) -> list[str]:
    kind = {"files": FileSummary, "sources": SourceMatch, "codes": CodeMatch, "new_codes": CodeMatch,
            "conflicts": Conflict, "reanchored": Reanchored, "not_carried": NotCarried, "coders": CoderCount}
    return list(kind[table].__dataclass_fields__)


@dataclass(frozen=True)
class MergeResult:
    """The merged project and the report on how it was made."""

    project: Project
    report: MergeReport
