"""Rewriting one text with a key, and carrying positions in it through the rewrite.

Replacing "Ingrid" by "[Person 1]" moves every later character by four places; a coding that started at
character 1,000 must start at 1,004 afterwards, or it no longer covers its passage. :class:`PositionMap`
takes an offset of the old text to the new one: offsets outside every replaced word move by what the
replacements before them added or removed; an offset inside a replaced word (a coder's selection that began
in the middle of a name) moves to the edge of its replacement - the start of a selection to the start of
the replacement, the end to its end - so that the selection covers the whole pseudonym rather than part
of it.

The key is applied until nothing of it is left: replacing "Halvor" inside "ÅseHalvor" (an entry that
matches anywhere) leaves "Åse" standing as a whole word, which another entry then replaces. Each pass has
its own map; :class:`PositionMap` carries an offset through all of them. A key that never settles (an
original that reappears at every pass) is refused.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from refi_bridge.errors import PseudonymisationError
from refi_bridge.privacy.key import Entry, Key, Match

PASSES = 8


class _Pass:
    """The map of one pass of the key over a text: old offsets to new ones."""

    __slots__ = ("old_starts", "old_ends", "new_starts", "new_ends")

    def __init__(self, matches: list[Match], lengths: list[int]) -> None:
        self.old_starts = [m.start for m in matches]
        self.old_ends = [m.end for m in matches]
        self.new_starts: list[int] = []
        self.new_ends: list[int] = []
        shift = 0
        for match, length in zip(matches, lengths):
            start = match.start + shift
            self.new_starts.append(start)
            self.new_ends.append(start + length)
            shift += length - (match.end - match.start)

    def move(self, offset: int, end: bool) -> tuple[int, bool]:
        """Where ``offset`` lands, and whether it fell strictly inside a replaced word."""
        i = bisect_right(self.old_starts, offset) - 1  # the last replacement starting at or before it
        if i < 0:
            return offset, False
        if offset == self.old_starts[i]:
            return self.new_starts[i], False
        if offset < self.old_ends[i]:
            return (self.new_ends[i] if end else self.new_starts[i]), True
        return offset + self.new_ends[i] - self.old_ends[i], False


class PositionMap:
    """Old offsets of a rewritten text to new ones, through every pass of the key (see the module)."""

    __slots__ = ("_passes",)

    def __init__(self, passes: list[_Pass] = ()) -> None:  # type: ignore[assignment]
        self._passes = list(passes)

    def __bool__(self) -> bool:
        return bool(self._passes)

    def _move(self, offset: int, end: bool) -> tuple[int, bool]:
        inside = False
        for step in self._passes:
            offset, snapped = step.move(offset, end)
            inside = inside or snapped
        return offset, inside

    def start(self, offset: int) -> int:
        """Where a start (of a selection; a sync point) at ``offset`` lands: inside a replaced word, at the
        start of its replacement."""
        return self._move(offset, False)[0]

    def end(self, offset: int) -> int:
        """Where an end at ``offset`` lands: inside a replaced word, at the end of its replacement."""
        return self._move(offset, True)[0]

    def inside(self, offset: int, end: bool = False) -> bool:
        """True when ``offset`` (a start, or an end with ``end``) fell strictly inside a replaced word and
        moved to an edge."""
        return self._move(offset, end)[1]


@dataclass(frozen=True, slots=True)
class Rewritten:
    """A text after the key: the new text, the matches in the old one, and the map of positions."""

    text: str
    matches: list[Match]
    positions: PositionMap


def rewrite_text(text: str, matches: list[Match], entries: tuple[Entry, ...]) -> str:
    """``text`` with each match replaced by its entry's replacement."""
    pieces = []
    position = 0
    for match in matches:
        pieces.append(text[position:match.start])
        pieces.append(entries[match.entry].replacement)
        position = match.end
    pieces.append(text[position:])
    return "".join(pieces)


def rewrite(text: str, key: Key) -> Rewritten:
    """Apply ``key`` to ``text`` until nothing of it is left; return the new text, every match of every pass
    (in the coordinates of its pass) and the map of positions.

    Raises:
        PseudonymisationError: an original still appears after :data:`PASSES` passes.
    """
    matches = key.find(text)
    if not matches:
        return Rewritten(text, matches, PositionMap())
    entries = key.entries
    found: list[Match] = []
    passes = []
    for _ in range(PASSES):
        found.extend(matches)
        passes.append(_Pass(matches, [len(entries[m.entry].replacement) for m in matches]))
        text = rewrite_text(text, matches, entries)
        matches = [] if key.settles else key.find(text)
        if not matches:
            return Rewritten(text, found, PositionMap(passes))
    left = entries[matches[0].entry]
    raise PseudonymisationError(f"key: {left.label} keeps reappearing where replacements meet the words around "
                                f"them (...{text[max(0, matches[0].start - 30):matches[0].end + 30]}...); change the "
                                "replacements next to it")
