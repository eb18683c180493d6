"""Analysis jobs on files: the agreement workbook, the consensus project (and the matrix workbook).

This module reads projects, calls the pure computations, and lays their tables out as workbooks; the
statistics are :mod:`refi_bridge.agreement`'s, the layout :mod:`refi_bridge.tables.excel`'s.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

from refi_bridge.agreement.consensus import ConsensusResult, build
from refi_bridge.agreement.report import AgreementReport, compute
from refi_bridge.errors import AgreementError, RefiBridgeWarning
from refi_bridge.formats import qdpx
from refi_bridge.formats.exchange import all_or_nothing, atomic_output, check_outputs, read, write
from refi_bridge.progress import Progress, Reporter, quiet
from refi_bridge.tables.excel import read_table
from refi_bridge.tables.workbooks import agreement_workbook, matrix_workbook


def agreement(project_path: str | os.PathLike, output: str | os.PathLike | None = None, *,
              json_path: str | os.PathLike | None = None, coders: Sequence[str] | None = None,
              codes: Sequence[str] | None = None, overlap: float = 0.9, bootstrap: int = 1000,
              only_coded_documents: bool = False, cu_reading: str = "pairsum",
              progress: Progress | Reporter | None = None) -> AgreementReport:
    """Compute agreement for a project file and write the workbook (``output``) and JSON (``json_path``):
    both, or (when interrupted or failing) neither."""
    say = quiet(progress)
    check_outputs([(output, (".xlsx",)), (json_path, (".json",))], [project_path])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        project = read(project_path, progress=say)
    report = compute(project, coders=coders, codes=codes, overlap=overlap, bootstrap=bootstrap,
                     only_coded_documents=only_coded_documents, cu_reading=cu_reading, progress=say)
    with all_or_nothing():  # the workbook and the JSON of one computation, never of two
        if output is not None:
            say(f"writing {Path(output).name}")
            agreement_workbook(report, output, source=Path(project_path).name, progress=say)
        if json_path is not None:
            target = Path(json_path)
            say(f"writing {target.name}")
            with atomic_output(target) as temporary:
                temporary.write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
    return report


# -- a resolutions workbook is the agreement workbook with one column filled in: tens of thousands of rows at
#    most, a few megabytes; openpyxl holds what it decompresses in memory many times over --
RESOLUTIONS_LIMITS = qdpx.ReadLimits(max_members=1_000, max_total_size=256 * 2**20, max_ratio=250.0,
                                     ratio_applies_above=8 * 2**20)


def consensus(project_path: str | os.PathLike, resolutions: str | os.PathLike, output: str | os.PathLike, *,
              dialect: str = "refi", progress: Progress | Reporter | None = None) -> ConsensusResult:
    """Turn a filled-in disagreements sheet into a ``consensus`` coder layer and write the project."""
    say = quiet(progress)
    check_outputs([(output, (".qdpx", ".qde"))], [project_path, resolutions])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        project = read(project_path, progress=say)
    say(f"reading the resolutions in {Path(resolutions).name}")
    qdpx.check_zip(resolutions, RESOLUTIONS_LIMITS)
    try:
        rows = read_table(resolutions, "Disagreements", "source")
    except LookupError as error:
        raise AgreementError(f"{resolutions}: {error.args[0]}; give the agreement.xlsx that `refi-bridge "
                             "agreement` wrote, with its resolution column filled in.") from None
    for column in ("resolution", "source_guid", "code_guid"):
        if column not in rows.columns:
            raise AgreementError(f"{resolutions}: the Disagreements sheet has no {column!r} column; it must be "
                                 "the sheet refi-bridge wrote, with its columns kept.")
    say("building the consensus layer")
    try:
        result = build(project, rows.to_dict(orient="records"))
    except AgreementError as error:
        raise AgreementError(f"{resolutions}: {error}") from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        write(result.project, output, dialect=dialect, protect=[project_path, resolutions], progress=say)
    return result


# -------------------------------------------------------------------------------------------------------
# Matrices
# -------------------------------------------------------------------------------------------------------

# -- light fills for cells and stronger ones for headers, one pair per column group --

def matrix(project_path: str | os.PathLike, output: str | os.PathLike, *, rows: str = "themes",
           columns: str = "cases", split: str | None = None, group_by: str | None = None, cell: str = "mark",
           min_coders: int = 1, coders: Sequence[str] | None = None, title: str | None = None,
           progress: Progress | Reporter | None = None):
    """Build the matrix of a project file and write its workbook; returns the :class:`Matrix`."""
    from refi_bridge.tables.matrices import build as build_matrix

    say = quiet(progress)
    check_outputs([(output, (".xlsx",))], [project_path])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        project = read(project_path, progress=say)
    say(f"building the matrix: {rows} x {columns}" + (f", split by {split}" if split else ""))
    built = build_matrix(project, rows=rows, columns=columns, split=split, group_by=group_by, cell=cell,
                         min_coders=min_coders, coders=coders)
    say(f"writing {Path(output).name}")
    matrix_workbook(built, output, title=title, progress=say)
    return built
