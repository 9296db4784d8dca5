"""Where in each source song a layer starts.

Vocal layers walk through the vocal source's sung phrases in order (each phrase start
snapped back to the downbeat that begins its bar, so no pickup is cut); instrumental
layers take the source section whose energy best matches the mashup section, staying
in place while the music there still fits. All positions are source seconds.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field

from shared.contracts.analysis import AnalysisResult, SongSection

BEATS_PER_BAR = 4
# Sections closer than this in energy (0..1) count as a match: keep playing on.
ENERGY_MATCH = 0.15
# Source section labels that suit each kind of mashup section; a match counts as this
# much energy difference less (an intro is best made from the source's own intro).
LABEL_AFFINITY = {"intro": {"intro"}, "verse": {"verse"}, "build": {"build", "verse"},
                  "drop": {"drop", "chorus"}, "breakdown": {"breakdown", "bridge"},
                  "outro": {"outro"}}
LABEL_BONUS = 0.1


def downbeat_grid(analysis: AnalysisResult) -> list[float]:
    """The song's downbeats (seconds, ascending): analysed, else every 4th beat, else a
    grid at its tempo from 0."""
    duration = analysis.duration_sec
    points = sorted(t for t in analysis.downbeats if 0.0 <= t < duration)
    if len(points) < 2:
        points = sorted(t for t in analysis.beats if 0.0 <= t < duration)[::BEATS_PER_BAR]
    if len(points) < 2:
        bar = BEATS_PER_BAR * 60.0 / analysis.bpm
        points = [i * bar for i in range(int(duration / bar) + 1) if i * bar < duration]
    return points


def snap_back(time_sec: float, grid: list[float], *, tolerance_sec: float) -> float:
    """The last grid point at or before `time_sec` (+ tolerance); the first if none."""
    index = bisect.bisect_right(grid, time_sec + tolerance_sec) - 1
    return grid[max(0, index)]


def snap_nearest(time_sec: float, grid: list[float]) -> float:
    index = bisect.bisect_left(grid, time_sec)
    neighbours = grid[max(0, index - 1): index + 1] or grid[-1:]
    return min(neighbours, key=lambda t: abs(t - time_sec))


def vocal_phrases(analysis: AnalysisResult) -> list[tuple[float, float]]:
    """Sung phrases (start, end) in source seconds: vocal intervals merged across gaps
    shorter than a bar, starts snapped back to their downbeat, in order."""
    grid = downbeat_grid(analysis)
    beat_sec = 60.0 / analysis.bpm
    bar_sec = BEATS_PER_BAR * beat_sec
    merged: list[list[float]] = []
    for start, end in sorted(analysis.vocal_intervals):
        start, end = max(0.0, float(start)), min(float(end), analysis.duration_sec)
        if end - start < 0.25:  # a blip, not a phrase
            continue
        if merged and start - merged[-1][1] < bar_sec:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    phrases: list[tuple[float, float]] = []
    for start, end in merged:
        snapped = snap_back(start, grid, tolerance_sec=0.25 * beat_sec)
        if phrases and snapped <= phrases[-1][0]:
            phrases[-1] = (phrases[-1][0], max(phrases[-1][1], end))
        else:
            phrases.append((snapped, end))
    return phrases


@dataclass
class VocalCursor:
    """Hands out successive sung phrases of the vocal source.

    `tempo_ratio` is source seconds per output second (target tempo / folded source tempo).
    """

    analysis: AnalysisResult
    tempo_ratio: float
    phrases: list[tuple[float, float]] = field(default_factory=list)
    position_sec: float = 0.0
    reused: bool = False

    def __post_init__(self) -> None:
        self.phrases = vocal_phrases(self.analysis)

    def skip(self, count: int) -> None:
        """Start later in the song (the first `count` phrases are left out)."""
        if 0 < count < len(self.phrases):
            self.position_sec = self.phrases[count][0]

    def has_fresh(self, duration_sec: float) -> bool:
        """Whether an unused phrase with room for `duration_sec` of output remains."""
        need = duration_sec * self.tempo_ratio
        return any(p[0] >= self.position_sec - 1e-6
                   and p[0] + need <= self.analysis.duration_sec + 1e-6 for p in self.phrases)

    def take(self, duration_sec: float, *, prefer_loud: bool = False) -> float | None:
        """Source start for a vocal section lasting `duration_sec` of output; None when
        the song has no sung phrases."""
        if not self.phrases:
            return None
        need = duration_sec * self.tempo_ratio
        end = self.analysis.duration_sec
        fits = [p for p in self.phrases if p[0] + need <= end + 1e-6] or self.phrases[:1]
        ahead = [p for p in fits if p[0] >= self.position_sec - 1e-6]
        if ahead:
            start = ahead[0][0]
        else:
            # Sung material used up: reuse a phrase, the loudest (chorus) one for a drop.
            self.reused = True
            start = (self._loudest(fits) if prefer_loud else fits[0])[0]
        self.position_sec = start + need
        return start

    def _loudest(self, phrases: list[tuple[float, float]]) -> tuple[float, float]:
        return max(phrases, key=lambda p: section_energy(self.analysis, p[0]))


def section_energy(analysis: AnalysisResult, time_sec: float) -> float:
    """Energy (0..1) of the analysed section around `time_sec`; the song's mean if none."""
    for section in analysis.sections:
        if section.start_sec <= time_sec < section.end_sec:
            return section.energy
    return analysis.energy


@dataclass
class InstrumentalCursor:
    """Picks energy-matched source positions for a song's instrumental stems."""

    analysis: AnalysisResult
    tempo_ratio: float
    rng: random.Random
    position_sec: float | None = None
    grid: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.grid = downbeat_grid(self.analysis)

    def take(self, duration_sec: float, *, energy: float, kind: str = "") -> float:
        """Source start (on a downbeat) for a `kind` section of `duration_sec` output
        seconds with `energy` (0..1)."""
        need = duration_sec * self.tempo_ratio
        end = self.analysis.duration_sec
        here = self.position_sec
        if (here is not None and here + need <= end
                and abs(section_energy(self.analysis, here) - energy) <= ENERGY_MATCH):
            start = snap_nearest(here, self.grid)
        else:
            start = self._best_section(need, energy, kind)
        if start + need > end:  # too little music left: start earlier, on a downbeat
            start = snap_back(max(0.0, end - need), self.grid, tolerance_sec=0.0)
        self.position_sec = start + need
        return start

    def _best_section(self, need_sec: float, energy: float, kind: str) -> float:
        end = self.analysis.duration_sec
        sections = [s for s in self.analysis.sections if s.start_sec < end]
        if not sections:
            return self.grid[0]
        fitting = [s for s in sections if s.start_sec + need_sec <= end] or sections
        suits = LABEL_AFFINITY.get(kind, set())

        def cost(section: SongSection) -> float:
            bonus = LABEL_BONUS if section.label in suits else 0.0
            # A little seeded jitter lets near-equal sections trade places between seeds.
            return abs(section.energy - energy) - bonus + 0.04 * self.rng.random()

        return snap_nearest(min(fitting, key=cost).start_sec, self.grid)
