"""The survey's output folder: codings written as files finish, a journal to resume from, the final tables.

``OUTDIR/codings.parquet/`` is a Parquet dataset with one part per surveyed file, written as soon as the
file is done, so memory never holds more than the files in flight; ``OUTDIR/journal.jsonl`` gets the file's
row of files.parquet right after its part is safely in place. A survey that stops half way (a crash, a
power cut, Ctrl-C) leaves a consistent folder: the next run into it skips every file the journal lists with
an unchanged SHA-256 and a part on disk, and surveys the rest. At the end, files.parquet and summary.xlsx
are written from the journal, in the order the files were found, and parts of files that are no longer
among the paths are removed: the folder then describes exactly the files surveyed, as a fresh run would.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from refi_bridge import __version__
from refi_bridge.errors import SurveyError
from refi_bridge.formats.exchange import atomic_output, check_outputs
from refi_bridge.survey.parquet import write_files_table, write_part
from refi_bridge.survey.surveying import Outcome, Task

FILES = "files.parquet"
CODINGS = "codings.parquet"
JOURNAL = "journal.jsonl"
SUMMARY = "summary.xlsx"
JOURNAL_FORMAT = 1
# -- a journal line's mark for a file to try again next time (its worker died), never a column --
RETRY = "_retry"
_PART = re.compile(r"[0-9a-f]{24}\.parquet")


def part_name(file: str) -> str:
    """The name of a file's part in codings.parquet/: stable for a path, so a changed file replaces its own."""
    return hashlib.sha256(file.encode("utf-8", "surrogateescape")).hexdigest()[:24] + ".parquet"


class SurveyFolder:
    """OUTDIR while a survey runs: what was done before, and where each finished file goes."""

    def __init__(self, folder: str | os.PathLike, *, resume: bool = True) -> None:
        self.folder = Path(folder)
        self.parts = self.folder / CODINGS
        self.journal = self.folder / JOURNAL
        for path, what in ((self.folder, "output folder"), (self.parts, "codings dataset")):
            if path.exists() and not path.is_dir():
                raise SurveyError(f"{path}: is a file, but the survey's {what} must be a folder; choose another "
                                  "output folder.")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.parts.mkdir(exist_ok=True)
        check_outputs([(self.folder / FILES, None), (self.folder / SUMMARY, None), (self.journal, None)], ())
        # -- file -> (sha256, offset of its line in the journal) --
        self.index: dict[str, tuple[str | None, int]] = self._read_journal() if resume else {}
        if not resume:
            for part in self.parts.iterdir():
                if _PART.fullmatch(part.name):
                    part.unlink()
        self._stream = None

    def _read_journal(self) -> dict[str, tuple[str | None, int]]:
        index: dict[str, tuple[str | None, int]] = {}
        if not self.journal.is_file():
            return index
        with open(self.journal, "rb") as stream:
            header = _parse(stream.readline())
            if not header or header.get("journal") != JOURNAL_FORMAT or header.get("refi_bridge") != __version__:
                return index  # another version may have read files differently: survey them again
            while True:
                offset = stream.tell()
                line = stream.readline()
                if not line:
                    break
                row = _parse(line)  # a line cut short by a crash is no record
                if row is not None and isinstance(row.get("file"), str):
                    index[row["file"]] = (None if row.get(RETRY) else row.get("sha256"), offset)
        return index

    def previous_sha256(self, file: str) -> str | None:
        """The SHA-256 the file had when it was last surveyed into this folder, if its codings are here."""
        known = self.index.get(file)
        if known is None or not (self.parts / part_name(file)).is_file():
            return None
        return known[0]

    def record(self, outcome: Outcome) -> None:
        """Keep a finished file: its codings as a part, then its row in the journal."""
        if outcome.unchanged:
            return
        write_part(outcome.codings, self.parts / part_name(outcome.file))
        stream = self._open()
        offset = stream.tell()
        line = outcome.row if outcome.sha256 is not None else {**outcome.row, RETRY: True}
        stream.write(json.dumps(line, ensure_ascii=False).encode("utf-8") + b"\n")
        stream.flush()
        self.index[outcome.file] = (outcome.sha256, offset)

    def _open(self):
        if self._stream is None:
            fresh = not self.index or not self.journal.is_file()
            self._stream = open(self.journal, "wb" if fresh else "r+b")  # noqa: SIM115 -- open for the survey
            if fresh:
                self.index.clear()
                self._stream.write(_header())
            else:
                # -- after a crash the last line may be cut short: start ours on a line of its own --
                end = self._stream.seek(0, os.SEEK_END)
                self._stream.seek(end - 1)
                if self._stream.read(1) != b"\n":
                    self._stream.write(b"\n")
        return self._stream

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def rows(self, found: Sequence[Task]) -> Iterator[dict]:
        """The rows of the files found, in that order, from the journal (one line in memory at a time)."""
        self.close()
        with open(self.journal, "rb") as stream:
            for item in found:
                known = self.index.get(item.file)
                if known is None:
                    continue
                stream.seek(known[1])
                row = _parse(stream.readline())
                if row is not None:
                    yield row

    def finish(self, found: Sequence[Task], rows: Iterator[dict]) -> int:
        """Write files.parquet from ``rows`` (see :meth:`rows`) and a journal holding just them; remove the
        parts of files that were not found this time. Returns the number of rows."""
        self.close()
        new_journal = self.journal.with_name(JOURNAL + ".new")
        with open(new_journal, "wb") as out:
            out.write(_header())

            def copied() -> Iterator[dict]:
                for row in rows:
                    out.write(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n")
                    yield row

            count = write_files_table(copied(), self.folder / FILES)
        os.replace(new_journal, self.journal)
        keep = {part_name(item.file) for item in found}
        for part in self.parts.iterdir():
            stale = _PART.fullmatch(part.name) and part.name not in keep
            if stale or (part.name.startswith(".") and part.name.endswith(".partial")):
                part.unlink(missing_ok=True)
        return count

    def write_summary(self, sheets) -> Path:
        """Write the summary workbook (sheets from :mod:`refi_bridge.survey.workbook`)."""
        from refi_bridge.tables.excel import write_workbook

        target = self.folder / SUMMARY
        with atomic_output(target) as temporary:
            write_workbook(temporary, sheets)
        return target


def _header() -> bytes:
    return json.dumps({"journal": JOURNAL_FORMAT, "refi_bridge": __version__}).encode() + b"\n"


def _parse(line: bytes) -> dict | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
