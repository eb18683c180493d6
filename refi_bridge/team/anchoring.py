"""Re-anchoring: carry positions from one copy of a text to another that differs in small ways.

Tools change texts on the way: NVivo writes CR LF and a BOM, someone fixes a typo, an editor normalises
Unicode or whitespace. :class:`Alignment` maps an offset in the *old* text (a coder's copy) to the *new* one
(the master), and says whether a span landed exactly: its text, compared after normalisation, is the same.

Strategy, cheapest first: identical texts map to themselves; texts equal after normalisation (line breaks
unified, Unicode NFC) map through the normalisation; otherwise the normalised texts are aligned line by
line (patience alignment on lines that occur once, difflib only on small stretches between them) and,
inside changed lines, character by character (difflib), and offsets in changed stretches are moved to the
nearest aligned place. Every step is about linear in the length of the texts.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import unicodedata
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

_BREAKS = re.compile(r"\r\n|\r")
# -- above this many characters in one changed stretch, character alignment is not worth its cost --
_CHAR_LIMIT = 20_000
# -- difflib's cost on lines grows with the product of the two stretches' lengths (and more with blank lines) --
_LINE_PRODUCT_LIMIT = 250_000


def normalize(text: str) -> tuple[str, list[int]]:
    """The normalised text and, for each of its positions (and its end), the offset in ``text``.

    Normalisation: a leading BOM dropped, CR LF and lone CR made LF, Unicode NFC. A text already in NFC (nearly
    every text) is mapped stretch by stretch between line breaks, without a Python step per character.
    """
    start = 1 if text.startswith("\ufeff") else 0
    n = len(text)
    if unicodedata.is_normalized("NFC", text):
        origin: list[int] = []
        at = start
        for match in _BREAKS.finditer(text, start):
            origin.extend(range(at, match.start() + 1))  # the stretch, then the break's first character
            at = match.end()
        origin.extend(range(at, n + 1))
        return _BREAKS.sub("\n", text[start:]), origin
    out: list[str] = []
    origin = []
    i = start
    while i < n:
        ch = text[i]
        if ch == "\r":
            out.append("\n")
            origin.append(i)
            i += 2 if text.startswith("\r\n", i) else 1
            continue
        # -- a starter and its combining marks normalise together --
        j = i + 1
        while j < n and unicodedata.combining(text[j]):
            j += 1
        for piece in unicodedata.normalize("NFC", text[i:j]):
            out.append(piece)
            origin.append(i)
        i = j
    origin.append(n)
    return "".join(out), origin


def text_hash(text: str | None) -> str | None:
    """A hash of a text that ignores BOM, line-break style and Unicode normalisation form."""
    if text is None:
        return None
    body = text[1:] if text.startswith("\ufeff") else text
    body = unicodedata.normalize("NFC", _BREAKS.sub("\n", body))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Placement:
    """Where a span of the old text lands in the new one; ``exact`` when its text is unchanged."""

    start: int
    end: int
    exact: bool


class Alignment:
    """Maps offsets of ``old`` onto ``new``."""

    def __init__(self, old: str, new: str) -> None:
        self.old, self.new = old, new
        self.identical = old == new
        if self.identical:
            return
        self._old_norm, self._old_map = normalize(old)
        self._new_norm, self._new_map = normalize(new)
        self.same_after_normalising = self._old_norm == self._new_norm
        if self.same_after_normalising:
            return
        self._blocks = _matching_blocks(self._old_norm, self._new_norm)
        self._starts = [a for a, _, _ in self._blocks]

    def place(self, start: int, end: int) -> Placement:
        """Map the span ``[start, end)`` of the old text into the new text."""
        if self.identical:
            return Placement(start, end, True)
        s = _to_norm(self._old_map, start)
        e = _to_norm(self._old_map, end, up=True)
        if self.same_after_normalising:
            ns, ne = s, e
        else:
            ns, ne = self._map(s, after=False), self._map(e, after=True)
            ne = max(ne, ns)
        new_start, new_end = self._new_map[ns], self._new_map[ne]
        # -- a boundary between a letter and its combining accent has no place in the normalised text: the span
        #    moves to the whole character, so its text is not the one coded --
        exact = self._old_norm[s:e] == self._new_norm[ns:ne] and not _splits_character(self.old, start) \
            and not _splits_character(self.old, end)
        return Placement(new_start, new_end, exact)

    def _map(self, offset: int, after: bool) -> int:
        """A normalised old offset to a normalised new offset; outside aligned text, to the nearest edge."""
        index = bisect_right(self._starts, offset) - 1
        if index >= 0:
            a, b, size = self._blocks[index]
            if offset <= a + size:
                return b + (offset - a)
            if not after:
                # -- a start in a changed stretch moves forward, to where aligned text resumes --
                following = self._blocks[index + 1] if index + 1 < len(self._blocks) else None
                return following[1] if following else len(self._new_norm)
            return b + size
        first = self._blocks[0] if self._blocks else None
        return first[1] if first and not after else 0


def _to_norm(mapping: list[int], offset: int, up: bool = False) -> int:
    """The normalised position of a raw offset (a CR LF pair or an NFC cluster counts as one)."""
    index = bisect_right(mapping, offset) - 1
    if index < 0:
        return 0
    if up and mapping[index] < offset:
        return min(index + 1, len(mapping) - 1)
    return index


def _splits_character(text: str, offset: int) -> bool:
    """True when ``offset`` falls inside a combining sequence (between ``e`` and U+0301)."""
    return 0 < offset < len(text) and unicodedata.combining(text[offset]) != 0


def _matching_blocks(a: str, b: str) -> list[tuple[int, int, int]]:
    """Aligned stretches ``(a_start, b_start, size)``: lines first, then characters inside changed lines."""
    a_lines, b_lines = a.splitlines(keepends=True), b.splitlines(keepends=True)
    a_at, b_at = _line_starts(a_lines), _line_starts(b_lines)
    blocks: list[tuple[int, int, int]] = []
    i = j = 0
    for x, y, size in [*_line_blocks(a_lines, b_lines), (len(a_lines), len(b_lines), 0)]:
        if x > i and y > j:  # lines changed between two aligned stretches: align their characters
            chunk_a, chunk_b = a[a_at[i]:a_at[x]], b[b_at[j]:b_at[y]]
            if len(chunk_a) + len(chunk_b) <= _CHAR_LIMIT:
                inner = difflib.SequenceMatcher(None, chunk_a, chunk_b, autojunk=False)
                blocks.extend((a_at[i] + p, b_at[j] + q, k) for p, q, k in inner.get_matching_blocks() if k)
        if size:
            blocks.append((a_at[x], b_at[y], a_at[x + size] - a_at[x]))
        i, j = x + size, y + size
    return _merge_adjacent(blocks)


def _line_blocks(a: list[str], b: list[str]) -> list[tuple[int, int, int]]:
    """Aligned runs of equal lines ``(a_line, b_line, count)``, in order, in about linear time.

    Patience alignment: equal first and last lines are taken off, lines that occur once in each text anchor
    the rest (the longest run of them in the same order), and the stretches between anchors are aligned the
    same way. Only a stretch without such a line goes to difflib, and only when it is small: difflib compares
    every repeated line (a blank one) with all its copies, which made a long transcript quadratic.
    """
    found: list[tuple[int, int, int]] = []
    pending = [(0, len(a), 0, len(b))]
    while pending:
        a_lo, a_hi, b_lo, b_hi = pending.pop()
        head = 0
        while a_lo + head < a_hi and b_lo + head < b_hi and a[a_lo + head] == b[b_lo + head]:
            head += 1
        if head:
            found.append((a_lo, b_lo, head))
            a_lo, b_lo = a_lo + head, b_lo + head
        tail = 0
        while a_lo < a_hi - tail and b_lo < b_hi - tail and a[a_hi - tail - 1] == b[b_hi - tail - 1]:
            tail += 1
        if tail:
            found.append((a_hi - tail, b_hi - tail, tail))
            a_hi, b_hi = a_hi - tail, b_hi - tail
        if a_lo == a_hi or b_lo == b_hi:
            continue
        anchors = _unique_anchors(a, a_lo, a_hi, b, b_lo, b_hi)
        if anchors:
            x, y = a_lo, b_lo
            for p, q in anchors:
                pending.append((x, p, y, q))
                found.append((p, q, 1))
                x, y = p + 1, q + 1
            pending.append((x, a_hi, y, b_hi))
        elif (a_hi - a_lo) * (b_hi - b_lo) <= _LINE_PRODUCT_LIMIT:
            matcher = difflib.SequenceMatcher(None, a[a_lo:a_hi], b[b_lo:b_hi], autojunk=False)
            found.extend((a_lo + p, b_lo + q, k) for p, q, k in matcher.get_matching_blocks() if k)
    return sorted(found)


def _unique_anchors(a, a_lo, a_hi, b, b_lo, b_hi) -> list[tuple[int, int]]:
    """Lines occurring exactly once in each stretch, as ``(a_line, b_line)``: the longest series of them whose
    order agrees in both texts."""
    counts: dict[str, list[int]] = {}
    for index in range(a_lo, a_hi):
        entry = counts.setdefault(a[index], [0, index, 0, -1])
        entry[0] += 1
    for index in range(b_lo, b_hi):
        entry = counts.get(b[index])
        if entry is not None:
            entry[2] += 1
            entry[3] = index
    pairs = sorted((p, q) for count, p, other, q in counts.values() if count == 1 and other == 1)
    # -- longest increasing run of b positions (patience sorting), in O(k log k) --
    tails: list[int] = []
    tail_at: list[int] = []
    previous = [-1] * len(pairs)
    for k, (_, q) in enumerate(pairs):
        place = bisect_left(tails, q)
        if place == len(tails):
            tails.append(q)
            tail_at.append(k)
        else:
            tails[place] = q
            tail_at[place] = k
        previous[k] = tail_at[place - 1] if place else -1
    chain = []
    k = tail_at[-1] if tail_at else -1
    while k >= 0:
        chain.append(pairs[k])
        k = previous[k]
    return chain[::-1]


def _line_starts(lines: list[str]) -> list[int]:
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    return starts


def _merge_adjacent(blocks: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    merged: list[tuple[int, int, int]] = []
    for a, b, size in sorted(blocks):
        if merged:
            pa, pb, ps = merged[-1]
            if pa + ps == a and pb + ps == b:
                merged[-1] = (pa, pb, ps + size)
                continue
        merged.append((a, b, size))
    return merged
