"""``read`` and ``write``: REFI-QDA exchange files (``.qdpx``, ``.qde``, ``.qdc``) to a Project and back.

The kind of a file is told from its content, not its name: a ZIP is a ``.qdpx``, XML with a ``<Project>``
root a ``.qde``, with a ``<CodeBook>`` root a ``.qdc``. Output is written to a temporary file next to the
target and renamed into place, so a failure never leaves half a file, and a file the project was read
from is never overwritten (:mod:`refi_bridge.formats.outputs`).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from pathlib import Path

from refi_bridge.errors import ProjectFileError, RefiBridgeWarning
from refi_bridge.formats import dialects as _dialects
from refi_bridge.formats import qde, qdpx
from refi_bridge.formats.outputs import atomic_output, check_outputs
from refi_bridge.model import Project, TextSource, internal_file
from refi_bridge.progress import Progress, Reporter, quiet

KINDS = {".qdpx": "qdpx", ".qde": "qde", ".qdc": "qdc"}


def read(path: str | os.PathLike, *, limits: qdpx.ReadLimits = qdpx.DEFAULT_LIMITS,
         progress: Progress | Reporter | None = None) -> Project:
    """Read a ``.qdpx``, ``.qde`` or ``.qdc`` file into a :class:`~refi_bridge.model.Project`.

    Quirks of the producing tool are fixed on the way (see ``docs/dialects.md``); anything that could not
    be carried, or a guess that had to be made, is reported as a :class:`RefiBridgeWarning` and listed in
    ``project.read_info.warnings``. ``progress`` is told what is being read (see :mod:`refi_bridge.progress`).

    Raises:
        ProjectFileError: the file is missing, unreadable or not a REFI-QDA file.
        UnsafeFileError: the file looks like an attack (zip slip, zip bomb, XML entities).
        ProjectStructureError: the XML lacks something REFI-QDA requires (with file, line and element).
    """
    where = str(path)
    file = Path(path)
    if not file.is_file():
        what = "is a folder" if file.is_dir() else "does not exist"
        raise ProjectFileError(f"{where}: {what}; give the path of a .qdpx, .qde or .qdc file.", where)
    try:
        with open(file, "rb") as stream:
            head = stream.read(8)
    except OSError as error:
        raise ProjectFileError(f"{where}: cannot be read ({error.strerror or error}).", where) from None
    quiet(progress)(f"reading {file.name} ({size_text(file.stat().st_size)})")
    if qdpx.is_archive(head):
        archive = qdpx.open_archive(file, limits)
        with qdpx.member_reader(archive) as resolve:
            project = qde.read_document(archive.qde_bytes, path=where, resolve=resolve, kind="qdpx")
        if project.read_info is not None and project.read_info.kind != "qdpx":
            raise ProjectFileError(f"{where}: the archive holds a codebook, not a project.", where)
        project = qdpx.attach_files(project, archive, resolve.used)
        info = project.read_info
        assert info is not None
        info.kind = "qdpx"
        info.qde_member = archive.qde_member
        info.sources_folder = archive.sources_folder
        info.fixes.extend(archive.fixes)
        if archive.sources_folder and archive.sources_folder != "sources":
            info.fixes.append(f"the sources folder is {archive.sources_folder!r}, not 'sources'")
        for name in archive.ignored:
            info.warnings.append(f"{where}: archive member {name!r} is outside the sources folder and was "
                                 "not carried")
    else:
        if file.stat().st_size > qdpx.DEFAULT_LIMITS.max_member_size:
            raise ProjectFileError(f"{where}: larger than any REFI-QDA document may be.", where)
        data = file.read_bytes()
        utf16 = data.startswith((b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<"))
        if not utf16 and not data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
            raise ProjectFileError(f"{where}: neither a ZIP archive (.qdpx) nor XML (.qde, .qdc); give a "
                                   "REFI-QDA exchange file.", where)
        project = qde.read_document(data, path=where)
    info = project.read_info
    if info is not None:
        for message in info.warnings:
            warnings.warn(message, RefiBridgeWarning, stacklevel=2)
    return project


def write(project: Project, path: str | os.PathLike, dialect: str = "refi", *,
          protect: Iterable[str | os.PathLike] = (), style: _dialects.ExportStyle | None = None,
          progress: Progress | Reporter | None = None) -> list[str]:
    """Write a project as ``.qdpx``, ``.qde`` or ``.qdc`` (chosen by the extension of ``path``).

    ``dialect`` adapts the file to the tool that will import it (``refi``, ``nvivo``, ``qualcoder``; see
    :mod:`refi_bridge.formats.dialects`). Returns notes on what the target tool will not keep; each is also issued
    as a :class:`RefiBridgeWarning`. ``protect`` names further files that must not be overwritten;
    ``style`` makes the file look as a given tool would package it (see :class:`ExportStyle`);
    ``progress`` is told what is being written.

    Raises:
        ProjectFileError: unknown extension, or ``path`` is a file the project was read from.
        DialectError: unknown dialect.
    """
    target = Path(path)
    kind = KINDS.get(target.suffix.lower())
    if kind is None:
        raise ProjectFileError(f"{target}: unknown extension {target.suffix!r}; write to a .qdpx (project with "
                               "its files), .qde (project only) or .qdc (codebook).", str(target))
    chosen = _dialects.get(dialect)
    guarded = list(protect)
    if project.read_info is not None and project.read_info.path:
        guarded.append(project.read_info.path)
    check_outputs([(target, None)], guarded)
    quiet(progress)(f"writing {target.name}")
    prepared, notes = _dialects.prepare(project, chosen)
    style = style or _dialects.ExportStyle()
    if kind == "qdc" and not prepared.codes:
        raise ProjectFileError(f"{target}: a codebook must hold at least one code, and this project has none.",
                               str(target))
    if kind == "qdpx":
        missing = [s.label for s in prepared.sources
                   if isinstance(s, TextSource) and s.text is None and internal_file(s.plain_text_path)]
        if missing:
            notes.append(f"{len(missing)} sources have no text here (e.g. {missing[0]!r}: it was read from a bare "
                         ".qde), so the archive names files it does not hold; convert the .qdpx instead")
    if kind == "qdc":
        written = qde.write_codebook(prepared, dialect=chosen.name, origin=style.origin,
                                     instruction=style.instruction)
        if prepared.sources or prepared.cases or prepared.notes:
            notes.append("a codebook (.qdc) holds only codes and code sets; write a .qdpx to keep the rest")
    else:
        written = qde.write_project(prepared, dialect=chosen.name, unit=chosen.position_unit, bom=chosen.bom,
                                    origin=style.origin, instruction=style.instruction)
        if kind == "qde" and written.texts:
            notes.append(f"{len(written.texts)} texts live in files, which a .qde cannot carry; write a .qdpx "
                         "to keep them")
    with atomic_output(target) as temporary:
        if kind == "qdpx":
            qdpx.write_archive(temporary, written.xml, written.texts, prepared.files, qde_name=style.qde_name,
                               sources_folder=style.sources_folder)
        else:
            temporary.write_bytes(written.xml)
    for note in notes:
        warnings.warn(f"{target}: {note}", RefiBridgeWarning, stacklevel=2)
    return notes


def size_text(size: int) -> str:
    """A file size as people read it: 812 bytes, 36 KB, 2.3 MB."""
    if size < 1000:
        return f"{size} bytes"
    if size < 1_000_000:
        return f"{size / 1000:.0f} KB"
    return f"{size / 1_000_000:.1f} MB"


__all__ = ["KINDS", "atomic_output", "check_outputs", "read", "size_text", "write"]
