"""Plan the arrangement: which source bars of which song play where in the output.

Pure planning (no audio is touched): sections are laid end to end, each layer becomes a
`Placement` made of `Piece`s. A piece anchors one source downbeat on one output downbeat
(output downbeat k is at k * beats_per_bar * 60 / targetBPM), so source downbeats land on
output downbeats. Where a plan gives no `source_start_sec`, the source position is chosen
musically among the bar where the song's previous section left off (preferred, for
continuity) and the phrase starts (downbeats on 4-bar boundaries, analysed section starts):
the one whose energy matches the section's energy_level and, for a vocal layer, is sung.
When the source runs out the last 4 output bars' worth of source bars loop. Layers of one
song in one section share one source position, so its vocals and drums stay as tight as in
the original.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from services.processing.material import SongAnalysis
from services.processing.phrasing import crosses_bars, phrase_spans
from services.processing.profile import SourceProfile
from services.processing.settings import RenderSettings
from services.processing.warp import build_time_map
from shared.contracts.orchestrator import Layer, Masterplan
from shared.errors import Unprocessable
from shared.intervals import covered_share

BASS_STEMS = frozenset({"bass", "instrumental", "full"})
_LOOP_OUT_BARS = 4
_PHRASE_BARS = 4
_BOUNDARY_TOLERANCE_SEC = 0.05
_PICKUP_MAX_BEATS = 2.0  # a sung line starting this close before a vocal layer leads in
_PICKUP_LEAD_SEC = 0.05  # ...and is rendered from this much before its analysed start


@dataclass(frozen=True)
class Piece:
    """Output samples [out_start, out_end) play the source mapped with this anchor."""

    out_start: int
    out_end: int
    anchor_bar: int  # source downbeat index in the song's cleaned grid
    anchor_out_sec: float  # where that downbeat lands in the output


@dataclass
class Placement:
    """One layer of one section, ready to render (all positions in output samples)."""

    section: int
    song_id: str
    stem: str
    volume_db: float  # the plan's
    effects: tuple[str, ...]
    start: int
    end: int
    pieces: list[Piece]
    fade_in: int = 0  # length of the fade at `start - preroll`
    preroll: int = 0  # samples rendered before `start` (the crossfade into this section)
    fade_out: int = 0  # length of the fade that ends at `end`
    crossfade: Literal["linear", "power"] = "power"  # curve of the fade in from `preroll`
    fade_out_kind: Literal["linear", "power"] = "power"  # curve of the fade out at `end`
    continues: bool = False  # the same song+stem plays on in the next section
    looped: bool = False
    filled: bool = False  # added by the renderer to avoid a silent section
    source_start_sec: float = 0.0
    source_end_sec: float = 0.0
    gain_db: float = 0.0  # the song's level match (SongContext.gain_db), on top of volume_db


@dataclass
class SectionPlan:
    index: int
    start: int
    end: int
    energy_level: float
    description: str
    placements: list[Placement] = field(default_factory=list)


@dataclass
class Arrangement:
    sections: list[SectionPlan]
    total_samples: int
    sample_rate_hz: int
    target_bpm: float
    beats_per_bar: int
    ratios: dict[str, float]
    warnings: list[str]

    @property
    def beat_sec(self) -> float:
        return 60.0 / self.target_bpm

    @property
    def bar_sec(self) -> float:
        return self.beats_per_bar * self.beat_sec


@dataclass(frozen=True)
class SongContext:
    analysis: SongAnalysis
    profile: SourceProfile
    ratio: float  # output beats per source beat
    # Brings the song's whole mix to the render's loudness before the plan's volume_db,
    # so "vocals 0 dB over drums -3 dB" means the same for a loud master and a quiet one.
    gain_db: float = 0.0

    def out_bar_sec(self, beat_sec: float) -> float:
        """Output seconds one source bar takes."""
        return self.analysis.beats_per_bar * self.ratio * beat_sec


def _snap_bar(ctx: SongContext, source_sec: float) -> int:
    grid = ctx.profile.downbeats_sec
    bar = int(np.argmin(np.abs(grid[:-1] - source_sec)))
    return int(np.clip(bar, ctx.profile.first_bar, max(ctx.profile.first_bar,
                                                       ctx.profile.end_bar - 1)))


def _candidates(ctx: SongContext) -> list[int]:
    prof = ctx.profile
    bars = set(range(prof.first_bar, max(prof.end_bar, prof.first_bar + 1), _PHRASE_BARS))
    for section in ctx.analysis.sections:
        try:
            bars.add(_snap_bar(ctx, float(section.get("start_sec", 0.0))))
        except (TypeError, ValueError):
            continue
    return sorted(bars)


UNSUNG_SHARE = 0.2  # a vocal window sung less than this (by `bar_vocal`) is unsung
MOVED_OVERLAP_COST = 0.6  # choose_anchor's cost of replaying bars, for a moved window


def _unsung(ctx: SongContext, bar: int, needed_bars: float) -> bool:
    """Whether the window of `needed_bars` source bars from `bar` is hardly sung."""
    span = ctx.profile.bar_vocal[bar:bar + max(1, math.ceil(needed_bars - 1e-6))]
    return span.size == 0 or float(np.mean(span)) < UNSUNG_SHARE


def choose_anchor(ctx: SongContext, *, needed_bars: float, energy_level: float,
                  wants_vocals: bool, used: list[tuple[int, int]],
                  continue_bar: int | None = None, overlap_cost: float = 0.2) -> int:
    """The bar that best fits the section (lower cost wins, earliest on ties).

    Candidates are phrase starts and, when the song played in the previous section, the
    bar where it left off (`continue_bar`, which earns a continuity bonus of 0.3 and
    counts no overlap). Cost: energy mismatch + (vocal layer) the unsung share + the share
    outside the analysed sections + the share that would loop + `overlap_cost` times the
    share of bars of this song already played + a tiny preference for earlier bars.
    """
    prof = ctx.profile
    best, best_cost = prof.first_bar, math.inf
    usable = max(prof.usable_bars, 1)
    candidates = _candidates(ctx)
    if continue_bar is not None and prof.first_bar <= continue_bar < prof.end_bar:
        candidates = sorted({*candidates, continue_bar})
    for bar in candidates:
        available = prof.end_bar - bar
        n = max(1, min(math.ceil(needed_bars - 1e-6), available))
        span = slice(bar, bar + n)
        cost = abs(float(np.mean(prof.bar_energy[span])) - energy_level)
        if wants_vocals:
            cost += 1.0 - float(np.mean(prof.bar_vocal[span]))
        cost += 0.3 * (1.0 - float(np.mean(prof.bar_in_form[span])))
        if available < needed_bars:
            cost += 0.5 * (needed_bars - available) / needed_bars
        if bar == continue_bar:
            cost -= 0.3
        else:
            overlap = sum(max(0, min(bar + n, b) - max(bar, a)) for a, b in used)
            cost += overlap_cost * overlap / n
        cost += 0.01 * (bar - prof.first_bar) / usable
        if cost < best_cost - 1e-9:
            best, best_cost = bar, cost
    return best


def plan_pieces(ctx: SongContext, *, anchor_bar: int, anchor_out_sec: float, start: int,
                end: int, beat_sec: float, sample_rate_hz: int) -> list[Piece]:
    """Cover output samples [start, end) from `anchor_bar`, looping on bar boundaries.

    When the source runs out (at the end of its last whole bar), the last
    `_LOOP_OUT_BARS` output bars' worth of source bars repeat until the section ends.
    """
    sr = sample_rate_hz
    out_bar = ctx.out_bar_sec(beat_sec)
    end_bar = ctx.profile.end_bar
    limit_out = anchor_out_sec + (end_bar - anchor_bar) * out_bar
    if limit_out * sr >= end - 0.5:
        return [Piece(start, end, anchor_bar, anchor_out_sec)]
    pieces: list[Piece] = []
    if limit_out * sr > start:
        pieces.append(Piece(start, round(limit_out * sr), anchor_bar, anchor_out_sec))
    loop_bars = int(np.clip(round(_LOOP_OUT_BARS / ctx.ratio), 1, max(ctx.profile.usable_bars, 1)))
    loop_start = max(end_bar - loop_bars, 0)
    loop_out = loop_bars * out_bar
    k = max(0, math.floor((start / sr - limit_out) / loop_out))
    while True:
        t0 = limit_out + k * loop_out
        a, b = round(t0 * sr), round((t0 + loop_out) * sr)
        a, b = max(a, start), min(b, end)
        if b > a:
            pieces.append(Piece(a, b, loop_start, t0))
        if b >= end:
            return pieces
        k += 1


def _phrase_pieces(ctx: SongContext, pieces: list[Piece], *, beat_sec: float, bar_sec: float,
                   sample_rate_hz: int) -> list[Piece]:
    """A vocal layer's one piece split so that each sung line starts on an output
    downbeat (`services.processing.phrasing`: for songs in a 3:2 relation)."""
    (piece,) = pieces
    spans = phrase_spans(downbeats_sec=ctx.profile.downbeats_sec,
                         vocal_intervals_sec=ctx.analysis.vocal_intervals,
                         source_beat_sec=ctx.analysis.beat_sec,
                         source_bar_out_sec=ctx.out_bar_sec(beat_sec),
                         end_bar=ctx.profile.end_bar, anchor_bar=piece.anchor_bar,
                         anchor_out_sec=piece.anchor_out_sec, start=piece.out_start,
                         end=piece.out_end, out_bar_sec=bar_sec, sample_rate_hz=sample_rate_hz)
    return pieces if spans is None else [Piece(*span) for span in spans]


def _source_sec(ctx: SongContext, piece: Piece, out_sample: int, *, beat_sec: float,
                sample_rate_hz: int, settings: RenderSettings) -> float:
    time_map = build_time_map(ctx.analysis, anchor_bar=piece.anchor_bar,
                              anchor_out_sec=piece.anchor_out_sec, ratio=ctx.ratio,
                              target_beat_sec=beat_sec, mode=settings.time_map)
    return float(time_map.to_src(out_sample / sample_rate_hz)[0])


def fill_layer(song_id: str, available: Mapping[str, set[str]]) -> Layer:
    """The layer that fills a section that would be silent: the song's instrumental."""
    stem = "instrumental" if "instrumental" in available.get(song_id, set()) else "full"
    return Layer(songId=song_id, stem=stem, volume_db=0.0, effects=[])


