"""The text a PDF selection stands for: its place in the PDF's ``Representation`` text.

A ``PDFSource`` carries its text as a plain-text ``Representation``. A text selection on the
Representation is text like any other. An area selection (``PDFSelection``: a rectangle on a page) has no
offsets, but ATLAS.ti says which text it quotes: it writes the quotation's first (up to 70) characters as
the selection's ``name``, the *excerpt*; ATLAS.ti 8 also writes the quoted text as the selection's own
``Representation`` and a text-selection twin with the selection's GUID. :func:`anchor` turns that into a
:class:`PDFText` per area selection: start and end in the source's Representation, the text there, and
where it came from (``origin``). Nothing is guessed:

1. ``twin``: a text selection on the Representation with the same GUID: its span.
2. ``own representation``: the selection's own Representation text, found once in the source's text.
3. ``excerpt``: the excerpt found once; the span is the excerpt's (the start of the quotation; REFI-QDA
   keeps no end for an area, so the rest of the quotation is not claimed).
4. ``excerpt by page order``: an excerpt found several times (the same question heads every interview),
   placed only when the order of the pages decides between the places. Quotations follow the text in
   reading order, so a quotation that begins part-way down page p begins after every quotation found once
   that begins above it, and before every one that begins below it or on a later page. The reading
   direction (which y is up) is read off the quotations found once, and if neither direction agrees with
   them, order is not used. A quotation over several pages is written as one selection per page with the
   same excerpt and codes; pieces that begin at the top of a page continue the one on the page before
   (their origin reads ``..., continued``) and stand for the same text.
   ATLAS.ti 9 leaves out the first page's piece of some such quotations (measured on a corpus file: the
   answer that follows a question begins on the page before the question's first piece), so a piece at the
   top of page p is taken to begin on page p or p - 1, never earlier.
5. Otherwise the selection has no span, and ``origin`` says why (``not found``, ``ambiguous``, ``no
   excerpt``); the codings table and the agreement report show these, and agreement measures the area as a
   region instead.

Matching ignores whitespace (ATLAS.ti writes a line break of the text as a space, or nothing, in the
excerpt) and a trailing ellipsis.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from dataclasses import dataclass

from refi_bridge.model import PDFSelection, PDFSource, PlainTextSelection, guid_key

__all__ = ["PDFText", "anchor", "ANCHORED"]

# -- an excerpt shorter than this (whitespace aside) could be found once by chance: it anchors nothing --
MIN_EXCERPT = 10
# -- a piece whose top edge lies within this many units of the highest top of the document begins at the top
#    of its page (PDF points: a third of a line of 12-point text) --
TOP_TOLERANCE = 4.0

ANCHORED = ("twin", "own representation", "excerpt", "excerpt by page order", "excerpt, continued",
            "excerpt by page order, continued")


@dataclass(frozen=True)
class PDFText:
    """Where an area selection lies in its PDF's Representation text (``start``/``end`` code point
    offsets, end exclusive) and the ``text`` there; ``origin`` is one of :data:`ANCHORED` or says why there
    is no span; ``note`` adds detail (how many places, the page a quotation continues from)."""

    start: int | None
    end: int | None
    text: str | None
    origin: str
    note: str = ""

    @property
    def anchored(self) -> bool:
        return self.start is not None

    def describe(self) -> str:
        """The origin, and for a selection without a span the reason (a short, filterable phrase)."""
        return f"{self.origin}: {self.note}" if self.note and not self.anchored else self.origin


class _Squeezed:
    """A text with its whitespace removed, and the way back to the original offsets."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.index = [i for i, ch in enumerate(text) if not ch.isspace()]
        self.squeezed = "".join(text[i] for i in self.index)

    def find_all(self, needle: str) -> list[tuple[int, int]]:
        """Every place of ``needle`` (whitespace ignored) as (start, end) in the original text."""
        key = _squeeze(needle)
        if not key:
            return []
        out, at = [], self.squeezed.find(key)
        while at >= 0:
            out.append((self.index[at], self.index[at + len(key) - 1] + 1))
            at = self.squeezed.find(key, at + 1)
        return out


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text.rstrip().removesuffix("…").removesuffix("..."))


@dataclass
class _Piece:
    selection: PDFSelection
    key: tuple
    places: list[tuple[int, int]]
    top: float = 0.0
    at_top: bool = False
    head: _Piece | None = None   # the first piece of the quotation this one continues


def anchor(source: PDFSource) -> dict[str, PDFText]:
    """A :class:`PDFText` for every area selection of ``source``, keyed by :func:`guid_key` of its GUID."""
    text = source.representation.text if source.representation is not None else None
    out: dict[str, PDFText] = {}
    if text is None:
        for selection in source.selections:
            out[guid_key(selection.guid)] = PDFText(None, None, None, "no text", "the PDF has no Representation text")
        return out
    squeezed = _Squeezed(text)
    twins = {guid_key(s.guid): s for s in source.representation.selections if isinstance(s, PlainTextSelection)}
    pieces: list[_Piece] = []
    for selection in source.selections:
        key = guid_key(selection.guid)
        twin = twins.get(key)
        if twin is not None and 0 <= twin.start <= twin.end <= len(text):
            out[key] = PDFText(twin.start, twin.end, text[twin.start:twin.end], "twin")
            continue
        own = selection.representation.text if selection.representation is not None else None
        if own and len(_squeeze(own)) >= MIN_EXCERPT:
            places = squeezed.find_all(own)
            if len(places) == 1:
                start, end = places[0]
                out[key] = PDFText(start, end, text[start:end], "own representation")
                continue
        name = selection.name or ""
        if len(_squeeze(name)) < MIN_EXCERPT:
            out[key] = PDFText(None, None, own or None, "no excerpt",
                               "the selection's name is too short to be an excerpt of the text" if name
                               else "the selection has no name")
            continue
        codings = frozenset((guid_key(c.code_guid), guid_key(c.creating_user or selection.creating_user or ""))
                            for c in selection.codings)
        pieces.append(_Piece(selection, (_squeeze(name), codings), squeezed.find_all(name)))
    _place(pieces, text, out)
    return out


