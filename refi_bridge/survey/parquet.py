"""The survey's tables as Parquet: fixed Arrow schemas, one part per file, and the files table in batches.

Parquet needs pyarrow, which comes with the ``distributed`` extra; every function here imports it on first
use, so that the rest of refi_bridge works without it, and says how to install it when it is missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from refi_bridge.errors import MissingExtraError
from refi_bridge.formats.exchange import atomic_output
from refi_bridge.survey.columns import FILE_COLUMNS, SURVEY_CODING_COLUMNS

INSTALL = "pip install 'refi-bridge[distributed]'"


def pyarrow():
    """The pyarrow module, or :class:`MissingExtraError` naming the ``pip install`` that brings it."""
    try:
        import pyarrow as pa
        import pyarrow.parquet  # noqa: F401 -- the Parquet half is a separate import
    except ImportError:
        raise MissingExtraError("refi-bridge survey writes Parquet tables, which needs pyarrow: install it with "
                                f"`{INSTALL}`.") from None
    return pa


def _arrow_type(kind: str):
    pa = pyarrow()
    if kind == "coders":
        return pa.list_(pa.struct([("coder", pa.string()), ("codings", pa.int64())]))
    return {"string": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(),
            "strings": pa.list_(pa.string())}[kind]


def files_schema():
    """The Arrow schema of files.parquet."""
    pa = pyarrow()
    return pa.schema([(name, _arrow_type(kind)) for name, kind, _ in FILE_COLUMNS])


def codings_schema():
    """The Arrow schema of every part of codings.parquet."""
    pa = pyarrow()
    return pa.schema([(name, _arrow_type(kind)) for name, kind in SURVEY_CODING_COLUMNS])


def codings_table(frame: pd.DataFrame | None):
    """A codings DataFrame (``file`` first, then the columns of ``Project.codings()``) as an Arrow table of
    the fixed schema; None gives an empty table."""
    pa = pyarrow()
    schema = codings_schema()
    if frame is None or frame.empty:
        return schema.empty_table()
    table = pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
    # -- no pandas metadata: parts from files whose columns pandas typed differently must read back alike --
    return table.replace_schema_metadata(None)


def part_bytes(table) -> bytes:
    """An Arrow table as the bytes of a Parquet file: made by the worker, so that the process that writes
    the parts only copies bytes (and a cluster sends compressed Parquet, not Arrow buffers)."""
    import pyarrow.parquet as pq

    sink = pyarrow().BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def write_part(data: bytes, path: Path) -> None:
    """Write one part of a dataset atomically: readers never see half a part (the temporary name starts with
    a dot, which pyarrow, Spark and DuckDB's globs skip)."""
    with atomic_output(path) as temporary:
        temporary.write_bytes(data)


def write_files_table(rows: Iterable[dict], path: Path, batch: int = 500) -> int:
    """Write files.parquet from rows (dicts of :data:`FILE_COLUMNS`) in batches, so that the rows need not
    all be in memory at once; returns the number of rows."""
    import pyarrow.parquet as pq

    pa = pyarrow()
    schema = files_schema()
    count = 0
    with atomic_output(path) as temporary, pq.ParquetWriter(temporary, schema) as writer:
        pending: list[dict] = []
        for row in rows:
            pending.append(row)
            if len(pending) >= batch:
                writer.write_table(pa.Table.from_pylist(pending, schema=schema))
                count += len(pending)
                pending = []
        if pending or not count:
            writer.write_table(pa.Table.from_pylist(pending, schema=schema))
            count += len(pending)
    return count
