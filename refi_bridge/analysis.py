"""Analysis jobs on files: the agreement workbook, the consensus project (and the matrix workbook).

This module reads projects, calls the pure computations, and lays their tables out as workbooks; the
statistics are :mod:`refi_bridge.agreement`'s, the layout :mod:`refi_bridge.excel`'s.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from refi_bridge.agreement.consensus import ConsensusResult, build
from refi_bridge.agreement.report import RELIABLE, TENTATIVE, AgreementReport, compute
from refi_bridge.errors import AgreementError, ProjectFileError, RefiBridgeWarning
from refi_bridge.excel import Sheet, read_table, write_workbook
from refi_bridge.exchange import atomic_output, read, write

Progress = Callable[[str], None]

GOOD, FAIR, POOR = "C6EFCE", "FFEB9C", "FFC7CE"
ALPHA_COLUMNS = ("u_alpha_binary", "presence_alpha", "u_alpha", "cu_alpha", "u_alpha_binary (codes pooled)",
                 "u_alpha_binary without")


def _alpha_fill(_: int, column: str, value: object) -> str | None:
    """Colour an alpha by Krippendorff's thresholds (a convention shown beside the number)."""
    if column not in ALPHA_COLUMNS:
        return None
    if not isinstance(value, float):
        return None
    return GOOD if value >= RELIABLE else FAIR if value >= TENTATIVE else POOR


def _pair_fill(_: int, column: str, value: object) -> str | None:
    if column == "coder" or not isinstance(value, float):
        return None
    return GOOD if value >= RELIABLE else FAIR if value >= TENTATIVE else POOR


def _quiet(progress: Progress | None) -> Progress:
    return progress or (lambda _: None)


def agreement_workbook(report: AgreementReport, path: str | os.PathLike) -> None:
    """Write an agreement report as a workbook: an explanation first, the disagreements last."""
    three = {c: "0.000" for c in report.per_code.columns if c not in ("code", "code_path")
             and not c.startswith(("segments", "characters"))}
    legend = [("alpha >= .800: reliable", GOOD), (".667 <= alpha < .800: tentative", FAIR),
              ("alpha < .667: discard or revise", POOR)]
    about = pd.DataFrame({"statement": report.statement})
    sheets = [
        Sheet("About", about, title="Inter-coder agreement", caption=[
            f"Coders: {', '.join(report.coders)}. Every number on the following sheets is defined here."],
            wrap=["statement"], widths={"statement": 130}, autofilter=False),
        Sheet("Per code", report.per_code, title="Agreement per code", caption=[
            "u_alpha_binary: Krippendorff's |u-alpha on the characters of all documents (is this passage coded "
            "with this code?), with its 95% bootstrap interval (ci_low, ci_high). presence_*: is the code in the "
            "document at all. match/f1: segments matching at the overlap thresholds; holsti: identical segments.",
            "nvivo_*, pooled_char_kappa, maxqda_kappa, qualcoder_kappa: what those tools would report "
            "(QualCoder's kappa is not Cohen's)."], cell_fill=_alpha_fill, legend=legend, number_formats=three,
            freeze_columns=1),
        Sheet("Per document", report.per_document, title="Agreement per document", cell_fill=_alpha_fill,
              number_formats={"u_alpha_binary (codes pooled)": "0.000"}, legend=legend),
        Sheet("Per case", report.per_case, title="Agreement per case", cell_fill=_alpha_fill,
              number_formats={"u_alpha_binary (codes pooled)": "0.000"}, legend=legend),
        Sheet("Coder pairs", report.pairs.reset_index(), title="|u-alpha for every pair of coders (codes pooled)",
              cell_fill=_pair_fill, number_formats={c: "0.000" for c in report.coders}, legend=legend),
        Sheet("Leave one out", report.leave_one_out, title="|u-alpha without each coder",
              caption=["A coder whose removal raises agreement much is the one to talk to first."],
              cell_fill=_alpha_fill, number_formats={"u_alpha_binary without": "0.000", "with everyone": "0.000",
                                                     "change": "+0.000;-0.000"}),
        Sheet("Code groups", report.groups, title="Code groups: a theme and its subcodes as one variable",
              caption=["u-alpha: where and which subcode; cu-alpha: which subcode where coders both coded "
                       "(cu_coverage: the share of the text it rests on). Needs mutually exclusive subcodes."],
              cell_fill=_alpha_fill, number_formats={c: "0.000" for c in ("u_alpha", "u_alpha_binary", "cu_alpha")}
              | {"cu_coverage": "0.0%"}),
        Sheet("Overall", report.overall, title="Overall", number_formats={"value": "0.000"}),
        Sheet("Disagreements", report.disagreements, title="Disagreements for the consensus meeting", caption=[
            "One row per passage the coders marked differently, in text order. kind: miss (a coder did not mark "
            "it), boundary (all marked it, differently), different code (a coder gave it another code).",
            "Write a resolution per row: a coder's name (take their span), union, intersection, none, or spans "
            "like 120-245; then run `refi-bridge consensus PROJECT --resolutions THIS-FILE -o consensus.qdpx`."],
            wrap=["passage"] + [c for c in report.disagreements.columns if c.endswith(": text")],
            widths={"passage": 50, "resolution": 18, **{c: 40 for c in report.disagreements.columns
                                                           if c.endswith(": text")}}),
    ]
    target = Path(path)
    with atomic_output(target) as temporary:
        write_workbook(temporary, sheets)


