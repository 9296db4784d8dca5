"""Time intervals (start_sec, end_sec): how much of a span they cover."""

from __future__ import annotations

from collections.abc import Iterable


def covered_share(start_sec: float, end_sec: float,
                  intervals: Iterable[tuple[float, float]]) -> float:
    """Seconds of [start_sec, end_sec) inside `intervals`, over the span's length (0 for
    an empty span; overlapping intervals count twice, so it can exceed 1)."""
    covered = sum(max(0.0, min(end_sec, float(b)) - max(start_sec, float(a)))
                  for a, b in intervals)
    return covered / max(end_sec - start_sec, 1e-9)


def merge_close(intervals: Iterable[tuple[float, float]], *,
                max_gap_sec: float) -> list[tuple[float, float]]:
    """`intervals` in order of start, those less than `max_gap_sec` apart (or
    overlapping) joined into one."""
    merged: list[list[float]] = []
    for start, end in sorted((float(a), float(b)) for a, b in intervals):
        if merged and start - merged[-1][1] < max_gap_sec:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]
