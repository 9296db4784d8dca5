"""Rank mashup partners across a whole library (`POST /find-mashups`).

Scores come from the same per-pair formulas as `/calculate-mashability` (pairs.py +
mashability.combine_scores; float32 here), so a pair ranks here with the score it gets
there. Two modes:

- query: one song against every other, in column blocks (O(n) time and memory);
- whole library: every pair i < j, O(n²) pairs in the worst case but never O(n²) memory:
  songs are bucketed by key and sorted by tempo inside each bucket; a block of rows is
  scored against the columns it could still pair with (at most `block_elements` scores
  at a time) and a running top k is kept. Once the top k is full, its k-th score τ
  prunes exactly: a pair reaches τ only if its harmonic and rhythmic scores reach
  mashability.min_component_for(τ, ...), so key buckets whose harmonic score is too low
  are skipped, and inside the others only narrow tempo windows (direct, double/half,
  3:2/2:3 around the block's tempi) are scored. In a varied library that skips most
  pairs (10⁵ random songs, top 10: 5·10⁹ pairs, about 2·10⁷ of them scored).

Ties are broken by row order (lower library index first), so the ranking is
deterministic and does not depend on the block size.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from services.scoring.features import SongTable, table_from_rows
from services.scoring.mashability import min_component_for
from services.scoring.pairs import PairColumns, pair_components, pair_scores
from services.scoring.rhythmic import (
    CLASH,
    CLASH_STRETCH_PERCENT,
    HEAVY_STRETCH_PERCENT,
    MAX_TOLERANCE_PERCENT,
    RELATION_NAMES,
    TEMPO_RELATIONS,
    ZERO_STRETCH_PERCENT,
)
from services.scoring.spectral import clash_band_names
from shared.contracts.scoring import FindMashupsRequest, FindMashupsResponse, Match
from shared.harmony import HARMONIC_TABLE, KEY_COUNT, harmonic_match, key_of_index

DEFAULT_BLOCK_ELEMENTS = 131_072  # pair scores per block: float32 temporaries fit in L2
# Rows scored together span at most this much log-tempo (0.5 %), so their tempo windows
# stay narrow.
ROW_SPAN_LOG_TEMPO = 0.005
MIN_BLOCK_ROWS = 16  # fewer rows per block costs more in per-call overhead than it saves
RANK_DTYPE = np.float32
_SLACK = 1e-3  # score margin for float32 rounding when pruning


def _top(
    a: np.ndarray, b: np.ndarray, scores: np.ndarray, top_k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The top_k entries by score, ties by (a, b) ascending; sorted best first."""
    order = np.lexsort((b, a, -scores))[:top_k]
    return a[order], b[order], scores[order]


def _at_least_kth(scores: np.ndarray, top_k: int) -> np.ndarray:
    """Flat indices of every finite score ≥ the k-th largest (ties kept, so the final
    tie-break by index is exact)."""
    finite = np.flatnonzero(np.isfinite(scores))
    if finite.size <= top_k:
        return finite
    kth = np.partition(scores[finite], finite.size - top_k)[finite.size - top_k]
    return finite[scores[finite] >= kth]


