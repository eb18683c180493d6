"""``refi-bridge export``: a project's codings as an Excel or CSV table."""

from __future__ import annotations

import os
from pathlib import Path

from pandas.api.types import is_numeric_dtype

from refi_bridge.formats.exchange import atomic_output, check_outputs, read
from refi_bridge.tables.codings import codings
from refi_bridge.tables.excel import Sheet, csv_cell, write_workbook


def export_codings(source: str | os.PathLike, output: str | os.PathLike) -> int:
    """Write the codings table of ``source`` to ``output`` (``.xlsx`` or ``.csv``); return the row count."""
    target = Path(output)
    suffix = target.suffix.lower()
    check_outputs([(target, (".xlsx", ".csv"))], [source])
    project = read(source)
    frame = codings(project)
    areas = frame[frame["selection_kind"] == "PDFSelection"]
    lost = int(areas["start"].isna().sum())
    notes = [f"{len(areas) - lost} of {len(areas)} PDF area codings were anchored to the PDF's text; the other "
             f"{lost} have no text, and text_origin says why."] if len(areas) else []
    with atomic_output(target) as temporary:
        if suffix == ".csv":
            safe = frame.apply(lambda column: column if is_numeric_dtype(column) else column.map(csv_cell))
            safe.to_csv(temporary, index=False)
        else:
            write_workbook(temporary, [Sheet(
                name="Codings", frame=frame, title=f"Codings of {project.name or Path(source).name}",
                caption=[f"{len(frame)} codings from {Path(source).name}; start and end are code point "
                         "offsets into the source's text (a PDF's Representation text; end exclusive); "
                         "text_origin says where the text came from.", *notes],
                wrap=["text"], widths={"text": 80})])
    return len(frame)
