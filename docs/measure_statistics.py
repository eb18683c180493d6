"""Measure two choices docs/agreement.md reports on: how far the two readings of cu-alpha's correction
term differ with three or more coders, and how much unitizing alphas move when the continuum is rescaled.

    python docs/measure_statistics.py            # prints the tables quoted in docs/agreement.md

Random codings (fixed seeds, so the numbers are reproducible): m coders mark units of three values on a
continuum of 1,000 positions; density (units per coder) and length vary so that the share of the
continuum that two coders both marked (cu-alpha's coverage) runs from a few percent to most of it.
"""

from __future__ import annotations

import random

import numpy as np

from refi_bridge.agreement import Tally
from refi_bridge.errors import UndefinedCoefficientError

LENGTH = 1000


def coder(rng: random.Random, units: int, longest: int, length: int = LENGTH) -> list[tuple[int, int, str]]:
    """Independent coding: non-overlapping units of values a, b, c at random places."""
    out: list[tuple[int, int, str]] = []
    for _ in range(units * 4):
        if len(out) == units:
            break
        start = rng.randrange(0, length - 1)
        end = min(length, start + rng.randint(1, longest))
        if all(end <= s or start >= e for s, e, _ in out):
            out.append((start, end, rng.choice("abc")))
    return out


def team(rng: random.Random, m: int, units: int, longest: int, found: float, same: float,
         jitter: int) -> list[list[tuple[int, int, str]]]:
    """A team that codes one text: each coder finds each of the text's units with probability ``found``,
    gives it the same value with probability ``same``, and moves each boundary by up to ``jitter``."""
    truth = sorted(coder(rng, units, longest))
    coders = []
    for _ in range(m):
        mine: list[tuple[int, int, str]] = []
        for start, end, value in truth:
            if rng.random() > found:
                continue
            a = max(0, start + rng.randint(-jitter, jitter))
            b = min(LENGTH, end + rng.randint(-jitter, jitter))
            if mine:
                a = max(a, mine[-1][1])
            if b > a:
                mine.append((a, b, value if rng.random() < same else rng.choice("abc".replace(value, ""))))
        coders.append(mine)
    return coders


def overlapped(coders, length: int = LENGTH) -> float:
    """Share of the continuum that at least two coders marked."""
    depth = np.zeros(length, dtype=int)
    for segments in coders:
        for start, end, _ in segments:
            depth[start:end] += 1
    return float((depth >= 2).mean())


def cu_readings(trials: int = 3000, seed: int = 12) -> None:
    for kind in ("teams", "independent"):
        rng = random.Random(seed)
        rows = []
        for _ in range(trials):
            m = rng.choice([3, 3, 4, 5])
            units, longest = rng.choice([(2, 30), (4, 60), (8, 80), (12, 120), (20, 60), (6, 250)])
            if kind == "teams":
                coders = team(rng, m, units, longest, rng.uniform(0.5, 1.0), rng.uniform(0.6, 1.0),
                              rng.choice([0, 2, 5, 15]))
            else:
                coders = [coder(rng, units, longest) for _ in range(m)]
            tally = Tally().add(coders, (0, LENGTH))
            try:
                pairsum = tally.cu_alpha("pairsum")
                difference = abs(pairsum - tally.cu_alpha("meansq"))
            except UndefinedCoefficientError:
                continue
            rows.append((overlapped(coders), difference, pairsum))
        shares = np.array([r[0] for r in rows])
        differences = np.array([r[1] for r in rows])
        agreeing = differences[np.array([r[2] for r in rows]) >= 0.5]
        print(f"cu-alpha, |pairsum - meansq|, {kind}: {len(rows)} codings of 3-5 coders")
        print(f"  all: median {np.median(differences):.5f}, 90th percentile {np.percentile(differences, 90):.4f}, "
              f"max {differences.max():.3f}")
        print(f"  where cu-alpha >= .5: n={len(agreeing)}, median {np.median(agreeing):.5f}, 90th percentile "
              f"{np.percentile(agreeing, 90):.4f}, max {agreeing.max():.3f}")
        for low, high in [(0, 0.05), (0.05, 0.15), (0.15, 0.30), (0.30, 1.01)]:
            pick = (shares >= low) & (shares < high)
            if pick.any():
                part = differences[pick]
                print(f"  {low:.0%}-{min(high, 1):.0%} of the text overlapped: n={pick.sum()}, median "
                      f"{np.median(part):.5f}, 90th percentile {np.percentile(part, 90):.4f}, max {part.max():.3f}")


def rescaling(trials: int = 1500, seed: int = 5) -> None:
    print("u-alpha and |u-alpha, every position multiplied by a factor (largest change of the two):")
    for length, units, longest in ((1000, 8, 80), (100, 6, 12), (30, 5, 4)):
        rng = random.Random(seed)
        worst: dict[int, list[float]] = {2: [], 3: [], 5: []}
        for _ in range(trials):
            m = rng.choice([2, 3])
            coders = [coder(rng, rng.randint(1, units), longest, length) for _ in range(m)]
            try:
                base = Tally().add(coders, (0, length))
                values = (base.u_alpha(), base.u_alpha(binary=True))
                changes = {}
                for factor in worst:
                    scaled = Tally().add([[(s * factor, e * factor, v) for s, e, v in c] for c in coders],
                                         (0, length * factor))
                    changes[factor] = max(abs(scaled.u_alpha() - values[0]),
                                          abs(scaled.u_alpha(binary=True) - values[1]))
            except UndefinedCoefficientError:
                continue
            for factor, change in changes.items():
                worst[factor].append(change)
        print(f"  continuum of {length} positions, units up to {longest} long:")
        for factor, changes in worst.items():
            values = np.array(changes)
            print(f"    x{factor}: median {np.median(values):.5f}, 90th percentile {np.percentile(values, 90):.4f}, "
                  f"max {values.max():.4f} (n={len(values)})")


if __name__ == "__main__":
    cu_readings()
    rescaling()
