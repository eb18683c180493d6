"""Re-anchoring: carry positions from one copy of a text to another that differs in small ways.

Tools change texts on the way: NVivo writes CR LF and a BOM, someone fixes a typo, an editor normalises
Unicode or whitespace. :class:`Alignment` maps an offset in the *old* text (a coder's copy) to the *new* one
(the master), and says whether a span landed exactly: its text, compared after normalisation, is the same.

Strategy, cheapest first: identical texts map to themselves; texts equal after normalisation (line breaks
unified, Unicode NFC) map through the normalisation; otherwise the normalised texts are aligned line by
line and, inside changed lines, character by character (difflib), and offsets in changed stretches are
moved to the nearest aligned place.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass

_BREAKS = re.compile(r"\r\n|\r")
# -- above this many characters in one changed stretch, character alignment is not worth its cost --
_CHAR_LIMIT = 20_000


def normalize(text: str) -> tuple[str, list[int]]:
    """The normalised text and, for each of its positions (and its end), the offset in ``text``.

    Normalisation: a leading BOM dropped, CR LF and lone CR made LF, Unicode NFC.
    """
    out: list[str] = []
    origin: list[int] = []
    start = 1 if text.startswith("\ufeff") else 0
    i, n = start, len(text)
    nfc = unicodedata.is_normalized("NFC", text)
    while i < n:
        ch = text[i]
        if ch == "\r":
            out.append("\n")
            origin.append(i)
            i += 2 if text.startswith("\r\n", i) else 1
            continue
        if nfc:
            out.append(ch)
            origin.append(i)
            i += 1
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
        exact = self._old_norm[s:e] == self._new_norm[ns:ne]
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


def _matching_blocks(a: str, b: str) -> list[tuple[int, int, int]]:
    """Aligned stretches ``(a_start, b_start, size)``: lines first, then characters inside changed lines."""
    a_lines, b_lines = a.splitlines(keepends=True), b.splitlines(keepends=True)
    a_at, b_at = _line_starts(a_lines), _line_starts(b_lines)
    blocks: list[tuple[int, int, int]] = []
    matcher = difflib.SequenceMatcher(None, a_lines, b_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            blocks.append((a_at[i1], b_at[j1], a_at[i2] - a_at[i1]))
        elif tag == "replace":
            chunk_a, chunk_b = a[a_at[i1]:a_at[i2]], b[b_at[j1]:b_at[j2]]
            if len(chunk_a) + len(chunk_b) > _CHAR_LIMIT:
                continue
            inner = difflib.SequenceMatcher(None, chunk_a, chunk_b, autojunk=False)
            for x, y, size in inner.get_matching_blocks():
                if size:
                    blocks.append((a_at[i1] + x, b_at[j1] + y, size))
    return _merge_adjacent(blocks)


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
