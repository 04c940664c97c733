"""The gate's statistics against reference values."""

from __future__ import annotations

import pytest

from personal.learn.judge.stats import describe, diff, wilson


def test_wilson_matches_reference_values():
    # Newcombe (1998), table I: 81/263 → 0.2553–0.3662; 15/148 → 0.0624–0.1605
    assert wilson(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    assert wilson(15, 148) == pytest.approx((0.0624, 0.1605), abs=1e-4)
    assert wilson(0, 10)[0] == pytest.approx(0.0, abs=1e-12)
    assert wilson(10, 10)[1] == pytest.approx(1.0, abs=1e-12)
    assert wilson(0, 0) == (0.0, 1.0)


def test_difference_interval_matches_newcombe():
    # Newcombe (1998), method 10, example (a): 56/70 vs 48/80 → 0.0524 to 0.3339
    assert diff(56, 70, 48, 80) == pytest.approx((0.0524, 0.3339), abs=1e-3)
    lo, hi = diff(9, 10, 3, 10)
    assert lo > 0 < hi  # clearly better
    lo, hi = diff(5, 10, 4, 10)
    assert lo < 0 < hi  # one prompt is noise


def test_describe_says_share_interval_and_support():
    assert describe(41, 48) == "85% (73–93%, n=48)"
    assert describe(0, 0) == "unmeasured"
