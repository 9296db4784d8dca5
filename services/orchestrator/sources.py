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
from shared.intervals import covered_share, merge_close

BEATS_PER_BAR = 4
# Sections closer than this in energy (0..1) count as a match: keep playing on.
ENERGY_MATCH = 0.15
# Source section labels that suit each kind of mashup section; a match counts as this
# much energy difference less (an intro is best made from the source's own intro).
LABEL_AFFINITY = {"intro": {"intro"}, "verse": {"verse"}, "build": {"build", "verse"},
                  "drop": {"drop", "chorus"}, "breakdown": {"breakdown", "bridge"},
                  "outro": {"outro"}}
LABEL_BONUS = 0.1
# A vocal window may start this share of its length before the sung phrase it is for
# (silence first) so that it ends where nobody sings; the next phrases are tried too.
CLEAN_END_MAX_LEAD = 0.25
CLEAN_END_LOOKAHEAD = 3
# Singing this close to a window's end counts as cut (a word's tail, a pickup's start).
CLEAN_END_MARGIN_SEC = 0.15
BREATH_SEC = 0.25
# Under another song's voice, each share (0..1) of an instrumental window this song sings
# costs as much as this much energy mismatch; a window sung more than SUNG_STAY_MAX is
# left even when its energy would let the music play on. Energy is the window's whole
# length (`window_energy`), and a window the mix already played costs REUSE_COST per
# share heard (a drop on the verse's very bars sounds like the verse). On 72 plans of four
# real recordings' analyses (ordered pairs x 6 seeds), against the start section's energy
# with SUNG_COST 0.3 and no reuse cost: energy mismatch .140 -> .132, drops' window
# energy .639 -> .665, windows reused in another kind of section 86 -> 64, sung share
# under the lead .200 -> .206 (SUNG_COST 0.3 here: mismatch .114 but sung .263).
SUNG_COST = 0.5
SUNG_STAY_MAX = 0.5
REUSE_COST = 0.05
PHRASE_STEP_BARS = 8
# A drop's vocal comes from the song's hook (its analysed chorus or drop sections) when
# one is sung there (this share of the section or more), ahead of where the vocal has got.
HOOK_LABELS = frozenset({"chorus", "drop"})
HOOK_SUNG_SHARE = 0.3
# A vocal window starts only at a phrase from which the song sings at least this share
# of the share its most densely sung window of that length holds (when such a phrase is
# ahead): scattered intro ad-libs are no verse. Real renders of Lithium's vocals sang its
# intro's scattered lines (0.3 sung) in the verse and the build, which the renderer then
# moved to its last choruses, out of order. On the plans of four real recordings'
# analyses (ordered pairs x 6 seeds, 260 vocal windows): mean sung share .528 -> .662,
# windows under 0.3 sung 32 -> 0; On the run's first verse (0.49) is still its verse
# (an absolute 0.55 skipped it; relative 0.7 let 3:2 windows jump to the last chorus).
DENSE_SHARE_OF_BEST = 0.6


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
    clipped = ((max(0.0, float(start)), min(float(end), analysis.duration_sec))
               for start, end in analysis.vocal_intervals)
    merged = merge_close(((start, end) for start, end in clipped
                          if end - start >= 0.25),  # shorter: a blip, not a phrase
                         max_gap_sec=bar_sec)
    phrases: list[tuple[float, float]] = []
    for start, end in merged:
        snapped = snap_back(start, grid, tolerance_sec=0.25 * beat_sec)
        if phrases and snapped <= phrases[-1][0]:
            phrases[-1] = (phrases[-1][0], max(phrases[-1][1], end))
        else:
            phrases.append((snapped, end))
    return phrases


