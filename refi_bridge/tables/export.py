"""``refi-bridge export``: a project's codings as an Excel or CSV table.

Columns come in the order people read a coding (source, case, code path, coder, text, positions; GUIDs
last). A CSV is UTF-8 with a byte-order mark, the one form of UTF-8 that Excel on Windows opens as UTF-8:
without it Hungarian, Spanish or emoji text shows as mojibake.
"""

from __future__ import annotations

import os
from pathlib import Path

from pandas.api.types import is_numeric_dtype

from refi_bridge.formats.exchange import atomic_output, check_outputs, read
from refi_bridge.progress import Progress, Reporter, quiet
from refi_bridge.tables.codings import codings
from refi_bridge.tables.excel import Sheet, csv_cell, write_workbook

CSV_ENCODING = "utf-8-sig"


def export_codings(source: str | os.PathLike, output: str | os.PathLike, *,
                   progress: Progress | Reporter | None = None) -> int:
    """Write the codings table of ``source`` to ``output`` (``.xlsx`` or ``.csv``); return the row count."""
    say = quiet(progress)
    target = Path(output)
    suffix = target.suffix.lower()
    check_outputs([(target, (".xlsx", ".csv"))], [source])
    project = read(source, progress=say)
    say("listing the codings")
    frame = codings(project)
    areas = frame[frame["selection_kind"] == "PDFSelection"]
    lost = int(areas["start"].isna().sum())
    notes = [f"{len(areas) - lost} of {len(areas)} PDF area codings were anchored to the PDF's text; the other "
             f"{lost} have no text, and text_origin says why."] if len(areas) else []
    say(f"writing {target.name}")
    with atomic_output(target) as temporary:
        if suffix == ".csv":
            safe = frame.apply(lambda column: column if is_numeric_dtype(column) else column.map(csv_cell))
            safe.to_csv(temporary, index=False, encoding=CSV_ENCODING)
        else:
            guids = [c for c in frame.columns if c.endswith("_guid")]
            write_workbook(temporary, [Sheet(
                name="Codings", frame=frame, title=f"Codings of {project.name or Path(source).name}",
                caption=[f"{len(frame):,} codings from {Path(source).name}, one per row. start and end are code "
                         "point offsets into the source's text (a PDF's Representation text; end exclusive); "
                         "text_origin says where the text came from. The GUID columns at the right are for "
                         "other programs and are not printed.", *notes],
                wrap=["text", "code_path", "locator"], widths={"text": 70, "code_path": 32, "source": 22,
                                                               "case": 14, "coder": 16, "locator": 24},
                number_formats={"start": "0", "end": "0"}, freeze_columns=1,
                print_columns=len(frame.columns) - len(guids))], progress=say)
    return len(frame)
