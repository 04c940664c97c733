"""Proportions with their uncertainty: what the gate can claim from n held-out prompts.

Adherence is k compliant answers out of n. `wilson` gives its 95% interval; `diff`
gives the 95% interval of the difference between two such shares (Newcombe's hybrid score
method, built from the two Wilson intervals), so "better" and "worse" mean the interval
excludes zero — not that one prompt happened to go the other way.
"""

from __future__ import annotations

import math

Z = 1.959964  # two-sided 95%


def wilson(k: int, n: int, z: float = Z) -> tuple[float, float]:
    """The 95% Wilson score interval of k successes in n trials ((0, 1) when n is 0)."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def diff(k1: int, n1: int, k2: int, n2: int, z: float = Z) -> tuple[float, float]:
    """The 95% interval of p1 − p2 (Newcombe, method 10)."""
    if n1 <= 0 or n2 <= 0:
        return -1.0, 1.0
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1, z)
    l2, u2 = wilson(k2, n2, z)
    d = p1 - p2
    lower = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return max(-1.0, lower), min(1.0, upper)


def describe(k: int, n: int) -> str:
    """"85% (72–93%, n=48)"."""
    lo, hi = wilson(k, n)
    return f"{100 * k / n:.0f}% ({100 * lo:.0f}–{100 * hi:.0f}%, n={n})" if n else "unmeasured"
