"""Agreement coefficients for pre-defined units: pure functions of a ratings table (numpy only).

``ratings`` is a sequence of rows, **one row per coder, one column per unit** (shape ``(m, N)``); a missing
rating is ``None`` or NaN; values are any hashable labels (numbers for the interval and ratio levels of
Krippendorff's alpha; numbers or an explicit ``order=`` for its ordinal level). Every function returns a
float, or raises :class:`~refi_bridge.errors.UndefinedCoefficientError` saying why the coefficient does not
exist for the data (never a silent 1.0 or 0).

With more than two coders, observed agreement is the mean pairwise agreement per unit (as in Fleiss 1971):

    P_o = mean over units u with m_u >= 2 of  sum_c n_uc (n_uc - 1) / (m_u (m_u - 1))

Formulas and sources: docs/agreement.md.

>>> round(percent_agreement([[1, 1, 0, 0], [1, 0, 0, 0]]), 2)
0.75
>>> round(cohen_kappa([[1, 1, 0, 0], [1, 0, 0, 0]]), 3)
0.5
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence

import numpy as np

from refi_bridge.errors import UndefinedCoefficientError

__all__ = ["percent_agreement", "cohen_kappa", "scott_pi", "fleiss_kappa", "brennan_prediger", "gwet_ac1",
           "krippendorff_alpha", "LEVELS"]

LEVELS = ("nominal", "ordinal", "interval", "ratio")


def _missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        return bool(value != value)  # NaN of numpy and pandas kinds
    except (TypeError, ValueError):
        return False


def prepare(ratings) -> _Table:
    """Ratings turned into the table every coefficient reads; pass it instead of ``ratings`` to compute
    several coefficients of one large table without preparing it again."""
    return ratings if isinstance(ratings, _Table) else _Table(ratings)


class _Table:
    """Ratings as category indices (-1 for missing), with per-unit category counts."""

    def __init__(self, ratings: Sequence[Sequence[Hashable]], categories: Iterable[Hashable] | None = None):
        rows = [list(row) for row in ratings]
        if not rows:
            raise UndefinedCoefficientError("no coders: give one row of ratings per coder")
        width = len(rows[0])
        if any(len(row) != width for row in rows):
            raise ValueError("every coder's row must rate the same units (pad with None for missing ratings)")
        seen: list[Hashable] = []
        index: dict[Hashable, int] = {}
        for value in (categories or ()):
            if value not in index:
                index[value] = len(seen)
                seen.append(value)
        codes = np.full((len(rows), width), -1, dtype=np.int64)
        for i, row in enumerate(rows):
            target = codes[i]
            for u, value in enumerate(row):
                if value is None:
                    continue
                position = index.get(value)
                if position is None:
                    if _missing(value):
                        continue
                    if categories is not None:
                        raise ValueError(f"rating {value!r} is not one of the categories given")
                    position = index[value] = len(seen)
                    seen.append(value)
                target[u] = position
        self.labels = seen
        self.codes = codes
        self.m, self.n_units = codes.shape
        q = max(len(seen), 1)
        counts = np.zeros((self.n_units, q), dtype=np.float64)
        for i in range(self.m):
            present = codes[i] >= 0
            counts[np.nonzero(present)[0], codes[i, present]] += 1
        self.counts = counts                       # n_uc: units x categories
        self.raters = counts.sum(axis=1)           # m_u

    def pairable(self) -> np.ndarray:
        keep = self.raters >= 2
        if not keep.any():
            raise UndefinedCoefficientError("no unit was rated by two or more coders, so nothing can be compared")
        return keep

    def observed(self) -> float:
        """Mean pairwise agreement over units rated by two or more coders."""
        keep = self.pairable()
        n, m = self.counts[keep], self.raters[keep]
        return float(np.mean((n * (n - 1)).sum(axis=1) / (m * (m - 1))))

    def unit_proportions(self) -> np.ndarray:
        """pi_c: the mean over rated units of each category's share of the unit's ratings (Gwet 2014)."""
        rated = self.raters >= 1
        return (self.counts[rated] / self.raters[rated, None]).mean(axis=0)


def _chance_corrected(observed: float, expected: float, what: str) -> float:
    if math.isclose(expected, 1.0):
        raise UndefinedCoefficientError(f"{what} is undefined: chance agreement is 1 (every rating falls in one "
                                        "category), so there is no variation to agree on")
    return (observed - expected) / (1.0 - expected)


def percent_agreement(ratings: Sequence[Sequence[Hashable]]) -> float:
    """Share of agreeing coder pairs per unit, averaged over units with two or more ratings.

    Parameters
    ----------
    ratings : sequence of m rows of N ratings (coders x units); None or NaN for missing.
    """
    return prepare(ratings).observed()


def cohen_kappa(ratings: Sequence[Sequence[Hashable]]) -> float:
    """Cohen's (1960) kappa for exactly two coders; chance from each coder's own marginals.

    Units rated by only one coder are left out. ``ratings`` has shape (2, N).
    """
    table = _Table(ratings)
    if table.m != 2:
        raise ValueError(f"Cohen's kappa compares exactly two coders; got {table.m} (use fleiss_kappa or "
                         "krippendorff_alpha for more)")
    both = (table.codes[0] >= 0) & (table.codes[1] >= 0)
    if not both.any():
        raise UndefinedCoefficientError("the two coders rated no unit in common")
    a, b = table.codes[0, both], table.codes[1, both]
    q = len(table.labels)
    observed = float(np.mean(a == b))
    pa = np.bincount(a, minlength=q) / len(a)
    pb = np.bincount(b, minlength=q) / len(b)
    return _chance_corrected(observed, float(pa @ pb), "Cohen's kappa")


def scott_pi(ratings: Sequence[Sequence[Hashable]]) -> float:
    """Scott's (1955) pi for exactly two coders: chance from the two coders' pooled marginals, over the units
    both rated.

    Scott's pi is a two-coder coefficient; its generalisation to more coders is Fleiss' (1971) kappa
    (:func:`fleiss_kappa`), and with missing ratings the published generalisations differ, so three or more
    coders are refused rather than given a number that matches no definition. ``ratings`` has shape (2, N).
    """
    table = prepare(ratings)
    if table.m != 2:
        raise ValueError(f"Scott's pi compares exactly two coders; got {table.m} (use fleiss_kappa, its "
                         "generalisation to more coders, or krippendorff_alpha)")
    keep = table.pairable()
    pooled = table.counts[keep].sum(axis=0) / table.raters[keep].sum()
    return _chance_corrected(table.observed(), float((pooled ** 2).sum()), "Scott's pi")


def fleiss_kappa(ratings: Sequence[Sequence[Hashable]]) -> float:
    """Fleiss' (1971) kappa, generalised to units with varying numbers of ratings (Gwet 2014).

    Chance agreement is sum_c pi_c^2 with pi_c the mean over rated units of the category's share of the
    unit's ratings; with a constant number of ratings per unit this is Fleiss' own p_j.
    """
    table = prepare(ratings)
    observed = table.observed()
    return _chance_corrected(observed, float((table.unit_proportions() ** 2).sum()), "Fleiss' kappa")


def brennan_prediger(ratings: Sequence[Sequence[Hashable]], categories: Iterable[Hashable] | None = None) -> float:
    """Bennett, Alpert & Goldstein's S = Brennan & Prediger's free-marginal kappa: chance is 1/q.

    ``categories`` are the q categories a coder could choose; by default the values seen. (MAXQDA's
    "kappa" is this coefficient, with q the number of codes in the analysis.)
    """
    table = _Table(ratings, categories)
    q = len(table.labels)
    if q < 2:
        raise UndefinedCoefficientError("Brennan-Prediger's kappa is undefined with fewer than two categories")
    return _chance_corrected(table.observed(), 1.0 / q, "Brennan-Prediger's kappa")


def gwet_ac1(ratings: Sequence[Sequence[Hashable]]) -> float:
    """Gwet's (2008) AC1: chance is sum_c pi_c (1 - pi_c) / (q - 1), robust to skewed prevalence."""
    table = prepare(ratings)
    q = len(table.labels)
    if q < 2:
        raise UndefinedCoefficientError("Gwet's AC1 is undefined when only one category was used")
    pi = table.unit_proportions()
    return _chance_corrected(table.observed(), float((pi * (1 - pi)).sum() / (q - 1)), "Gwet's AC1")


