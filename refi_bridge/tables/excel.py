"""Formatted Excel workbooks from DataFrames; knows nothing of projects or statistics.

A workbook is a list of :class:`Sheet` specs. Each sheet gets a title and caption lines above a table
with a bold, frozen, filterable header, widths that fit, and optional colours: a fill for whole columns
(header and cells) and a fill per cell. Strings are cleaned of the characters XML forbids, and every
string is stored as text: a name like ``=HYPERLINK(...)`` or ``#N/A`` is shown, never run.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

# -- characters XML 1.0 forbids, which no workbook can hold: controls, lone surrogates, U+FFFE and U+FFFF --
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# -- strings a spreadsheet reads as a formula or an error value rather than as text --
_ERROR_VALUES = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA"})
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_MAX_CELL = 32767
_THIN = Side(style="thin", color="B7B7B7")
BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
HEADER_FILL = "E7E6E6"


@dataclass
class Sheet:
    """One worksheet: a table plus what a reader needs to understand it.

    ``header_rows`` are extra rows above the column names (for grouped headers): each is a list of
    ``(label, first_column, last_column, fill)`` spans, 0-based column numbers into ``frame``'s columns.
    ``column_fills`` colour whole columns by name; ``cell_fill(row, column, value)`` may return a fill
    for any data cell. ``legend`` rows (label, fill) are written under the table.
    """

    name: str
    frame: pd.DataFrame
    title: str | None = None
    caption: Sequence[str] = ()
    header_rows: Sequence[Sequence[tuple[str, int, int, str | None]]] = ()
    column_fills: Mapping[str, str] = field(default_factory=dict)
    cell_fill: Callable[[int, str, object], str | None] | None = None
    legend: Sequence[tuple[str, str | None]] = ()
    wrap: Sequence[str] = ()
    center: Sequence[str] = ()
    widths: Mapping[str, float] = field(default_factory=dict)
    max_width: float = 60
    freeze_columns: int = 0
    autofilter: bool = True
    footer: Sequence[str] = ()
    number_formats: Mapping[str, str] = field(default_factory=dict)
    header_labels: Sequence[str] | None = None
    bold_last_row: bool = False
    fit_to_page: bool = False   # print (and convert to PDF) landscape, one page wide


def clean(value: object) -> object:
    """A value Excel accepts: NaN/NA as empty, strings without control characters and within 32,767."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        value = _ILLEGAL.sub("", value)
        if len(value) > _MAX_CELL:
            value = value[: _MAX_CELL - 1] + "\u2026"
        return value
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, (list, tuple, set)):
        return ", ".join(str(v) for v in value)
    if hasattr(value, "item"):
        return value.item()  # numpy scalars
    return value


def _text_cell(ws, row: int, column: int, value: object):
    """A cell whose text is shown, never run: a name or passage starting with "=" is not a formula, and
    "#N/A" is not an error value (openpyxl would store both as such)."""
    cell = ws.cell(row=row, column=column, value=value)
    if isinstance(value, str) and (value.startswith("=") or value in _ERROR_VALUES):
        cell.data_type = "s"
    return cell


def csv_cell(value: object) -> object:
    """A value for a CSV file that a spreadsheet opens as text: one starting with ``= + - @`` (or a tab or
    carriage return), or reading like an error value, gets the leading apostrophe spreadsheets hide."""
    if isinstance(value, str) and (value.startswith(_FORMULA_STARTS) or value in _ERROR_VALUES):
        return "'" + value
    return value


def _fill(colour: str | None) -> PatternFill | None:
    if not colour:
        return None
    colour = colour.lstrip("#").upper()
    return PatternFill(fill_type="solid", start_color=colour, end_color=colour)


def write_workbook(path: str | Path, sheets: Sequence[Sheet]) -> None:
    """Write the sheets, in order, to an ``.xlsx`` file (the caller chooses a temporary path)."""
    book = Workbook()
    book.remove(book.active)
    for sheet in sheets:
        _write_sheet(book.create_sheet(_sheet_name(sheet.name, book)), sheet)
    book.save(path)


def _sheet_name(name: str, book: Workbook) -> str:
    name = re.sub(r"[\[\]:*?/\\]", "-", name)[:31] or "Sheet"
    base, n = name, 2
    while name in book.sheetnames:
        suffix = f" ({n})"
        name = base[: 31 - len(suffix)] + suffix
        n += 1
    return name


