"""Formatted Excel workbooks from DataFrames; knows nothing of projects or statistics.

A workbook is a list of sheets of two kinds. A :class:`Sheet` is one table with a title and caption lines
above it: a bold, frozen, filterable header that repeats on every printed page, widths that fit, wrapped
rows as tall as their text, number formats, colours and header comments. A :class:`Page` is a summary laid
out from blocks - :class:`Text`, :class:`Table`, :class:`Chart` - that prints on one page.

Every sheet prints landscape and one page wide. LibreOffice (unlike Excel) does not grow a row to fit
wrapped text, so row heights are computed here from the text and the column widths. Strings are cleaned of
the characters XML forbids, and every string is stored as text: a name like ``=HYPERLINK(...)`` or
``#N/A`` is shown, never run.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Callable, Mapping, Sequence
from copy import copy
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins

from refi_bridge.progress import quiet

# -- characters XML 1.0 forbids, which no workbook can hold: controls, lone surrogates, U+FFFE and U+FFFF --
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# -- strings a spreadsheet reads as a formula or an error value rather than as text --
_ERROR_VALUES = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA"})
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_MAX_CELL = 32767
_THIN = Side(style="thin", color="B7B7B7")
BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
HEADER_FILL = "E7E6E6"
FONT = "Calibri"
SECTION_FILL = "F2F2F2"
LINE_HEIGHT = 14.5        # points per line of 11-point text (Excel's Calibri; LibreOffice's stand-ins are smaller)
# -- characters of running text per unit of column width (the width of a "0"), measured on the widest
#    stand-in LibreOffice uses for Calibri (DejaVu Sans); narrower fonts only leave a little room --
_CHARS_PER_WIDTH = 1.18
_MAX_LINES = 30           # a very long cell is cut off at this many lines rather than filling a page


@dataclass
class Sheet:
    """One worksheet: a table plus what a reader needs to understand it.

    ``header_rows`` are extra rows above the column names (for grouped headers): each is a list of
    ``(label, first_column, last_column, fill)`` spans, 0-based column numbers into ``frame``'s columns.
    ``column_fills`` colour whole columns by name; ``cell_fill(row, column, value)`` may return a fill
    for any data cell, ``cell_format`` a number format and ``cell_note`` a comment. ``notes`` explain
    columns in comments on their header cells. ``number_formats`` apply to floats, and to integers when
    the format has no decimals. ``section_rows`` are rows of ``frame`` shown as headings across the table
    (their other cells are ignored). ``print_columns`` prints only the first N columns (the rest, such as
    GUIDs, are for machines); ``one_page`` fits the whole sheet on one printed page.
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
    notes: Mapping[str, str] = field(default_factory=dict)
    cell_format: Callable[[int, str, object], str | None] | None = None
    cell_note: Callable[[int, str, object], str | None] | None = None
    section_rows: Sequence[int] = ()
    print_columns: int | None = None
    one_page: bool = False


@dataclass
class Text:
    """Lines of text across the block's columns, each wrapped and given the height it needs.

    ``style``: ``plain``, ``caption`` (grey italic), ``heading`` (bold, larger) or ``title``.
    """

    lines: Sequence[str]
    style: str = "plain"
    fill: str | None = None
    bold: bool = False
    first: int = 0
    span: int | None = None
    beside: bool = False
    gap: int = 1


@dataclass
class Table:
    """A small table inside a :class:`Page`: the same options as a :class:`Sheet`'s table; its columns
    take the page's column widths from ``first`` on."""

    frame: pd.DataFrame
    labels: Sequence[str] | None = None
    header_rows: Sequence[Sequence[tuple[str, int, int, str | None]]] = ()
    number_formats: Mapping[str, str] = field(default_factory=dict)
    cell_fill: Callable[[int, str, object], str | None] | None = None
    cell_format: Callable[[int, str, object], str | None] | None = None
    cell_note: Callable[[int, str, object], str | None] | None = None
    notes: Mapping[str, str] = field(default_factory=dict)
    wrap: Sequence[str] = ()
    center: Sequence[str] = ()
    bold_columns: Sequence[str] = ()
    section_rows: Sequence[int] = ()
    first: int = 0
    beside: bool = False
    gap: int = 1


