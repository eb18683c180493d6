"""Text position units: converting each tool's offsets to code points and back, and telling which unit a file uses.

REFI-QDA says positions count Unicode code points from 0. Tools differ (see docs/dialects.md):

``codepoint``      code points of the text as stored, BOM not counted, CR LF counts two (the standard; qc,
                   MAXQDA, QualCoder, and refi_bridge itself)
``utf16``          UTF-16 code units of the text as stored: a character above U+FFFF (an emoji) counts two
                   (NVivo for Windows and for Mac, measured on the corpus)
``codepoint-lf``   code points with every CR LF counted once (ATLAS.ti, from QualCoder's importer; unmeasured)

The model stores ``codepoint``. :class:`OffsetMap` converts between units for one text, and
:func:`decide_unit` picks the unit of a whole file from its origin, confirmed by where selection edges fall:
a coder rarely starts or ends a selection inside a word, so the right unit puts edges on word boundaries.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

from refi_bridge.model import AudioSource, PDFSource, PictureSource, TextSource, Transcript, VideoSource

CODEPOINT = "codepoint"
UTF16 = "utf16"
CODEPOINT_LF = "codepoint-lf"
UNITS = (CODEPOINT, UTF16, CODEPOINT_LF)

UNIT_LABELS = {
    CODEPOINT: "code points",
    UTF16: "UTF-16 code units",
    CODEPOINT_LF: "code points, CR LF counted once",
}

_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


class OffsetMap:
    """Converts offsets into one text between code points and the other units.

    Only the places where units diverge are stored: characters above U+FFFF and CR LF pairs, so a text
    without them converts at no cost.
    """

    __slots__ = ("length", "_astral_cp", "_astral_u16", "_crlf_cp", "_crlf_lf")

    def __init__(self, text: str) -> None:
        self.length = len(text)
        astral = [m.start() for m in _ASTRAL.finditer(text)] if not text.isascii() else []
        self._astral_cp = astral
        # -- where each astral character starts in UTF-16 units: every earlier one added a unit --
        self._astral_u16 = [cp + i for i, cp in enumerate(astral)]
        crlf = [m.start() for m in re.finditer("\r\n", text)] if "\r" in text else []
        self._crlf_cp = crlf
        self._crlf_lf = [cp - i for i, cp in enumerate(crlf)]

    def diverges(self, unit: str) -> bool:
        """True when some offset of this text differs between ``unit`` and code points."""
        if unit == UTF16:
            return bool(self._astral_cp)
        if unit == CODEPOINT_LF:
            return bool(self._crlf_cp)
        return False

    def length_in(self, unit: str) -> int:
        """The length of the text counted in ``unit``."""
        return self.from_codepoint(self.length, unit)

    def to_codepoint(self, offset: int, unit: str, *, round_up: bool = False) -> int:
        """Convert ``offset`` counted in ``unit`` into a code point offset.

        An offset that falls inside a character (between the two halves of a surrogate pair, or between CR
        and LF when they count once) is moved to that character's start, or its end with ``round_up``.
        """
        if unit == CODEPOINT:
            return offset
        if unit == UTF16:
            starts = self._astral_u16
            before = bisect_left(starts, offset)  # astral characters that start before `offset`
            if before and offset == starts[before - 1] + 1:  # inside a surrogate pair
                return offset - before + (1 if round_up else 0)
            return offset - before
        if unit == CODEPOINT_LF:
            starts = self._crlf_lf
            # -- each CR LF pair starting before `offset` hides one code point --
            return offset + bisect_left(starts, offset)
        raise ValueError(f"unknown position unit {unit!r}; expected one of {', '.join(UNITS)}")

    def from_codepoint(self, offset: int, unit: str) -> int:
        """Convert a code point offset into ``unit``."""
        if unit == CODEPOINT:
            return offset
        if unit == UTF16:
            return offset + bisect_left(self._astral_cp, offset)
        if unit == CODEPOINT_LF:
            # -- a pair fully before `offset` counts one unit less; an offset between CR and LF stays on CR --
            return offset - bisect_right(self._crlf_cp, offset - 2)
        raise ValueError(f"unknown position unit {unit!r}; expected one of {', '.join(UNITS)}")


def on_boundary(text: str, offset: int) -> bool:
    """True when ``offset`` does not cut a word in two (text edges count as boundaries)."""
    if offset <= 0 or offset >= len(text):
        return 0 <= offset <= len(text)
    return not (text[offset - 1].isalnum() and text[offset].isalnum())


@dataclass(frozen=True)
class UnitDecision:
    """The unit chosen for a file, the evidence for it, and a warning when the choice is not certain."""

    unit: str
    evidence: str
    warning: str | None = None


def expected_unit(origin: str | None) -> str | None:
    """The unit a producing tool is known to write, from the ``origin`` attribute; None when not known."""
    text = (origin or "").lower()
    if "nvivo" in text:
        return UTF16
    if "atlas.ti" in text:
        return CODEPOINT_LF
    if any(tool in text for tool in ("maxqda", "qualcoder", "qc ", "taguette", "refi_bridge", "quirkos")):
        return CODEPOINT
    return None


def decide_unit(origin: str | None,
                texts: Iterable[tuple[str, Sequence[tuple[int, int]]]],
                *, sample: int = 20000) -> UnitDecision:
    """Decide the position unit of a file from its origin and its selection edges.

    ``texts`` yields, for every text that has selections, the text and its selections' raw
    ``(startPosition, endPosition)``. Only edges whose meaning differs between units are evidence; when
    there are none the units agree and the origin's unit is used without doubt.
    """
    expected = expected_unit(origin)
    fits = {unit: 0 for unit in UNITS}
    deciding = 0
    # -- a unit that reads like code points on every text of the file is not a rival --
    candidates = {CODEPOINT} | ({expected} if expected else set())
    for text, spans in texts:
        offsets = OffsetMap(text)
        active = [unit for unit in UNITS if offsets.diverges(unit)]
        if not active:
            continue
        candidates.update(active)
        for start, end in spans:
            for edge, up in ((start, False), (end, True)):
                converted = {unit: offsets.to_codepoint(edge, unit, round_up=up) for unit in UNITS}
                if len(set(converted.values())) == 1:
                    continue
                deciding += 1
                for unit, cp in converted.items():
                    if 0 <= cp <= len(text) and on_boundary(text, cp):
                        fits[unit] += 1
            if deciding >= sample:
                break
        if deciding >= sample:
            break

    origin_label = f"origin {origin!r}" if origin else "no origin"
    fallback = expected or CODEPOINT
    if deciding == 0:
        why = (f"{origin_label} implies {UNIT_LABELS[fallback]}" if expected
               else f"{origin_label}: unknown tool, the standard's {UNIT_LABELS[CODEPOINT]} assumed")
        return UnitDecision(fallback, why + "; no selection edge reads differently in another unit")

    share = {unit: fits[unit] / deciding for unit in UNITS}
    ranked = sorted(candidates, key=lambda unit: (-share[unit], unit != fallback, unit))
    best, runner_up = ranked[0], ranked[1]
    summary = ", ".join(f"{UNIT_LABELS[u]} {share[u]:.0%}" for u in ranked)
    detail = f"{deciding} selection edges read differently by unit; on word boundaries: {summary}"
    decisive = deciding >= 5 and share[best] - share[runner_up] > 0.10
    if expected is not None and share[expected] >= share[best] - 0.10:
        return UnitDecision(expected, f"{origin_label} implies {UNIT_LABELS[expected]}, confirmed: {detail}")
    if decisive:
        if expected is None:
            return UnitDecision(best, f"{origin_label}: unknown tool; the boundary check decides: {detail}")
        warning = (f"text positions read as {UNIT_LABELS[best]}, not the {UNIT_LABELS[expected]} that "
                   f"{origin_label} implies, because they fit word boundaries better ({detail})")
        return UnitDecision(best, f"boundary check overrides {origin_label}: {detail}", warning)
    warning = (f"cannot tell the text position unit ({detail}); assumed {UNIT_LABELS[fallback]}. "
               "Check a few coded passages with `refi-bridge export` before relying on them")
    return UnitDecision(fallback, f"undecided, assumed: {detail}", warning)


def text_owners(sources: Iterable, notes: Iterable = ()) -> Iterator:
    """Every object whose text PlainTextSelections index: text sources, PDF representations (also those of
    PDF selections), pictures' text descriptions, and notes."""
    for source in sources:
        if isinstance(source, TextSource):
            yield source
        elif isinstance(source, PDFSource):
            if source.representation is not None:
                yield source.representation
            for selection in source.selections:
                if selection.representation is not None:
                    yield selection.representation
        elif isinstance(source, PictureSource) and source.text_description is not None:
            yield source.text_description
    yield from notes


