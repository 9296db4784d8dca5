"""Who sings and who plays: the vocal and instrumental sources, target tempo and key.

Taken from the scoring service's recommendation when it is there and names the songs
given; otherwise computed: the song with the most sung time is the vocal source, the
partner needing the least time-stretch is the instrumental source, whose (folded) tempo
and key become the target.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from services.orchestrator.validation import vocal_time_sec
from shared.camelot import normalize_key
from shared.contracts.analysis import AnalysisResult
from shared.contracts.scoring import Recommendation
from shared.harmony import layering_shift
from shared.tempo_grid import beat_ratio, grid_misfit, on_the_beat, playback_speed

# Target tempos are folded (halved/doubled) into this range, where 4-bar phrases feel right.
TARGET_BPM_RANGE = (70.0, 180.0)


@dataclass(frozen=True)
class Roles:
    vocal: AnalysisResult
    instrumental: AnalysisResult
    target_bpm: float
    target_key: str
    pitch_shift_semitones: dict[str, int]
    from_scores: bool
    notes: list[str] = field(default_factory=list)  # why a fallback was used

    def tempo_ratio(self, song: AnalysisResult) -> float:
        """Source seconds per output second when `song` plays at the target tempo (at the
        beat ratio the renderer gives it: `shared.tempo_grid`)."""
        return playback_speed(song_bpm=song.bpm, target_bpm=self.target_bpm)

    def pitch_shift(self, song: AnalysisResult) -> int:
        """Semitones `song` is pitch-shifted by to layer over the target key."""
        known = self.pitch_shift_semitones.get(song.songId)
        return known if known is not None else shift_to(song, self.target_key)

    def on_the_beat(self, song: AnalysisResult) -> bool:
        """False when `song` meets the target in a 3:2 relation: its beats then cross the
        grid's, so only its voice can join the other song's rhythm."""
        return on_the_beat(beat_ratio(song_bpm=song.bpm, target_bpm=self.target_bpm))


def fold_into_range(tempo_bpm: float, low: float = TARGET_BPM_RANGE[0],
                    high: float = TARGET_BPM_RANGE[1]) -> float:
    """Halve or double `tempo_bpm` until it lies in [low, high] (when it can)."""
    for _ in range(4):
        if tempo_bpm < low:
            tempo_bpm *= 2.0
        elif tempo_bpm > high:
            tempo_bpm /= 2.0
    return tempo_bpm


# The scores' target is kept unfolded, outside TARGET_BPM_RANGE, only when folding it
# would stretch the worst-stretched song this much more (`shared.tempo_grid.grid_misfit`,
# a 3:2 relation with its penalty): 3 % of stretch weighs like leaving the range.
FOLD_STRETCH_MARGIN = 0.03
_UNFOLDED_LIMITS_BPM = (40.0, 240.0)


def fold_for_songs(tempo_bpm: float, songs: Sequence[AnalysisResult]) -> float:
    """`fold_into_range(tempo_bpm)`, or `tempo_bpm` itself when folding it would need
    markedly more time-stretch of the worst-stretched of `songs`. Folding can change how a
    song meets the grid: the scorer has Mutilated Mime (180) and Lithium (124) meet at
    182.95 in a 2:3 relation, 1.6 % each; folded to 91.475 the relation would be 4:3,
    which no song plays in, so Lithium went 3:2 at +10.7 %."""
    def worst(target: float) -> float:
        return max(grid_misfit(song_bpm=song.bpm, target_bpm=target) for song in songs)

    folded = fold_into_range(tempo_bpm)
    if _UNFOLDED_LIMITS_BPM[0] <= tempo_bpm <= _UNFOLDED_LIMITS_BPM[1] \
            and worst(tempo_bpm) < worst(folded) - FOLD_STRETCH_MARGIN:
        return tempo_bpm
    return folded


def _recommendation(scores: Mapping[str, Any]) -> tuple[Recommendation | None, str | None]:
    """The recommendation of the best pair (the one named by best_pair, else pairs[0])."""
    pairs = scores.get("pairs") if isinstance(scores, Mapping) else None
    if not pairs or not isinstance(pairs, list):
        return None, None
    best = scores.get("best_pair")
    chosen = pairs[0]
    if isinstance(best, (list, tuple)) and len(best) == 2:
        for pair in pairs:
            if isinstance(pair, Mapping) and {pair.get("a"), pair.get("b")} == set(best):
                chosen = pair
                break
    raw = chosen.get("recommended") if isinstance(chosen, Mapping) else None
    if raw is None:
        return None, None
    try:
        return Recommendation.model_validate(raw), None
    except ValidationError:
        return None, "the scores' recommendation is malformed; computed roles from the analyses"


def _stretch_cost(vocal: AnalysisResult, partner: AnalysisResult) -> float:
    target = fold_into_range(partner.bpm)
    return abs(math.log(playback_speed(song_bpm=vocal.bpm, target_bpm=target)))


def shift_to(song: AnalysisResult, target_key: str) -> int:
    """The renderer's shift of `song` for `target_key` (`shared.harmony.layering_shift`:
    none for keys that layer as they are, a fifth apart or relative or parallel); 0 for a
    key that cannot be read."""
    try:
        return layering_shift(song.key, target_key)
    except ValueError:
        return 0


def _safe_key(key: str, fallback: str) -> str:
    try:
        return normalize_key(key)
    except ValueError:
        return fallback


def _fallback_roles(analyses: Sequence[AnalysisResult], notes: list[str]) -> Roles:
    # max() keeps the first of equals, so ties go to the earlier song: deterministic.
    vocal = max(analyses, key=vocal_time_sec)
    partners = [a for a in analyses if a is not vocal]
    instrumental = min(partners, key=lambda a: (_stretch_cost(vocal, a), vocal_time_sec(a)))
    target_key = _safe_key(instrumental.key, "C major")
    shifts = {song.songId: shift_to(song, target_key) for song in (vocal, instrumental)}
    return Roles(vocal, instrumental, round(fold_into_range(instrumental.bpm), 3), target_key,
                 shifts, from_scores=False, notes=notes)


def choose_roles(analyses: Sequence[AnalysisResult], scores: Mapping[str, Any]) -> Roles:
    """Vocal and instrumental source, target tempo/key and per-song pitch shifts."""
    if len(analyses) < 2:
        raise ValueError("a mashup needs at least two songs")
    by_id = {a.songId: a for a in analyses}
    recommendation, problem = _recommendation(scores or {})
    notes = [problem] if problem else []
    if recommendation is None:
        return _fallback_roles(analyses, notes)
    vocal = by_id.get(recommendation.vocal_source)
    instrumental = by_id.get(recommendation.instrumental_source)
    if vocal is None or instrumental is None or vocal is instrumental:
        notes.append("the scores' recommendation names songs that do not form a pair here; "
                     "computed roles from the analyses")
        return _fallback_roles(analyses, notes)
    target_key = _safe_key(recommendation.targetKey, _safe_key(instrumental.key, "C major"))
    # The renderer shifts each song by `layering_shift` to the target key: the scores'
    # own choice, except where that still clashes (then into the key itself).
    shifts = {song.songId: shift_to(song, target_key) for song in (vocal, instrumental)}
    target_bpm = fold_for_songs(recommendation.targetBPM, (vocal, instrumental))
    return Roles(vocal, instrumental, round(target_bpm, 3), target_key, shifts,
                 from_scores=True, notes=notes)
