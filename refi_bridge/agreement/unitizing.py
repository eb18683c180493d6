"""Krippendorff's unitizing alphas (Krippendorff et al. 2016; Krippendorff 2019, section 12.6), as ATLAS.ti uses them.

Coders mark units on a continuum (the characters of a text): each coder's units of one variable and the
gaps between them partition the continuum. The coincidence of values over the continuum gives

* ``u_alpha``: agreement on where units are and which value they have (nominal);
* ``u_alpha(binary=True)``, written |uα: agreement on which matter is relevant at all;
* ``cu_alpha``: agreement on the values where the coders both marked units (coding given unitizing);
* ``k_u_alpha``: cuα for one value.

Inputs: ``coders`` holds one list per coder of ``(start, end, value)`` half-open segments; ``continuum`` is
``(begin, end)``. One coder's overlapping segments of the same value are united first; touching ones stay
separate units (the published example needs that). Several documents are pooled by summing their
coincidences (:class:`Tally`). Confirmed against Krippendorff (2019) Fig. 12.11: uα .510, |uα .413, cuα
.724.

With three or more coders the published example does not decide between two readings of cuα's correction
term W*_c (see :data:`CU_READINGS`); the caller chooses with ``reading=`` and the report states the one used.
With two coders both readings are the same number.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from refi_bridge.errors import UndefinedCoefficientError

__all__ = ["u_alpha", "cu_alpha", "k_u_alpha", "Tally", "unite", "alpha_u_1995", "CU_READINGS"]

GAP = None  # the value of matter no coder marked

# -- the two readings of cu-alpha's correction W*_c for a unit g of coder i, with a_gj its overlap with coder
#    j's units: "pairsum" sums a_gj^2 / (m - 1) over the other coders j (the reading of the 2016 paper by an
#    independent implementation, our default); "meansq" squares the mean overlap, (sum_j a_gj / (m - 1))^2 --
CU_READINGS = ("pairsum", "meansq")

Segment = tuple[int, int, Hashable]


def unite(segments: Sequence[Segment]) -> list[Segment]:
    """One coder's segments with overlapping same-value segments united (touching ones kept apart)."""
    by_value: dict[Hashable, list[tuple[int, int]]] = defaultdict(list)
    for start, end, value in segments:
        if end < start:
            raise ValueError(f"segment ({start}, {end}) ends before it starts")
        if end > start:
            by_value[value].append((start, end))
    out: list[Segment] = []
    for value, spans in by_value.items():
        spans.sort()
        current_start, current_end = spans[0]
        for start, end in spans[1:]:
            if start < current_end:  # overlap: one unit; start == end of the last is a touching new unit
                current_end = max(current_end, end)
            else:
                out.append((current_start, current_end, value))
                current_start, current_end = start, end
        out.append((current_start, current_end, value))
    return sorted(out, key=lambda s: (s[0], s[1]))


def _partition(segments: Sequence[Segment], begin: int, end: int) -> list[Segment]:
    """Units and the gaps between them, covering [begin, end); overlapping values are not a partition."""
    units = unite(segments)
    out: list[Segment] = []
    position = begin
    for start, stop, value in units:
        if start < begin or stop > end:
            raise ValueError(f"segment ({start}, {stop}) lies outside the continuum ({begin}, {end})")
        if start < position:
            raise UndefinedCoefficientError(
                "a coder's units of different values overlap, so they do not partition the continuum; "
                "unitizing alpha needs mutually exclusive values (compute |u-alpha per code instead)")
        if start > position:
            out.append((position, start, GAP))
        out.append((start, stop, value))
        position = stop
    if position < end:
        out.append((position, end, GAP))
    return out


def _overlaps(first: list[Segment], second: list[Segment]):
    """Yield (index in first, index in second, length) for every overlapping pair of two partitions."""
    i = j = 0
    while i < len(first) and j < len(second):
        a_start, a_end, _ = first[i]
        b_start, b_end, _ = second[j]
        length = min(a_end, b_end) - max(a_start, b_start)
        if length > 0:
            yield i, j, length
        if a_end <= b_end:
            i += 1
        else:
            j += 1