def plan_arrangement(plan: Masterplan, contexts: Mapping[str, SongContext], *,
                     settings: RenderSettings, fill_song: str,
                     available: Mapping[str, set[str]]) -> Arrangement:
    """Lay the plan's sections end to end and place every layer (see the module doc).

    `available[song]` names the stems each song can provide; `fill_song` fills sections
    without layers. Raises Unprocessable for a layer naming a song without material.
    """
    sr = settings.sample_rate_hz
    target_bpm = plan.global_.targetBPM
    bpb = int(plan.global_.timeSignature[0]) or 4
    beat_sec = 60.0 / target_bpm
    bar_sec = bpb * beat_sec
    warnings: list[str] = []
    edges = np.concatenate([[0.0], np.cumsum([s.duration_sec for s in plan.timeline])])
    starts = [s.time_start_sec for s in plan.timeline]
    if any(abs(a - b) > _BOUNDARY_TOLERANCE_SEC for a, b in zip(starts, edges[:-1], strict=True)):
        warnings.append("timeline sections are not contiguous; they were laid end to end "
                        f"({edges[-1]:.2f} s in all)")
    off_grid = [abs(e / bar_sec - round(e / bar_sec)) * bar_sec for e in edges]
    if max(off_grid) > _BOUNDARY_TOLERANCE_SEC:
        warnings.append(f"section boundaries are not on bars at {target_bpm:g} BPM; "
                        "layers still lock to the bar grid")
    bounds = [round(e * sr) for e in edges]
    cursors: dict[str, tuple[int, int]] = {}  # song -> (next source bar, section index)
    used: dict[str, list[tuple[int, int]]] = {}
    sections: list[SectionPlan] = []
    for i, section in enumerate(plan.timeline):
        start, end = bounds[i], bounds[i + 1]
        sp = SectionPlan(i, start, end, section.energy_level, section.description)
        layers = list(section.layers)
        filled = not layers
        if filled:
            layers = [fill_layer(fill_song, available)]
            warnings.append(f"section {i + 1} has no layers; filled with the "
                            f"{layers[0].stem} of {fill_song!r}")
        for layer in layers:
            if layer.songId not in contexts:
                raise Unprocessable(f"section {i + 1} names song {layer.songId!r}, which is "
                                    "not among the request's songs.", code="unknown_song")
            if layer.stem not in available.get(layer.songId, set()):
                raise Unprocessable(f"song {layer.songId!r} has no {layer.stem} audio.",
                                    code="missing_stem")
        anchor_out = round(edges[i] / bar_sec) * bar_sec
        for song_id in dict.fromkeys(layer.songId for layer in layers):
            ctx = contexts[song_id]
            song_layers = [layer for layer in layers if layer.songId == song_id]
            out_bar = ctx.out_bar_sec(beat_sec)
            needed = (end - start) / sr / out_bar
            explicit = [layer.source_start_sec for layer in song_layers
                        if layer.source_start_sec is not None]
            cursor = cursors.get(song_id)
            wants_vocals = any(layer.stem == "vocals" for layer in song_layers)
            if explicit:
                song_anchor = _snap_bar(ctx, float(explicit[0]))
                if wants_vocals and _unsung(ctx, song_anchor, needed):
                    # The plan's vocal window holds no voice the separation can hear (an
                    # analysis false alarm): the song's layers move to a sung window.
                    # The plan chose its windows apart; the move keeps clear of lines
                    # the mix already played (Mime x Lithium: four moved windows all
                    # took Lithium's last choruses, overlapping, at the usual 0.2).
                    moved = choose_anchor(ctx, needed_bars=needed,
                                          energy_level=section.energy_level,
                                          wants_vocals=True, used=used.get(song_id, []),
                                          overlap_cost=MOVED_OVERLAP_COST)
                    if not _unsung(ctx, moved, needed):
                        warnings.append(
                            f"section {i + 1}: {song_id!r} sings almost nothing at "
                            f"{explicit[0]:g} s (its separated voice is silent there); "
                            f"its layers start at "
                            f"{float(ctx.profile.downbeats_sec[moved]):.2f} s instead")
                        song_anchor = moved
                        song_layers = [layer.model_copy(update={"source_start_sec": None})
                                       for layer in song_layers]
            else:
                song_anchor = choose_anchor(
                    ctx, needed_bars=needed, energy_level=section.energy_level,
                    wants_vocals=wants_vocals, used=used.get(song_id, []),
                    continue_bar=cursor[0] if cursor and cursor[1] == i - 1 else None)
            for layer in song_layers:
                bar = song_anchor
                if layer.source_start_sec is not None:
                    if layer.source_start_sec > ctx.analysis.duration_sec:
                        warnings.append(f"section {i + 1}: source_start_sec "
                                        f"{layer.source_start_sec:g} is past the end of "
                                        f"{song_id!r}; used its last bars")
                    bar = _snap_bar(ctx, layer.source_start_sec)
                pieces = plan_pieces(ctx, anchor_bar=bar, anchor_out_sec=anchor_out,
                                     start=start, end=end, beat_sec=beat_sec,
                                     sample_rate_hz=sr)
                looped = len(pieces) > 1
                if layer.stem == "vocals" and len(song_layers) == 1 and not looped \
                        and crosses_bars(ctx.ratio):
                    pieces = _phrase_pieces(ctx, pieces, beat_sec=beat_sec, bar_sec=bar_sec,
                                            sample_rate_hz=sr)
                src0 = _source_sec(ctx, pieces[0], start, beat_sec=beat_sec,
                                   sample_rate_hz=sr, settings=settings)
                src1 = _source_sec(ctx, pieces[-1], end, beat_sec=beat_sec,
                                   sample_rate_hz=sr, settings=settings)
                sp.placements.append(Placement(
                    section=i, song_id=song_id, stem=layer.stem, volume_db=layer.volume_db,
                    effects=tuple(layer.effects), start=start, end=end, pieces=pieces,
                    looped=looped, filled=filled, gain_db=ctx.gain_db,
                    source_start_sec=round(src0, 4), source_end_sec=round(src1, 4)))
            # The source bar at the section's end; a part bar skips ahead to the next bar.
            pos = song_anchor + (end / sr - anchor_out) / out_bar
            end_bar = round(pos) if abs(pos - round(pos)) < 0.05 else math.ceil(pos)
            looped = end_bar > ctx.profile.end_bar
            used.setdefault(song_id, []).append((song_anchor, min(end_bar, ctx.profile.end_bar)))
            if looped:
                cursors.pop(song_id, None)
            else:
                cursors[song_id] = (end_bar, i)
        sections.append(sp)
    _link_lanes(sections, contexts, settings=settings, beat_sec=beat_sec)
    _vocal_pickups(sections, contexts, settings=settings, beat_sec=beat_sec)
    ratios = {song_id: ctx.ratio for song_id, ctx in contexts.items()}
    return Arrangement(sections=sections, total_samples=bounds[-1], sample_rate_hz=sr,
                       target_bpm=target_bpm, beats_per_bar=bpb, ratios=ratios,
                       warnings=warnings)


