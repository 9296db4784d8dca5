"""The render benchmark's own bookkeeping (its checks run in `make bench-render`)."""

from __future__ import annotations

import numpy as np
import pytest

from services.processing.bench import _energy_arc, _fade_bars
from services.processing.render import RenderResult


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


def _sections_at(levels_db: list[float], energies: list[float]) -> RenderResult:
    """A render of 4-s pink-ish noise sections at `levels_db`, planned at `energies`."""
    sr = 44100
    rng = np.random.default_rng(0)
    parts, sections = [], []
    for i, (level, energy) in enumerate(zip(levels_db, energies, strict=True)):
        noise = rng.standard_normal((2, 4 * sr)).astype(np.float32)
        parts.append(noise / np.sqrt(np.mean(noise**2)) * np.float32(10 ** (level / 20)))
        sections.append({"index": i, "start_sec": 4.0 * i, "end_sec": 4.0 * (i + 1),
                         "energy_level": energy})
    audio = np.concatenate(parts, axis=1)
    return RenderResult(audio, sr, audio.shape[1] / sr, -14.0, -1.0, [],
                        {"sections": sections})


def test_the_energy_arc_check_flags_a_breakdown_louder_than_its_drops() -> None:
    _, outplaying = _energy_arc(_sections_at([-20, -14, -13, -14], [0.3, 0.9, 0.5, 0.9]))
    assert len(outplaying) == 1 and outplaying[0].startswith("section 3 (energy 0.50)")
    lufs, outplaying = _energy_arc(_sections_at([-20, -14, -17, -14], [0.3, 0.9, 0.5, 0.9]))
    assert outplaying == [] and lufs[1] - lufs[2] == pytest.approx(3.0, abs=0.2)
