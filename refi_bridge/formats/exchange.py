"""``read`` and ``write``: REFI-QDA exchange files (``.qdpx``, ``.qde``, ``.qdc``) to a Project and back.

The kind of a file is told from its content, not its name: a ZIP is a ``.qdpx``, XML with a ``<Project>``
root a ``.qde``, with a ``<CodeBook>`` root a ``.qdc``. Output is written to a temporary file next to the
target and renamed into place, so a failure never leaves half a file, and a file the project was read
from is never overwritten.
"""

from __future__ import annotations

import os
import signal
import stat
import tempfile
import threading
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path

from refi_bridge.errors import ProjectFileError, RefiBridgeError, RefiBridgeWarning
from refi_bridge.formats import dialects as _dialects
from refi_bridge.formats import qde, qdpx
from refi_bridge.model import Project, internal_file, internal_files
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
        with qdpx.open_archive(file, limits) as archive, qdpx.member_reader(archive) as resolve:
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
        if not qde.looks_like_xml(data):
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

    ``dialect`` adapts the file to the tool that will import it (a name of
    :data:`refi_bridge.formats.dialects.DIALECTS`: ``refi``, ``nvivo``, ``qualcoder``, ``atlasti``,
    ``maxqda``). Returns notes on what the target tool will not keep; each is also issued
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
    if kind == "qdc":
        written = qde.write_codebook(prepared, dialect=chosen.name, origin=style.origin,
                                     instruction=style.instruction)
        if prepared.sources or prepared.cases or prepared.notes:
            notes.append("a codebook (.qdc) holds only codes and code sets; write a .qdpx to keep the rest")
    else:
        if kind == "qdpx":
            prepared = _without_absent_rich_texts(prepared, notes)
        written = qde.write_project(prepared, dialect=chosen.name, unit=chosen.position_unit, bom=chosen.bom,
                                    origin=style.origin, instruction=style.instruction)
        if kind == "qde" and written.texts:
            notes.append(f"{len(written.texts)} texts live in files, which a .qde cannot carry; write a .qdpx "
                         "to keep them")
    if kind == "qdpx":
        _refuse_absent_files(prepared, written, target)
    with atomic_output(target) as temporary:
        if kind == "qdpx":
            qdpx.write_archive(temporary, written.xml, written.texts, prepared.files, qde_name=style.qde_name,
                               sources_folder=style.sources_folder)
        else:
            temporary.write_bytes(written.xml)
    for note in notes:
        warnings.warn(f"{target}: {note}", RefiBridgeWarning, stacklevel=2)
    return notes


def _file_owners(project: Project):
    """Every object that may name a file of the sources folder, with a label for messages."""
    for source in project.sources:
        yield source.label, source
        for part in ("representation", "text_description"):
            inner = getattr(source, part, None)
            if inner is not None:
                yield f"{source.label} ({part.replace('_', ' ')})", inner
        for transcript in getattr(source, "transcripts", ()):
            yield f"{source.label} (transcript)", transcript
    for note in project.notes:
        yield note.name or note.guid, note


def _without_absent_rich_texts(project: Project, notes: list[str]) -> Project:
    """A rich-text original (a .docx beside the plain text) that the project does not hold is dropped from
    the references, with a note: the plain text carries the text, and one missing copy must not block a
    whole project."""
    held = {name.casefold() for name in project.files}
    dropped: list[str] = []

    def fixed(owner):
        name = internal_file(getattr(owner, "rich_text_path", None))
        if name is None or name.casefold() in held:
            return owner
        dropped.append(name)
        return replace(owner, rich_text_path=None)

    sources = tuple(fixed(source) for source in project.sources)
    if not dropped:
        return project
    notes.append(f"{len(dropped)} rich-text originals (e.g. {dropped[0]!r}) are not in the project, so their "
                 "references were left out; the plain texts carry the texts")
    return replace(project, sources=sources)