def sung_lines(analysis: AnalysisResult) -> list[tuple[float, float]]:
    """Vocal intervals (start, end) in order, merged across breaths shorter than
    BREATH_SEC: the spans a cut must not fall into."""
    return merge_close(analysis.vocal_intervals, max_gap_sec=BREATH_SEC)


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
    grid: list[float] = field(default_factory=list)
    sung: list[tuple[float, float]] = field(default_factory=list)
    sung_starts: list[float] = field(default_factory=list)
    hooks: list[tuple[float, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.phrases = vocal_phrases(self.analysis)
        self.grid = downbeat_grid(self.analysis)
        self.sung = sung_lines(self.analysis)
        self.sung_starts = [start for start, _ in self.sung]
        self.hooks = self._sung_hooks()

    def _sung_hooks(self) -> list[tuple[float, float]]:
        """(start, end) of each sung chorus or drop section, in order, from its own
        downbeat: the hook lands on the mashup section's first beat (a line's pickup
        before it is the renderer's to lead in with, not a bar of the verse before)."""
        return [(snap_nearest(section.start_sec, self.grid), section.end_sec)
                for section in self.analysis.sections
                if section.label in HOOK_LABELS and sung_share(
                    self.analysis, section.start_sec, section.end_sec) >= HOOK_SUNG_SHARE]

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
        the song has no sung phrases. The start is a downbeat where nobody sings, at or
        before a phrase (one that is sung densely enough, DENSE_SHARE_OF_BEST, when one
        is ahead), chosen (`clean_start`) so that the section also ends where nobody
        sings when one of the next phrases allows it. `prefer_loud` (a drop):
        the next sung hook ahead when there is one, else the next phrase (and, once
        the song is used up, its loudest)."""
        if not self.phrases:
            return None
        need = duration_sec * self.tempo_ratio
        end = self.analysis.duration_sec
        hooks = [h for h in self.hooks
                 if h[0] >= self.position_sec - 1e-6 and h[0] + need <= end + 1e-6]
        if prefer_loud and hooks:
            # A drop carries the song's hook: the next sung chorus, not simply the next
            # line (a real render played On the run's third verse in the drop and never
            # its chorus).
            start = self.clean_start(hooks, need, earliest_sec=self.position_sec)
            self.position_sec = start + need
            return start
        fits = [p for p in self.phrases if p[0] + need <= end + 1e-6] or self.phrases[:1]
        shares = [sung_share(self.analysis, p[0], p[0] + need) for p in fits]
        least = DENSE_SHARE_OF_BEST * max(shares)
        ahead = [p for p in fits if p[0] >= self.position_sec - 1e-6]
        ahead = [p for p, share in zip(fits, shares, strict=True)
                 if share >= least and p[0] >= self.position_sec - 1e-6] or ahead
        if ahead:
            start = self.clean_start(ahead, need, earliest_sec=self.position_sec)
        else:
            # Sung material used up: reuse a phrase, the loudest (chorus) one for a drop.
            self.reused = True
            first = self._loudest(fits) if prefer_loud else fits[0]
            start = self.clean_start(fits[fits.index(first):], need, earliest_sec=0.0)
        self.position_sec = start + need
        return start

    def clean_start(self, phrases: list[tuple[float, float]], need_sec: float, *,
                    earliest_sec: float) -> float:
        """The start for a `need_sec` window at one of the first CLEAN_END_LOOKAHEAD of
        `phrases`: the phrase's own downbeat if the window then ends where nobody sings,
        else the latest downbeat before it (at most CLEAN_END_MAX_LEAD of the window
        earlier, not before `earliest_sec`, none sung) from which it does; the first
        phrase's downbeat when no such start exists. A window that ends inside a sung
        line would cut a word in half at the section's end (or leave a pickup dangling);
        the sections are 8-16 bars and sung lines often run across 4-bar boundaries, and
        a song in a 3:2 relation fills an 8-bar section with 12 of its own bars."""
        end = self.analysis.duration_sec
        for phrase_start, _ in phrases[:CLEAN_END_LOOKAHEAD]:
            lo = index = bisect.bisect_right(self.grid, phrase_start + 1e-6)
            while lo > 0 and self.grid[lo - 1] >= max(earliest_sec, phrase_start
                                                        - CLEAN_END_MAX_LEAD * need_sec) - 1e-6:
                lo -= 1
            candidates = [phrase_start, *reversed(self.grid[lo:index])]
            for start in candidates:
                if start > phrase_start + 1e-6 or start + need_sec > end + 1e-6:
                    continue
                if start < phrase_start - 1e-6 and self._sung_at(start):
                    break  # earlier starts would begin inside the line before
                if not self._sung_at(start + need_sec, margin_sec=CLEAN_END_MARGIN_SEC):
                    return start
        return phrases[0][0]

    def _sung_at(self, time_sec: float, margin_sec: float = 0.0) -> bool:
        index = bisect.bisect_right(self.sung_starts, time_sec + margin_sec) - 1
        return index >= 0 and self.sung[index][1] > time_sec - margin_sec

    def _loudest(self, phrases: list[tuple[float, float]]) -> tuple[float, float]:
        return max(phrases, key=lambda p: section_energy(self.analysis, p[0]))


def section_energy(analysis: AnalysisResult, time_sec: float) -> float:
    """Energy (0..1) of the analysed section around `time_sec`; the song's mean if none."""
    for section in analysis.sections:
        if section.start_sec <= time_sec < section.end_sec:
            return section.energy
    return analysis.energy


def window_energy(analysis: AnalysisResult, start_sec: float, end_sec: float) -> float:
    """Energy (0..1) of source seconds [start_sec, end_sec): the analysed sections'
    energies weighted by how much of the window each covers (the song's mean where no
    section does). A window that starts in a chorus and runs into the outro is as loud as
    both, not as the chorus it starts in."""
    if end_sec <= start_sec:
        return section_energy(analysis, start_sec)
    covered = weighted = 0.0
    for section in analysis.sections:
        overlap = min(end_sec, section.end_sec) - max(start_sec, section.start_sec)
        if overlap > 0:
            covered += overlap
            weighted += overlap * section.energy
    length = end_sec - start_sec
    return (weighted + max(0.0, length - covered) * analysis.energy) / length


def sung_share(analysis: AnalysisResult, start_sec: float, end_sec: float) -> float:
    """Share (0..1) of source seconds [start_sec, end_sec) in which the song sings."""
    return min(1.0, covered_share(start_sec, end_sec, analysis.vocal_intervals))


@dataclass
class InstrumentalCursor:
    """Picks energy-matched source positions for a song's instrumental stems."""

    analysis: AnalysisResult
    tempo_ratio: float
    rng: random.Random
    position_sec: float | None = None
    grid: list[float] = field(default_factory=list)
    used: list[tuple[float, float]] = field(default_factory=list)  # source windows taken

    def __post_init__(self) -> None:
        self.grid = downbeat_grid(self.analysis)

    def take(self, duration_sec: float, *, energy: float, kind: str = "",
             under_voice: bool = False) -> float:
        """Source start (on a downbeat) for a `kind` section of `duration_sec` output
        seconds with `energy` (0..1). `under_voice`: another song's lead sings over
        these stems, so passages where this song itself sings cost more (SUNG_COST): a
        separated instrumental keeps some of its own singer, a second voice under the
        lead."""
        need = duration_sec * self.tempo_ratio
        end = self.analysis.duration_sec
        here = self.position_sec
        if (here is not None and here + need <= end
                and abs(window_energy(self.analysis, here, here + need) - energy)
                <= ENERGY_MATCH
                and not (under_voice
                         and sung_share(self.analysis, here, here + need) > SUNG_STAY_MAX)):
            start = snap_nearest(here, self.grid)
        else:
            start = self._best_start(need, energy, kind, under_voice=under_voice)
        if start + need > end:  # too little music left: start earlier, on a downbeat
            start = snap_back(max(0.0, end - need), self.grid, tolerance_sec=0.0)
        self.position_sec = start + need
        self.used.append((start, start + need))
        return start

    def _best_start(self, need_sec: float, energy: float, kind: str, *,
                    under_voice: bool) -> float:
        """The best-matching section start or, under a voice, phrase start within a
        section (every PHRASE_STEP_BARS bars: an instrumental stretch inside a long
        section is a candidate too)."""
        end = self.analysis.duration_sec
        sections = [s for s in self.analysis.sections if s.start_sec < end]
        if not sections:
            return self.grid[0]
        suits = LABEL_AFFINITY.get(kind, set())
        candidates: list[tuple[float, SongSection]] = []
        for section in sections:
            first = snap_nearest(section.start_sec, self.grid)
            candidates.append((first, section))
            if under_voice:
                later = self.grid[bisect.bisect_right(self.grid, first + 1e-6):]
                candidates += [(t, section) for t in later[PHRASE_STEP_BARS - 1::PHRASE_STEP_BARS]
                               if t < section.end_sec - 1e-6]
        fitting = [c for c in candidates if c[0] + need_sec <= end] or candidates[:1]

        def cost(candidate: tuple[float, SongSection]) -> float:
            start, section = candidate
            bonus = LABEL_BONUS if section.label in suits else 0.0
            sung = SUNG_COST * sung_share(self.analysis, start, start + need_sec) \
                if under_voice else 0.0
            mismatch = abs(window_energy(self.analysis, start, start + need_sec) - energy)
            heard = REUSE_COST * covered_share(start, start + need_sec, self.used)
            # A little seeded jitter lets near-equal sections trade places between seeds.
            return mismatch - bonus + sung + heard + 0.04 * self.rng.random()

        return min(fitting, key=cost)[0]
