"""Surveying an archive: many REFI-QDA files into Parquet tables, on this machine or a Dask cluster.

``refi_bridge.survey(paths, outdir)`` (or ``refi-bridge survey PATH... -o OUTDIR``) reads every file, says
what it is and whether it is sound, and turns all codings into one table. The modules, in the order the work
flows: :mod:`~refi_bridge.survey.finding` (which files), :mod:`~refi_bridge.survey.surveying` (one file),
:mod:`~refi_bridge.survey.running` (many, on local processes or Dask), :mod:`~refi_bridge.survey.writing`
(the output folder), :mod:`~refi_bridge.survey.parquet` and :mod:`~refi_bridge.survey.workbook` (the tables),
:mod:`~refi_bridge.survey.job` (the function that ties them together); :mod:`~refi_bridge.survey.columns`
says what every column means.
"""

from __future__ import annotations

import sys
import types

from refi_bridge.survey.job import SurveyResult, survey


class _CallableModule(types.ModuleType):
    # -- why: `refi_bridge.survey` is both this package and, like `refi_bridge.read`, the function. Importing
    #    any module of the package binds the package to that name, so the package itself must be callable --
    def __call__(self, *args, **kwargs) -> SurveyResult:
        return survey(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

__all__ = ["survey", "SurveyResult"]
