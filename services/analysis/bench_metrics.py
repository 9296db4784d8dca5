"""Per-song metrics of the analysis benchmark, computed as mir_eval computes them (see
`services.analysis.bench` for what each one means)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TOLERANCE = 0.04  # Acc1/Acc2 tempo tolerance
BEAT_WINDOW_SEC = 0.07
FRAME_SEC = 0.01  # vocal activity frames


@dataclass
class Truth:
    tempo_bpm: float | None = None
    key: str | None = None
    beats_sec: np.ndarray | None = None
    downbeats_sec: np.ndarray | None = None
    boundaries_sec: np.ndarray | None = None  # internal section boundaries
    drops_sec: np.ndarray | None = None
    vocal_intervals: list[tuple[float, float]] | None = None


@dataclass
class Estimate:
    tempo_bpm: float
    key: str
    beats_sec: np.ndarray
    downbeats_sec: np.ndarray
    cpu_sec: float
    section_starts_sec: np.ndarray | None = None
    drops_sec: np.ndarray | None = None
    vocal_intervals: list[tuple[float, float]] | None = None


def tempo_accuracies(true_bpm: float, estimated_bpm: float) -> tuple[float, float]:
    """(Acc1, Acc2) of one song: 1.0 when within 4 % (Acc2: of a ×2, ×3, ×1/2, ×1/3
    multiple of the true tempo)."""
    def close(factor: float) -> bool:
        return abs(estimated_bpm - factor * true_bpm) <= TOLERANCE * factor * true_bpm

    return float(close(1.0)), float(any(close(f) for f in (1.0, 2.0, 3.0, 0.5, 1 / 3)))


def _frames(intervals: list[tuple[float, float]], duration_sec: float) -> np.ndarray:
    times = np.arange(0.0, duration_sec, FRAME_SEC)
    mask = np.zeros(len(times), dtype=bool)
    for start, end in intervals:
        mask |= (times >= start) & (times < end)
    return mask


def _intervals(starts: np.ndarray, duration_sec: float) -> np.ndarray:
    bounds = np.concatenate([[0.0], np.sort(starts[starts > 0.0]), [duration_sec]])
    return np.stack([bounds[:-1], bounds[1:]], axis=1)


def score(truth: Truth, est: Estimate, duration_sec: float) -> dict[str, float]:
    """Per-song metrics available for this song's truth (NaN where the truth or the
    estimate lacks what a metric needs)."""
    import mir_eval

    out: dict[str, float] = {}
    if truth.tempo_bpm:
        out["acc1"], out["acc2"] = tempo_accuracies(float(truth.tempo_bpm), est.tempo_bpm)
    if truth.beats_sec is not None:
        out["beat_f"] = mir_eval.beat.f_measure(
            mir_eval.beat.trim_beats(truth.beats_sec), mir_eval.beat.trim_beats(est.beats_sec),
            BEAT_WINDOW_SEC)
    if truth.downbeats_sec is not None:
        out["downbeat_f"] = mir_eval.beat.f_measure(
            mir_eval.beat.trim_beats(truth.downbeats_sec),
            mir_eval.beat.trim_beats(est.downbeats_sec), BEAT_WINDOW_SEC)
    if truth.key:
        out["key_exact"] = float(truth.key == est.key)
        out["key_weighted"] = mir_eval.key.weighted_score(truth.key, est.key)
    if truth.boundaries_sec is not None and est.section_starts_sec is not None:
        reference = _intervals(truth.boundaries_sec, duration_sec)
        estimated = _intervals(est.section_starts_sec, duration_sec)
        for window, name in ((3.0, "section_f3"), (0.5, "section_f05")):
            out[name] = mir_eval.segment.detection(reference, estimated, window=window,
                                                   trim=True)[2]
    if truth.drops_sec is not None and est.drops_sec is not None:
        found = [bool(len(est.drops_sec)) and float(np.min(np.abs(est.drops_sec - d))) <= 3.0
                 for d in truth.drops_sec]
        out["drops_true"] = float(len(truth.drops_sec))
        out["drops_found"] = float(sum(found))
        out["drops_estimated"] = float(len(est.drops_sec))
        out["drops_correct"] = float(sum(
            bool(len(truth.drops_sec)) and float(np.min(np.abs(truth.drops_sec - d))) <= 3.0
            for d in est.drops_sec))
    if truth.vocal_intervals is not None and est.vocal_intervals is not None:
        ref = _frames(truth.vocal_intervals, duration_sec)
        got = _frames(est.vocal_intervals, duration_sec)
        out["vocal_acc"] = float(np.mean(ref == got))
        recall, false_alarm = mir_eval.melody.voicing_measures(ref.astype(float),
                                                               got.astype(float))
        out["vocal_recall"], out["vocal_false_alarm"] = float(recall), float(false_alarm)
    out["audio_sec"], out["cpu_sec"] = duration_sec, est.cpu_sec
    return out
