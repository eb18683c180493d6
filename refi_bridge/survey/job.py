"""``refi_bridge.survey``: survey many REFI-QDA files into Parquet tables and a summary workbook."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from refi_bridge.errors import SurveyError
from refi_bridge.progress import Progress, Reporter, quiet
from refi_bridge.survey.finding import find_files
from refi_bridge.survey.parquet import pyarrow
from refi_bridge.survey.running import Runner, dask_runner, local_runner, outcomes
from refi_bridge.survey.surveying import Task
from refi_bridge.survey.workbook import Tally, named, summary_sheets
from refi_bridge.survey.writing import CODINGS, FILES, SUMMARY, SurveyFolder

# -- at most one progress line per this many seconds (and one at the end) --
PROGRESS_EVERY = 2.0


@dataclass(frozen=True)
class SurveyResult:
    """What a survey did and where its tables are."""

    folder: Path
    files: int          # files found and listed in files.parquet
    surveyed: int       # read (or tried) in this run
    unchanged: int      # skipped: surveyed before into the same folder, same SHA-256
    unreadable: int     # files.parquet rows with an error
    codings: int        # rows of codings.parquet
    runner: str         # where the work ran

    @property
    def files_table(self) -> Path:
        return self.folder / FILES

    @property
    def codings_table(self) -> Path:
        return self.folder / CODINGS

    @property
    def summary(self) -> Path:
        return self.folder / SUMMARY


def survey(paths: Iterable[str | os.PathLike] | str | os.PathLike, outdir: str | os.PathLike, *,
           workers: int | None = None, scheduler=None, resume: bool = True,
           progress: Progress | Callable[[str], None] | None = None) -> SurveyResult:
    """Survey every ``.qdpx``, ``.qde`` and ``.qdc`` file at or below ``paths`` into ``outdir``.

    Writes ``files.parquet`` (one row per file: what it is, its counts and coders, the validation verdict,
    or the one-line error of a file that could not be read), ``codings.parquet/`` (every coding of every
    readable file, the columns of ``Project.codings()`` after a ``file`` column; one part per file) and
    ``summary.xlsx``. Work runs on ``workers`` local processes (default: one per core), or on the Dask
    cluster at ``scheduler`` (an address such as ``tcp://10.0.0.5:8786``, or a ``dask.distributed.Client``).
    Files surveyed into ``outdir`` before and unchanged since (same SHA-256) are not read again unless
    ``resume`` is False. ``progress`` gets a line now and then: files done, failed, left.

    Raises:
        SurveyError: a path does not exist, no file was found, ``outdir`` is in the way, or the cluster
            cannot be reached or cannot run refi_bridge.
        MissingExtraError: pyarrow (or, for ``scheduler``, dask.distributed) is not installed.
    """
    say = quiet(progress)
    pyarrow()
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not paths:
        raise SurveyError("no paths given; name .qdpx, .qde or .qdc files, or folders holding them.")
    if workers is not None and scheduler is not None:
        raise SurveyError("give workers or a scheduler, not both: a Dask cluster has its own workers.")
    found = find_files(paths, skip=[outdir])
    if not found:
        raise SurveyError(f"no .qdpx, .qde or .qdc file in {named([str(p) for p in paths])}.")
    runner = dask_runner(scheduler) if scheduler is not None else local_runner(workers)
    try:
        folder = SurveyFolder(outdir, resume=resume)
        tasks = [Task(item.file, item.location, folder.previous_sha256(item.file)) for item in found]
        del found  # -- the tasks say the same, in the same order: one record per file is enough --
        known = sum(task.previous_sha256 is not None for task in tasks)
        say(f"surveying {len(tasks)} files on {runner.description}"
            + (f"; {known} were surveyed into {outdir} before and are skipped if unchanged" if known else ""))
        done, failed, unchanged = _run(tasks, runner, folder, say)
    finally:
        runner.close()
    tally = Tally()
    rows = folder.finish(tasks, tally.watch(folder.rows(tasks)))
    when = time.strftime("%Y-%m-%d %H:%M")
    folder.write_summary(summary_sheets(tally, [str(p) for p in paths], when))
    say(f"wrote {FILES} ({rows} files), {CODINGS} ({tally.codings} codings) and {SUMMARY} to {outdir}")
    return SurveyResult(Path(outdir), rows, done + failed, unchanged, tally.unreadable, tally.codings,
                        runner.description)


def _run(tasks: list[Task], runner: Runner, folder: SurveyFolder, say: Reporter) -> tuple[int, int, int]:
    """Survey the tasks, keeping each file as it finishes; returns files done, failed and unchanged."""
    started = last = time.monotonic()
    done = failed = unchanged = 0
    try:
        for outcome in outcomes(tasks, runner):
            folder.record(outcome)
            if outcome.unchanged:
                unchanged += 1
            elif outcome.row["error"]:
                failed += 1
            else:
                done += 1
            now = time.monotonic()
            finished = done + failed + unchanged
            if now - last >= PROGRESS_EVERY or finished == len(tasks):
                last = now
                rate = (done + failed) / (now - started) if now > started else 0.0
                say(f"{done + unchanged} done" + (f" ({unchanged} unchanged)" if unchanged else "")
                    + f", {failed} failed, {len(tasks) - finished} left ({rate:.1f} files/s)")
    finally:
        folder.close()
    return done, failed, unchanged