@dataclass
class Tally:
    """Coincidences of one or more continua, added up; the alphas are computed from the totals.

    ``observed[(c, k)]`` is l_ck, ``self_pairs[c]`` is W_c (units weigh |g|^2, gaps |g|), and the cu
    counterparts restrict to matter two coders both marked as units.
    """

    total: float = 0.0
    observed: dict[tuple, float] = field(default_factory=lambda: defaultdict(float))
    self_pairs: dict[Hashable, float] = field(default_factory=lambda: defaultdict(float))
    cu_self_pairs: dict[Hashable, float] = field(default_factory=lambda: defaultdict(float))
    cu_self_pairs_meansq: dict[Hashable, float] = field(default_factory=lambda: defaultdict(float))

    def add(self, coders: Sequence[Sequence[Segment]], continuum: tuple[int, int]) -> Tally:
        """Add one continuum coded by ``coders`` (a list of segment lists, one per coder)."""
        begin, end = continuum
        m = len(coders)
        if m < 2:
            raise UndefinedCoefficientError("unitizing alpha needs at least two coders")
        # -- continua may be coded by different numbers of coders: each adds its own coincidences --
        partitions = [_partition(segments, begin, end) for segments in coders]
        self.total += m * (end - begin)
        for partition in partitions:
            for start, stop, value in partition:
                length = stop - start
                self.self_pairs[value] += length if value is GAP else length * length
        for i in range(m):
            # -- for cu-alpha: each unit's overlap with every other coder's units ("pairsum") --
            overlap_with = [defaultdict(float) for _ in range(m)]
            for j in range(m):
                if i == j:
                    continue
                for a, b, length in _overlaps(partitions[i], partitions[j]):
                    c, k = partitions[i][a][2], partitions[j][b][2]
                    self.observed[(c, k)] += length / (m - 1)
                    if c is not GAP and k is not GAP:
                        overlap_with[j][a] += length
            mean_overlap: dict[int, float] = defaultdict(float)
            for j in range(m):
                for a, length in overlap_with[j].items():
                    self.cu_self_pairs[partitions[i][a][2]] += length * length / (m - 1)
                    mean_overlap[a] += length / (m - 1)
            for a, length in mean_overlap.items():
                self.cu_self_pairs_meansq[partitions[i][a][2]] += length * length
        return self

    # -- the coefficients ---------------------------------------------------------------------------------

    def u_alpha(self, binary: bool = False) -> float:
        if self.total == 0:
            raise UndefinedCoefficientError("the continuum is empty")
        margins: dict = defaultdict(float)
        for (c, _), value in self.observed.items():
            margins[c] += value
        weight = sum(self.self_pairs.values())
        denominator = self.total - weight / self.total
        if binary:
            units = sum(v for c, v in margins.items() if c is not GAP)
            gaps = margins.get(GAP, 0.0)
            observed = sum(v for (c, k), v in self.observed.items() if (c is GAP) != (k is GAP))
            expected = 2 * gaps * units / denominator if denominator else 0.0
            what = "|u-alpha"
        else:
            observed = sum(v for (c, k), v in self.observed.items() if c != k)
            expected = sum(margins[c] * margins[k] for c in margins for k in margins if c != k) / denominator \
                if denominator else 0.0
            what = "u-alpha"
        if expected <= 0:
            raise UndefinedCoefficientError(f"{what} is undefined: no disagreement can be expected, because all "
                                            "the continuum carries one value (all unmarked, or all one code)")
        return 1.0 - observed / expected

    def _cu_weights(self, reading: str) -> dict[Hashable, float]:
        if reading not in CU_READINGS:
            raise ValueError(f"reading must be one of {', '.join(CU_READINGS)}; got {reading!r}")
        return self.cu_self_pairs if reading == "pairsum" else self.cu_self_pairs_meansq

    def _cu(self, reading: str) -> tuple[dict, dict, float, float]:
        weights = self._cu_weights(reading)
        cells = {(c, k): v for (c, k), v in self.observed.items() if c is not GAP and k is not GAP}
        margins: dict = defaultdict(float)
        for (c, _), value in cells.items():
            margins[c] += value
        total = sum(cells.values())
        if total == 0:
            raise UndefinedCoefficientError("cu-alpha is undefined: no two coders marked any matter in common")
        weight = sum(weights.values())
        denominator = total - weight / total
        if denominator <= 0:
            # -- the matter coders both marked is one stretch of one unit pair: nothing to expect by chance --
            raise UndefinedCoefficientError("cu-alpha is undefined: where coders' units meet there is too little "
                                            "to pair by chance (a single overlap)")
        return cells, margins, total, denominator

    def cu_alpha(self, reading: str = "pairsum") -> float:
        """cuα with the correction term read as ``reading`` (one of :data:`CU_READINGS`)."""
        cells, margins, _, denominator = self._cu(reading)
        if len(margins) < 2:
            raise UndefinedCoefficientError("cu-alpha is undefined: where coders' units meet, only one value "
                                            "occurs, so there is no coding to disagree on")
        observed = sum(v for (c, k), v in cells.items() if c != k)
        expected = sum(margins[c] * margins[k] for c in margins for k in margins if c != k) / denominator
        if expected <= 0:
            raise UndefinedCoefficientError("cu-alpha is undefined: no disagreement can be expected")
        return 1.0 - observed / expected

    def k_u_alpha(self, value: Hashable, reading: str = "pairsum") -> float:
        cells, margins, _, denominator = self._cu(reading)
        weights = self._cu_weights(reading)
        own = margins.get(value, 0.0)
        if own == 0:
            raise UndefinedCoefficientError(f"(k)u-alpha of {value!r} is undefined: no other coder's unit meets "
                                            "a unit of this value")
        expected_row = {k: (own * margins[k] - (weights[value] if k == value else 0.0)) / denominator
                        for k in margins}
        expected_k = sum(expected_row.values())
        off = expected_k - expected_row[value]
        if off <= 0:
            raise UndefinedCoefficientError(f"(k)u-alpha of {value!r} is undefined: no disagreement can be expected")
        return 1.0 - (expected_k / own) * (own - cells.get((value, value), 0.0)) / off

    def coverage(self, value: Hashable | None = None) -> float:
        """Share of pairable matter that cu-alpha (of ``value``) rests on."""
        cells = {(c, k): v for (c, k), v in self.observed.items() if c is not GAP and k is not GAP}
        if value is None:
            return sum(cells.values()) / self.total if self.total else 0.0
        row = sum(v for (c, _), v in self.observed.items() if c == value)
        return sum(v for (c, _), v in cells.items() if c == value) / row if row else 0.0