def _place(pieces: list[_Piece], text: str, out: dict[str, PDFText]) -> None:
    """Anchor excerpts: those found once directly, the others by page order where it decides."""
    downward = _reading_direction(pieces)
    if downward is not None:
        _link(pieces, downward)
    anchors = _anchors(pieces, downward)
    for piece in pieces:
        head = piece.head or piece
        found = _locate(head, anchors, downward)
        key = guid_key(piece.selection.guid)
        if isinstance(found, str):
            out[key] = PDFText(None, None, None, *found.split(": ", 1))
            continue
        start, end, origin = found
        if piece.head is not None:
            out[key] = PDFText(start, end, text[start:end], f"{origin}, continued",
                               f"continues the quotation that begins on page {head.selection.page}")
        else:
            out[key] = PDFText(start, end, text[start:end], origin)


def _top(selection: PDFSelection, downward: bool) -> float:
    """The top edge as a number that grows down the page."""
    if downward:  # y grows up the page (PDF's own bottom-left origin)
        return -max(selection.first_y, selection.second_y)
    return min(selection.first_y, selection.second_y)


def _reading_key(piece: _Piece) -> tuple:
    selection = piece.selection
    return (selection.page, piece.top, min(selection.first_x, selection.second_x))


def _reading_direction(pieces: list[_Piece]) -> bool | None:
    """True when y grows up the page, False when down, None when the excerpts found once do not tell: the
    direction under which their offsets rise in reading order far more often than they fall."""
    unique = [p for p in pieces if len(p.places) == 1]
    falls = {}
    for downward in (True, False):
        ordered = sorted(unique, key=lambda p: (p.selection.page, _top(p.selection, downward),
                                                min(p.selection.first_x, p.selection.second_x)))
        falls[downward] = sum(1 for a, b in zip(ordered, ordered[1:]) if b.places[0][0] < a.places[0][0])
    if falls[True] == falls[False]:
        return None
    better = falls[True] < falls[False]
    # -- continuation pieces fall in either direction; the right one must be clearly better --
    if 4 * falls[better] > falls[not better]:
        return None
    for piece in pieces:
        piece.top = _top(piece.selection, better)
    return better


def _link(pieces: list[_Piece], downward: bool) -> None:
    """Mark the pieces that begin at the top of their page, and tie each to the piece on the page before
    that has the same excerpt and codes (the quotation it continues)."""
    highest = min(p.top for p in pieces) if pieces else 0.0
    by_page: dict[tuple, list[_Piece]] = defaultdict(list)
    for piece in pieces:
        piece.at_top = piece.top <= highest + TOP_TOLERANCE
        by_page[(piece.key, piece.selection.page)].append(piece)
    for piece in sorted(pieces, key=lambda p: p.selection.page):
        if not piece.at_top:
            continue
        before = by_page.get((piece.key, piece.selection.page - 1), [])
        if len(before) == 1:
            piece.head = before[0].head or before[0]


def _anchors(pieces: list[_Piece], downward: bool | None) -> list[tuple[tuple, int]] | None:
    """Reading position and start offset of every quotation that begins part-way down a page with an
    excerpt found once; None when they do not rise in reading order (then order decides nothing)."""
    if downward is None:
        return None
    anchors = sorted((_reading_key(p), p.places[0][0]) for p in pieces
                     if p.head is None and not p.at_top and len(p.places) == 1)
    if any(b[1] < a[1] for a, b in zip(anchors, anchors[1:])):
        return None
    return anchors


def _locate(head: _Piece, anchors, downward) -> tuple[int, int, str] | str:
    places = head.places
    if len(places) == 1:
        return (*places[0], "excerpt")
    if not places:
        return "not found: the excerpt (the selection's name) is not in the PDF's text"
    why = f"ambiguous: the excerpt occurs {len(places)} times"
    if anchors is None:
        return why + " and the order of the pages does not decide"
    keys = [a[0] for a in anchors]
    position = _reading_key(head)
    below = bisect.bisect_left(keys, position)
    above = bisect.bisect_right(keys, position)
    high = min((offset for _, offset in anchors[above:]), default=None)
    if head.at_top:
        # -- begins on this page or the one before: after every quotation of two pages back --
        page = head.selection.page
        low = max((offset for key, offset in anchors if key[0] <= page - 2), default=None)
    else:
        low = max((offset for _, offset in anchors[:below]), default=None)
    fits = [p for p in places if (low is None or p[0] >= low) and (high is None or p[0] <= high)]
    if len(fits) == 1:
        return (*fits[0], "excerpt by page order")
    return why + (f"; {len(fits)} of them fit the order of the pages" if fits
                  else "; none fits the order of the pages")
