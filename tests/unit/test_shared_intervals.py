"""Covered share and merging of time intervals."""

from __future__ import annotations

import pytest

from shared.intervals import covered_share, merge_close


def test_covered_share_of_a_span() -> None:
    assert covered_share(0.0, 10.0, [(2.0, 4.0), (8.0, 12.0)]) == pytest.approx(0.4)
    assert covered_share(0.0, 10.0, []) == 0.0
    assert covered_share(5.0, 5.0, [(0.0, 10.0)]) == 0.0  # an empty span
    assert covered_share(0.0, 1.0, [(0.0, 1.0), (0.0, 1.0)]) == pytest.approx(2.0)


def test_merge_close_joins_short_gaps_in_order() -> None:
    lines = [(5.0, 6.0), (0.0, 1.0), (1.2, 2.0), (2.9, 3.0), (5.5, 7.0)]
    assert merge_close(lines, max_gap_sec=0.5) == [(0.0, 2.0), (2.9, 3.0), (5.0, 7.0)]
    assert merge_close(lines, max_gap_sec=1.0) == [(0.0, 3.0), (5.0, 7.0)]
    assert merge_close([], max_gap_sec=1.0) == []
