"""``refi-bridge demo``: write the bundled dyad study and run the whole pipeline on it.

Each step reports through a ``progress`` callback, so the command can show it as it goes. As features
land, the pipeline grows: inspect and validate every file, split the master for the coders, merge what they
returned, measure their agreement, build the theme-by-case matrix.
"""

from __future__ import annotations

import csv
import io
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from refi_bridge.demo.study import Study, generate
from refi_bridge.errors import RefiBridgeWarning
from refi_bridge.formats.exchange import atomic_output, read, write
from refi_bridge.formats.summary import summarize
from refi_bridge.formats.validation import validate
from refi_bridge.progress import Progress
from refi_bridge.tables.reports import agreement, matrix
from refi_bridge.team.jobs import merge_files, split

PASSAGE_COLUMNS = ("coder", "source", "start", "end", "theme", "code")


@dataclass
class DemoResult:
    """Where the demo wrote its files, and what it found."""

    folder: Path
    files: dict[str, Path] = field(default_factory=dict)
    summaries: dict[str, dict] = field(default_factory=dict)
    agreement: object = None
    matrix: object = None


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


STEPS = 6


def run_demo(folder: str | os.PathLike = "refi-bridge-demo", *, seed: int = 2022,
             progress: Progress = lambda _: None) -> DemoResult:
    """Generate the study into ``folder`` and run every step of the pipeline on it."""
    result = DemoResult(Path(folder))
    indent = lambda message: progress("    " + message)  # noqa: E731
    progress(f"1/{STEPS} generating the dyad study (12 dyads, 47 interviews, 3 coders) in {folder}")
    study = generate(seed=seed)
    result.files = write_study(study, folder, indent)
    progress(f"2/{STEPS} inspecting and validating every file")
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
    folder = Path(folder)
    progress(f"3/{STEPS} handing the master to the coders (split) in {folder / 'handout'}")
    coders = [f.coder for f in study.coder_files]
    handout = split(result.files["master"], coders, folder / "handout", progress=indent)
    result.files["manifest"] = handout.manifest
    progress(f"4/{STEPS} merging the three returned files onto the master")
    outcome = merge_files([result.files[c] for c in coders], folder / "merged.qdpx", manifest=handout.manifest,
                          report=folder / "merge-report.xlsx", progress=indent)
    result.files["merged"] = outcome.output
    result.files["merge-report"] = outcome.report
    for row in outcome.result.report.files:
        progress(f"    {row.file}: {row.codings_added} codings of {row.coder or 'unknown coder'}, sources matched "
                 f"by text hash {row.sources_by_hash}, by GUID {row.sources_by_guid}, by name {row.sources_by_name}; "
                 f"{row.codings_reanchored} re-anchored ({row.codings_inexact} not exactly)")
    progress(f"5/{STEPS} inter-coder agreement of the merged project")
    report = agreement(outcome.output, folder / "agreement.xlsx", progress=indent)
    result.files["agreement"] = folder / "agreement.xlsx"
    result.agreement = report
    overall = report.overall.set_index("measure")["value"]
    progress(f"    |u-alpha over all codes {overall['|u-alpha, all codes pooled']:.3f}; median per code "
             f"{overall['median |u-alpha per code']:.3f}; {len(report.disagreements)} disagreements to discuss")
    progress(f"6/{STEPS} the representativeness table: themes x dyads, grouped by outcome")
    built = matrix(outcome.output, folder / "matrix.xlsx", group_by="variable:Outcome", min_coders=2,
                   title="Representativeness table (demo study)", progress=indent)
    result.files["matrix"] = folder / "matrix.xlsx"
    result.matrix = built
    return result
