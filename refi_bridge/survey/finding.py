"""Finding the files to survey: the paths given, and below every folder given, each REFI-QDA exchange file.

Folders are walked recursively in name order (so a survey lists files in the same order every time),
without following links to folders (an archive that links to itself must not be walked forever), and
skipping the survey's own output folder. Extensions are matched in any case (``.QDPX`` from Windows).
A file named on the command line is surveyed whatever its extension: it was asked for.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from refi_bridge.errors import SurveyError

EXTENSIONS = (".qdpx", ".qde", ".qdc")


@dataclass(frozen=True)
class Found:
    """A file to survey: ``file`` as the tables show it (the path as given, or the folder given joined with
    the path below it), ``location`` its absolute path."""

    file: str
    location: str


def find_files(paths: Iterable[str | os.PathLike], skip: Iterable[str | os.PathLike] = ()) -> list[Found]:
    """Every ``.qdpx``, ``.qde`` and ``.qdc`` file at or below ``paths``, once each, in a stable order.

    ``skip`` names folders not to enter (the survey's output). Raises :class:`SurveyError` for a path that
    does not exist.
    """
    skipped = {os.path.realpath(p) for p in skip}
    found: list[Found] = []
    seen: set[str] = set()

    def add(file: str) -> None:
        location = os.path.abspath(file)
        key = os.path.realpath(location)
        if key not in seen:
            seen.add(key)
            found.append(Found(file, location))

    for given in paths:
        path = str(given)
        if os.path.isdir(path):
            for file in _walk(path, skipped):
                add(file)
        elif os.path.exists(path):
            add(path)
        else:
            raise SurveyError(f"{path}: does not exist; give .qdpx, .qde or .qdc files, or folders holding them.")
    return found


def _walk(folder: str, skipped: set[str]) -> Iterable[str]:
    def refuse(error: OSError) -> None:
        raise SurveyError(f"{error.filename}: cannot be listed ({error.strerror or error}); give the survey "
                          "access to it, or leave it out of the paths.") from None

    for root, folders, files in os.walk(folder, onerror=refuse, followlinks=False):
        folders[:] = sorted(f for f in folders if os.path.realpath(os.path.join(root, f)) not in skipped)
        for name in sorted(files):
            # -- "._x.qdpx" is macOS's AppleDouble shadow of x.qdpx in archives copied from a Mac, not a project --
            if name.lower().endswith(EXTENSIONS) and not name.startswith("._"):
                yield str(Path(root, name))
