"""How long work tells the person what it is doing: one protocol, shared by every layer.

Library functions take ``progress``: ``None`` (say nothing), a callable given one line of text per step
(``print`` will do), or an object with the :class:`Progress` methods, which can also draw a bar for loops
over many items. They wrap it with :func:`quiet` and speak through the :class:`Reporter` they get back::

    say = quiet(progress)
    say("reading merged.qdpx")                                # one step
    for path in say.each(paths, "reading the coders' files"):  # a counted loop
        ...
    with say.counting("bootstrap resamples", 1000) as advance:  # a counted loop in batches
        advance(100)

Library code never prints: the command decides how steps and bars look (``refi-bridge`` writes both on
standard error, so that standard output carries only results).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Protocol, TypeVar, runtime_checkable

T = TypeVar("T")


@runtime_checkable
class Progress(Protocol):
    """What a caller implements to show progress: steps as lines, counted loops as bars."""

    def step(self, text: str) -> None:
        """Work of one kind begins: ``text`` says what, in a few words ("reading merged.qdpx")."""

    def start(self, text: str, total: int) -> None:
        """A loop over ``total`` items begins (files, sources, resamples, rows); ``text`` names them."""

    def advance(self, done: int = 1) -> None:
        """``done`` more items of the current loop are finished."""

    def finish(self) -> None:
        """The current loop is over."""


class Reporter:
    """What library code holds: steps and counted loops, passed on to whatever the caller gave.

    A plain callable gets each step as a line and each counted loop as one line naming it; ``None`` gets
    nothing. Loops inside a loop are not shown (one bar at a time).
    """

    def __init__(self, target: Progress | Callable[[str], None] | None) -> None:
        self.target = target
        self.depth = 0

    def __call__(self, text: str) -> None:
        self.step(text)

    def step(self, text: str) -> None:
        if self.target is None or self.depth:
            return
        if isinstance(self.target, Progress):
            self.target.step(text)
        else:
            self.target(text)

    @contextmanager
    def counting(self, text: str, total: int) -> Iterator[Callable[[int], None]]:
        """A loop over ``total`` items; the block calls the function it is given with items done."""
        shown = self.target is not None and self.depth == 0 and total > 0
        bar = isinstance(self.target, Progress)
        if shown:
            if bar:
                self.target.start(text, total)  # type: ignore[union-attr]
            else:
                self.target(f"{text} ({total:,})")  # type: ignore[misc,operator]
        self.depth += 1
        try:
            yield self.target.advance if shown and bar else _ignore  # type: ignore[union-attr]
        finally:
            self.depth -= 1
            if shown and bar:
                self.target.finish()  # type: ignore[union-attr]

    def indented(self, prefix: str = "    ") -> Reporter:
        """A reporter for the sub-steps of a step: the same target, each line starting with ``prefix``."""
        return Reporter(None if self.target is None else _Prefixed(self.target, prefix))

    def each(self, items: Iterable[T], text: str, total: int | None = None) -> Iterator[T]:
        """``items`` one by one, counted as they are done (``total`` when ``items`` has no length)."""
        items = list(items) if total is None and not hasattr(items, "__len__") else items
        count = total if total is not None else len(items)  # type: ignore[arg-type]
        with self.counting(text, count) as advance:
            for item in items:
                yield item
                advance(1)


class _Prefixed:
    """A target whose lines and loop labels start with a prefix (sub-steps shown under their step)."""

    def __init__(self, target: Progress | Callable[[str], None], prefix: str) -> None:
        self.target, self.prefix = target, prefix

    def step(self, text: str) -> None:
        if isinstance(self.target, Progress):
            self.target.step(self.prefix + text)
        else:
            self.target(self.prefix + text)

    def start(self, text: str, total: int) -> None:
        if isinstance(self.target, Progress):
            self.target.start(self.prefix + text, total)
        else:
            self.target(f"{self.prefix}{text} ({total:,})")

    def advance(self, done: int = 1) -> None:
        if isinstance(self.target, Progress):
            self.target.advance(done)

    def finish(self) -> None:
        if isinstance(self.target, Progress):
            self.target.finish()


def quiet(progress: Progress | Callable[[str], None] | Reporter | None) -> Reporter:
    """A :class:`Reporter` for ``progress`` (itself when it is one); silent when the caller gave none."""
    return progress if isinstance(progress, Reporter) else Reporter(progress)


def _ignore(_: int = 1) -> None:
    return None
