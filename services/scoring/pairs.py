"""Scores of many song pairs at once, from per-song columns computed once.

`outer=True` scores every row index against every column index ((rows, cols) results, for
the library ranking); `outer=False` scores index pairs elementwise ((k,) results). No
Python loop over pairs: harmonic is a lookup in the 24×24 table, rhythmic and spectral
loop over 3 relation groups / 5 bands, vocal overlap is one matrix product.

The library ranks in float32 (half the memory traffic of float64); scores then differ
from the float64 pair endpoint by ~1e-4 at most.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.scoring.features import SongTable
from services.scoring.mashability import combine_scores
from services.scoring.rhythmic import rhythmic_arrays, rhythmic_scores
from services.scoring.spectral import spectral_arrays, spectral_scores, spectral_terms
from services.scoring.vocal import vocal_score_arrays, vocal_scores
from shared.harmony import HARMONIC_TABLE, KEY_COUNT

Index = np.ndarray | slice


@dataclass(frozen=True)
class PairColumns:
    """Per-song inputs of the pair score, shape (n, ...) each, in one float dtype.

    key_offset = key_index × 24 (row offset into the flat harmonic table); spectral terms
    are spectral.spectral_terms of each profile.
    """

    table: SongTable
    harmonic_flat: np.ndarray
    key_offset: np.ndarray
    key_index: np.ndarray
    log_bpm: np.ndarray
    tolerance: np.ndarray
    spectral_ratio: np.ndarray
    spectral_half_dev: np.ndarray
    activity: np.ndarray
    vocal_share: np.ndarray

    @classmethod
    def of(cls, table: SongTable, dtype: type[np.floating] = np.float64) -> PairColumns:
        ratio, half_dev = spectral_terms(table.spectral)
        return cls(
            table=table,
            harmonic_flat=HARMONIC_TABLE.ravel().astype(dtype),
            key_offset=table.key_index * KEY_COUNT,
            key_index=table.key_index,
            log_bpm=np.log(table.bpm).astype(dtype),
            tolerance=table.tolerance.astype(dtype),
            spectral_ratio=ratio.astype(dtype),
            spectral_half_dev=half_dev.astype(dtype),
            activity=table.activity.astype(dtype, copy=False),
            vocal_share=table.vocal_share.astype(dtype),
        )


def _sides(
    column: np.ndarray, rows: Index, cols: Index, outer: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The a-side and b-side values, shaped to broadcast to the result."""
    a, b = column[rows], column[cols]
    if not outer:
        return a, b
    return a[:, None], b[None, :]


def _overlap(columns: PairColumns, rows: Index, cols: Index, outer: bool) -> np.ndarray:
    """Share of normalised time both songs sing (vocal.py), by one matrix product."""
    activity_a, activity_b = columns.activity[rows], columns.activity[cols]
    bins = activity_a.shape[1]
    if outer:
        return (activity_a @ activity_b.T) * (1.0 / bins)
    return np.einsum("kb,kb->k", activity_a, activity_b) * (1.0 / bins)


def _components(
    columns: PairColumns, rows: Index, cols: Index, outer: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    offset_a, _ = _sides(columns.key_offset, rows, cols, outer)
    _, key_b = _sides(columns.key_index, rows, cols, outer)
    harmonic = columns.harmonic_flat[offset_a + key_b]
    rhythmic = rhythmic_scores(
        *_sides(columns.log_bpm, rows, cols, outer),
        *_sides(columns.tolerance, rows, cols, outer),
    )
    ratio_a, ratio_b = _sides(columns.spectral_ratio, rows, cols, outer)
    dev_a, dev_b = _sides(columns.spectral_half_dev, rows, cols, outer)
    spectral = spectral_scores(ratio_a, dev_a, ratio_b, dev_b)
    vocal = vocal_scores(
        *_sides(columns.vocal_share, rows, cols, outer), _overlap(columns, rows, cols, outer)
    )
    return harmonic, rhythmic, spectral, vocal


def pair_scores(columns: PairColumns, rows: Index, cols: Index, *, outer: bool) -> np.ndarray:
    """Pair scores 0..100 of songs `rows` (a) against songs `cols` (b)."""
    return combine_scores(*_components(columns, rows, cols, outer))


@dataclass(frozen=True)
class PairComponents:
    """Component scores (0..100) and labels, one entry per pair.

    relation_index: into rhythmic.TEMPO_RELATIONS (−1 = clash); clash_mask: spectral
    clash bits; vocal_clash: bool.
    """

    score: np.ndarray
    harmonic: np.ndarray
    rhythmic: np.ndarray
    spectral: np.ndarray
    vocal: np.ndarray
    relation_index: np.ndarray
    clash_mask: np.ndarray
    vocal_clash: np.ndarray


def pair_components(columns: PairColumns, a: np.ndarray, b: np.ndarray) -> PairComponents:
    """Everything about index pairs (a[k], b[k]) — for the few pairs a response lists."""
    harmonic, rhythmic, spectral, vocal = _components(columns, a, b, False)
    table = columns.table
    _, relation_index, _ = rhythmic_arrays(
        table.bpm[a], table.bpm[b], table.tolerance[a], table.tolerance[b]
    )
    _, clash_mask = spectral_arrays(table.spectral[a], table.spectral[b])
    _, vocal_clash = vocal_score_arrays(
        table.vocal_share[a], table.vocal_share[b], _overlap(columns, a, b, False)
    )
    return PairComponents(
        score=combine_scores(harmonic, rhythmic, spectral, vocal), harmonic=harmonic,
        rhythmic=rhythmic, spectral=spectral, vocal=vocal, relation_index=relation_index,
        clash_mask=clash_mask, vocal_clash=vocal_clash,
    )
