"""Regions: the rectangles coders draw on pictures and PDF pages, and when two coders' regions match.

A :class:`Region` is an axis-aligned rectangle on one canvas (a picture, or one page of a PDF), in the
selection's own units: pixels for a ``PictureSelection``, PDF points for a ``PDFSelection``. Both coders'
regions of one canvas come from the same file, so the axis direction (top-left or bottom-left origin)
does not matter: a rectangle is the same rectangle either way.

Two regions of one code match when their intersection over union (IoU) reaches a threshold, the measure
MAXQDA uses for text segments, carried over to area. Matching is one to one by an optimal assignment: the
largest number of pairs at or above the threshold and, among the assignments that reach it, the largest
total IoU (:func:`assignment`, the Hungarian method in numpy; exact, and fast for the few regions a coder
draws on one picture).

>>> a, b = Region.of(0, 0, 10, 10), Region.of(0, 0, 10, 9)
>>> round(iou(a, b), 2)
0.9
>>> match_counts([a], [b], [0.9, 0.95])
{0.9: (2, 1), 0.95: (0, 0)}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Region", "iou", "assignment", "match_counts"]


@dataclass(frozen=True)
class Region:
    """A rectangle with ``left <= right`` and ``low <= high`` on both axes (corners in any order)."""

    left: float
    low: float
    right: float
    high: float

    @classmethod
    def of(cls, x1: float, y1: float, x2: float, y2: float) -> Region:
        """The rectangle between two opposite corners, given in any order."""
        return cls(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))

    @property
    def area(self) -> float:
        return (self.right - self.left) * (self.high - self.low)


def iou(a: Region, b: Region) -> float:
    """Intersection over union of two rectangles; two identical empty rectangles (a point or a line) match
    fully, any other pair with no common area not at all."""
    width = min(a.right, b.right) - max(a.left, b.left)
    height = min(a.high, b.high) - max(a.low, b.low)
    inter = width * height if width > 0 and height > 0 else 0.0
    union = a.area + b.area - inter
    if union <= 0:
        return 1.0 if a == b else 0.0
    return inter / union


def assignment(weights: np.ndarray) -> list[tuple[int, int]]:
    """The one-to-one pairs (row, column) of largest total weight (Kuhn 1955, Munkres 1957; the O(n^3)
    form with potentials). ``weights`` is any rectangular array of non-negative numbers; rows or columns
    left over, and pairs of weight 0, are not returned."""
    weights = np.asarray(weights, dtype=np.float64)
    rows, columns = weights.shape
    if rows == 0 or columns == 0:
        return []
    flipped = rows > columns
    cost = -(weights.T if flipped else weights)           # rows <= columns; minimise the negated weights
    n, m = cost.shape
    u, v = np.zeros(n + 1), np.zeros(m + 1)
    owner = np.zeros(m + 1, dtype=np.int64)               # owner[j]: the row (1-based) column j is given to
    way = np.zeros(m + 1, dtype=np.int64)
    for i in range(1, n + 1):
        owner[0] = i
        j0 = 0
        least = np.full(m + 1, np.inf)
        used = np.zeros(m + 1, dtype=bool)
        while True:
            used[j0] = True
            i0 = owner[j0]
            free = ~used[1:]
            reduced = cost[i0 - 1] - u[i0] - v[1:]
            better = free & (reduced < least[1:])
            least[1:][better] = reduced[better]
            way[1:][better] = j0
            candidates = np.where(free, least[1:], np.inf)
            j1 = int(np.argmin(candidates)) + 1
            delta = candidates[j1 - 1]
            u[owner[used]] += delta
            v[used] -= delta
            least[1:][free] -= delta
            j0 = j1
            if owner[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            owner[j0] = owner[j1]
            j0 = j1
    pairs = [(int(owner[j]) - 1, j - 1) for j in range(1, m + 1) if owner[j]]
    pairs = [(c, r) if flipped else (r, c) for r, c in pairs]
    return sorted((r, c) for r, c in pairs if weights[r, c] > 0)


def match_counts(a: Sequence[Region], b: Sequence[Region],
                 thresholds: Sequence[float]) -> dict[float, tuple[int, int]]:
    """For each threshold: how many regions of ``a`` or ``b`` have a counterpart with IoU at or above it
    (MAXQDA's count, both coders' regions counted), and how many pairs match one to one (optimal
    assignment: most pairs first, then most total IoU)."""
    ratios = np.array([[iou(s, t) for t in b] for s in a], dtype=np.float64).reshape(len(a), len(b))
    out = {}
    for threshold in thresholds:
        good = ratios >= threshold
        matched = int(good.any(axis=1).sum() + good.any(axis=0).sum())
        if not good.any():
            out[threshold] = (matched, 0)
            continue
        # -- one more pair always outweighs any gain in total IoU, which is at most min(len(a), len(b)) --
        bonus = min(len(a), len(b)) + 1
        pairs = assignment(np.where(good, bonus + ratios, 0.0))
        out[threshold] = (matched, len(pairs))
    return out
