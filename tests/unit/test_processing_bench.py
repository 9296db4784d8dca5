"""The render benchmark's own bookkeeping (its checks run in `make bench-render`)."""

from __future__ import annotations

import pytest

from services.processing.bench import _fade_bars


@pytest.mark.parametrize(("effects", "expected"), [
    ([], (0.0, 0.0)),
    (["fade_in:4"], (4.0, 0.0)),
    (["highpass:300", "fade_out:2"], (0.0, 2.0)),
    (["fade_in"], (8.0, 0.0)),  # no length: the whole section
    (["fade_in:2", "fade_out:16"], (2.0, 8.0)),  # never more than the section
])
def test_the_faded_bars_of_a_layer_are_left_out_of_the_lock_check(
        effects: list[str], expected: tuple[float, float]) -> None:
    assert _fade_bars(effects, bars=8.0) == expected