@dataclass
class Chart:
    """A column chart of one value per category with its interval as error bars and horizontal reference
    lines (thresholds); bars may be coloured one by one. The chart's numbers are written beside the page
    (outside what prints), since a chart draws from cells."""

    categories: Sequence[str]
    values: Sequence[float | None]
    low: Sequence[float | None]
    high: Sequence[float | None]
    name: str
    lines: Sequence[tuple[str, float, str]] = ()      # label, value, colour
    colours: Sequence[str | None] = ()
    y_title: str | None = None
    y_min: float = 0.0
    y_max: float = 1.0
    title: str | None = None
    rows: int = 16
    first: int = 0
    span: int | None = None
    beside: bool = False
    gap: int = 1


Block = Text | Table | Chart


@dataclass
class Page:
    """A sheet laid out from blocks on a grid of columns (``widths``): each block goes below the ones
    before it (``gap`` empty rows between), or ``beside`` the previous one (starting on the same row, in its
    own columns from ``first``)."""

    name: str
    widths: Sequence[float]
    blocks: Sequence[Block]
    one_page: bool = True


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


def _font(**options) -> Font:
    """A font in the workbook's typeface: a font without a name is drawn in LibreOffice's default serif."""
    return Font(name=FONT, **options)


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


def line_count(text: object, width: float, bold: bool = False) -> int:
    """How many lines ``text`` takes wrapped in a column ``width`` wide (word by word, as a spreadsheet
    wraps), at most a page's worth."""
    if text is None:
        return 1
    per_line = max(1, int(width * _CHARS_PER_WIDTH * (0.88 if bold else 1.0)))
    text = str(text)
    if len(text) <= per_line and "\n" not in text:
        return 1
    lines = 0
    for paragraph in text.split("\n"):
        lines += max(1, len(textwrap.wrap(paragraph, per_line, break_long_words=True,
                                          break_on_hyphens=False)))
        if lines >= _MAX_LINES:
            return _MAX_LINES
    return lines


def _height(lines: int, size: float = 11) -> float:
    return round(lines * LINE_HEIGHT * size / 11 + 3, 1)


def _is_integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _applies(number_format: str, value: object) -> bool:
    """Coefficient and share formats are for fractions: an integer keeps its integer look."""
    if isinstance(value, float):
        return True
    return _is_integer(value) and "." not in number_format and "%" not in number_format


def write_workbook(path: str | Path, sheets: Sequence[Sheet | Page], progress=None) -> None:
    """Write the sheets, in order, to an ``.xlsx`` file (the caller chooses a temporary path).

    ``progress`` (see :mod:`refi_bridge.progress`) counts the rows as they are laid out.
    """
    say = quiet(progress)
    book = Workbook()
    book.remove(book.active)
    rows = sum(len(s.frame) for s in sheets if isinstance(s, Sheet))
    with say.counting(f"laying out {rows:,} rows", rows) as advance:
        for sheet in sheets:
            ws = book.create_sheet(_sheet_name(sheet.name, book))
            if isinstance(sheet, Page):
                _write_page(ws, sheet)
            else:
                _write_sheet(ws, sheet, advance)
    say("saving the workbook")
    book.save(path)


def _sheet_name(name: str, book: Workbook) -> str:
    name = re.sub(r"[\[\]:*?/\\]", "-", name)[:31] or "Sheet"
    base, n = name, 2
    while name in book.sheetnames:
        suffix = f" ({n})"
        name = base[: 31 - len(suffix)] + suffix
        n += 1
    return name


# -------------------------------------------------------------------------------------------------------
# Tables (the body of a Sheet, and a block of a Page)
# -------------------------------------------------------------------------------------------------------

@dataclass
class _Layout:
    """Where a table went: its header rows, its last row, and its column widths."""

    header_top: int
    header_row: int
    last_row: int
    widths: list[float]


def _column_widths(frame: pd.DataFrame, shown: Sequence[str], widths: Mapping[str, float],
                   max_width: float) -> list[float]:
    """A width per column: given, or as wide as the longest value (of the first 300) and the longest word
    of the header (a long header wraps rather than widening the column)."""
    out = []
    for col, name in enumerate(str(c) for c in frame.columns):
        given = widths.get(name)
        if given is not None:
            out.append(float(given))
            continue
        label = str(shown[col])
        sample = [len(_shown_text(v)) for v in frame.iloc[:300, col].tolist() if clean(v) is not None]
        longest_word = max((len(w) for w in label.split()), default=0)
        wanted = max([*sample, min(len(label), max(longest_word, 10)), 4]) + 2
        out.append(float(min(max_width, max(6, wanted))))
    return out


