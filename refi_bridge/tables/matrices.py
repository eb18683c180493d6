"""Theme-by-case matrices: which cases (dyads, participants) contributed to which themes.

The "representativeness table" of a qualitative paper — themes as rows, cases as columns, a mark where the
case contributed to the theme — is what no QDA tool exports: their matrices count codings per document,
cannot roll several interviews up to one case, and neither group nor colour columns. :func:`matrix` builds
it from any REFI-QDA project as a DataFrame; :mod:`refi_bridge.tables.reports` lays it out as a workbook.

Rows: ``themes`` (top-level codes with their descendants rolled up), ``codes`` (every code), ``level:N``
(codes at depth N, rolled up), ``sets`` (code sets as themes). Columns: ``cases`` (a case covers its
sources and selections), ``sources``, ``variable:NAME`` (values of a source or case variable),
``pattern:REGEX`` (a regular expression on source names, for exports that lost their cases; the first
group names the column). Cells: ``mark``, ``count`` (passages: overlapping segments of one code by different
coders are one passage), ``codings`` (every coder's coding counted), ``sources``, ``coders`` (their initials;
``frame.attrs["coders"]`` says whose). Codes that cannot be coded (``isCodable="false"``), listed one by one
with ``rows="codes"``, are headings: ``frame.attrs["headings"]`` names them, and their cells are empty.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal

import pandas as pd

from refi_bridge.errors import RefiBridgeError
from refi_bridge.model import (
    TOOL_USERS,
    CaseCoverage,
    PlainTextSelection,
    Project,
    coder_of,
    guid_key,
    name_key,
)

MARK = "×"
CELLS = ("mark", "count", "codings", "sources", "coders")


class MatrixError(RefiBridgeError, ValueError):
    """A matrix cannot be built as asked (no cases, an unknown variable, a bad pattern...)."""


@dataclass
class Contribution:
    """One coding that puts a theme into a column: everything the quotes and data sheets show."""

    row: str
    column: str
    split: str | None
    group: str | None
    source: str
    source_guid: str
    coder: str | None
    code: str
    code_path: str
    start: int | None
    end: int | None
    text: str | None
    variables: dict[str, object] = field(default_factory=dict)   # typed: numbers stay numbers
    selection: str | None = None                                  # its selection's GUID (None: whole source)


@dataclass
class Matrix:
    """A matrix and what it was built from: the cell table and every contribution behind it."""

    table: pd.DataFrame
    contributions: list[Contribution]
    rows: str
    columns: str
    cell: str
    groups: dict[str, str | None]          # column label -> group
    group_order: list[str]
    group_variable: str | None
    split_variable: str | None
    min_coders: int
    coders: list[str] | None
    headings: list[str] = field(default_factory=list)   # rows that are headings (codes that cannot be coded)


def _variable(project: Project, spec: str, what: str) -> tuple[str, str]:
    if not spec.startswith("variable:"):
        raise MatrixError(f"{what} takes variable:NAME; got {spec!r}")
    name = spec[len("variable:"):].strip()
    for variable in project.variables:
        if name_key(variable.name) == name_key(name):
            return variable.guid, variable.name
    names = ", ".join(v.name for v in project.variables) or "none"
    raise MatrixError(f"no variable {name!r} in the project; its variables are {names}")


def _values(items, variable_guid: str) -> dict[str, str]:
    out = {}
    for item in items:
        for value in item.variable_values:
            if guid_key(value.variable_guid) == guid_key(variable_guid) and value.value is not None:
                out[guid_key(item.guid)] = value.value
    return out


def _headings(project: Project, spec: str, case_nodes: set[str]) -> list[str]:
    """Rows that may be headings: with ``codes``, the codes that cannot be coded (unless some tool coded them
    anyway, their rows would only be empty; they name the group of codes below them)."""
    if spec != "codes":
        return []
    return [" > ".join(path) for code, path in project.iter_codes()
            if not code.is_codable and guid_key(code.guid) not in case_nodes]


def _rows(project: Project, spec: str, case_nodes: set[str]) -> list[tuple[str, set[str]]]:
    """Row labels with the code GUID keys each rolls up; NVivo's case nodes are cases, never rows."""
    def subtree(code) -> set[str]:
        return {guid_key(c.guid) for c, _ in code.walk()} - case_nodes

    def theme(code) -> bool:
        return guid_key(code.guid) not in case_nodes

    if spec == "themes":
        return [(code.name, subtree(code)) for code in project.codes if theme(code)]
    if spec == "codes":
        return [(" > ".join(path), {guid_key(code.guid)}) for code, path in project.iter_codes() if theme(code)]
    if spec.startswith("level:"):
        try:
            depth = int(spec[len("level:"):])
        except ValueError:
            raise MatrixError(f"--rows level:N takes a number; got {spec!r}") from None
        if depth < 1:
            raise MatrixError("--rows level:N counts from 1 (the top-level codes)")
        return [(" > ".join(path), subtree(code)) for code, path in project.iter_codes()
                if len(path) == depth and theme(code)]
    if spec == "sets":
        codes = project.codes_by_guid()
        out = []
        for group in project.sets:
            members: set[str] = set()
            for member in group.member_codes:
                code = codes.get(guid_key(member))
                if code is not None:
                    members |= subtree(code)
            if members:
                out.append((group.name, members))
        if not out:
            raise MatrixError("--rows sets: the project has no sets of codes")
        return out
    raise MatrixError(f"--rows takes themes, codes, level:N or sets; got {spec!r}")


