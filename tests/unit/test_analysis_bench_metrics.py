"""Benchmark metrics: a perfect estimate scores 1 everywhere, known errors score as
mir_eval and the tempo literature define them."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mir_eval")  # a dev dependency: the benchmark's metrics

from services.analysis.bench_metrics import (
    Estimate,
    Truth,
    score,
    tempo_accuracies,
)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.mark.parametrize(("estimated_bpm", "expected"), [
    (120.0, (1.0, 1.0)), (124.0, (1.0, 1.0)), (60.0, (0.0, 1.0)), (240.0, (0.0, 1.0)),
    (40.0, (0.0, 1.0)), (90.0, (0.0, 0.0)), (126.0, (0.0, 0.0))])
def test_tempo_accuracies(estimated_bpm: float, expected: tuple[float, float]) -> None:
    assert tempo_accuracies(120.0, estimated_bpm) == expected


def _truth() -> Truth:
    beats = 0.1 + 0.5 * np.arange(120)
    return Truth(tempo_bpm=120.0, key="A minor", beats_sec=beats, downbeats_sec=beats[::4],
                 boundaries_sec=np.array([16.1, 32.1]), drops_sec=np.array([16.1]),
                 vocal_intervals=[(16.1, 30.0)])


def test_a_perfect_estimate_scores_one() -> None:
    truth = _truth()
    estimate = Estimate(120.0, "A minor", truth.beats_sec, truth.downbeats_sec, cpu_sec=1.0,
                        section_starts_sec=np.array([0.0, 16.1, 32.1]),
                        drops_sec=np.array([16.1]), vocal_intervals=[(16.1, 30.0)])
    scores = score(truth, estimate, 60.0)
    for name in ("acc1", "acc2", "beat_f", "downbeat_f", "key_exact", "key_weighted",
                 "section_f3", "section_f05", "vocal_acc"):
        assert scores[name] == pytest.approx(1.0), name
    assert scores["drops_found"] == scores["drops_true"] == 1.0


def test_known_errors() -> None:
    truth = _truth()
    # Off-beat phase, the wrong bar phase, the relative major, a boundary 2 s late.
    estimate = Estimate(120.0, "C major", truth.beats_sec + 0.25, truth.beats_sec[1::4],
                        cpu_sec=1.0, section_starts_sec=np.array([0.0, 18.1, 32.1]),
                        drops_sec=np.zeros(0), vocal_intervals=[])
    scores = score(truth, estimate, 60.0)
    assert scores["beat_f"] == 0.0 and scores["downbeat_f"] == 0.0
    assert scores["key_exact"] == 0.0 and scores["key_weighted"] == pytest.approx(0.3)
    assert scores["section_f3"] == 1.0 and scores["section_f05"] == pytest.approx(0.5)
    assert scores["drops_found"] == 0.0 and scores["vocal_acc"] < 0.8
