"""``refi-bridge demo``: write the bundled dyad study and run the whole pipeline on it.

Each step reports through ``progress`` (see :mod:`refi_bridge.progress`), so the command can show it as it
goes: inspect and validate every file, split the master for the coders, merge what they returned, measure
their agreement, build the theme-by-case matrix. The pipeline runs in a hidden folder beside the target
and its files are moved into the target together at the end, so an interrupted demo leaves nothing behind.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from refi_bridge.demo.study import Study, generate
from refi_bridge.errors import ProjectFileError, RefiBridgeWarning
from refi_bridge.formats.exchange import all_or_nothing, atomic_output, put_in_place, read, write
from refi_bridge.formats.summary import summarize
from refi_bridge.formats.validation import validate
from refi_bridge.progress import Progress, Reporter, quiet
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


def write_study(study: Study, folder: str | os.PathLike, progress: Progress | Reporter | None = None) -> dict[str, Path]:
    """Write the study's files into ``folder``: master, truth, one file per coder, and passages.csv (all of
    them, or when interrupted none).

    passages.csv lists every coding the generator made (the truth and each coder's), in master coordinates,
    so that tests and users can check what merging and agreement find.
    """
    say = quiet(progress)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    with all_or_nothing(), warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        files["master"] = folder / "master.qdpx"
        write(study.master, files["master"], progress=say)
        files["truth"] = folder / "truth.qdpx"
        write(study.truth, files["truth"], progress=say)
        for coder_file in study.coder_files:
            files[coder_file.coder] = folder / coder_file.file_name
            write(coder_file.project, files[coder_file.coder], dialect=coder_file.dialect, style=coder_file.style,
                  progress=say)
        table = io.StringIO()
        out = csv.writer(table, lineterminator="\n")
        out.writerow(PASSAGE_COLUMNS)
        for p in study.passages:
            out.writerow((p.coder, p.source, p.start, p.end, p.code_path[0], p.code_path[1]))
        target = folder / "passages.csv"
        say(f"writing {target.name} ({len(study.passages)} coded passages: the truth and each coder's)")
        with atomic_output(target) as temporary:
            temporary.write_text(table.getvalue(), encoding="utf-8")
        files["passages"] = target
    return files


STEPS = 6


def run_demo(folder: str | os.PathLike = "refi-bridge-demo", *, seed: int = 2022,
             progress: Progress | Reporter | None = None) -> DemoResult:
    """Generate the study into ``folder`` and run every step of the pipeline on it.

    The steps run in a hidden folder beside ``folder``; their files are moved into ``folder`` together at
    the end (replacing those of an earlier run), so that an interrupted or failed demo writes nothing.
    """
    say = quiet(progress)
    final = Path(folder)
    if not final.parent.is_dir():
        raise ProjectFileError(f"{final}: the folder {final.parent} does not exist; create it first.", str(final))
    stage = final.parent / f".{final.name}.{os.getpid()}.partial"
    shutil.rmtree(stage, ignore_errors=True)
    try:
        result = _run(stage, final, seed, say)
        made = [d for d in [final, *(final / p.relative_to(stage) for p in stage.rglob("*") if p.is_dir())]
                if not d.exists()]
        for directory in made:
            directory.mkdir(parents=True, exist_ok=True)
        try:
            put_in_place([(p, final / p.relative_to(stage)) for p in sorted(stage.rglob("*")) if p.is_file()])
        except BaseException:
            for directory in reversed(made):
                if directory.exists() and not any(directory.iterdir()):
                    directory.rmdir()
            raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    result.folder = final
    result.files = {key: final / path.relative_to(stage) for key, path in result.files.items()}
    return result


def _run(folder: Path, shown: Path, seed: int, say: Reporter) -> DemoResult:
    """The pipeline, writing into ``folder`` and naming ``shown`` (where the files will be) in its messages."""
    result = DemoResult(folder)
    indent = say.indented()
    say(f"1/{STEPS} generating the dyad study (12 dyads, 47 interviews, 3 coders) for {shown}")
    study = generate(seed=seed)
    result.files = write_study(study, folder, indent)
    say(f"2/{STEPS} inspecting and validating every file")
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
        indent(f"{path.name}: {summary['origin']}, positions in {summary['position_unit_label']}; "
               f"{summary['sources']} sources, {summary['cases']} cases, {summary['codings']} codings "
               f"({coders}); {verdict}")
    say(f"3/{STEPS} handing the master to the coders (split) in {shown / 'handout'}")
    coders = [f.coder for f in study.coder_files]
    handout = split(result.files["master"], coders, folder / "handout", progress=indent)
    result.files["manifest"] = handout.manifest
    say(f"4/{STEPS} merging the three returned files onto the master")
    outcome = merge_files([result.files[c] for c in coders], folder / "merged.qdpx", manifest=handout.manifest,
                          report=folder / "merge-report.xlsx", progress=indent)
    result.files["merged"] = outcome.output
    result.files["merge-report"] = outcome.report
    for row in outcome.result.report.files:
        indent(f"{row.file}: {row.codings_added} codings of {row.coder or 'unknown coder'}, sources matched "
               f"by text hash {row.sources_by_hash}, by GUID {row.sources_by_guid}, by name {row.sources_by_name}; "
               f"{row.codings_reanchored} re-anchored ({row.codings_inexact} not exactly)")
    indent(outcome.result.report.verdict())
    say(f"5/{STEPS} inter-coder agreement of the merged project")
    report = agreement(outcome.output, folder / "agreement.xlsx", progress=indent)
    result.files["agreement"] = folder / "agreement.xlsx"
    result.agreement = report
    overall = report.overall.set_index("measure")["value"]
    indent(f"|u-alpha over all codes {overall['|u-alpha, all codes pooled']:.3f}; median per code "
           f"{overall['median |u-alpha per code']:.3f}; {len(report.disagreements)} disagreements to discuss")
    say(f"6/{STEPS} the representativeness table: themes x dyads, grouped by outcome")
    built = matrix(outcome.output, folder / "matrix.xlsx", group_by="variable:Outcome", min_coders=2,
                   title="Representativeness table (demo study)", progress=indent)
    result.files["matrix"] = folder / "matrix.xlsx"
    result.matrix = built
    return result