def _link_lanes(sections: list[SectionPlan], contexts: Mapping[str, SongContext], *,
                settings: RenderSettings, beat_sec: float) -> None:
    """Set the fades: a crossfade where a song+stem plays on into the next section, a
    de-click fade at every other splice.

    The crossfade ends on the boundary (the incoming layer's downbeat stays intact); it is
    linear when the incoming layer continues the same source audio (the two signals are
    identical, so equal gain keeps the level), equal-power when it is new material.
    """
    sr = settings.sample_rate_hz
    declick = max(1, int(settings.declick_ms * sr / 1000))
    for sp in sections:
        for p in sp.placements:
            p.fade_in = p.fade_in or declick
            p.fade_out = p.fade_out or declick
    for prev, nxt in itertools.pairwise(sections):
        shortest = min(prev.end - prev.start, nxt.end - nxt.start)
        xfade = int(min(settings.crossfade_beats * beat_sec * sr, shortest / 2))
        if xfade <= declick:
            continue
        taken: set[int] = set()
        for p in prev.placements:
            for j, q in enumerate(nxt.placements):
                if j in taken or (q.song_id, q.stem) != (p.song_id, p.stem):
                    continue
                taken.add(j)
                ctx = contexts[p.song_id]
                kw = {"beat_sec": beat_sec, "sample_rate_hz": sr, "settings": settings}
                src_out = _source_sec(ctx, p.pieces[-1], p.end, **kw)
                src_in = _source_sec(ctx, q.pieces[0], q.start, **kw)
                same_audio = abs(src_out - src_in) < 0.005
                p.continues, p.fade_out = True, xfade
                q.preroll, q.fade_in = xfade, xfade
                q.crossfade = p.fade_out_kind = "linear" if same_audio else "power"
                break