def _refuse_absent_files(project: Project, written: qde.Written, target: Path) -> None:
    """A .qdpx must hold every file its document names; one that would not is refused, not written damaged."""
    held = {name.casefold() for name in (*written.texts, *project.files)}
    absent = [(label, name) for label, owner in _file_owners(project) for name in internal_files(owner)
              if name.casefold() not in held]
    if not absent:
        return
    label, name = absent[0]
    info = project.read_info
    origin = info.path if info and info.path else "the project"
    if info is not None and info.kind == "qde":
        why = ("it was read from a bare .qde, which keeps texts and media outside itself), so the .qdpx would "
               "be damaged. Convert the .qdpx the tool exported, or write a .qde.")
    else:
        why = ("its archive does not hold them), so the .qdpx would be damaged too. Export the project again "
               "from the tool, or put the missing files back into its sources folder.")
    raise ProjectFileError(f"{target}: refused: {origin} names {len(absent)} files it does not carry (e.g. "
                           f"{name!r} of {label!r}; {why}", str(target))


def check_outputs(outputs: Iterable[tuple[str | os.PathLike, Iterable[str] | None]],
                  inputs: Iterable[str | os.PathLike]) -> None:
    """Refuse, before anything is written, outputs that would replace an input, have the wrong extension,
    repeat each other, or lie in a folder that is missing or not writable.

    ``outputs`` pairs each path with the extensions it may have (None: any).
    """
    sources = [Path(p) for p in inputs if p is not None]
    seen: list[Path] = []
    for path, suffixes in outputs:
        if path is None:
            continue
        target = Path(path)
        if suffixes is not None and target.suffix.lower() not in suffixes:
            raise ProjectFileError(f"{target}: this output must be a {' or '.join(suffixes)} file; change the name.",
                                   str(target))
        for other in seen:
            if other.resolve() == target.resolve():
                raise ProjectFileError(f"{target}: named for two outputs; give each output its own file.", str(target))
        seen.append(target)
        if target.is_dir():
            raise ProjectFileError(f"{target}: is a folder; give the name of a file to write.", str(target))
        folder = target.parent
        if not folder.is_dir():
            raise ProjectFileError(f"{target}: the folder {folder} does not exist; create it first.", str(target))
        if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
            raise ProjectFileError(f"{target}: cannot be written here (permission denied); choose another place.",
                                   str(target))
        for source in sources:
            same = target.resolve() == source.resolve()
            if not same and target.exists() and source.exists():
                try:
                    same = os.path.samefile(target, source)
                except OSError:
                    same = False
            if same:
                raise ProjectFileError(f"{target}: refusing to overwrite an input file; write the result to a new "
                                       "file.", str(target))


class atomic_output:
    """Context manager giving a temporary path next to ``target``, renamed onto it only on success.

    The temporary file is created exclusively under a name nobody can guess (``mkstemp``), so a link planted
    beside the target is never followed, and threads writing one target never share a temporary file: each
    renames a whole file into place and the last one wins. On failure, Ctrl-C or SIGTERM the temporary file
    is removed; an OS error while writing (a full disk) becomes one :class:`ProjectFileError` naming the
    target. Inside :func:`all_or_nothing` the rename waits for the end of the group.
    """

    def __init__(self, target: str | os.PathLike) -> None:
        self.target = Path(target)
        self.temporary: Path | None = None

    def __enter__(self) -> Path:
        check_outputs([(self.target, None)], ())
        _guard_signals(+1)
        try:
            handle, name = tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=".partial",
                                            dir=self.target.parent)
        except OSError as problem:
            _guard_signals(-1)
            raise ProjectFileError(f"{self.target}: cannot be written ({problem.strerror or problem}).",
                                   str(self.target)) from None
        os.close(handle)
        self.temporary = Path(name)
        _LIVE.add(self.temporary)
        return self.temporary

    def __exit__(self, kind, error, trace) -> None:
        temporary = self.temporary
        assert temporary is not None
        try:
            if kind is None:
                _publishable(temporary, self.target)
                group = _group()
                if group is not None:
                    group.append((temporary, self.target))
                    return
                put_in_place([(temporary, self.target)])
                return
            _discard(temporary)
            if isinstance(error, OSError) and not isinstance(error, RefiBridgeError) and \
                    getattr(error, "filename", None) in (None, str(temporary)):
                # -- name the file the user asked for, not our temporary one; a full disk is one line too --
                raise ProjectFileError(f"{self.target}: cannot be written ({error.strerror or error}).",
                                       str(self.target)) from None
        finally:
            _guard_signals(-1)