def _columns(project: Project, spec: str, coverage: CaseCoverage) -> list[tuple[str, set[str], set[str]]]:
    """Columns as (label, source GUID keys, case GUID keys): a coding counts in a column when its source is
    one of the column's, or when it belongs to one of the column's cases (see :class:`CaseCoverage`)."""
    if spec == "cases":
        if not project.cases:
            raise MatrixError("the project has no cases; use --columns sources, variable:NAME or "
                              "pattern:REGEX (e.g. pattern:D(\\d+)-)")
        covering = [case for case in project.cases if coverage.covers_anything(case.guid)]
        if not covering:
            raise MatrixError(f"none of the project's {len(project.cases)} cases covers a source or a passage "
                              "(no SourceRef, SelectionRef or coding at a case node); use --columns sources, "
                              "variable:NAME or pattern:REGEX")
        return [(case.name or case.guid, set(), {guid_key(case.guid)}) for case in covering]
    if spec == "sources":
        return [(source.label, {guid_key(source.guid)}, set()) for source in project.sources]
    if spec.startswith("variable:"):
        guid, name = _variable(project, spec, "--columns")
        values = _values(project.sources, guid)
        by_value: dict[str, set[str]] = defaultdict(set)
        for source in project.sources:
            value = values.get(guid_key(source.guid))
            if value is not None:
                by_value[value].add(guid_key(source.guid))
        if by_value:
            return [(value, sources, set()) for value, sources in sorted(by_value.items(), key=lambda i: _natural(i[0]))]
        # -- a case variable: the cases with each value --
        case_values = _values(project.cases, guid)
        for case in project.cases:
            value = case_values.get(guid_key(case.guid))
            if value is not None:
                by_value[value].add(guid_key(case.guid))
        if not by_value:
            raise MatrixError(f"no source or case has a value of {name!r}")
        return [(value, set(), cases) for value, cases in sorted(by_value.items(), key=lambda i: _natural(i[0]))]
    if spec.startswith("pattern:"):
        try:
            pattern = re.compile(spec[len("pattern:"):])
        except re.error as error:
            raise MatrixError(f"--columns {spec!r}: not a regular expression ({error})") from None
        by_label: dict[str, set[str]] = {}
        for source in project.sources:
            found = pattern.search(source.label)
            if found:
                label = found.group(1) if pattern.groups else found.group(0)
                by_label.setdefault(label, set()).add(guid_key(source.guid))
        if not by_label:
            raise MatrixError(f"no source name matches {spec[len('pattern:'):]!r}")
        return [(label, sources, set()) for label, sources in sorted(by_label.items(), key=lambda i: _natural(i[0]))]
    raise MatrixError(f"--columns takes cases, sources, variable:NAME or pattern:REGEX; got {spec!r}")