def _vocal_pickups(sections: list[SectionPlan], contexts: Mapping[str, SongContext], *,
                   settings: RenderSettings, beat_sec: float) -> None:
    """Let a vocal layer's pickup be heard: a sung line that starts up to
    _PICKUP_MAX_BEATS before the layer's first downbeat and runs into it ("On the | run")
    is rendered from its start, over the last beats of the section before, at full
    level (a de-click fade from the silence before it). Without this the layer starts on
    the downbeat and the pickup is lost, or, where a crossfade leads in, fades in half
    heard. A layer that continues the same source audio already plays it; a pickup that
    would sing over another song's voice ending the section before is left out."""
    sr = settings.sample_rate_hz
    declick = max(1, int(settings.declick_ms * sr / 1000))
    for before, sp in zip([None, *sections[:-1]], sections, strict=True):
        for p in sp.placements:
            if p.stem != "vocals" or (p.preroll and p.crossfade == "linear"):
                continue
            ctx = contexts[p.song_id]
            src_beat = ctx.analysis.beat_sec
            src_start = p.source_start_sec
            onsets = [a for a, b in ctx.analysis.vocal_intervals
                      if src_start - _PICKUP_MAX_BEATS * src_beat < a < src_start - 0.02
                      and b > src_start - 0.25 * src_beat]
            if not onsets:
                continue
            lead_src_sec = src_start - min(onsets) + _PICKUP_LEAD_SEC
            lead = min(int(lead_src_sec / src_beat * ctx.ratio * beat_sec * sr), p.start)
            if lead <= p.preroll or (before is not None and _sung_over(
                    before, p.song_id, p.start - lead, contexts, settings=settings,
                    beat_sec=beat_sec)):
                continue
            p.preroll, p.fade_in, p.crossfade = lead, declick, "power"


def _sung_over(section: SectionPlan, song_id: str, from_sample: int,
               contexts: Mapping[str, SongContext], *, settings: RenderSettings,
               beat_sec: float) -> bool:
    """Whether a vocal layer of another song than `song_id` sings in `section` from
    output sample `from_sample` to the section's end."""
    for q in section.placements:
        if q.stem != "vocals" or q.song_id == song_id or q.end <= from_sample:
            continue
        ctx = contexts[q.song_id]
        src_from = _source_sec(ctx, q.pieces[-1], max(from_sample, q.start), beat_sec=beat_sec,
                               sample_rate_hz=settings.sample_rate_hz, settings=settings)
        if covered_share(src_from, q.source_end_sec, ctx.analysis.vocal_intervals) > 0.0:
            return True
    return False


def with_fill(section: SectionPlan, placement: Placement) -> SectionPlan:
    """A copy of `section` with one more placement (used when a section renders silent)."""
    return replace(section, placements=[*section.placements, placement])
