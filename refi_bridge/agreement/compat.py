"""What other tools report, computed their way, so that numbers can be compared with theirs.

* NVivo's Coding Comparison: per code and source, percent agreement and kappa on characters
  (EF = A B / T + (T - A)(T - B) / T; kappa = (agree - EF) / (T - EF)).
* Pooled character kappa: the same 2x2 table summed over sources (Cohen's kappa on characters).
* QualCoder's "kappa": universe restricted to coded characters, P_e a product instead of a sum (not
  Cohen's kappa; shown labelled as QualCoder's).
* MAXQDA's segment agreement: a segment agrees when the other coder gave the same code to a segment that
  overlaps it by at least a threshold (intersection over union; 90% by default); its "kappa" is
  Brennan-Prediger's, (P_obs - 1/k) / (1 - 1/k) with k codes.
* Holsti's index 2A / (N1 + N2) and positive specific agreement (F1) on one-to-one matched segments.

Spans are half-open ``(start, end)`` code point offsets, each coder's already united.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from refi_bridge.errors import UndefinedCoefficientError

Span = tuple[int, int]


@dataclass(frozen=True)
class CharCounts:
    """Characters coded by both coders, by one only, by neither, out of ``total``."""

    both: int
    a_only: int
    b_only: int
    neither: int

    @property
    def total(self) -> int:
        return self.both + self.a_only + self.b_only + self.neither

    def __add__(self, other: CharCounts) -> CharCounts:
        return CharCounts(self.both + other.both, self.a_only + other.a_only, self.b_only + other.b_only,
                          self.neither + other.neither)


def covered(spans: Sequence[Span]) -> int:
    """Characters covered by united spans."""
    return sum(end - start for start, end in spans)


def intersection(a: Sequence[Span], b: Sequence[Span]) -> int:
    """Characters covered by both lists of united, sorted spans."""
    i = j = total = 0
    while i < len(a) and j < len(b):
        total += max(0, min(a[i][1], b[j][1]) - max(a[i][0], b[j][0]))
        if a[i][1] <= b[j][1]:
            i += 1
        else:
            j += 1
    return total


def char_counts(a: Sequence[Span], b: Sequence[Span], length: int) -> CharCounts:
    both = intersection(a, b)
    ca, cb = covered(a), covered(b)
    return CharCounts(both, ca - both, cb - both, length - ca - cb + both)


def percent_agreement_chars(counts: CharCounts) -> float:
    """NVivo's percent agreement: characters coded by both or by neither, over all characters."""
    if counts.total == 0:
        raise UndefinedCoefficientError("no characters to compare")
    return (counts.both + counts.neither) / counts.total


def kappa_chars(counts: CharCounts) -> float:
    """Cohen's kappa on the 2x2 table of characters (NVivo's per-source kappa; pooled when summed)."""
    total = counts.total
    a = counts.both + counts.a_only
    b = counts.both + counts.b_only
    if total == 0:
        raise UndefinedCoefficientError("no characters to compare")
    expected = a * b / total + (total - a) * (total - b) / total
    if expected == total:
        raise UndefinedCoefficientError("neither coder used the code here (NVivo shows kappa 1)"
                                        if a == 0 and b == 0 else "every character was coded by both")
    return (counts.both + counts.neither - expected) / (total - expected)


def qualcoder_kappa(counts: CharCounts) -> float:
    """QualCoder's "kappa": P_o = dual / U, P_e = P_yes * P_no over the union U of coded characters."""
    union = counts.both + counts.a_only + counts.b_only
    if union == 0:
        raise UndefinedCoefficientError("neither coder used the code")
    c0, c1 = counts.both + counts.a_only, counts.both + counts.b_only
    observed = counts.both / union
    expected = (c0 / union) * (c1 / union) * ((union - c0) / union) * ((union - c1) / union)
    if expected == 1:
        raise UndefinedCoefficientError("chance agreement is 1")
    return (observed - expected) / (1 - expected)


def overlap_ratio(a: Span, b: Span) -> float:
    """Intersection over union of two spans (MAXQDA's overlap)."""
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union else (1.0 if a == b else 0.0)


def maxqda_kappa(observed: float, codes: int) -> float:
    """MAXQDA's kappa: Brennan-Prediger's, with chance 1/k for k codes in the analysis."""
    if codes < 2:
        raise UndefinedCoefficientError("MAXQDA's kappa needs at least two codes in the analysis")
    return (observed - 1 / codes) / (1 - 1 / codes)


def match_counts(a: Sequence[Span], b: Sequence[Span], thresholds: Sequence[float]) -> dict[float, tuple[int, int]]:
    """For each threshold: how many segments of a or b have a counterpart overlapping them by at least the
    threshold (MAXQDA's count), and how many pairs match one to one (best overlap first); every overlap is
    computed once for all thresholds."""
    ratios = [[overlap_ratio(s, t) for t in b] for s in a]
    candidates = sorted(((ratios[i][j], i, j) for i in range(len(a)) for j in range(len(b)) if ratios[i][j] > 0),
                        reverse=True)
    best_a = [max(row, default=0.0) for row in ratios]
    best_b = [max((ratios[i][j] for i in range(len(a))), default=0.0) for j in range(len(b))]
    out = {}
    for threshold in thresholds:
        matched = sum(1 for r in best_a if r >= threshold) + sum(1 for r in best_b if r >= threshold)
        used_a: set[int] = set()
        used_b: set[int] = set()
        for ratio, i, j in candidates:
            if ratio < threshold:
                break
            if i not in used_a and j not in used_b:
                used_a.add(i)
                used_b.add(j)
        out[threshold] = (matched, len(used_a))
    return out