def _shown_text(value: object) -> str:
    value = clean(value)
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _write_table(ws, top: int, left: int, frame: pd.DataFrame, shown: Sequence[str], widths: Sequence[float], *,
                 header_rows=(), number_formats: Mapping[str, str] = {}, cell_fill=None, cell_format=None,  # noqa: B006
                 cell_note=None, notes: Mapping[str, str] = {}, wrap: Sequence[str] = (),  # noqa: B006
                 center: Sequence[str] = (), column_fills: Mapping[str, str] = {},  # noqa: B006
                 bold_columns: Sequence[str] = (), bold_last_row: bool = False, section_rows: Sequence[int] = (),
                 advance: Callable[[int], None] | None = None) -> _Layout:
    """Write ``frame`` with its header at row ``top``, first column ``left`` (1-based); return its layout."""
    columns = [str(c) for c in frame.columns]
    row = top
    for spans in header_rows:
        for label, first, last, colour in spans:
            cell = _text_cell(ws, row, left + first, clean(label))
            cell.font = _font(bold=True)
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            for col in range(left + first, left + last + 1):
                target = ws.cell(row=row, column=col)
                target.border = BORDER
                target.fill = _fill(colour) or _fill(HEADER_FILL)
            if last > first:
                ws.merge_cells(start_row=row, start_column=left + first, end_row=row, end_column=left + last)
        lines = max([line_count(label, sum(widths[first:last + 1]), bold=True) for label, first, last, _ in spans]
                    or [1])
        ws.row_dimensions[row].height = _height(lines)
        row += 1
    header_row = row
    header_lines = 1
    for col, name in enumerate(columns):
        cell = _text_cell(ws, row, left + col, clean(shown[col]))
        cell.font = _font(bold=True)
        cell.border = BORDER
        cell.alignment = Alignment(horizontal="center" if name in center else "left",
                                   vertical="center", wrap_text=True)
        cell.fill = _fill(column_fills.get(name)) or _fill(HEADER_FILL)
        if notes.get(name):
            cell.comment = _comment(notes[name])
        header_lines = max(header_lines, line_count(shown[col], widths[col], bold=True))
    ws.row_dimensions[row].height = _height(header_lines)
    fills = {name: _fill(colour) for name, colour in column_fills.items()}
    wrapped = set(wrap)
    aligns = {name: Alignment(wrap_text=name in wrapped, vertical="top",
                              horizontal="center" if name in center else None) for name in columns}
    bold = set(bold_columns)
    sections = set(section_rows)
    last = len(frame) - 1
    # -- a cell's style is set once per look and copied after: openpyxl hashes every style it is given,
    #    which on a table of 10,000 rows costs more than everything else together --
    looks: dict[tuple, object] = {}
    for r, values in enumerate(frame.itertuples(index=False, name=None)):
        row += 1
        if r in sections:
            _section_row(ws, row, left, len(columns), values[0])
            continue
        lines = 1
        for col, (name, value) in enumerate(zip(columns, values)):
            shown_value = clean(value)
            cell = _text_cell(ws, row, left + col, shown_value)
            chosen = cell_format(r, name, value) if cell_format is not None else None
            chosen = chosen or number_formats.get(name)
            chosen = chosen if chosen and _applies(chosen, cell.value) else None
            colour = cell_fill(r, name, value) if cell_fill is not None else None
            strong = (bold_last_row and r == last) or name in bold
            look = (name, chosen, colour, strong)
            if look in looks:
                cell._style = copy(looks[look])
            else:
                cell.border = BORDER
                cell.alignment = aligns[name]
                if chosen:
                    cell.number_format = chosen
                if colour:
                    cell.fill = _fill(colour)
                elif fills.get(name) is not None:
                    cell.fill = fills[name]
                if strong:
                    cell.font = _font(bold=True)
                looks[look] = copy(cell._style)
            note = cell_note(r, name, value) if cell_note is not None else None
            if note:
                cell.comment = _comment(note)
            if name in wrapped and isinstance(shown_value, str):
                lines = max(lines, line_count(shown_value, widths[col]))
        if lines > 1:
            ws.row_dimensions[row].height = _height(lines)
        if advance is not None and r % 200 == 199:
            advance(200)
    if advance is not None and len(frame) % 200:
        advance(len(frame) % 200)
    for col, width in enumerate(widths):
        ws.column_dimensions[get_column_letter(left + col)].width = width
    return _Layout(top, header_row, row, list(widths))


