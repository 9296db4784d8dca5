"""Render a masterplan from song material: warp, arrange, effects, master.

`render_plan(plan, materials, settings=...)` is pure over arrays (no storage, no HTTP):
unit tests hand it synthetic stems. Two passes over the sections: the first renders every
layer dry (warped, pitch-shifted, at its volume) and settles the low end (one bass per
section); the second applies the EQ swap at bass hand-overs, the splice fades and the
layer's effects, and sums everything into the output, which is then mastered.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from services.processing.arrange import (
    BASS_STEMS,
    Arrangement,
    Placement,
    SectionPlan,
    SongContext,
    choose_anchor,
    fill_layer,
    plan_arrangement,
    plan_pieces,
)
from services.processing.dry_pool import DryPool
from services.processing.effects import (
    EQ_SWAP_HZ,
    EffectContext,
    apply_effects,
    butter_filter,
    kick_envelope,
    low_band,
)
from services.processing.layers import fade_curve, render_dry
from services.processing.mastering import master
from services.processing.material import LAYER_STEMS, SongMaterial
from services.processing.profile import source_profile
from services.processing.ride import apply_ride, ride_gains_db, section_lufs
from services.processing.settings import RenderSettings
from shared.contracts.orchestrator import Masterplan
from shared.effects import TAIL_EFFECTS, Effect, parse_effects, removes_lows
from shared.errors import Unprocessable
from shared.harmony import layering_shift
from shared.loudness import SILENCE_LUFS, integrated_lufs
from shared.tempo_grid import beat_ratio

_SILENT_SECTION_DB = -60.0  # a section's pre-master RMS under this counts as a hole
_STRETCH_WARN = 0.10
# A song's level match stays within this (dB): beyond it a file is more likely broken
# or nearly silent than mastered that far off.
MAX_LEVEL_MATCH_DB = 24.0


@dataclass
class RenderResult:
    audio: np.ndarray  # float32 (2, n), mastered
    sample_rate_hz: int
    duration_sec: float
    lufs: float
    true_peak_dbtp: float
    warnings: list[str]
    report: dict[str, object]


@dataclass
class _Layer:
    placement: Placement
    dry: np.ndarray  # (2, preroll + section length)
    effects: list[Effect]
    carries_bass: bool


def pitch_shifts(plan: Masterplan, materials: Mapping[str, SongMaterial],
                 warnings: list[str]) -> dict[str, int]:
    """Semitones per song: the plan's `global.pitch_shift_semitones` when given (taken to
    its smallest equivalent, −6…+6: a shift of +9 becomes −3), else the shift that lets
    the song's key layer over targetKey (`shared.harmony.layering_shift`: none for keys a
    fifth apart, relative or parallel; 0 when a key is unknown)."""
    extra = (plan.global_.model_extra or {}).get("pitch_shift_semitones")
    overrides = extra if isinstance(extra, dict) else {}
    shifts = {}
    for song_id, material in materials.items():
        if song_id in overrides:
            try:
                given = round(float(overrides[song_id]))
                shifts[song_id] = (given + 6) % 12 - 6
                continue
            except (TypeError, ValueError):
                warnings.append(f"pitch_shift_semitones of {song_id!r} is not a number")
        key = material.analysis.key
        try:
            shifts[song_id] = layering_shift(key, plan.global_.targetKey) if key else 0
        except ValueError:
            warnings.append(f"cannot read key {key!r} of {song_id!r} or target key "
                            f"{plan.global_.targetKey!r}; {song_id!r} is not transposed")
            shifts[song_id] = 0
    return shifts


def level_match_db(material: SongMaterial, *, reference_lufs: float) -> float:
    """Gain (dB) that brings the song's whole mix (`mix_for_profile`) to `reference_lufs`
    integrated, within ±MAX_LEVEL_MATCH_DB. Songs arrive mastered anywhere from about -6
    to -25 LUFS; without this, a plan's "vocals at 0 dB over drums at -3 dB" would put a
    quiet master's voice 10 dB under a loud master's beat. A near-silent song (its
    loudness at the gate's floor) gets no gain rather than the maximum."""
    lufs = integrated_lufs(material.mix_for_profile(), sample_rate_hz=material.sample_rate_hz)
    if lufs <= SILENCE_LUFS + 1.0:
        return 0.0
    return float(np.clip(reference_lufs - lufs, -MAX_LEVEL_MATCH_DB, MAX_LEVEL_MATCH_DB))


def song_contexts(plan: Masterplan, materials: Mapping[str, SongMaterial],
                  warnings: list[str], *, reference_lufs: float | None = None
                  ) -> dict[str, SongContext]:
    """Per song: its analysis, bar profile, beat ratio and (with `reference_lufs`) the
    level match that puts every song's mix at that loudness."""
    target = plan.global_.targetBPM
    contexts = {}
    for song_id, material in materials.items():
        bpm = material.analysis.bpm
        ratio = beat_ratio(song_bpm=bpm, target_bpm=target)
        speed = target / (ratio * bpm)
        if abs(speed - 1.0) > _STRETCH_WARN:
            warnings.append(f"{song_id!r} ({bpm:.1f} BPM) is stretched {100 * (speed - 1):+.0f}% "
                            f"to {target:g} BPM; artefacts are likely")
        gain_db = 0.0 if reference_lufs is None else level_match_db(
            material, reference_lufs=reference_lufs)
        contexts[song_id] = SongContext(material.analysis, source_profile(material), ratio,
                                        gain_db=round(gain_db, 2))
    return contexts


def _low_energy(audio: np.ndarray, sr: int) -> float:
    low = butter_filter(audio, cutoff_hz=EQ_SWAP_HZ, kind="low", sample_rate_hz=sr)
    return float(np.mean(low.astype(np.float64) ** 2))


def _settle_bass(section: SectionPlan, layers: list[_Layer], sr: int,
                 warnings: list[str]) -> str | None:
    """Keep the lows of the song with the most low-band energy; high-pass the others'
    bass-carrying layers at 150 Hz. Returns the song that owns the low end."""
    energy: dict[str, float] = {}
    for layer in layers:
        if layer.carries_bass:
            p = layer.placement
            energy[p.song_id] = energy.get(p.song_id, 0.0) + _low_energy(
                layer.dry[:, p.preroll:], sr)
    if not energy:
        return None
    owner = max(energy, key=lambda song: (energy[song], song))
    others = sorted(song for song in energy if song != owner)
    if others:
        warnings.append(f"section {section.index + 1}: bass from {owner!r} and "
                        f"{', '.join(map(repr, others))} at once; kept the lows of {owner!r} "
                        f"and high-passed the others at {EQ_SWAP_HZ:g} Hz")
        for layer in layers:
            if layer.carries_bass and layer.placement.song_id in others:
                layer.dry = butter_filter(layer.dry, cutoff_hz=EQ_SWAP_HZ, kind="high",
                                          sample_rate_hz=sr)
                layer.carries_bass = False
    return owner


def _kick_envelopes(layers: list[_Layer], sr: int) -> dict[str, np.ndarray]:
    """Kick envelope over the section per song that has a drum layer in it (its drums,
    else its instrumental or full mix). A layer whose effects take its lows away (a
    high-pass, an EQ swap) plays no kick: ducking under it would pump against nothing
    audible (the planners high-pass a second song's extra drums in a drop), and the
    envelope, scaled to its own peaks, would make a full kick of what is left."""
    envelopes: dict[str, np.ndarray] = {}
    for stems in (("drums",), ("instrumental", "full")):
        for layer in layers:
            p = layer.placement
            if p.stem in stems and p.song_id not in envelopes \
                    and not removes_lows(layer.effects):
                envelopes[p.song_id] = kick_envelope(layer.dry[:, p.preroll:],
                                                     sample_rate_hz=sr)
    return envelopes


def _sidechain_key(song_id: str, envelopes: dict[str, np.ndarray]) -> np.ndarray | None:
    """The kick a layer of `song_id` ducks under: the other song's (the first in plan
    order), else its own song's, else None (then it pumps on the beat grid)."""
    others = [song for song in envelopes if song != song_id]
    if others:
        return envelopes[others[0]]
    return envelopes.get(song_id)


def _finish_layer(layer: _Layer, *, arrangement: Arrangement, kick: np.ndarray | None,
                  swap_out: int) -> np.ndarray:
    """Fades, EQ swap, effects (and their tail) of one layer: (2, preroll + length + tail)."""
    p = layer.placement
    sr = arrangement.sample_rate_hz
    audio = layer.dry.copy()
    length = p.end - p.start
    if p.fade_in:
        audio[:, :p.fade_in] *= fade_curve(p.fade_in, p.crossfade, rising=True)
    if swap_out:  # bass hand-over: the outgoing lows leave over the crossfade
        lows = low_band(audio[:, -swap_out - sr // 10:], cutoff_hz=EQ_SWAP_HZ, sample_rate_hz=sr)
        lows = lows[:, -swap_out:]
        ramp = np.ones(swap_out, dtype=np.float32)
        ramp[:] = fade_curve(swap_out, "power", rising=False)
        audio[:, -swap_out:] -= lows * (1.0 - ramp)
    if p.fade_out:
        audio[:, -p.fade_out:] *= fade_curve(p.fade_out, p.fade_out_kind, rising=False)
    tail = 0
    if not p.continues and any(e.name in TAIL_EFFECTS for e in layer.effects):
        tail = int(arrangement.bar_sec * sr)
        audio = np.pad(audio, ((0, 0), (0, tail)))
    if layer.effects:
        envelope = None
        if kick is not None:
            envelope = np.zeros(audio.shape[1], dtype=np.float32)
            envelope[p.preroll:p.preroll + length] = kick[:length]
        ctx = EffectContext(sample_rate_hz=sr, tempo_bpm=arrangement.target_bpm,
                            beats_per_bar=arrangement.beats_per_bar, section_start=p.preroll,
                            section_length=length, buffer_start_sec=(p.start - p.preroll) / sr,
                            kick_envelope=envelope)
        audio = apply_effects(audio, layer.effects, ctx)
    if tail:  # the effect tail dies away within its bar
        audio[:, -tail:] *= np.linspace(1.0, 0.0, tail, dtype=np.float32) ** 2
    elif p.continues:
        declick = min(p.fade_out, int(0.008 * sr))
        audio[:, -declick:] *= fade_curve(declick, "power", rising=False)
    return audio


def _fill_song(plan: Masterplan, materials: Mapping[str, SongMaterial]) -> str:
    for section in plan.timeline:
        for layer in section.layers:
            if layer.songId in materials:
                return layer.songId
    return next(iter(materials))


def render_plan(plan: Masterplan, materials: Mapping[str, SongMaterial], *,
                settings: RenderSettings | None = None,
                window_sec: tuple[float, float] | None = None) -> RenderResult:
    """Render `plan` (or only output seconds `window_sec`, for previews) and master it."""
    settings = settings or RenderSettings()
    sr = settings.sample_rate_hz
    if not materials:
        raise Unprocessable("no songs to render", code="no_songs")
    for material in materials.values():
        if material.sample_rate_hz != sr:
            raise ValueError(f"material of {material.song_id!r} is not at {sr} Hz")
    warnings: list[str] = []
    contexts = song_contexts(plan, materials, warnings, reference_lufs=settings.target_lufs)
    shifts = pitch_shifts(plan, materials, warnings)
    available = {s: {stem for stem in LAYER_STEMS if m.has(stem)} for s, m in materials.items()}
    fill_song = _fill_song(plan, materials)
    arrangement = plan_arrangement(plan, contexts, settings=settings, fill_song=fill_song,
                                   available=available)
    warnings[:0] = arrangement.warnings
    beat_sec = arrangement.beat_sec
    total = arrangement.total_samples
    w0, w1 = (0, total) if window_sec is None else (
        max(0, round(window_sec[0] * sr)), min(total, round(window_sec[1] * sr)))
    chosen = [s for s in arrangement.sections if s.end > w0 and s.start < w1]
    first, last = chosen[0].start, chosen[-1].end
    bus = np.zeros((2, last - first + int(arrangement.bar_sec * sr) * 2), dtype=np.float32)
    effect_warnings: list[str] = []

    # Every stem of a song gets the same warp and the same pitch shift (drums included),
    # so stems summed in the output cannot flam or phase against each other. Dry layers
    # are warped span by span in a thread pool (`dry_pool`), up to two sections ahead;
    # everything that depends on order runs here, section by section. The bass hand-over
    # at the end of a section depends on who owns the low end of the next one, so that
    # section is settled one ahead.
    pool = DryPool((p for s in chosen for p in s.placements), materials=materials,
                   contexts=contexts, shifts=shifts, settings=settings, beat_sec=beat_sec,
                   threads=settings.render_threads)
    submitted: set[int] = set()
    dry: dict[int, list[_Layer]] = {}
    owners: dict[int, str | None] = {}
    chosen_index = {s.index for s in chosen}

    def submit(index: int) -> None:
        if index in chosen_index and index not in submitted:
            submitted.add(index)
            for p in arrangement.sections[index].placements:
                pool.submit(p)

    def layers_of(index: int) -> list[_Layer]:
        if index not in dry:
            submit(index)
            section = arrangement.sections[index]
            layers = []
            for p in section.placements:
                where = f"section {section.index + 1}, {p.song_id!r} {p.stem}"
                effects, notes = parse_effects(p.effects, where=where)
                effect_warnings.extend(notes)
                layers.append(_Layer(p, pool.result(p), effects,
                                     p.stem in BASS_STEMS and not removes_lows(effects)))
            dry[index] = layers
            owners[index] = _settle_bass(section, layers, sr, warnings)
        return dry[index]

    swap_len = int(settings.crossfade_beats * beat_sec * sr)

    def mix_section(section: SectionPlan) -> None:
        for ahead in (0, 1, 2):  # in order: the pool starts on what is needed first
            submit(section.index + ahead)
        layers = layers_of(section.index)
        if section.index + 1 in chosen_index:
            layers_of(section.index + 1)
        owner, nxt = owners[section.index], owners.get(section.index + 1)
        handover = owner is not None and nxt is not None and nxt != owner
        kicks = _kick_envelopes(layers, sr)
        for layer in layers:
            p = layer.placement
            swap = 0
            if handover and layer.carries_bass and p.song_id == owner:
                swap = min(swap_len, (p.end - p.start) // 2)
            audio = _finish_layer(layer, arrangement=arrangement,
                                  kick=_sidechain_key(p.song_id, kicks), swap_out=swap)
            pos = p.start - p.preroll - first
            a, b = max(pos, 0), min(pos + audio.shape[1], bus.shape[1])
            bus[:, a:b] += audio[:, a - pos:b - pos]
        del dry[section.index]
        seg = bus[:, section.start - first:section.end - first].astype(np.float64)
        level_db = 10 * math.log10(max(float(np.mean(seg**2)), 1e-20))
        if level_db < _SILENT_SECTION_DB and not any(p.filled for p in section.placements):
            _fill_section(section, bus, first=first, contexts=contexts, materials=materials,
                          available=available, fill_song=fill_song, shifts=shifts,
                          settings=settings, arrangement=arrangement)
            warnings.append(f"section {section.index + 1} would be silent; filled with the "
                            f"instrumental of {fill_song!r}")

    with pool:
        for section in chosen:
            mix_section(section)
    warnings.extend(dict.fromkeys(effect_warnings))
    ride_db = _ride(bus, chosen, first=first, sample_rate_hz=sr,
                    beat_samples=int(beat_sec * sr))
    out = bus[:, w0 - first:w1 - first].copy()
    fade_in = min(out.shape[1], int(settings.declick_ms * sr / 1000))
    out[:, :fade_in] *= fade_curve(fade_in, "power", rising=True)
    tail = min(out.shape[1], int(min(beat_sec, 1.0) * sr) if w1 == total else int(0.25 * sr))
    out[:, out.shape[1] - tail:] *= fade_curve(tail, "power", rising=False) ** 2
    mastered = master(out, sample_rate_hz=sr, target_lufs=settings.target_lufs,
                      ceiling_dbtp=settings.ceiling_dbtp, bus_compression=settings.bus_compression)
    warnings.extend(mastered.warnings)
    duration = out.shape[1] / sr
    report = timeline_report(plan, arrangement, contexts=contexts, shifts=shifts,
                             window=(w0 / sr, w1 / sr), warnings=warnings, ride_db=ride_db)
    return RenderResult(mastered.audio, sr, duration, round(mastered.lufs, 2),
                        round(mastered.true_peak_dbtp, 2), warnings, report)


def _ride(bus: np.ndarray, sections: list[SectionPlan], *, first: int, sample_rate_hz: int,
          beat_samples: int) -> dict[int, float]:
    """Turn down, in place, the sections of `bus` that are louder than the plan's energy
    lets them be (`services.processing.ride`); returns each section's gain in dB."""
    bounds = [(s.start - first, s.end - first) for s in sections]
    loudness = section_lufs(bus, bounds, sample_rate_hz=sample_rate_hz)
    gains = ride_gains_db(loudness, [s.energy_level for s in sections])
    apply_ride(bus, bounds, gains, beat_samples=beat_samples, sample_rate_hz=sample_rate_hz)
    return {s.index: round(g, 2) for s, g in zip(sections, gains, strict=True)}


def _fill_section(section: SectionPlan, bus: np.ndarray, *, first: int,
                  contexts: Mapping[str, SongContext], materials: Mapping[str, SongMaterial],
                  available: Mapping[str, set[str]], fill_song: str, shifts: Mapping[str, int],
                  settings: RenderSettings, arrangement: Arrangement) -> None:
    """Add the fill song's instrumental (energy-matched, bar-locked) under a silent section."""
    sr = settings.sample_rate_hz
    beat_sec = arrangement.beat_sec
    ctx = contexts[fill_song]
    layer = fill_layer(fill_song, available)
    needed = (section.end - section.start) / sr / ctx.out_bar_sec(beat_sec)
    bar = choose_anchor(ctx, needed_bars=needed, energy_level=section.energy_level,
                        wants_vocals=False, used=[])
    anchor_out = round(section.start / sr / arrangement.bar_sec) * arrangement.bar_sec
    pieces = plan_pieces(ctx, anchor_bar=bar, anchor_out_sec=anchor_out, start=section.start,
                         end=section.end, beat_sec=beat_sec, sample_rate_hz=sr)
    declick = int(settings.declick_ms * sr / 1000)
    p = Placement(section=section.index, song_id=fill_song, stem=layer.stem, volume_db=0.0,
                  effects=(), start=section.start, end=section.end, pieces=pieces,
                  fade_in=declick, fade_out=declick, filled=True, gain_db=ctx.gain_db)
    section.placements.append(p)
    audio = render_dry(p, materials[fill_song], ctx, pitch=shifts[fill_song],
                        settings=settings, beat_sec=beat_sec)
    audio[:, :declick] *= fade_curve(declick, "power", rising=True)
    audio[:, -declick:] *= fade_curve(declick, "power", rising=False)
    bus[:, section.start - first:section.end - first] += audio


def timeline_report(plan: Masterplan, arrangement: Arrangement, *,
                    contexts: Mapping[str, SongContext], shifts: Mapping[str, int],
                    window: tuple[float, float], warnings: list[str],
                    ride_db: Mapping[int, float] | None = None) -> dict[str, object]:
    """What was rendered where: stored beside the audio as JSON."""
    sr = arrangement.sample_rate_hz
    target = plan.global_.targetBPM
    return {
        "title": plan.title,
        "target": {"bpm": target, "key": plan.global_.targetKey,
                   "time_signature": list(plan.global_.timeSignature), "sample_rate_hz": sr},
        "window_sec": [round(window[0], 4), round(window[1], 4)],
        "songs": {
            song_id: {"bpm": ctx.analysis.bpm, "key": ctx.analysis.key,
                      "beat_ratio": ctx.ratio,
                      "stretch_factor": round(target / (ctx.ratio * ctx.analysis.bpm), 5),
                      "pitch_shift_semitones": shifts[song_id], "level_match_db": ctx.gain_db}
            for song_id, ctx in contexts.items()
        },
        "sections": [
            {"index": s.index, "start_sec": round(s.start / sr, 4), "end_sec": round(s.end / sr, 4),
             "description": s.description, "energy_level": s.energy_level,
             "ride_db": (ride_db or {}).get(s.index),
             "layers": [{"songId": p.song_id, "stem": p.stem, "volume_db": p.volume_db,
                         "effects": list(p.effects), "source_start_sec": p.source_start_sec,
                         "source_end_sec": p.source_end_sec, "looped": p.looped,
                         "filled": p.filled,
                         "crossfade_in": p.crossfade if p.preroll else None}
                        for p in s.placements]}
            for s in arrangement.sections
        ],
        "warnings": list(warnings),
    }
