"""``refi-bridge demo``: write the bundled dyad study and run the whole pipeline on it.

Each step reports through a ``progress`` callback, so the command can show it as it goes. As features
land, the pipeline grows: today it inspects and validates every file of the study.
"""

from __future__ import annotations

import csv
import io
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from refi_bridge.errors import RefiBridgeWarning
from refi_bridge.exchange import atomic_output, read, write
from refi_bridge.study import Study, generate
from refi_bridge.summary import summarize
from refi_bridge.validation import validate

Progress = Callable[[str], None]

PASSAGE_COLUMNS = ("coder", "source", "start", "end", "theme", "code")


@dataclass
class DemoResult:
    """Where the demo wrote its files, and what it found."""

    folder: Path
    files: dict[str, Path] = field(default_factory=dict)
    summaries: dict[str, dict] = field(default_factory=dict)


def write_study(study: Study, folder: str | os.PathLike, progress: Progress = lambda _: None) -> dict[str, Path]:
    """Write the study's files into ``folder``: master, truth, one file per coder, and passages.csv.

    passages.csv lists every coding the generator made (the truth and each coder's), in master coordinates,
    so that tests and users can check what merging and agreement find.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        files["master"] = _write(study.master, folder / "master.qdpx", "refi", None, progress)
        files["truth"] = _write(study.truth, folder / "truth.qdpx", "refi", None, progress)
        for coder_file in study.coder_files:
            files[coder_file.coder] = _write(coder_file.project, folder / coder_file.file_name, coder_file.dialect,
                                             coder_file.style, progress)
    table = io.StringIO()
    out = csv.writer(table, lineterminator="\n")
    out.writerow(PASSAGE_COLUMNS)
    for p in study.passages:
        out.writerow((p.coder, p.source, p.start, p.end, p.code_path[0], p.code_path[1]))
    target = folder / "passages.csv"
    with atomic_output(target) as temporary:
        temporary.write_text(table.getvalue(), encoding="utf-8")
    files["passages"] = target
    progress(f"wrote {target.name} ({len(study.passages)} coded passages: the truth and each coder's)")
    return files


def _write(project, path: Path, dialect: str, style, progress: Progress) -> Path:
    write(project, path, dialect=dialect, style=style)
    progress(f"wrote {path.name}")
    return path


def run_demo(folder: str | os.PathLike = "refi-bridge-demo", *, seed: int = 2022,
             progress: Progress = lambda _: None) -> DemoResult:
    """Generate the study into ``folder`` and run every step of the pipeline on it."""
    result = DemoResult(Path(folder))
    progress(f"1/2 generating the dyad study (12 dyads, 47 interviews, 3 coders) in {folder}")
    study = generate(seed=seed)
    result.files = write_study(study, folder, lambda message: progress("    " + message))
    progress("2/2 inspecting and validating every file")
    for key, path in result.files.items():
        if path.suffix != ".qdpx":
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RefiBridgeWarning)
            summary = summarize(read(path))
        result.summaries[key] = summary
        report = validate(str(path))
        verdict = "valid" if report.ok else f"NOT valid ({len(report.errors)} errors)"
        coders = ", ".join(f"{name} {n}" for name, n in summary["coders"].items()) or "no codings"
        progress(f"    {path.name}: {summary['origin']}, positions in {summary['position_unit_label']}; "
                 f"{summary['sources']} sources, {summary['cases']} cases, {summary['codings']} codings "
                 f"({coders}); {verdict}")
    return result