def _section_row(ws, row: int, left: int, width: int, label: object) -> None:
    cell = _text_cell(ws, row, left, clean(label))
    cell.font = _font(bold=True)
    cell.fill = _fill(SECTION_FILL)
    cell.alignment = Alignment(vertical="center")
    for col in range(left, left + width):
        ws.cell(row=row, column=col).border = BORDER
        ws.cell(row=row, column=col).fill = _fill(SECTION_FILL)
    if width > 1:
        ws.merge_cells(start_row=row, start_column=left, end_row=row, end_column=left + width - 1)


def _comment(text: str) -> Comment:
    comment = Comment(text, "refi-bridge")
    comment.width = 320
    comment.height = max(60, 18 * line_count(text, 40))
    return comment


# -------------------------------------------------------------------------------------------------------
# Sheets
# -------------------------------------------------------------------------------------------------------

def _write_sheet(ws, sheet: Sheet, advance: Callable[[int], None] | None = None) -> None:
    frame = sheet.frame
    columns = [str(c) for c in frame.columns]
    shown = list(sheet.header_labels) if sheet.header_labels is not None else columns
    widths = _column_widths(frame, shown, sheet.widths, sheet.max_width)
    printed = sheet.print_columns or len(columns)
    span = sum(widths[:printed])
    if not columns:  # a sheet with nothing to show says so on one line, not in a column of one word per line
        span = 100
        ws.column_dimensions["A"].width = span
    row = 1
    if sheet.title:
        _line(ws, row, 1, max(1, printed), sheet.title, span, _font(bold=True, size=14), size=14)
        row += 1
    for line in sheet.caption:
        _line(ws, row, 1, max(1, printed), line, span, _font(italic=True, color="404040"))
        row += 1
    if sheet.title or sheet.caption:
        row += 1
    layout = _write_table(ws, row, 1, frame, shown, widths, header_rows=sheet.header_rows,
                          number_formats=sheet.number_formats, cell_fill=sheet.cell_fill,
                          cell_format=sheet.cell_format, cell_note=sheet.cell_note, notes=sheet.notes,
                          wrap=sheet.wrap, center=sheet.center, column_fills=sheet.column_fills,
                          bold_last_row=sheet.bold_last_row, section_rows=sheet.section_rows, advance=advance)
    row = layout.last_row
    for line in sheet.footer:
        row += 1
        _line(ws, row, 1, max(1, printed), line, span, _font(italic=True, color="404040"))
    if sheet.legend:
        row += 2
        ws.cell(row=row, column=1, value="Legend").font = _font(bold=True)
        for label, colour in sheet.legend:
            row += 1
            cell = _text_cell(ws, row, 1, clean(label))
            cell.border = BORDER
            if colour:
                cell.fill = _fill(colour)
            lines = line_count(label, widths[0])
            if lines > 1:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
                ws.row_dimensions[row].height = _height(lines)
    ws.freeze_panes = f"{get_column_letter(sheet.freeze_columns + 1)}{layout.header_row + 1}"
    if sheet.autofilter and len(frame) and columns:
        ws.auto_filter.ref = f"A{layout.header_row}:{get_column_letter(len(columns))}{layout.last_row}"
    _print_setup(ws, title_rows=(layout.header_top, layout.header_row), one_page=sheet.one_page,
                 area=(printed, row) if sheet.print_columns else None)


def _line(ws, row: int, first: int, count: int, text: str, width: float, font: Font, size: float = 11,
          fill: str | None = None) -> None:
    """One line of text across ``count`` columns from ``first``, wrapped, with the height it needs."""
    cell = _text_cell(ws, row, first, clean(text))
    cell.font = font
    cell.alignment = Alignment(wrap_text=True, vertical="top")
    if fill:
        for col in range(first, first + count):
            ws.cell(row=row, column=col).fill = _fill(fill)
    if count > 1:
        ws.merge_cells(start_row=row, start_column=first, end_row=row, end_column=first + count - 1)
    lines = line_count(text, width * 11 / size, bold=bool(font.b))
    ws.row_dimensions[row].height = max(ws.row_dimensions[row].height or 0, _height(lines, size))