def agreement(project_path: str | os.PathLike, output: str | os.PathLike | None = None, *,
              json_path: str | os.PathLike | None = None, coders: Sequence[str] | None = None,
              codes: Sequence[str] | None = None, overlap: float = 0.9, bootstrap: int = 1000,
              only_coded_documents: bool = False, progress: Progress | None = None) -> AgreementReport:
    """Compute agreement for a project file and write the workbook (``output``) and JSON (``json_path``)."""
    say = _quiet(progress)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        project = read(project_path)
    say(f"read {Path(project_path).name}; computing agreement ({bootstrap} bootstrap resamples)")
    report = compute(project, coders=coders, codes=codes, overlap=overlap, bootstrap=bootstrap,
                     only_coded_documents=only_coded_documents)
    if output is not None:
        agreement_workbook(report, output)
        say(f"wrote {output}")
    if json_path is not None:
        target = Path(json_path)
        with atomic_output(target) as temporary:
            temporary.write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
        say(f"wrote {json_path}")
    return report


def consensus(project_path: str | os.PathLike, resolutions: str | os.PathLike, output: str | os.PathLike, *,
              dialect: str = "refi", progress: Progress | None = None) -> ConsensusResult:
    """Turn a filled-in disagreements sheet into a ``consensus`` coder layer and write the project."""
    say = _quiet(progress)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        project = read(project_path)
    try:
        rows = read_table(resolutions, "Disagreements", "source")
    except (KeyError, LookupError):
        raise AgreementError(f"{resolutions}: no 'Disagreements' sheet with a header row starting 'source'; give "
                             "the agreement.xlsx that `refi-bridge agreement` wrote.") from None
    except OSError as error:
        raise ProjectFileError(f"{resolutions}: cannot be read ({error}).", str(resolutions)) from None
    for column in ("resolution", "source_guid", "code_guid"):
        if column not in rows.columns:
            raise AgreementError(f"{resolutions}: the Disagreements sheet has no {column!r} column; it must be "
                                 "the sheet refi-bridge wrote, with its columns kept.")
    result = build(project, rows.to_dict(orient="records"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        write(result.project, output, dialect=dialect, protect=[project_path, resolutions])
    say(f"wrote {output}: {result.agreed} agreed passages, {result.resolved} resolved, {result.rejected} "
        f"rejected, {len(result.unresolved)} unresolved")
    return result