def u_alpha(coders: Sequence[Sequence[Segment]], continuum: tuple[int, int], binary: bool = False) -> float:
    """Krippendorff's unitizing alpha uα, or |uα with ``binary=True`` (is the matter marked at all).

    Parameters
    ----------
    coders : m lists of ``(start, end, value)`` half-open segments, one list per coder.
    continuum : ``(begin, end)``, the stretch every coder read.
    """
    return Tally().add(coders, continuum).u_alpha(binary=binary)


def cu_alpha(coders: Sequence[Sequence[Segment]], continuum: tuple[int, int], reading: str = "pairsum") -> float:
    """Krippendorff's cuα: agreement on values where coders both marked units (coding given unitizing).

    ``reading`` chooses how the correction term is read with three or more coders: ``"pairsum"`` (default)
    or ``"meansq"`` (see :data:`CU_READINGS` and docs/agreement.md for how far they differ).
    """
    return Tally().add(coders, continuum).cu_alpha(reading)


def k_u_alpha(coders: Sequence[Sequence[Segment]], continuum: tuple[int, int], value: Hashable,
              reading: str = "pairsum") -> float:
    """Krippendorff's (k)uα: cuα for the one value ``value`` (``reading`` as for :func:`cu_alpha`)."""
    return Tally().add(coders, continuum).k_u_alpha(value, reading)


def alpha_u_1995(coders: Sequence[Sequence[tuple[int, int]]], continuum: tuple[int, int]) -> tuple[float, float, float]:
    """The superseded unitizing alpha of Krippendorff (1995, 2004) for one category: (alpha, D_o, D_e).

    Only for comparison with DKPro Statistics and INCEpTION, which still report it; Krippendorff (2016)
    replaced it because it misbehaves with more than two coders. ``coders`` hold ``(start, end)`` units.
    """
    begin, end = continuum
    length = end - begin
    m = len(coders)
    if m < 2 or length <= 0:
        raise UndefinedCoefficientError("alpha_U needs two coders and a continuum")
    partitions = [_partition([(s, e, 1) for s, e in units], begin, end) for units in coders]
    disagreement = 0.0
    for i in range(m):
        for j in range(i + 1, m):
            for a, b, _ in _overlaps(partitions[i], partitions[j]):
                g, h = partitions[i][a], partitions[j][b]
                if g[2] is not GAP and h[2] is not GAP:
                    disagreement += (g[0] - h[0]) ** 2 + (g[1] - h[1]) ** 2
                elif g[2] is not GAP and h[0] <= g[0] and g[1] <= h[1]:
                    disagreement += (g[1] - g[0]) ** 2
                elif h[2] is not GAP and g[0] <= h[0] and h[1] <= g[1]:
                    disagreement += (h[1] - h[0]) ** 2
    observed = 2 * disagreement / (m * (m - 1) * length ** 2)
    units = [p for partition in partitions for p in partition if p[2] is not GAP]
    gaps = [p for partition in partitions for p in partition if p[2] is GAP]
    n_units = len(units)
    numerator = 0.0
    for start, stop, _ in units:
        size = stop - start
        numerator += (n_units - 1) * (2 * size ** 3 - 3 * size ** 2 + size) / 3
        numerator += size ** 2 * sum(g[1] - g[0] - size + 1 for g in gaps if g[1] - g[0] >= size)
    denominator = m * length * (m * length - 1) - sum((s - b) * (s - b - 1) for b, s, _ in units)
    expected = (2 / length) * numerator / denominator
    if expected == 0:
        raise UndefinedCoefficientError("alpha_U is undefined: no disagreement can be expected")
    return 1.0 - observed / expected, observed, expected
