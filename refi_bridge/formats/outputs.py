"""How outputs reach the disk: checked before any work, written to a temporary file next to the target, and
renamed into place only when complete; several outputs of one command appear together or not at all.

A command that is interrupted (Ctrl-C) or fails therefore leaves no half-written file, no stray temporary,
and no report without the project it describes. :func:`written` tells the command which outputs were put
in place, so that its last word ("nothing was written") is true.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from refi_bridge.errors import ProjectFileError

# -- outputs finished inside an `all_or_none` block, waiting to be renamed into place together --
_PENDING: ContextVar[list[tuple[Path, Path]] | None] = ContextVar("refi_bridge_pending_outputs", default=None)
# -- every output this process put in place, in order (read by the command when it is interrupted) --
_WRITTEN: list[Path] = []


def check_outputs(outputs: Iterable[tuple[str | os.PathLike | None, Iterable[str] | None]],
                  inputs: Iterable[str | os.PathLike | None]) -> None:
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

    Inside an :func:`all_or_none` block the rename waits for the end of the block.
    """

    def __init__(self, target: str | os.PathLike) -> None:
        self.target = Path(target)
        self.temporary = self.target.with_name(f".{self.target.name}.{os.getpid()}.partial")

    def __enter__(self) -> Path:
        check_outputs([(self.target, None)], ())
        return self.temporary

    def __exit__(self, kind, error, trace) -> None:
        if kind is None:
            pending = _PENDING.get()
            if pending is not None:
                pending.append((self.temporary, self.target))
            else:
                put_in_place([(self.temporary, self.target)])
            return
        with held_interrupts():
            self.temporary.unlink(missing_ok=True)
        if isinstance(error, OSError) and not isinstance(error, ProjectFileError) and \
                str(getattr(error, "filename", "")) == str(self.temporary):
            # -- name the file the user asked for, not our temporary one --
            raise ProjectFileError(f"{self.target}: cannot be written ({error.strerror or error}).",
                                   str(self.target)) from None


@contextmanager
def all_or_none() -> Iterator[None]:
    """Outputs written (through :class:`atomic_output`) inside the block appear together when it ends
    without an error, or none of them does. Nested blocks join the outermost one."""
    if _PENDING.get() is not None:
        yield
        return
    pending: list[tuple[Path, Path]] = []
    token = _PENDING.set(pending)
    try:
        yield
    except BaseException:
        with held_interrupts():
            for temporary, _ in pending:
                temporary.unlink(missing_ok=True)
        raise
    finally:
        _PENDING.reset(token)
    put_in_place(pending)


def put_in_place(pairs: Sequence[tuple[Path, Path]]) -> None:
    """Rename finished files onto their targets, all of them or (when one rename fails) none: targets that
    existed are set aside first and restored on failure. Ctrl-C waits until this is done."""
    with held_interrupts():
        aside: list[tuple[Path, Path]] = []
        placed: list[Path] = []
        try:
            for _, target in pairs:
                if target.exists() and len(pairs) > 1:
                    backup = target.with_name(f".{target.name}.{os.getpid()}.previous")
                    os.replace(target, backup)
                    aside.append((backup, target))
            for temporary, target in pairs:
                os.replace(temporary, target)
                placed.append(target)
        except OSError as problem:
            for target in placed:
                target.unlink(missing_ok=True)
            for backup, target in aside:
                os.replace(backup, target)
            for temporary, _ in pairs:
                temporary.unlink(missing_ok=True)
            failed = next((t for _, t in pairs if t not in placed), pairs[0][1])
            raise ProjectFileError(f"{failed}: cannot be written ({problem.strerror or problem}).",
                                   str(failed)) from None
        for backup, _ in aside:
            backup.unlink(missing_ok=True)
        _WRITTEN.extend(placed)


def written() -> list[Path]:
    """The outputs this process has put in place so far, oldest first (a copy)."""
    return list(_WRITTEN)


@contextmanager
def held_interrupts() -> Iterator[None]:
    """Ctrl-C waits until the block is done, then takes effect (as KeyboardInterrupt).

    Renaming finished files into place takes milliseconds; an interrupt in the middle would leave some
    outputs in place and others not. Only the main thread receives signals, so elsewhere this does nothing.
    """
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
