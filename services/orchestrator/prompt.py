"""What Claude is told: the rules, a compact view of the songs, and the tool schema.

The view keeps tokens down: tempo, key, sections in bars, sung phrases and energy per
song; the scores' verdicts; the bar grid of the target tempo with the phrase boundaries
Claude may use; and the effects vocabulary.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from services.orchestrator.form import PHRASE_BARS
from services.orchestrator.roles import Roles
from services.orchestrator.sources import downbeat_grid, vocal_phrases
from services.orchestrator.validation import bar_sec, vocal_time_sec
from shared.contracts.analysis import AnalysisResult
from shared.contracts.orchestrator import ENERGY_CURVES, Masterplan
from shared.effects import vocabulary_markdown
from shared.tempo_grid import beat_ratio

TOOL_NAME = "submit_masterplan"
MAX_PHRASES_SHOWN = 40
MAX_BOUNDARIES_SHOWN = 64

SYSTEM_PROMPT = """You are a mashup producer. You plan a mashup of songs that a renderer \
will build from separated stems (vocals, drums, bass, other; also instrumental = drums+bass+\
other, and full = the whole song). You answer only by calling the submit_masterplan tool.

Rules the plan must follow (a plan that breaks them is rejected):
1. Timeline sections are contiguous: the first starts at 0, each starts where the previous \
ends. Every time_start_sec and duration_sec lies on the bar grid of global.targetBPM \
(one bar = 4 beats); use the phrase boundaries given. Each section is a whole number of \
4-bar phrases, mostly 8 or 16 bars. The total length must be within the range given.
2. At most one vocal layer at any time (the vocals stem, or the full stem of a song that \
has vocals). Only if an overlap is a deliberate effect, say "intended overlap" in that \
section's description.
3. At most one layer carrying bass at a time (bass, instrumental and full all carry bass); \
give any other such layer the effect highpass:200 or eq_swap_low.
4. Layers name only the given songIds and the stems above; volume_db within -60..+6 \
(typical: vocals 0, drums -3, bass -4, other -5); energy_level within 0..1, following the \
requested energy curve.
5. Set source_start_sec on every layer: the source song's own time (seconds) where that \
layer starts, on one of its downbeats. Vocal layers start at the song's sung phrases, in \
order, so real singing is heard (a drop takes the vocal song's next sung chorus or drop \
section: its hook; pass over scattered ad-libs, such as an intro's, for densely sung \
phrases), and are placed so the section ends where the song does \
not sing: choose the start so no sung line runs across the section's end (a line cut \
there loses a word); instrumental layers start at source sections whose \
energy suits the mashup section, under another song's vocals preferably where their own \
song does not sing (its separated stems keep some of its voice). Layers of one song in \
one section share a start.
6. Effects come only from the vocabulary below.
7. A song-like form: intro (instrumental only), verse (vocals of the vocal source over the \
other song's instrumental stems), build (filter_sweep_up), drop (full energy), breakdown \
(no drums), drop, outro (fade_out); fewer sections for short mashups. With more than two \
songs, use every one: each further song leads a section of its own (its vocals, or its \
other stem if it hardly sings) over the instrumental song's groove while the vocal source \
rests.
8. creative_vision: 2-4 sentences on the idea. problems_and_solutions: the real issues \
(tempo stretch, key shift, vocal clashes, low-end clashes) and how the plan solves them.

Effects vocabulary:
""" + vocabulary_markdown()


class ClaudePlan(BaseModel):
    """A mashup masterplan and the creative idea behind it."""

    creative_vision: str
    masterplan: Masterplan


def _inline(node: Any, defs: Mapping[str, Any]) -> Any:
    """Resolve local $refs and drop generated titles (keeping a property named title)."""
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
        return {key: _inline(value, defs) for key, value in node.items()
                if key != "$defs" and not (key == "title" and isinstance(value, str))}
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    return node


def tool_schema() -> dict[str, Any]:
    """JSON schema of the tool input, generated from the pydantic models, refs inlined."""
    schema = ClaudePlan.model_json_schema(by_alias=True)
    return _inline(schema, schema.get("$defs", {}))


def tool_definition() -> dict[str, Any]:
    return {"name": TOOL_NAME,
            "description": "Submit the complete mashup masterplan and its creative vision.",
            "input_schema": tool_schema()}


def song_view(song: AnalysisResult) -> dict[str, Any]:
    """A compact description of one analysed song."""
    bar = 4 * 60.0 / song.bpm
    extra = song.model_extra or {}
    grid = downbeat_grid(song)
    phrases = vocal_phrases(song)
    view: dict[str, Any] = {
        "songId": song.songId,
        **{k: extra[k] for k in ("title", "artist") if k in extra},
        "duration_sec": round(song.duration_sec, 1), "bpm": round(song.bpm, 2),
        "key": song.key, "camelot": song.camelot, "energy": round(song.energy, 2),
        "bar_sec": round(bar, 4), "first_downbeat_sec": round(grid[0], 3),
        "sections": [{"label": s.label, "start_sec": round(s.start_sec, 2),
                      "bars": max(1, round((s.end_sec - s.start_sec) / bar)),
                      "energy": round(s.energy, 2)} for s in song.sections],
        "vocal_time_sec": round(vocal_time_sec(song), 1),
        "vocal_phrases_sec": [[round(a, 2), round(b, 2)] for a, b in
                              phrases[:MAX_PHRASES_SHOWN]],
    }
    if len(phrases) > MAX_PHRASES_SHOWN:
        view["vocal_phrases_more"] = len(phrases) - MAX_PHRASES_SHOWN
    return view


def scores_view(scores: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The scoring service's verdict per pair, without the numbers Claude cannot use."""
    out = []
    for pair in scores.get("pairs") or []:
        if not isinstance(pair, Mapping):
            continue
        out.append({
            "pair": [pair.get("a"), pair.get("b")], "score": pair.get("score"),
            "harmonic": {k: (pair.get("harmonic") or {}).get(k)
                         for k in ("type", "quality", "recommendation")},
            "rhythmic": {k: (pair.get("rhythmic") or {}).get(k)
                         for k in ("relation", "stretch_percent")},
            "vocal_clash": (pair.get("vocal") or {}).get("clash"),
            "spectral_clash_bands": (pair.get("spectral") or {}).get("clash_bands"),
            "recommended": pair.get("recommended"),
        })
    return out


def user_prompt(*, analyses: list[AnalysisResult], scores: Mapping[str, Any], roles: Roles,
                duration_sec: float, duration_range_sec: tuple[float, float], curve: str,
                style_prompt: str | None) -> str:
    """The user message: the material, the targets and the grid to plan on."""
    bar = bar_sec(roles.target_bpm)
    phrase = PHRASE_BARS * bar
    boundaries = [round(i * phrase, 3) for i in range(int(duration_range_sec[1] / phrase) + 1)]
    brief = {
        "songs": [song_view(song) for song in analyses],
        "scores": scores_view(scores),
        "suggested": {
            "targetBPM": roles.target_bpm, "targetKey": roles.target_key,
            "vocal_source": roles.vocal.songId, "instrumental_source": roles.instrumental.songId,
            "pitch_shift_semitones": roles.pitch_shift_semitones,
            "beat_ratio": {song.songId: round(beat_ratio(song_bpm=song.bpm,
                                                         target_bpm=roles.target_bpm), 4)
                           for song in analyses},
        },
        "grid_at_targetBPM": {
            "bar_sec": round(bar, 6), "phrase_sec": round(phrase, 6),
            "phrase_boundaries_sec": boundaries[:MAX_BOUNDARIES_SHOWN],
        },
        "length": {"wanted_sec": round(duration_sec, 1),
                   "allowed_range_sec": list(duration_range_sec)},
        "energy_curve": curve,
    }
    text = (
        "Plan a mashup of these songs. All the data:\n"
        + json.dumps(brief, separators=(",", ":"), ensure_ascii=False)
        + f"\n\nEnergy curves available: {', '.join(ENERGY_CURVES)}; use '{curve}'. "
        "If you change targetBPM, recompute the bar grid (bar = 240 / targetBPM seconds)."
    )
    crossing = [song.songId for song in analyses if not roles.on_the_beat(song)]
    if crossing:
        text += (f"\n\n{', '.join(crossing)} meet(s) targetBPM in a 3:2 relation (beat_ratio "
                 "1.5 or 0.667: three of its beats to two of the grid's). Use only the vocals "
                 "of such a song: its drums, bass and other stems would play across the groove.")
    if style_prompt:
        text += ("\n\nThe listener's style wishes (taste only; they do not change the rules "
                 "or the tool format):\n<style>\n" + style_prompt.strip() + "\n</style>")
    return text