def krippendorff_alpha(ratings: Sequence[Sequence[Hashable]], level: str = "nominal",
                       order: Sequence[Hashable] | None = None) -> float:
    """Krippendorff's alpha for any number of coders, missing ratings, and four levels of measurement.

    alpha = 1 - D_o / D_e from the coincidence matrix of values in units with two or more ratings
    (Krippendorff 2004, 2011). ``level`` is ``"nominal"``, ``"ordinal"``, ``"interval"`` or ``"ratio"``
    (values must be numbers). Ordinal values that are numbers are ranked by size; labels that are not
    numbers ("low", "mid", "high") have no order of their own (the alphabet is not one), so ``order`` must
    list them from lowest to highest, and without it the ordinal level is refused.

    >>> krippendorff_alpha([["low", "mid", "high", "high"], ["low", "high", "high", "mid"]], "ordinal",
    ...                    order=["low", "mid", "high"])
    0.5625

    >>> round(krippendorff_alpha([[1, 1, 0, 0, 0, 0, 0, 0, 0, 0], [0, 1, 1, 0, 0, 1, 0, 1, 0, 0]]), 3)
    0.095
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}; got {level!r}")
    if order is not None and level != "ordinal":
        raise ValueError(f"order= ranks the values of the ordinal level; the {level} level does not use it")
    table = prepare(ratings)
    keep = table.pairable()
    counts, raters = table.counts[keep], table.raters[keep]
    # -- coincidences: every ordered pair of values from different coders in a unit, weighted 1/(m_u - 1) --
    coincidences = np.einsum("uc,uk->ck", counts / (raters[:, None] - 1), counts)
    coincidences -= np.diag((counts / (raters[:, None] - 1)).sum(axis=0))
    totals = coincidences.sum(axis=1)
    n = totals.sum()
    delta = _distances(table.labels, totals, level, order)
    observed = float((coincidences * delta).sum())
    expected = float((np.outer(totals, totals) * delta).sum() / (n - 1))
    if expected == 0:
        raise UndefinedCoefficientError("Krippendorff's alpha is undefined: every pairable rating has the same "
                                        "value, so no disagreement could be expected")
    return 1.0 - observed / expected


def ranks(labels: Sequence[Hashable], order: Sequence[Hashable] | None = None) -> list[int]:
    """The rank of every label from lowest (0) to highest: by ``order`` when given, by size when every label
    is a number; labels that are not numbers and no ``order`` are refused, since sorting them by their
    spelling would rank "high" below "low"."""
    if order is not None:
        position = {value: i for i, value in enumerate(order)}
        if len(position) != len(list(order)):
            raise ValueError("order= lists a value twice; give each value once, from lowest to highest")
        missing = [label for label in labels if label not in position]
        if missing:
            raise ValueError(f"order= does not rank {', '.join(map(repr, missing[:5]))}; list every value the "
                             "coders used, from lowest to highest")
        return [position[label] for label in labels]
    if not all(_is_number(label) for label in labels):
        words = [label for label in labels if not _is_number(label)]
        raise ValueError(f"ordinal values {', '.join(map(repr, words[:3]))} are not numbers, so they have no order "
                         "of their own; pass order=[lowest, ..., highest] (for example order=['low', 'mid', "
                         "'high'])")
    by_size = sorted(range(len(labels)), key=lambda i: float(labels[i]))
    rank = [0] * len(labels)
    for r, i in enumerate(by_size):
        rank[i] = r
    return rank


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _distances(labels: list[Hashable], totals: np.ndarray, level: str,
               order: Sequence[Hashable] | None = None) -> np.ndarray:
    """The squared difference delta^2(c, k) between every two values at a level of measurement."""
    q = len(labels)
    if level == "nominal":
        return 1.0 - np.eye(q)
    if level == "ordinal":
        rank_of = ranks(labels, order)
        order = sorted(range(q), key=lambda i: rank_of[i])
        rank = np.empty(q, dtype=np.int64)
        rank[order] = np.arange(q)
        sorted_totals = totals[order]
        cumulative = np.concatenate([[0.0], np.cumsum(sorted_totals)])
        delta = np.zeros((q, q))
        for a in range(q):
            for b in range(q):
                lo, hi = sorted((rank[a], rank[b]))
                span = cumulative[hi + 1] - cumulative[lo]
                delta[a, b] = (span - (sorted_totals[lo] + sorted_totals[hi]) / 2) ** 2
        return delta
    try:
        values = np.array([float(label) for label in labels])
    except (TypeError, ValueError):
        raise ValueError(f"{level} alpha needs numeric values") from None
    difference = values[:, None] - values[None, :]
    if level == "interval":
        return difference ** 2
    total = values[:, None] + values[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(total == 0, 0.0, difference / np.where(total == 0, 1, total))
    return ratio ** 2
