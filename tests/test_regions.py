"""Region geometry and matching: intersection over union, the optimal one-to-one assignment (checked against
every assignment of small matrices), and match counts that greedy best-first matching would get wrong."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refi_bridge.agreement.regions import Region, assignment, iou, match_counts


def test_corners_in_any_order_make_one_rectangle():
    assert Region.of(10, 20, 0, 5) == Region.of(0, 5, 10, 20) == Region(0, 5, 10, 20)


def test_intersection_over_union():
    a = Region.of(0, 0, 10, 10)
    assert iou(a, a) == 1.0
    assert iou(a, Region.of(5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert iou(a, Region.of(10, 0, 20, 10)) == 0.0            # touching is no overlap
    assert iou(Region.of(3, 3, 3, 3), Region.of(3, 3, 3, 3)) == 1.0   # one point drawn twice
    assert iou(Region.of(3, 3, 3, 3), Region.of(4, 4, 4, 4)) == 0.0


def best_total(weights: np.ndarray) -> float:
    rows, columns = weights.shape
    if rows <= columns:
        return max((sum(weights[i, p[i]] for i in range(rows)) for p in itertools.permutations(range(columns), rows)),
                   default=0.0)
    return best_total(weights.T)


weights_strategy = st.integers(0, 5).flatmap(lambda n: st.integers(0, 5).flatmap(lambda m: st.lists(
    st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0]), min_size=m, max_size=m), min_size=n, max_size=n)
    .map(lambda rows, m=m: np.array(rows, dtype=float).reshape(len(rows), m))))


@settings(max_examples=200, deadline=None)
@given(weights_strategy)
def test_the_assignment_is_one_to_one_and_as_heavy_as_the_best_of_all(weights):
    pairs = assignment(weights)
    assert len({r for r, _ in pairs}) == len(pairs) == len({c for _, c in pairs})
    assert all(weights[r, c] > 0 for r, c in pairs)
    assert sum(weights[r, c] for r, c in pairs) == pytest.approx(best_total(weights), abs=1e-9)


def strip(start: float, end: float) -> Region:
    return Region.of(start, 0, end, 1)


def test_one_to_one_matching_finds_the_pairs_a_greedy_match_would_miss():
    # -- a1-b1 is the best pair (IoU 1.0), but taking it leaves a2 without a partner at 50%; the optimal
    #    assignment pairs a1-b2 (.70) and a2-b1 (.67) --
    a = [strip(0, 10), strip(0, 15)]
    b = [strip(0, 10), strip(0, 7)]
    assert iou(a[1], b[1]) < 0.5 <= min(iou(a[0], b[1]), iou(a[1], b[0]))
    assert match_counts(a, b, [0.5, 0.9]) == {0.5: (4, 2), 0.9: (2, 1)}


def test_identical_sets_match_fully_and_an_empty_side_matches_nothing():
    regions = [Region.of(0, 0, 710, 720), Region.of(10, 10, 100, 80), Region.of(10, 10, 100, 80)]
    assert match_counts(regions, regions, [0.9]) == {0.9: (6, 3)}
    assert match_counts(regions, [], [0.9]) == {0.9: (0, 0)}
