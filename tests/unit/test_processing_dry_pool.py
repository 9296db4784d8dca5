"""The span-parallel warp gives the sequential warp's exact samples, and a phrase placed
twice on the same map is stretched once."""

from __future__ import annotations

from typing import Any

import numpy as np
import pedalboard
import pytest

from services.processing import stretch
from services.processing.arrange import Arrangement, plan_arrangement
from services.processing.dry_pool import DryPool
from services.processing.layers import plan_spans, render_dry
from services.processing.material import LAYER_STEMS, SongMaterial
from services.processing.render import pitch_shifts, song_contexts
from services.processing.settings import RenderSettings
from tests.unit.test_processing_support import house_124, material, plan, pop_118

HQ = RenderSettings(stretch_high_quality=True)


def _arrangement(sections: list[list[dict[str, Any]]]) -> tuple[
        Arrangement, dict[str, SongMaterial], dict[str, Any], dict[str, int]]:
    materials = {"a": material(pop_118(), "a"), "b": material(house_124(), "b")}
    # 2 bars a section at 121 BPM: each is one or two stretcher spans, so the test is quick.
    p = plan(121.0, "G minor", sections, bars=2)
    contexts = song_contexts(p, materials, [])
    shifts = pitch_shifts(p, materials, [])
    available = {s: {stem for stem in LAYER_STEMS if m.has(stem)} for s, m in materials.items()}
    arrangement = plan_arrangement(p, contexts, settings=HQ, fill_song="a", available=available)
    return arrangement, materials, contexts, shifts


class _Counter:
    def __init__(self) -> None:
        self.calls = 0
        self._real = pedalboard.time_stretch

    def __call__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        self.calls += 1
        return self._real(*args, **kwargs)


@pytest.mark.parametrize("threads", [1, 2])
def test_pool_gives_the_sequential_samples(threads: int) -> None:
    arrangement, materials, contexts, shifts = _arrangement([
        [{"songId": "a", "stem": "drums"}, {"songId": "b", "stem": "vocals"}],
        [{"songId": "a", "stem": "drums"}, {"songId": "b", "stem": "other"}],
    ])
    placements = [p for s in arrangement.sections for p in s.placements]
    assert any(p.preroll for p in placements)  # a crossfade into section 2 is covered too
    with DryPool(placements, materials=materials, contexts=contexts, shifts=shifts,
                 settings=HQ, beat_sec=arrangement.beat_sec, threads=threads) as pool:
        for p in placements:
            pool.submit(p)
        pooled = [pool.result(p) for p in placements]
    for p, audio in zip(placements, pooled, strict=True):
        alone = render_dry(p, materials[p.song_id], contexts[p.song_id],
                           pitch=shifts[p.song_id], settings=HQ, beat_sec=arrangement.beat_sec)
        assert np.array_equal(audio, alone)


def test_a_stem_layered_twice_is_stretched_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # A plan may layer one stem twice (dry, and quieter through a reverb): one stretch.
    arrangement, materials, contexts, shifts = _arrangement([[
        {"songId": "b", "stem": "drums"},
        {"songId": "b", "stem": "drums", "volume_db": -6, "effects": ["reverb"]}]])
    dry, wet = arrangement.sections[0].placements
    spans = len(plan_spans(dry, contexts["b"], settings=HQ, beat_sec=arrangement.beat_sec))
    assert spans >= 1 and shifts["b"] != 0
    counter = _Counter()
    monkeypatch.setattr(stretch.pedalboard, "time_stretch", counter)
    with DryPool([dry, wet], materials=materials, contexts=contexts, shifts=shifts,
                 settings=HQ, beat_sec=arrangement.beat_sec, threads=2) as pool:
        audio = [pool.result(dry), pool.result(wet)]
    assert counter.calls == spans
    assert np.allclose(audio[1], audio[0] * 10 ** (-6 / 20), atol=1e-7)


@pytest.mark.parametrize(("partners", "short"), [
    ([{"songId": "a", "stem": "bass"}], False),  # the kick's bleed in the bass: one window
    ([{"songId": "a", "stem": "instrumental"}], False),
    ([{"songId": "a", "stem": "vocals"}, {"songId": "b", "stem": "bass"}], True),
    ([{"songId": "a", "stem": "other"}], True),  # both on the short window
    ([], True),
])
def test_drums_take_the_short_window_unless_a_bass_stem_of_their_song_plays_beside(
        monkeypatch: pytest.MonkeyPatch, partners: list[dict[str, Any]], short: bool) -> None:
    arrangement, materials, contexts, shifts = _arrangement(
        [[{"songId": "a", "stem": "drums"}, *partners]])
    placements = arrangement.sections[0].placements
    drums = next(p for p in placements if p.stem == "drums")
    windows: list[object] = []
    real = pedalboard.time_stretch

    def spy(*args: Any, **kwargs: Any) -> np.ndarray:
        windows.append(kwargs.get("use_long_fft_window"))
        return real(*args, **kwargs)

    monkeypatch.setattr(stretch.pedalboard, "time_stretch", spy)
    with DryPool(placements, materials=materials, contexts=contexts, shifts=shifts,
                 settings=HQ, beat_sec=arrangement.beat_sec, threads=1) as pool:
        pool.result(drums)  # only the drums' stretches run
    assert windows and set(windows) == ({False} if short else {None})