@contextmanager
def all_or_nothing() -> Iterator[None]:
    """Outputs written inside (each through :class:`atomic_output`) are renamed into place together when the
    block ends, or none is: a failure, Ctrl-C or SIGTERM before the end leaves every target as it was.

    A merged project is never left beside the report of another merge. Groups inside a group join it.
    """
    stack = _GROUPS.__dict__.setdefault("stack", [])
    if stack:
        yield
        return
    group: list[tuple[Path, Path]] = []
    stack.append(group)
    _guard_signals(+1)
    try:
        try:
            yield
        except BaseException:
            for temporary, _ in group:
                _discard(temporary)
            raise
        put_in_place(group)
    finally:
        for temporary, _ in group:
            _discard(temporary)
        stack.pop()
        _guard_signals(-1)


# -- temporaries being written, in every thread: a SIGTERM removes them all --
_LIVE: set[Path] = set()
# -- every output this process put in place, in order --
_WRITTEN: list[Path] = []
_GROUPS = threading.local()
_SIGNALS = {"depth": 0, "previous": None}
_SIGNAL_LOCK = threading.Lock()
# -- the mode a new file gets from this process (mkstemp makes 0600; the output should not differ from a file
#    written directly) --
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def put_in_place(pairs) -> None:
    """Rename finished files onto their targets. Ctrl-C waits until all are in place, so that an interrupt
    never leaves some outputs of a command written and others not; :func:`written` lists them after."""
    with held_interrupts():
        for temporary, target in pairs:
            _replace(temporary, target)
            _WRITTEN.append(Path(target))


def written() -> list[Path]:
    """The outputs this process has put in place so far, oldest first (a copy): what a command interrupted
    as its outputs were renamed did write."""
    return list(_WRITTEN)


@contextmanager
def held_interrupts() -> Iterator[None]:
    """Ctrl-C waits until the block is done, then takes effect (as KeyboardInterrupt). Only the main thread
    receives signals, so elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda number, _: caught.append(number))
    except ValueError:  # pragma: no cover - not the main interpreter
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)
    if caught:
        raise KeyboardInterrupt


def size_text(size: int) -> str:
    """A file size as people read it: 812 bytes, 36 KB, 2.3 MB."""
    if size < 1000:
        return f"{size} bytes"
    if size < 1_000_000:
        return f"{size / 1000:.0f} KB"
    return f"{size / 1_000_000:.1f} MB"


def _group() -> list | None:
    stack = getattr(_GROUPS, "stack", None)
    return stack[-1] if stack else None


def _publishable(temporary: Path, target: Path) -> None:
    try:
        mode = stat.S_IMODE(target.stat().st_mode) if target.is_file() else 0o666 & ~_UMASK
        os.chmod(temporary, mode)
    except OSError:
        pass  # the file stays readable by its owner; nothing is lost


def _replace(temporary: Path, target: Path) -> None:
    try:
        os.replace(temporary, target)
    except OSError as problem:
        _discard(temporary)
        raise ProjectFileError(f"{target}: cannot be written ({problem.strerror or problem}).", str(target)) from None
    _LIVE.discard(temporary)


def _discard(temporary: Path) -> None:
    _LIVE.discard(temporary)
    with suppress(OSError):
        temporary.unlink(missing_ok=True)


def _on_terminate(signum, frame) -> None:
    for temporary in list(_LIVE):
        _discard(temporary)
    previous = _SIGNALS["previous"]
    if callable(previous):
        previous(signum, frame)
    # -- unwinding runs every `finally` on the way out (and the exit status says what happened) --
    raise SystemExit(128 + signum)


def _guard_signals(step: int) -> None:
    """While temporaries exist, SIGTERM removes them before the process ends (the main thread owns signals)."""
    if threading.current_thread() is not threading.main_thread():
        return
    with _SIGNAL_LOCK:
        depth = _SIGNALS["depth"]
        _SIGNALS["depth"] = depth + step
        try:
            if step > 0 and depth == 0:
                previous = signal.getsignal(signal.SIGTERM)
                if previous is not signal.SIG_IGN:
                    _SIGNALS["previous"] = previous
                    signal.signal(signal.SIGTERM, _on_terminate)
            elif step < 0 and depth == 1 and signal.getsignal(signal.SIGTERM) is _on_terminate:
                previous = _SIGNALS["previous"]
                signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
                _SIGNALS["previous"] = None
        except ValueError:
            pass  # not the main interpreter's main thread
