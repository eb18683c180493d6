"""The columns of the survey's two tables, with their types and meaning: one place that the worker, the
Parquet writer and the documentation all read.

Types are named plainly (``string``, ``int``, ``float``, ``bool``, ``strings``: a list of strings,
``coders``: a list of ``{coder, codings}``); :mod:`refi_bridge.survey.parquet` maps them to Arrow types, so
that every part of a table has the same schema whatever its file held (a column empty in one file is still
a string column there).
"""

from __future__ import annotations

from refi_bridge.tables.codings import CODING_COLUMNS

# -- files.parquet: one row per file; counts are empty (null) for a file that could not be read --
FILE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("file", "string", "the path as given, or as found below a folder that was given"),
    ("size", "int", "size in bytes"),
    ("sha256", "string", "SHA-256 of the file's bytes (hex); a resumed survey skips files whose hash is unchanged"),
    ("readable", "bool", "`refi_bridge.read` read it (false: see `error`)"),
    ("kind", "string", "`qdpx`, `qde` or `qdc`, told from the content"),
    ("name", "string", "the project's name"),
    ("origin", "string", "the `origin` attribute, as the tool wrote it"),
    ("tool", "string", "the tool named by `origin`, one spelling per tool (NVivo, ATLAS.ti, MAXQDA, QualCoder, "
                       "Taguette, refi_bridge...)"),
    ("tool_version", "string", "its version, e.g. `12.7.0`"),
    ("position_unit", "string", "how the file counts text positions: `codepoint`, `utf16` or `codepoint-lf`"),
    ("position_evidence", "string", "why that unit: the origin, and the word-boundary check of selection edges"),
    ("sources", "int", "sources of every kind"),
    ("text_sources", "int", "text sources"),
    ("pdf_sources", "int", "PDF sources"),
    ("picture_sources", "int", "picture sources"),
    ("audio_sources", "int", "audio sources"),
    ("video_sources", "int", "video sources"),
    ("codes", "int", "codes, subcodes included"),
    ("codings", "int", "codings: the rows this file has in codings.parquet"),
    ("text_codings", "int", "codings of text passages (PlainTextSelection)"),
    ("whole_source_codings", "int", "codings of whole sources"),
    ("cases", "int", "cases"),
    ("variables", "int", "variables"),
    ("notes", "int", "notes (memos)"),
    ("users", "int", "users"),
    ("sets", "int", "sets"),
    ("coders", "coders", "every coder with the number of their codings: a list of `{coder, codings}`"),
    ("coder_count", "int", "number of coders"),
    ("read_warnings", "int", "warnings the reader gave: quirks it could not fix, guesses it had to make"),
    ("verdict", "string", "validation: `valid`, `valid with warnings`, `not valid`, or `refused` (not a "
                          "REFI-QDA file, or unsafe to open)"),
    ("validation_errors", "int", "errors `refi-bridge validate` finds"),
    ("validation_warnings", "int", "warnings `refi-bridge validate` finds"),
    ("findings", "strings", "the first five findings of validation, errors first"),
    ("error", "string", "why the file could not be read, in one line (empty when it was read)"),
    ("error_type", "string", "the kind of that error, e.g. `UnsafeFileError`"),
    ("seconds", "float", "time taken to survey the file: hash, read, validate, tables"),
)

# -- codings.parquet: the columns of Project.codings(), after the file they come from --
CODING_TYPES = {"start": "int", "end": "int"}
SURVEY_CODING_COLUMNS: tuple[tuple[str, str], ...] = (("file", "string"),) + tuple(
    (name, CODING_TYPES.get(name, "string")) for name in CODING_COLUMNS)

FINDINGS_KEPT = 5

VALID, WARNINGS, NOT_VALID, REFUSED = "valid", "valid with warnings", "not valid", "refused"
VERDICTS = (VALID, WARNINGS, NOT_VALID, REFUSED)