def _print_setup(ws, *, title_rows: tuple[int, int] | None, one_page: bool,
                 area: tuple[int, int] | None) -> None:
    """Landscape, one page wide (and one page tall for a summary), header rows on every page, page
    numbers in the footer."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1 if one_page else 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.6, header=0.25, footer=0.3)
    ws.oddFooter.center.text = "&A, page &P"
    ws.oddFooter.center.size = 8
    if title_rows is not None:
        ws.print_title_rows = f"{title_rows[0]}:{title_rows[1]}"
    if area is not None:
        ws.print_area = f"A1:{get_column_letter(area[0])}{area[1]}"


# -------------------------------------------------------------------------------------------------------
# Pages
# -------------------------------------------------------------------------------------------------------

_STYLES = {"plain": (_font(), 11), "caption": (_font(italic=True, color="404040"), 11),
           "heading": (_font(bold=True, size=12), 12), "title": (_font(bold=True, size=14), 14)}


def _write_page(ws, page: Page) -> None:
    widths = list(page.widths)
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    band_top, bottom = 1, 0
    data_column = len(widths) + 3           # chart numbers go right of the page, outside the print area
    longest: tuple[int, tuple[int, int] | None] = (0, None)   # the longest table's header repeats on each page
    for number, block in enumerate(page.blocks):
        if block.beside and number:
            top = band_top
        else:
            top = bottom + 1 + (block.gap if number else 0)
            band_top = top
        if isinstance(block, Text):
            last = _text_block(ws, top, block, widths)
        elif isinstance(block, Table):
            layout = _table_block(ws, top, block, widths)
            last = layout.last_row
            if len(block.frame) > longest[0]:
                longest = (len(block.frame), (layout.header_top, layout.header_row))
        else:
            last, data_column = _chart_block(ws, top, block, widths, data_column)
        bottom = max(bottom, last)
    _print_setup(ws, title_rows=None if page.one_page else longest[1], one_page=page.one_page,
                 area=(len(widths), bottom))
    ws.sheet_view.showGridLines = False


def _text_block(ws, top: int, block: Text, widths: Sequence[float]) -> int:
    span = block.span or len(widths) - block.first
    width = sum(widths[block.first:block.first + span])
    font, size = _STYLES[block.style]
    if block.bold:
        font = _font(bold=True, size=size, italic=font.i, color=font.color)
    row = top
    for line in block.lines:
        _line(ws, row, block.first + 1, span, line, width, font, size=size, fill=block.fill)
        row += 1
    return row - 1


def _table_block(ws, top: int, block: Table, widths: Sequence[float]) -> _Layout:
    frame = block.frame
    shown = list(block.labels) if block.labels is not None else [str(c) for c in frame.columns]
    own = widths[block.first:block.first + len(frame.columns)]
    layout = _write_table(ws, top, block.first + 1, frame, shown, own, header_rows=block.header_rows,
                          number_formats=block.number_formats, cell_fill=block.cell_fill,
                          cell_format=block.cell_format, cell_note=block.cell_note, notes=block.notes,
                          wrap=block.wrap, center=block.center, bold_columns=block.bold_columns,
                          section_rows=block.section_rows)
    return layout


def _chart_block(ws, top: int, block: Chart, widths: Sequence[float], data_column: int) -> tuple[int, int]:
    from openpyxl.chart import BarChart, LineChart, Reference
    from openpyxl.chart.data_source import NumDataSource, NumRef
    from openpyxl.chart.error_bar import ErrorBars
    from openpyxl.chart.legend import LegendEntry
    from openpyxl.chart.marker import DataPoint
    from openpyxl.chart.shapes import GraphicalProperties
    from openpyxl.chart.text import RichText
    from openpyxl.drawing.line import LineProperties
    from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties

    n = len(block.categories)
    first = data_column
    header = ["category", block.name, "above", "below", *(label for label, _, _ in block.lines)]
    for offset, label in enumerate(header):
        _text_cell(ws, top, first + offset, clean(label)).font = _font(color="808080", size=8)
    for i, (category, value, low, high) in enumerate(zip(block.categories, block.values, block.low, block.high)):
        r = top + 1 + i
        _text_cell(ws, r, first, clean(category))
        ws.cell(row=r, column=first + 1, value=value)
        defined = value is not None and low is not None and high is not None
        ws.cell(row=r, column=first + 2, value=(high - value) if defined else None)
        ws.cell(row=r, column=first + 3, value=(value - low) if defined else None)
        for offset, (_, level, _) in enumerate(block.lines):
            ws.cell(row=r, column=first + 4 + offset, value=level)
        for offset in range(len(header)):
            ws.cell(row=r, column=first + offset).font = _font(color="808080", size=8)
    last_data = top + n
    title = ws.title.replace("'", "''")

    def column(offset: int) -> str:
        letter = get_column_letter(first + offset)
        return f"'{title}'!${letter}${top + 1}:${letter}${last_data}"

    bars = BarChart()
    bars.type = "col"
    bars.add_data(Reference(ws, min_col=first + 1, min_row=top, max_row=last_data), titles_from_data=True)
    bars.set_categories(Reference(ws, min_col=first, min_row=top + 1, max_row=last_data))
    series = bars.series[0]
    series.graphicalProperties.solidFill = "5B9BD5"
    series.graphicalProperties.line.noFill = True
    for i, colour in enumerate(block.colours):
        if colour:
            point = DataPoint(idx=i)
            point.graphicalProperties = GraphicalProperties(solidFill=colour)
            point.graphicalProperties.line.noFill = True
            series.dPt.append(point)
    series.errBars = ErrorBars(errDir="y", errBarType="both", errValType="cust", noEndCap=False,
                               plus=NumDataSource(numRef=NumRef(f=column(2))),
                               minus=NumDataSource(numRef=NumRef(f=column(3))),
                               spPr=GraphicalProperties(ln=LineProperties(solidFill="404040", w=12700)))
    bars.gapWidth = 60
    if block.lines:
        lines = LineChart()
        lines.add_data(Reference(ws, min_col=first + 4, max_col=first + 3 + len(block.lines), min_row=top,
                                 max_row=last_data), titles_from_data=True)
        for line, (_, _, colour) in zip(lines.series, block.lines):
            line.graphicalProperties.line.solidFill = colour
            line.graphicalProperties.line.dashStyle = "dash"
            line.graphicalProperties.line.width = 19050
            line.marker.symbol = "none"
            line.smooth = False
        bars += lines
    bars.y_axis.scaling.min = block.y_min
    bars.y_axis.scaling.max = block.y_max
    bars.y_axis.majorUnit = 0.2
    bars.y_axis.number_format = "0.0"
    bars.y_axis.delete = False
    bars.x_axis.delete = False
    if block.y_title:
        bars.y_axis.title = block.y_title
    if block.title:
        bars.title = block.title
    bars.legend.position = "b"
    # -- the bars are coloured one by one, so a legend swatch for them would mislead; keep the lines' --
    bars.legend.legendEntry = [LegendEntry(idx=0, delete=True)]
    small = RichText(p=[Paragraph(pPr=ParagraphProperties(defRPr=CharacterProperties(sz=800)),
                                  endParaRPr=CharacterProperties(sz=800))])
    bars.x_axis.txPr = small
    span = block.span or len(widths) - block.first
    bars.width = _centimetres(widths[block.first:block.first + span])
    bars.height = block.rows * LINE_HEIGHT * 2.54 / 72
    ws.add_chart(bars, f"{get_column_letter(block.first + 1)}{top}")
    for r in range(top, top + block.rows):
        if ws.row_dimensions[r].height is None:
            ws.row_dimensions[r].height = LINE_HEIGHT
    return top + block.rows - 1, first + len(header) + 1


def _centimetres(widths: Sequence[float]) -> float:
    """The width of columns on screen and paper: a unit of width is 7 pixels plus 5 of padding, 96 per inch."""
    return sum(w * 7 + 5 for w in widths) / 96 * 2.54


# -------------------------------------------------------------------------------------------------------
# Reading back
# -------------------------------------------------------------------------------------------------------

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