def positions_to_codepoints(source, unit: str):
    """The same source with every text position counted in ``unit`` converted to code points.

    Objects whose text reads the same in both units are returned as they are, so a file without emoji or
    CR LF costs nothing to convert.
    """
    if unit == CODEPOINT:
        return source
    if isinstance(source, TextSource):
        return _convert_owner(source, unit)
    if isinstance(source, PDFSource):
        selections = tuple(replace(s, representation=_convert_owner(s.representation, unit))
                           if s.representation is not None else s for s in source.selections)
        representation = (_convert_owner(source.representation, unit)
                          if source.representation is not None else None)
        return replace(source, selections=selections, representation=representation)
    if isinstance(source, PictureSource) and source.text_description is not None:
        return replace(source, text_description=_convert_owner(source.text_description, unit))
    if isinstance(source, (AudioSource, VideoSource)) and source.transcripts:
        return replace(source, transcripts=tuple(_convert_transcript(t, unit) for t in source.transcripts))
    return source


def _convert_owner(owner, unit: str):
    if owner.text is None or not owner.selections:
        return owner
    offsets = OffsetMap(owner.text)
    if not offsets.diverges(unit):
        return owner
    to = offsets.to_codepoint
    return replace(owner, selections=tuple(
        replace(s, start=to(s.start, unit), end=to(s.end, unit, round_up=True)) for s in owner.selections))


def _convert_transcript(transcript: Transcript, unit: str) -> Transcript:
    if transcript.text is None or not transcript.sync_points:
        return transcript
    offsets = OffsetMap(transcript.text)
    if not offsets.diverges(unit):
        return transcript
    return replace(transcript, sync_points=tuple(
        replace(p, position=offsets.to_codepoint(p.position, unit)) if p.position is not None else p
        for p in transcript.sync_points))
