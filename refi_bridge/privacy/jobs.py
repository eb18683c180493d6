"""Pseudonymising on files: read the project and the key, write the new project and the report; or draft a key.

Every output is checked before anything is written (no input overwritten, the right extension, a writable
folder), and each is written to a temporary file renamed into place, so a refusal or a failure leaves no
half-written project behind and never touches the inputs.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from refi_bridge.errors import PseudonymisationError, RefiBridgeWarning
from refi_bridge.formats.exchange import all_or_nothing, check_outputs, read, write
from refi_bridge.privacy.key import read_key
from refi_bridge.privacy.pseudonymising import Pseudonymised, pseudonymise
from refi_bridge.privacy.report import write_report
from refi_bridge.privacy.suggesting import suggest, write_suggestion
from refi_bridge.progress import Progress, Reporter, quiet


@dataclass
class PseudonymiseOutcome:
    """What :func:`pseudonymise_file` wrote, and the result it wrote it from."""

    result: Pseudonymised
    output: Path
    report: Path | None = None


def pseudonymise_file(project_path: str | os.PathLike, key_path: str | os.PathLike, output: str | os.PathLike, *,
                      codes: bool = False, coders: Mapping[str, str] | None = None, keep_media: bool = False,
                      report: str | os.PathLike | None = None, dialect: str = "refi",
                      progress: Progress | Reporter | None = None) -> PseudonymiseOutcome:
    """Pseudonymise a project file with a key file and write the result (``.qdpx``) and the report
    (``.xlsx`` or ``.json``): both, or (when interrupted or failing) neither; see
    :func:`~refi_bridge.privacy.pseudonymising.pseudonymise` for the options."""
    say = quiet(progress)
    check_outputs([(output, (".qdpx", ".qde")), (report, (".xlsx", ".json"))], [project_path, key_path])
    say(f"reading the key {Path(key_path).name}")
    key = read_key(key_path)
    if not key:
        raise PseudonymisationError(f"{key_path}: the key has no entries; add rows of original,replacement (or draft "
                                    "them with --suggest).")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        project = read(project_path, progress=say)
    result = pseudonymise(project, key, codes=codes, coders=coders, keep_media=keep_media, progress=say)
    target = Path(output)
    outcome = PseudonymiseOutcome(result, target)
    with all_or_nothing():  # the project and the report of one run, never of two
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RefiBridgeWarning)
            write(result.project, target, dialect=dialect, protect=[project_path, key_path], progress=say)
        if report is not None:
            say(f"writing {Path(report).name} (it names the originals: keep it with the key)")
            outcome.report = write_report(result.report, report)
    return outcome


def suggest_file(project_path: str | os.PathLike, output: str | os.PathLike, *, min_count: int = 2,
                 progress: Progress | Reporter | None = None) -> pd.DataFrame:
    """Draft a key for a project file and write it (``.csv`` or ``.xlsx``) for review."""
    say = quiet(progress)
    check_outputs([(output, (".csv", ".xlsx"))], [project_path])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        project = read(project_path, progress=say)
    say("looking for names, e-mail addresses, phone numbers, URLs, dates and long numbers")
    frame = suggest(project, min_count=min_count)
    counts = frame["category"].value_counts()
    say(f"writing {Path(output).name}: {len(frame)} suggestions ("
        + (", ".join(f"{n} {category}" for category, n in counts.items()) or "none") + ")")
    write_suggestion(frame, output, project_name=project.name or None)
    return frame


def coders_option(values: Iterable[str]) -> dict[str, str]:
    """Parse ``--coders NAME=ALIAS,NAME=ALIAS`` (repeatable)."""
    out = {}
    for value in values:
        for pair in value.split(","):
            if not pair.strip():
                continue
            name, sep, alias = pair.partition("=")
            if not sep or not name.strip() or not alias.strip():
                raise PseudonymisationError(f"--coders {pair.strip()!r}: write it as NAME=ALIAS, e.g. --coders "
                                            "\"Ingrid Halvorsen=Coder A,Tomás Ferreira=Coder B\"")
            out[name.strip()] = alias.strip()
    return out