def _write_sheet(ws, sheet: Sheet) -> None:
    frame = sheet.frame
    columns = [str(c) for c in frame.columns]
    row = 1
    if sheet.title:
        _text_cell(ws, row, 1, clean(sheet.title)).font = Font(bold=True, size=14)
        row += 1
    for line in sheet.caption:
        cell = _text_cell(ws, row, 1, clean(line))
        cell.font = Font(italic=True, color="404040")
        if sheet.fit_to_page and len(columns) > 1:
            # -- a caption as wide as the table, wrapped, instead of one line running off the page --
            ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(columns))
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            ws.row_dimensions[row].height = 15 * max(1, math.ceil(len(line) / max(40, 9 * len(columns))))
        row += 1
    if sheet.title or sheet.caption:
        row += 1
    for spans in sheet.header_rows:
        for label, first, last, colour in spans:
            cell = _text_cell(ws, row, first + 1, clean(label))
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            for col in range(first + 1, last + 2):
                target = ws.cell(row=row, column=col)
                target.border = BORDER
                target.fill = _fill(colour) or _fill(HEADER_FILL)
            if last > first:
                ws.merge_cells(start_row=row, start_column=first + 1, end_row=row, end_column=last + 1)
        row += 1
    header_row = row
    shown = list(sheet.header_labels) if sheet.header_labels is not None else columns
    for col, name in enumerate(columns, start=1):
        cell = _text_cell(ws, row, col, clean(shown[col - 1]))
        cell.font = Font(bold=True)
        cell.border = BORDER
        cell.alignment = Alignment(horizontal="center" if name in sheet.center else "left",
                                   vertical="center", wrap_text=True)
        cell.fill = _fill(sheet.column_fills.get(name)) or _fill(HEADER_FILL)
    column_fills = {name: _fill(colour) for name, colour in sheet.column_fills.items()}
    wrap = set(sheet.wrap)
    center = set(sheet.center)
    aligns = {name: Alignment(wrap_text=name in wrap, vertical="top",
                              horizontal="center" if name in center else None) for name in columns}
    formats = sheet.number_formats
    for r, values in enumerate(frame.itertuples(index=False, name=None)):
        row += 1
        for col, (name, value) in enumerate(zip(columns, values), start=1):
            cell = _text_cell(ws, row, col, clean(value))
            cell.border = BORDER
            cell.alignment = aligns[name]
            if name in formats and isinstance(cell.value, (int, float)):
                cell.number_format = formats[name]
            fill = sheet.cell_fill(r, name, value) if sheet.cell_fill is not None else None
            if fill:
                cell.fill = _fill(fill)
            elif column_fills.get(name) is not None:
                cell.fill = column_fills[name]
            if sheet.bold_last_row and r == len(frame) - 1:
                cell.font = Font(bold=True)
    last_row = row
    for line in sheet.footer:
        row += 1
        _text_cell(ws, row, 1, clean(line)).font = Font(italic=True, color="404040")
    if sheet.legend:
        row += 2
        ws.cell(row=row, column=1, value="Legend").font = Font(bold=True)
        for label, colour in sheet.legend:
            row += 1
            cell = _text_cell(ws, row, 1, clean(label))
            cell.border = BORDER
            if colour:
                cell.fill = _fill(colour)
    ws.freeze_panes = ws.cell(row=header_row + 1, column=sheet.freeze_columns + 1)
    if sheet.fit_to_page:
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
    if sheet.autofilter and len(frame) and columns:
        ws.auto_filter.ref = f"A{header_row}:{get_column_letter(len(columns))}{last_row}"
    for col, name in enumerate(columns, start=1):
        width = sheet.widths.get(name)
        if width is None:
            label = str(shown[col - 1])
            sample = [len(str(v)) for v in frame.iloc[:300, col - 1].tolist() if clean(v) is not None]
            longest = max([len(label)] + sample) if sample else len(label)
            width = min(sheet.max_width, max(6, longest + 2))
        ws.column_dimensions[get_column_letter(col)].width = width


MAX_READ_ROWS = 200_000
MAX_READ_COLUMNS = 200


def read_table(path: str | Path, sheet: str, first_column: str) -> pd.DataFrame:
    """Read back a table this module wrote (or a user filled in): the rows under the header row whose first
    cell is ``first_column``, on the sheet called ``sheet``. Column ``_row`` gives each row's row number in
    the spreadsheet, so that messages can point at it.

    Raises ``LookupError`` (with a sentence to show) when the file is not a workbook with that table, or one
    longer than :data:`MAX_READ_ROWS` rows; columns after :data:`MAX_READ_COLUMNS` are not read.
    """
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # noqa: BLE001 -- a damaged or foreign file fails in many ways inside openpyxl
        raise LookupError(f"not an Excel workbook (.xlsx) that can be read ({type(error).__name__}); save the "
                          "sheet as .xlsx, not .csv or .ods") from None
    try:
        if sheet not in book.sheetnames:
            raise LookupError(f"no sheet called {sheet!r} (it has {', '.join(book.sheetnames)})")
        rows = []
        # -- a sheet's stated size is no promise: a stray cell at XFD1048576 would make every row 16,384 wide --
        for row in book[sheet].iter_rows(max_col=MAX_READ_COLUMNS, values_only=True):
            if len(rows) == MAX_READ_ROWS:
                raise LookupError(f"the sheet {sheet!r} has more than {MAX_READ_ROWS:,} rows, more than any table "
                                  "refi-bridge writes; delete the rows below the table")
            width = len(row)
            while width and row[width - 1] is None:
                width -= 1
            rows.append(row[:width])
    finally:
        book.close()
    for index, row in enumerate(rows):
        if row and row[0] == first_column:
            header = [str(cell) if cell is not None else f"column {i + 1}" for i, cell in enumerate(row)]
            body, numbers = [], []
            for number, r in enumerate(rows[index + 1:], start=index + 2):
                if any(c is not None for c in r):
                    body.append(list(r[:len(header)]) + [None] * (len(header) - len(r)))
                    numbers.append(number)
            frame = pd.DataFrame(body, columns=header)
            frame["_row"] = numbers
            return frame
    raise LookupError(f"the sheet {sheet!r} has no header row starting with {first_column!r}")
