"""Pair scores and the mashability of a set of songs (`POST /calculate-mashability`).

Pair score = weighted mean of the components, then capped by the weaker of key and tempo:

    weighted = 0.35 harmonic + 0.35 rhythmic + 0.15 spectral + 0.15 vocal
    score    = min(weighted, min(harmonic, rhythmic) + 40)

Key and tempo decide whether two songs can be layered at all (a clash there cannot be
fixed by a good vocal split), so they carry most weight and a failure in either caps the
pair; spectral crowding and vocal competition are fixable with EQ and arrangement.

Recommendation of a pair:
- vocal_source: the song with more vocals, or with comparable vocals the one whose pitch
  shift would be downward (vocal.vocal_source_is_a); the other is the
  instrumental_source;
- pitch shift: the vocal source is shifted (−2…+2 semitones, smallest that helps), the
  instrumental stays put, so `targetKey` — the key the mashup sounds in — is the
  instrumental's key;
- targetBPM: the minimax tempo (rhythmic.py) expressed at the instrumental's metrical
  level, since its drums set the grid; `stretch_percent` (extra field) gives each song's
  stretch to reach it.

For 3+ songs every pair is scored; `overall` is the mean score of the maximum spanning
tree's pairs (the strongest set of n−1 pairs that links every song: a mashup of n songs
needs each song to fit at least one other, not all of them), and `best_pair` the top pair.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from services.scoring.features import SongTable, table_from_analyses
from services.scoring.rhythmic import rhythmic_match
from services.scoring.spectral import clash_band_names, spectral_arrays
from services.scoring.vocal import vocal_match, vocal_source_is_a
from shared.contracts.analysis import AnalysisResult
from shared.contracts.scoring import (
    HarmonicScore,
    MashabilityResponse,
    PairScore,
    Recommendation,
    RhythmicScore,
    SpectralScore,
    VocalScore,
)
from shared.errors import Unprocessable
from shared.harmony import harmonic_match, key_of_index

WEIGHTS: dict[str, float] = {"harmonic": 0.35, "rhythmic": 0.35, "spectral": 0.15, "vocal": 0.15}
GATE_MARGIN = 40.0


def combine_scores(
    harmonic: np.ndarray, rhythmic: np.ndarray, spectral: np.ndarray, vocal: np.ndarray
) -> np.ndarray:
    """Pair score 0..100 from component scores (any broadcastable shapes)."""
    weighted = (
        WEIGHTS["harmonic"] * harmonic + WEIGHTS["rhythmic"] * rhythmic
        + WEIGHTS["spectral"] * spectral + WEIGHTS["vocal"] * vocal
    )
    return np.clip(np.minimum(weighted, np.minimum(harmonic, rhythmic) + GATE_MARGIN), 0.0, 100.0)


def min_component_for(score: float, component: str) -> float:
    """The smallest score of one component ("harmonic", "rhythmic", ...) with which a
    pair can still reach `score`, whatever the other components are: the weighted mean
    bounds every component, the gate bounds harmonic and rhythmic too. The library
    ranking uses it to skip key pairs and tempo ranges that cannot make its top k."""
    weight = WEIGHTS[component]
    bound = (score - 100.0 * (1.0 - weight)) / weight
    if component in ("harmonic", "rhythmic"):
        bound = max(bound, score - GATE_MARGIN)
    return bound


def _optional(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _rounded(value: float, digits: int = 4) -> float | None:
    return None if math.isnan(value) else round(float(value), digits)


def score_pair(table: SongTable, i: int, j: int) -> PairScore:
    """Detailed score of songs i (a) and j (b) of the table."""
    id_a, id_b = table.ids[i], table.ids[j]
    activity_a = table.activity[i] if not math.isnan(table.vocal_share[i]) else None
    activity_b = table.activity[j] if not math.isnan(table.vocal_share[j]) else None
    vocal = vocal_match(activity_a, activity_b)
    key_a, key_b = key_of_index(int(table.key_index[i])), key_of_index(int(table.key_index[j]))
    # The pitch shift the vocal source would get, for either choice of singer.
    if_a = harmonic_match(key_a, key_b, shift_song="a", name_a=id_a, name_b=id_b)
    if_b = harmonic_match(key_a, key_b, shift_song="b", name_a=id_a, name_b=id_b)
    a_sings = vocal_source_is_a(
        share_a=float(table.vocal_share[i]), share_b=float(table.vocal_share[j]),
        key_confidence_a=float(table.key_confidence[i]),
        key_confidence_b=float(table.key_confidence[j]),
        shift_if_a_sings=if_a.shift_a_semitones, shift_if_b_sings=if_b.shift_b_semitones,
    )
    harmonic = if_a if a_sings else if_b
    rhythm = rhythmic_match(
        float(table.bpm[i]), float(table.bpm[j]),
        energy_a=_optional(float(table.energy[i])), energy_b=_optional(float(table.energy[j])),
        genre_a=table.genre[i], genre_b=table.genre[j],
    )
    spectral_score, clash_mask = spectral_arrays(table.spectral[i], table.spectral[j])
    score = combine_scores(
        np.float64(harmonic.score), np.float64(rhythm.score), spectral_score,
        np.float64(vocal.score),
    )
    # The target at the instrumental's metrical level (rhythm.target_bpm is at a's).
    target_bpm = rhythm.target_bpm * (rhythm.ratio if a_sings else 1.0)
    vocal_id, instrumental_id = (id_a, id_b) if a_sings else (id_b, id_a)
    instrumental_key = harmonic.key_b if a_sings else harmonic.key_a
    return PairScore(
        a=id_a,
        b=id_b,
        score=round(float(score), 2),
        harmonic=HarmonicScore(
            type=harmonic.type, score=round(harmonic.score, 2), quality=harmonic.quality,
            recommendation=harmonic.recommendation, unshifted_type=harmonic.unshifted_type,
            key_a=harmonic.key_a, key_b=harmonic.key_b,
        ),
        rhythmic=RhythmicScore(
            bpm_a=rhythm.bpm_a, bpm_b=rhythm.bpm_b, relation=rhythm.relation,  # type: ignore[arg-type]
            stretch_percent=round(rhythm.stretch_percent, 3), score=round(rhythm.score, 2),
            style_a=rhythm.style_a, style_b=rhythm.style_b,
            tolerance_percent=round(rhythm.tolerance_percent, 3),
        ),
        spectral=SpectralScore(
            clash_bands=clash_band_names(int(clash_mask)), score=round(float(spectral_score), 2)
        ),
        vocal=VocalScore(
            clash=vocal.clash, score=round(vocal.score, 2),
            vocal_share={id_a: _rounded(vocal.share_a), id_b: _rounded(vocal.share_b)},
            overlap=_rounded(vocal.overlap),
        ),
        recommended=Recommendation(
            targetBPM=round(target_bpm, 2),
            targetKey=instrumental_key,
            pitch_shift_semitones={id_a: harmonic.shift_a_semitones,
                                   id_b: harmonic.shift_b_semitones},
            vocal_source=vocal_id,
            instrumental_source=instrumental_id,
            stretch_percent={id_a: round(rhythm.stretch_a_percent, 3),
                             id_b: round(rhythm.stretch_b_percent, 3)},
            tempo_relation=rhythm.relation,
        ),
    )


def spanning_pairs(song_count: int, scores: dict[tuple[int, int], float]) -> list[tuple[int, int]]:
    """Edges (i < j) of a maximum spanning tree over the pair scores (Prim's algorithm)."""
    linked = {0}
    edges: list[tuple[int, int]] = []
    while len(linked) < song_count:
        best = max(
            ((i, j) for (i, j) in scores if (i in linked) != (j in linked)),
            key=lambda edge: (scores[edge], -edge[0], -edge[1]),
        )
        edges.append(best)
        linked.update(best)
    return edges


def score_analyses(analyses: Sequence[AnalysisResult]) -> MashabilityResponse:
    """Score every pair of two or more analyses; raises Unprocessable for bad input."""
    if len(analyses) < 2:
        raise Unprocessable("Send at least two analyses to score a mashup.", code="too_few_songs")
    table = table_from_analyses(analyses)
    pairs: list[PairScore] = []
    scores: dict[tuple[int, int], float] = {}
    for i in range(len(table)):
        for j in range(i + 1, len(table)):
            pair = score_pair(table, i, j)
            pairs.append(pair)
            scores[(i, j)] = pair.score
    best_i, best_j = max(scores, key=lambda edge: (scores[edge], -edge[0], -edge[1]))
    tree = spanning_pairs(len(table), scores)
    overall = float(np.mean([scores[edge] for edge in tree]))
    return MashabilityResponse(
        overall=round(overall, 2),
        best_pair=(table.ids[best_i], table.ids[best_j]),
        pairs=pairs,
        spanning_pairs=[[table.ids[i], table.ids[j]] for i, j in tree],
        weights=WEIGHTS,
    )