def _natural(text: str) -> list:
    return [int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", text)]


def matrix(project: Project, *, rows: str = "themes", columns: str = "cases", split: str | None = None,
           group_by: str | None = None, cell: str = "mark", min_coders: int = 1,
           coders: Sequence[str] | None = None) -> pd.DataFrame:
    """The theme-by-case matrix of a project as a DataFrame (rows x columns, or x split values).

    ``min_coders`` counts a theme for a column only when at least that many coders applied it there;
    ``coders`` restricts to some coders (``["consensus"]`` for the consensus layer). Column groups
    (``group_by="variable:Outcome"``) are in ``frame.attrs["groups"]``. See :func:`build` for everything
    behind the cells.
    """
    return build(project, rows=rows, columns=columns, split=split, group_by=group_by, cell=cell,
                 min_coders=min_coders, coders=coders).table


def build(project: Project, *, rows: str = "themes", columns: str = "cases", split: str | None = None,
          group_by: str | None = None, cell: str = "mark", min_coders: int = 1,
          coders: Sequence[str] | None = None) -> Matrix:
    """The matrix with its contributions (the passages behind every cell) and its column groups."""
    if cell not in CELLS:
        raise MatrixError(f"--cell takes {', '.join(CELLS)}; got {cell!r}")
    if min_coders < 1:
        raise MatrixError("--min-coders must be 1 or more")
    coverage = project.case_coverage()
    row_defs = _rows(project, rows, coverage.case_nodes)
    column_defs = _columns(project, columns, coverage)
    users = project.users_by_guid()
    known = _coders(project, users)
    wanted = None
    if coders:
        missing = [c for c in coders if name_key(c) not in known]
        if missing:
            raise MatrixError(f"no codings by {', '.join(missing)}; the project's coders are "
                              f"{', '.join(sorted(known.values())) or 'none'}")
        wanted = {name_key(c) for c in coders}
    if not row_defs:
        raise MatrixError(f"--rows {rows}: the project has no such codes")
    split_values: dict[str, str] = {}
    split_name = None
    if split is not None:
        guid, split_name = _variable(project, split, "--split")
        split_values = _values(project.sources, guid)
        if not split_values:
            raise MatrixError(f"--split {split}: no source has a value of {split_name!r}; split by a variable of "
                              "the sources (such as Perspective or Session), and group by one of the cases")
    available = len(wanted) if wanted is not None else len(known)
    if min_coders > available:
        raise MatrixError(f"--min-coders {min_coders}: only {available} coder(s) "
                          f"{'chosen' if wanted is not None else 'in the project'}, so no theme could count")
    groups, group_name, group_order = _groups(project, group_by, column_defs, columns)
    variables = {guid_key(v.guid): v.name for v in project.variables}
    source_values = {guid_key(s.guid): {variables.get(guid_key(v.variable_guid), "?"): _typed(v)
                                        for v in s.variable_values} for s in project.sources}
    code_paths = project.code_paths()
    row_of: dict[str, list[str]] = defaultdict(list)
    for label, keys in row_defs:
        for key in keys:
            row_of[key].append(label)
    columns_of_source: dict[str, list[str]] = defaultdict(list)
    columns_of_case: dict[str, list[str]] = defaultdict(list)
    for label, sources, cases in column_defs:
        for key in sources:
            columns_of_source[key].append(label)
        for key in cases:
            columns_of_case[key].append(label)
    contributions: list[Contribution] = []
    for record in project.iter_codings():
        guid = coder_of(record)
        if guid is not None and guid_key(guid) in TOOL_USERS:
            guid = None
        user = users.get(guid_key(guid)) if guid else None
        coder = (user.name if user and user.name else guid) if guid else None
        if wanted is not None and name_key(coder) not in wanted:
            continue
        code_key = guid_key(record.coding.code_guid)
        labels = row_of.get(code_key)
        if not labels:
            continue
        source_key = guid_key(record.source.guid)
        start = end = text = None
        if isinstance(record.selection, PlainTextSelection):
            start, end = record.selection.start, record.selection.end
            owner = getattr(record.owner, "text", None)
            text = owner[start:end] if owner is not None else None
        targets = list(columns_of_source.get(source_key, ()))
        if columns_of_case:
            # -- a span on a PDF's representation or a transcript is not a span of the source's own text --
            on_source = record.owner is record.source
            for case in coverage.cases_at(source_key, start if on_source else None, end if on_source else None):
                targets += [c for c in columns_of_case.get(case, ()) if c not in targets]
        if not targets:
            continue
        path = code_paths.get(code_key, ())
        for row in labels:
            for column in targets:
                contributions.append(Contribution(
                    row=row, column=column, split=split_values.get(source_key) if split else None,
                    group=groups.get(column), source=record.source.label, source_guid=record.source.guid,
                    coder=coder, code=path[-1] if path else code_key, code_path=" > ".join(path), start=start,
                    end=end, text=text, variables=source_values.get(source_key, {}),
                    selection=record.selection.guid if record.selection is not None else None))
    used = {c.row for c in contributions}
    headings = [label for label in _headings(project, rows, coverage.case_nodes) if label not in used]
    table = _table(row_defs, column_defs, groups, group_order, contributions, cell, min_coders,
                   sorted({v for v in split_values.values()}, key=_natural) if split else None, headings)
    table.attrs["groups"] = {c: groups.get(c) for c in dict.fromkeys(label for label, *_ in column_defs)}
    table.attrs["group_variable"] = group_name
    table.attrs["split_variable"] = split_name
    table.attrs["headings"] = headings
    # -- keep only the contributions that made a cell count (min_coders) --
    counted = _counted(contributions, min_coders)
    if not counted:
        raise MatrixError(_empty_reason(len(row_defs), len(column_defs), columns, contributions, min_coders))
    kept = [c for c in contributions if (c.row, c.column, c.split) in counted]
    return Matrix(table, kept, rows, columns, cell, groups, group_order, group_name, split_name, min_coders,
                  list(coders) if coders else None, headings)


def _typed(value) -> object:
    """A variable's value as a spreadsheet should hold it: numbers as numbers, dates as dates, text as text."""
    try:
        typed = value.python_value
    except (ValueError, ArithmeticError):
        return value.value
    if isinstance(typed, datetime) and typed.tzinfo is not None:  # spreadsheets have no time zones
        return typed.astimezone(timezone.utc).replace(tzinfo=None)
    return float(typed) if isinstance(typed, Decimal) else typed


def _empty_reason(rows: int, columns: int, spec: str, contributions: list, min_coders: int) -> str:
    """Why a matrix would be empty, and what to try: never a table of blanks written as if it meant something."""
    if contributions:
        return (f"no cell has codings by {min_coders} or more coders; lower --min-coders (the most any cell "
                f"has is {max(len(who) for who in _cell_coders(contributions).values())})")
    where = {"cases": "the cases' sources and passages", "sources": "the sources"}.get(spec, f"the columns of {spec}")
    return (f"none of the codings of the {rows} rows falls in {where} ({columns} columns), so the matrix would "
            "be empty; try --columns sources or --columns pattern:REGEX, or --rows codes")


def _cell_coders(contributions) -> dict[tuple, set]:
    coders: dict[tuple, set] = defaultdict(set)
    for c in contributions:
        coders[(c.row, c.column, c.split)].add(name_key(c.coder) if c.coder else None)
    return coders


def _coders(project: Project, users) -> dict[str, str]:
    out = {}
    for record in project.iter_codings():
        guid = coder_of(record)
        if guid is None or guid_key(guid) in TOOL_USERS:
            continue
        user = users.get(guid_key(guid))
        name = user.name if user and user.name else guid
        out[name_key(name)] = name
    return out


def _groups(project: Project, group_by: str | None, column_defs, columns: str):
    if group_by is None:
        return {}, None, []
    guid, name = _variable(project, group_by, "--group-by")
    by_case = _values(project.cases, guid)
    by_source = _values(project.sources, guid)
    groups: dict[str, str | None] = {}
    for label, sources, cases in column_defs:
        found = {by_case[c] for c in cases if c in by_case}
        if not found:
            found = {by_source[s] for s in sources if s in by_source}
        if not found and columns != "cases":
            found = {by_case[guid_key(c.guid)] for c in project.cases
                     if guid_key(c.guid) in by_case and {guid_key(r) for r in c.source_refs} & sources}
        groups[label] = found.pop() if len(found) == 1 else ("mixed" if found else None)
    order = list(dict.fromkeys(v for v in groups.values() if v is not None))
    if not order:
        raise MatrixError(f"no column has a value of {name!r} to group by")
    return groups, name, order


def _counted(contributions: list[Contribution], min_coders: int) -> set[tuple]:
    return {key for key, who in _cell_coders(contributions).items() if len(who) >= min_coders}


def _table(row_defs, column_defs, groups, group_order, contributions, cell, min_coders, split_values,
           headings=()) -> pd.DataFrame:
    counted = _counted(contributions, min_coders)
    labels = list(dict.fromkeys(label for label, *_ in column_defs))
    if group_order:
        rank = {g: i for i, g in enumerate(group_order)}
        labels.sort(key=lambda c: (rank.get(groups.get(c), len(rank)),))  # stable: original order in a group
    keys = [(c, v) for c in labels for v in split_values] if split_values else [(c, None) for c in labels]
    cells: dict[tuple, list[Contribution]] = defaultdict(list)
    for c in contributions:
        if (c.row, c.column, c.split) in counted:
            cells[(c.row, c.column, c.split)].append(c)
    short = initials([c.coder for c in contributions if c.coder])
    data = []
    heading = set(headings)
    for row, _ in row_defs:
        if row in heading:
            data.append([None] * len(keys))
            continue
        values = []
        for column, value in keys:
            found = cells.get((row, column, value), [])
            values.append(_cell(found, cell, short))
        data.append(values)
    index = pd.Index([row for row, _ in row_defs], name="theme")
    if split_values:
        columns = pd.MultiIndex.from_tuples(keys, names=["column", "split"])
    else:
        columns = pd.Index(labels, name="column")
    frame = pd.DataFrame(data, index=index, columns=columns)
    if heading and cell in ("count", "codings", "sources"):
        frame = frame.astype("Int64")  # counts stay integers beside a heading's empty cells
    frame.attrs["coders"] = {label: name for name, label in short.items()}
    return frame


def _cell(found: list[Contribution], cell: str, initials: dict[str, str]):
    if cell == "mark":
        return MARK if found else ""
    if cell == "count":
        return passages(found)
    if cell == "codings":
        return len(found)
    if cell == "sources":
        return len({c.source_guid for c in found})
    return " ".join(sorted({initials.get(c.coder or "", "?") for c in found}))


def passages(found: Sequence[Contribution]) -> int:
    """How many passages these codings mark. Text segments of one code in one source that overlap are one
    passage, whoever coded them (three coders marking the same lines is one passage, not three); segments that
    only touch are two. A whole-source coding is one passage of its source per code; any other selection (a
    PDF area, a picture region, a media span) is a passage of its own."""
    spans: dict[tuple, list[tuple[int, int]]] = defaultdict(list)
    others: set[tuple] = set()
    for c in found:
        if c.start is not None and c.end is not None:
            spans[(c.source_guid, c.code_path, c.code)].append((c.start, c.end))
        else:
            others.add((c.source_guid, c.code_path, c.code, c.selection))
    count = len(others)
    for segments in spans.values():
        end = None
        for start, stop in sorted(segments):
            if end is None or start >= end:
                count += 1
                end = stop
            else:
                end = max(end, stop)
    return count


def initials(names: Sequence[str]) -> dict[str, str]:
    """Short, distinct labels for coders: "Ingrid Halvorsen" -> "IH" (longer where two would clash)."""
    out: dict[str, str] = {}
    for name in sorted(set(names), key=str.casefold):
        words = name.split() or [name]
        label = "".join(w[0] for w in words).upper()
        extra = 1
        while label in out.values():
            extra += 1
            label = "".join(w[:extra] for w in words)
        out[name] = label
    return out


def summaries(frame: pd.DataFrame) -> tuple[list[int | None], list[int]]:
    """Per row, in how many columns the row is present (split sub-columns rolled up into their column; None
    for a heading); per (sub-)column, how many rows are present in it."""
    def filled(value) -> bool:
        return value is not None and not (not isinstance(value, str) and pd.isna(value)) and bool(value)

    headings = set(frame.attrs.get("headings", ()))
    tops = [key[0] if isinstance(frame.columns, pd.MultiIndex) else key for key in frame.columns]
    per_row = [None if label in headings else len({top for top, value in zip(tops, row) if filled(value)})
               for label, row in zip(frame.index, frame.itertuples(index=False))]
    per_column = [sum(1 for v in frame.iloc[:, i] if filled(v)) for i in range(frame.shape[1])]
    return per_row, per_column