def rank_partners(
    table: SongTable, query: int, *, top_k: int, block_elements: int = DEFAULT_BLOCK_ELEMENTS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best partners of song `query`: (a indices (all = query), b indices, scores)."""
    columns = PairColumns.of(table, RANK_DTYPE)
    found_b = np.empty(0, dtype=np.int64)
    found_s = np.empty(0, dtype=RANK_DTYPE)
    for start in range(0, len(table), max(1, block_elements)):
        stop = min(len(table), start + max(1, block_elements))
        scores = pair_scores(columns, slice(query, query + 1), slice(start, stop), outer=True)[0]
        if start <= query < stop:
            scores[query - start] = -np.inf
        picked = _at_least_kth(scores, top_k)
        _, found_b, found_s = _top(
            np.zeros(found_b.size + picked.size, dtype=np.int64),
            np.concatenate([found_b, start + picked]),
            np.concatenate([found_s, scores[picked]]),
            top_k,
        )
    return np.full(found_b.shape, query), found_b, found_s


def _max_mismatch_percent(level: float, tolerance_percent: float) -> float:
    """Largest tempo mismatch (percent) whose stretch score still reaches `level`: the
    inverse of rhythmic.stretch_score's piecewise-linear curve (100 → 75 → 20 → 0)."""
    if level <= 0.0:
        return math.inf
    tolerance = min(tolerance_percent, MAX_TOLERANCE_PERCENT)
    knee = max(tolerance + 2.0, HEAVY_STRETCH_PERCENT)
    if level >= 75.0:
        return tolerance + (100.0 - level) / 25.0 * (knee - tolerance)
    if level >= 20.0:
        return knee + (75.0 - level) / 55.0 * (CLASH_STRETCH_PERCENT - knee)
    return CLASH_STRETCH_PERCENT + (20.0 - level) / 20.0 * (
        ZERO_STRETCH_PERCENT - CLASH_STRETCH_PERCENT)


def _tempo_ranges(
    log_bpm: np.ndarray, row_lo: float, row_hi: float, first: int, stop: int,
    min_rhythmic: float, max_tolerance: float,
) -> list[tuple[int, int]]:
    """Column ranges [lo, hi) within the tempo-sorted run log_bpm[first:stop] that rows
    with log tempo in [row_lo, row_hi] could pair with at a rhythmic score ≥ min_rhythmic;
    merged and in order."""
    if min_rhythmic <= 0.0:
        return [(first, stop)] if first < stop else []
    run = log_bpm[first:stop]
    ranges = []
    for _, ratio, factor in TEMPO_RELATIONS:
        if 100.0 * factor < min_rhythmic:
            continue
        # The pair's tolerance is at most the rows', so max_tolerance bounds the reach.
        reach = _max_mismatch_percent(min_rhythmic / factor, max_tolerance) / 100.0 + 1e-5
        lo = first + int(np.searchsorted(run, row_lo + math.log(ratio) - reach, "left"))
        hi = first + int(np.searchsorted(run, row_hi + math.log(ratio) + reach, "right"))
        if lo < hi:
            ranges.append((lo, hi))
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


class _TopPairs:
    """Running top k of scored pairs (library indices a < b), ties by (a, b)."""

    def __init__(self, top_k: int) -> None:
        self.top_k = top_k
        self.a = np.empty(0, dtype=np.int64)
        self.b = np.empty(0, dtype=np.int64)
        self.scores = np.empty(0, dtype=RANK_DTYPE)

    @property
    def threshold(self) -> float:
        """The k-th best score so far; −inf until k pairs are known."""
        return float(self.scores[-1]) if self.scores.size == self.top_k else -math.inf

    def add(self, i: np.ndarray, j: np.ndarray, scores: np.ndarray) -> None:
        self.a, self.b, self.scores = _top(
            np.concatenate([self.a, np.minimum(i, j)]),
            np.concatenate([self.b, np.maximum(i, j)]),
            np.concatenate([self.scores, scores]),
            self.top_k,
        )


def rank_pairs(
    table: SongTable, *, top_k: int, block_elements: int = DEFAULT_BLOCK_ELEMENTS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best pairs of the whole table: (a indices, b indices, scores), best first, a < b.

    Songs are bucketed by key and sorted by tempo inside each bucket. A block of rows of
    key ka is scored against the buckets kb ≥ ka whose harmonic score can still reach the
    running threshold, and inside them only the tempo windows that can (see module doc).
    """
    n = len(table)
    order = np.lexsort((table.bpm, table.key_index))
    columns = PairColumns.of(table.take(order), RANK_DTYPE)
    log_bpm = columns.log_bpm.astype(np.float64)
    keys = columns.key_index
    bucket_start = np.searchsorted(keys, np.arange(KEY_COUNT), "left")
    bucket_stop = np.searchsorted(keys, np.arange(KEY_COUNT), "right")
    best = _TopPairs(top_k)
    columns_per_row = n  # estimate for sizing the next block of rows
    start = 0
    while start < n - 1:
        key_a = int(keys[start])
        bucket_end = int(bucket_stop[key_a])
        stop = min(bucket_end, start + max(1, block_elements // max(1, columns_per_row)))
        threshold = best.threshold - _SLACK
        if math.isfinite(threshold):  # pruning: keep the block's tempo span narrow
            span = int(np.searchsorted(
                log_bpm[start:bucket_end], log_bpm[start] + ROW_SPAN_LOG_TEMPO, "right"))
            stop = min(stop, start + max(span, MIN_BLOCK_ROWS))
        min_harmonic = min_component_for(threshold, "harmonic")
        min_rhythmic = min_component_for(threshold, "rhythmic")
        max_tolerance = float(columns.tolerance[start:stop].max())
        ranges = []
        for key_b in range(key_a, KEY_COUNT):
            if HARMONIC_TABLE[key_a, key_b] < min_harmonic:
                continue
            first = start + 1 if key_b == key_a else int(bucket_start[key_b])
            ranges += _tempo_ranges(
                log_bpm, log_bpm[start], log_bpm[stop - 1], first, int(bucket_stop[key_b]),
                min_rhythmic, max_tolerance,
            )
        columns_per_row = max(1, sum(hi - lo for lo, hi in ranges))
        step = max(1, block_elements // (stop - start))
        for lo, hi in ranges:
            for first in range(lo, hi, step):
                last = min(hi, first + step)
                scores = pair_scores(columns, slice(start, stop), slice(first, last), outer=True)
                # Each pair once: the column's (sorted) index must exceed the row's.
                upper = np.arange(first, last)[None, :] > np.arange(start, stop)[:, None]
                scores = np.where(upper, scores, -np.inf).ravel()
                picked = _at_least_kth(scores, top_k)
                rows, cols = np.divmod(picked, last - first)
                best.add(order[start + rows], order[first + cols], scores[picked])
        start = stop
    return best.a, best.b, best.scores


@functools.lru_cache(maxsize=24 * 24)
def _harmonic_type(key_a: int, key_b: int) -> str:
    return harmonic_match(key_of_index(key_a), key_of_index(key_b)).type


def _matches(
    table: SongTable, a: np.ndarray, b: np.ndarray, scores: np.ndarray
) -> list[Match]:
    """Contract matches with component scores and labels for each ranked pair."""
    if a.size == 0:
        return []
    parts = pair_components(PairColumns.of(table), a, b)
    matches = []
    for index in range(a.size):
        i, j = int(a[index]), int(b[index])
        relation = int(parts.relation_index[index])
        matches.append(Match(
            a=table.ids[i],
            b=table.ids[j],
            score=round(float(parts.score[index]), 2),
            harmonic=round(float(parts.harmonic[index]), 2),
            rhythmic=round(float(parts.rhythmic[index]), 2),
            spectral=round(float(parts.spectral[index]), 2),
            vocal=round(float(parts.vocal[index]), 2),
            harmonic_type=_harmonic_type(int(table.key_index[i]), int(table.key_index[j])),
            tempo_relation=CLASH if relation < 0 else RELATION_NAMES[relation],
            clash_bands=clash_band_names(int(parts.clash_mask[index])),
            vocal_clash=bool(parts.vocal_clash[index]),
            bpm_a=float(table.bpm[i]),
            bpm_b=float(table.bpm[j]),
            key_a=key_of_index(int(table.key_index[i])),
            key_b=key_of_index(int(table.key_index[j])),
        ))
    return matches


def find_mashups(
    request: FindMashupsRequest, *, block_elements: int = DEFAULT_BLOCK_ELEMENTS
) -> FindMashupsResponse:
    """Validate the library rows (422 naming a bad row) and rank partners or pairs."""
    table = table_from_rows(request.library)
    if request.query is not None:
        found = rank_partners(
            table, table.index_of(request.query), top_k=request.top_k,
            block_elements=block_elements,
        )
    else:
        found = rank_pairs(table, top_k=request.top_k, block_elements=block_elements)
    return FindMashupsResponse(matches=_matches(table, *found))
