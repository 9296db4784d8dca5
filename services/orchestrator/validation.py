"""Checks (and small repairs) of a masterplan, whoever wrote it.

`validate_plan` answers (fixed_plan, errors, warnings). Errors make a plan unusable (the
Claude planner sends them back for one repair round); warnings describe what was fixed
or will be ignored. Small timing errors are snapped to the bar grid of targetBPM; large
ones are errors, so a plan that renders is always in whole bars and gap-free.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from services.orchestrator.form import DEFAULT_DURATION_RANGE_SEC
from shared.camelot import normalize_key
from shared.contracts.analysis import AnalysisResult
from shared.contracts.orchestrator import Masterplan, TimelineSection
from shared.effects import canonical_effects, has_low_cut, parse_effects

STEMS = ("vocals", "drums", "bass", "other", "instrumental", "full")
VOLUME_RANGE_DB = (-60.0, 6.0)
BEATS_PER_BAR = 4
PHRASE_BARS = 4
# A boundary this close to a bar line (in beats) is snapped to it; farther is an error.
SNAP_TOLERANCE_BEATS = 0.5
# Words in a section description that mark two simultaneous vocals as intended.
_INTENDED_OVERLAP_RE = re.compile(
    r"intended|intentional|deliberate|on purpose|duet|call[- ]and[- ]response|"
    r"vocal (?:overlap|stack|blend|harmon)", re.I)
Analysis = AnalysisResult | Mapping[str, Any]


def _get(analysis: Analysis, name: str, default: Any = None) -> Any:
    if isinstance(analysis, Mapping):
        return analysis.get(name, default)
    return getattr(analysis, name, default)


def vocal_time_sec(analysis: Analysis) -> float:
    """Total sung time of a song (seconds), from its vocal_intervals."""
    total = 0.0
    for interval in _get(analysis, "vocal_intervals", None) or ():
        start, end = float(interval[0]), float(interval[1])
        total += max(0.0, end - start)
    return total


def bar_sec(target_bpm: float, beats_per_bar: int = BEATS_PER_BAR) -> float:
    """Length of one bar at `target_bpm` (seconds)."""
    return beats_per_bar * 60.0 / target_bpm


def vocal_bearing(stem: str, song_has_vocals: bool) -> bool:
    """Whether a layer carries a lead vocal: the vocal stem, or the full mix of a sung song."""
    return stem == "vocals" or (stem == "full" and song_has_vocals)


def bass_bearing(stem: str) -> bool:
    return stem in ("bass", "instrumental", "full")


def overlap_intended(description: str) -> bool:
    return bool(_INTENDED_OVERLAP_RE.search(description or ""))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _check_raw_layers(raw: dict[str, Any], songs: Mapping[str, Analysis],
                      errors: list[str]) -> None:
    """Name layer problems with their place before pydantic sees the plan, then sanitise
    those fields so the timeline checks still run and every problem is reported at once."""
    timeline = raw.get("timeline")
    if not isinstance(timeline, list):
        return
    for i, section in enumerate(timeline):
        if not isinstance(section, dict):
            continue
        energy = _number(section.get("energy_level", 0.5))
        if energy is not None and not 0.0 <= energy <= 1.0:
            errors.append(f"timeline[{i}].energy_level {energy:g} is outside 0..1")
            section["energy_level"] = min(1.0, max(0.0, energy))
        layers = section.get("layers")
        if not isinstance(layers, list):
            continue
        kept = []
        for j, layer in enumerate(layers):
            where = f"timeline[{i}].layers[{j}]"
            if not isinstance(layer, dict):
                errors.append(f"{where} must be an object")
                continue
            song_id, stem = layer.get("songId"), layer.get("stem")
            if song_id not in songs:
                errors.append(f"{where}.songId {song_id!r} is not one of the analysed songs "
                              f"{sorted(songs)}")
            if stem not in STEMS:
                errors.append(f"{where}.stem {stem!r} is unknown; use one of {list(STEMS)}")
                continue
            volume = _number(layer.get("volume_db", 0.0))
            low, high = VOLUME_RANGE_DB
            if volume is not None and not low <= volume <= high:
                errors.append(f"{where}.volume_db {volume:g} is outside {low:g}..+{high:g} dB")
                layer["volume_db"] = min(high, max(low, volume))
            start = _number(layer.get("source_start_sec"))
            song = songs.get(song_id) if isinstance(song_id, str) else None
            if start is not None and song is not None:
                duration = float(_get(song, "duration_sec", 0.0))
                if not 0.0 <= start < duration:
                    errors.append(f"{where}.source_start_sec {start:g} is outside the song "
                                  f"{song_id!r} (0..{duration:.1f} s)")
                    layer["source_start_sec"] = None
            kept.append(layer)
        section["layers"] = kept


def _describe(exc: ValidationError, limit: int = 12) -> list[str]:
    out = []
    for err in exc.errors()[:limit]:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
        got = err.get("input")
        shown = "" if isinstance(got, (dict, list)) else f" (got {got!r})"
        out.append(f"masterplan{where}: {err['msg']}{shown}")
    return out


def _snap(time_sec: float, bar: float, tolerance_sec: float) -> float | None:
    """The nearest bar line, or None when `time_sec` is farther than the tolerance."""
    nearest = round(time_sec / bar) * bar
    return nearest if abs(nearest - time_sec) <= tolerance_sec else None


def _check_timeline(plan: Masterplan, duration_range_sec: tuple[float, float],
                    errors: list[str], warnings: list[str]) -> Masterplan:
    """Sections contiguous from 0 and on the bar grid; returns the plan with snapped times."""
    beats_per_bar = plan.global_.timeSignature[0]
    if tuple(plan.global_.timeSignature) != (4, 4):
        warnings.append(f"timeSignature {list(plan.global_.timeSignature)} is unusual; "
                        "the renderer assumes 4/4 phrasing")
    bar = bar_sec(plan.global_.targetBPM, beats_per_bar)
    tolerance = SNAP_TOLERANCE_BEATS * 60.0 / plan.global_.targetBPM
    sections = list(plan.timeline)
    if any(a.time_start_sec > b.time_start_sec for a, b in itertools.pairwise(sections)):
        warnings.append("timeline sections were out of order and have been sorted")
        sections.sort(key=lambda s: s.time_start_sec)

    boundaries: list[float] = []
    previous_end = 0.0
    for i, section in enumerate(sections):
        start = section.time_start_sec
        if abs(start - previous_end) > tolerance:
            kind = "gap" if start > previous_end else "overlap"
            what = f"starts at {start:.3f} s" if i else "must start at 0"
            errors.append(f"timeline[{i}] {what}: a {kind} of {abs(start - previous_end):.3f} s"
                          f" after the previous section (which ends at {previous_end:.3f} s);"
                          " sections must be contiguous")
        snapped = _snap(start, bar, tolerance)
        if snapped is None:
            errors.append(f"timeline[{i}].time_start_sec {start:.3f} is not on a bar of "
                          f"targetBPM (one bar = {bar:.4f} s)")
            snapped = start
        boundaries.append(0.0 if i == 0 else snapped)
        previous_end = start + section.duration_sec
    end = _snap(previous_end, bar, tolerance)
    if end is None:
        errors.append(f"the last section ends at {previous_end:.3f} s, not on a bar of "
                      f"targetBPM (one bar = {bar:.4f} s)")
        end = previous_end
    boundaries.append(end)

    fixed: list[TimelineSection] = []
    for i, section in enumerate(sections):
        start, stop = boundaries[i], boundaries[i + 1]
        if stop - start < bar * 0.5:
            errors.append(f"timeline[{i}] is shorter than one bar after snapping to the grid")
            continue
        bars = (stop - start) / bar
        if round(bars) % PHRASE_BARS:
            warnings.append(f"timeline[{i}] is {round(bars)} bars, not a whole phrase of "
                            f"{PHRASE_BARS} bars")
        moved = abs(start - section.time_start_sec) + abs(stop - start - section.duration_sec)
        if moved > 0.005:
            warnings.append(f"timeline[{i}] was snapped to the bar grid (moved {moved:.3f} s)")
        fixed.append(section.model_copy(update={
            "time_start_sec": round(start, 6), "duration_sec": round(stop - start, 6)}))

    low, high = duration_range_sec
    total = boundaries[-1]
    if not low - 1e-6 <= total <= high + 1e-6:
        errors.append(f"the plan lasts {total:.1f} s; it must last {low:g}–{high:g} s")
    return plan.model_copy(update={"timeline": fixed or plan.timeline})


def _check_layers(plan: Masterplan, songs: Mapping[str, Analysis],
                  errors: list[str], warnings: list[str]) -> None:
    """Vocal clashes are errors; a second bass is repaired by cutting its low end."""
    for i, section in enumerate(plan.timeline):
        if not section.layers:
            warnings.append(f"timeline[{i}] has no layers (silence)")
        seen: set[tuple[str, str]] = set()
        for j, layer in enumerate(section.layers):
            where = f"timeline[{i}].layers[{j}]"
            warnings.extend(parse_effects(layer.effects, where=where)[1])
            # Known effects in the canonical spelling of what the renderer will do; unknown
            # ones stay for the renderer to skip (it warns too).
            layer.effects = canonical_effects(layer.effects)
            if (layer.songId, layer.stem) in seen:
                warnings.append(f"{where} repeats {layer.songId}/{layer.stem} in one section")
            seen.add((layer.songId, layer.stem))

        vocal = [layer for layer in section.layers if vocal_bearing(
            layer.stem, vocal_time_sec(songs.get(layer.songId, {})) > 0)]
        if len(vocal) > 1 and not overlap_intended(section.description):
            names = ", ".join(f"{layer.songId}/{layer.stem}" for layer in vocal)
            errors.append(f"timeline[{i}] plays {len(vocal)} vocal layers at once ({names}); "
                          "keep one, or say in the description that the overlap is intended")

        bass = [layer for layer in section.layers
                if bass_bearing(layer.stem) and not has_low_cut(layer.effects)]
        if len(bass) > 1:
            # Keep the dedicated bass stem if there is one; cut the others' low end.
            keeper = next((layer for layer in bass if layer.stem == "bass"), bass[0])
            for layer in bass:
                if layer is not keeper:
                    layer.effects.append("eq_swap_low")
            warnings.append(f"timeline[{i}] had {len(bass)} bass layers; kept "
                            f"{keeper.songId}/{keeper.stem} and cut the others' low end")



def _songs_by_id(analyses: Iterable[Analysis]) -> dict[str, Analysis]:
    return {str(_get(a, "songId")): a for a in analyses}


def validate_plan(
    masterplan: Masterplan | Mapping[str, Any],
    analyses: Sequence[Analysis],
    *,
    duration_range_sec: tuple[float, float] = DEFAULT_DURATION_RANGE_SEC,
) -> tuple[Masterplan | None, list[str], list[str]]:
    """Check a masterplan against the songs it names.

    `duration_range_sec` is the length range asked for (default 60–240 s).
    Returns (fixed_plan, errors, warnings). fixed_plan has section boundaries snapped to
    the bar grid of targetBPM, a normalised key and repaired bass layering; it is None
    only when the plan could not be read at all. The plan is usable when errors is empty.
    """
    if isinstance(masterplan, Masterplan):
        raw: Any = masterplan.wire()
    else:
        raw = copy.deepcopy(masterplan)
    if not isinstance(raw, dict):
        return None, ["the masterplan must be a JSON object"], []
    songs = _songs_by_id(analyses)
    errors: list[str] = []
    warnings: list[str] = []
    _check_raw_layers(raw, songs, errors)
    try:
        plan = Masterplan.model_validate(raw)
    except ValidationError as exc:
        return None, errors + _describe(exc), warnings

    try:
        key = normalize_key(plan.global_.targetKey)
        plan = plan.model_copy(update={"global_": plan.global_.model_copy(
            update={"targetKey": key})})
    except ValueError:
        errors.append(f"global.targetKey {plan.global_.targetKey!r} is not a key "
                      "(write e.g. 'A minor' or 'F# major')")
    plan = _check_timeline(plan, duration_range_sec, errors, warnings)
    _check_layers(plan, songs, errors, warnings)
    return plan, errors, warnings
