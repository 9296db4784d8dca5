"""The deterministic planner: a song-like mashup form from the analyses alone.

Same inputs and seed → the same plan; another seed → another valid plan (form variant,
source passages, effect choices). The vocal source sings over the instrumental source's
drums, bass and other stems; one vocal and one bass layer at most at any time. When the
instrumental source has a real singer of its own, the lead is handed over to it for one
section after the first drop (its vocal with its own backing from the same passage) while
the vocal source rests, and handed back after: two voices, never at once. Every further
song is a guest: it takes the lead for one section of its own (its vocals, or its melody
when it hardly sings) over the instrumental source's groove while the vocal source rests.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.orchestrator.form import (
    asked_duration_range,
    energy_level,
    plan_form,
    plan_length,
    wanted_duration,
)
from services.orchestrator.roles import Roles, choose_roles
from services.orchestrator.sources import InstrumentalCursor, VocalCursor
from services.orchestrator.validation import bar_sec, validate_plan, vocal_time_sec
from shared.camelot import key_to_camelot
from shared.contracts.analysis import AnalysisResult
from shared.contracts.orchestrator import (
    ENERGY_CURVES,
    GlobalSettings,
    Layer,
    Masterplan,
    MasterplanResponse,
    PlanOptions,
    ProblemSolution,
    TimelineSection,
)
from shared.tempo_grid import beat_ratio, grid_misfit, on_the_beat

DEFAULT_CURVES = ("plateau-peak", "wave")  # picked by seed when none is asked for
DESCRIPTIONS = {
    "intro": "Intro: {inst}'s drums, bass and keys alone, fading in.",
    "verse": "Verse: {vocal}'s vocals over {inst}'s groove.",
    "build": "Build: filters sweep up and the tension rises.",
    "drop": "Drop: full energy, {vocal}'s vocals over {inst}'s full band.",
    "breakdown": "Breakdown: drums out; {vocal}'s vocals float over {inst}'s keys.",
    "outro": "Outro: {inst}'s groove winds down and fades out.",
}
HANDOVER_DESCRIPTION = ("{Kind}: the lead passes to {inst}'s own vocals over its own "
                        "backing while {vocal} rests.")
HANDOVER_KINDS = ("breakdown", "verse")
GUEST_DESCRIPTION = "{Kind}: guest spot, {guest}'s {part} over {inst}'s groove while {vocal} rests."
LEAD_KINDS = ("verse", "breakdown", "build", "drop")
# Guests take verses and breakdowns first; builds, then drops (the hooks) only when
# there are more guests than those.
GUEST_KIND_ORDER = (("verse", "breakdown"), ("build",), ("drop",))
# The instrumental source hands over only when it really sings (share of its length).
HANDOVER_MIN_VOCAL_SHARE = 0.1


def _really_sings(song: AnalysisResult, vocals: VocalCursor) -> bool:
    """Whether `song` (its sung phrases in `vocals`) sings enough to take a lead: sung
    phrases over at least HANDOVER_MIN_VOCAL_SHARE of its length."""
    return bool(vocals.phrases) and \
        vocal_time_sec(song) >= HANDOVER_MIN_VOCAL_SHARE * song.duration_sec


@dataclass
class _Guest:
    """A song beyond the pair: one section's lead, from its vocals or else its melody."""

    song: AnalysisResult
    vocals: VocalCursor
    melody: InstrumentalCursor

    @property
    def sings(self) -> bool:
        return _really_sings(self.song, self.vocals)


@dataclass
class _Context:
    roles: Roles
    rng: random.Random
    vocals: VocalCursor
    vocal_lead_backup: InstrumentalCursor  # for a vocal source with no sung phrases
    inst: InstrumentalCursor
    inst_vocals: VocalCursor  # the instrumental source's own sung phrases
    drops_seen: int = 0
    guest: _Guest | None = None  # leading the section being planned, if any


def _volume(base_db: float, energy: float, *, swing_db: float = 3.0) -> float:
    """Louder in energetic sections, quieter in calm ones; half-dB steps."""
    return round(2.0 * (base_db + swing_db * (energy - 0.6))) / 2.0


def _inst_layers(ctx: _Context, start: float, energy: float, stems: Sequence[str],
                 effects: Mapping[str, list[str]]) -> list[Layer]:
    base = {"drums": -3.0, "bass": -4.0, "other": -4.0}
    return [Layer(songId=ctx.roles.instrumental.songId, stem=stem,  # type: ignore[arg-type]
                  volume_db=_volume(base[stem], energy), effects=list(effects.get(stem, [])),
                  source_start_sec=round(start, 3)) for stem in stems]


def _lead_layer(ctx: _Context, duration_sec: float, energy: float, effects: list[str], *,
                prefer_loud: bool = False, base_db: float = 0.0) -> Layer:
    """The vocal source's lead (or the guest's, in a guest's section): its vocals, or its
    'other' stem if it has no vocals."""
    guest = ctx.guest
    vocal_id = guest.song.songId if guest else ctx.roles.vocal.songId
    vocals = guest.vocals if guest else ctx.vocals
    start = vocals.take(duration_sec, prefer_loud=prefer_loud) \
        if guest is None or guest.sings else None
    if start is None:
        backup = guest.melody if guest else ctx.vocal_lead_backup
        start = backup.take(duration_sec, energy=energy, kind="verse")
        return Layer(songId=vocal_id, stem="other", volume_db=_volume(base_db - 2, energy,
                     swing_db=1.0), effects=effects, source_start_sec=round(start, 3))
    return Layer(songId=vocal_id, stem="vocals", volume_db=_volume(base_db, energy, swing_db=1.0),
                 effects=effects, source_start_sec=round(start, 3))


def _handover_layers(ctx: _Context, kind: str, duration_sec: float, energy: float, *,
                     into_drop: bool = False) -> list[Layer]:
    """The instrumental source's own vocal with its backing from the same passage."""
    start = ctx.inst_vocals.take(duration_sec)
    assert start is not None  # only planned when the song has sung phrases
    ctx.inst.position_sec = start + duration_sec * ctx.inst.tempo_ratio
    stems = ("drums", "bass", "other") if kind == "verse" else ("other",)
    space = {"other": ["reverb:0.3"] if kind == "breakdown" else []}
    if into_drop:
        space["other"].append("filter_sweep_up")
    lead = Layer(songId=ctx.roles.instrumental.songId, stem="vocals",
                 volume_db=_volume(0.0, energy, swing_db=1.0),
                 effects=["reverb:0.25"] if kind == "breakdown" else [],
                 source_start_sec=round(start, 3))
    return [*_inst_layers(ctx, start, energy, stems, space), lead]


def _handover_index(ctx: _Context, kinds: list[str]) -> int | None:
    """The section where the lead passes to the instrumental source's singer: a breakdown
    or verse after the first drop, seeded; None when that song hardly sings."""
    if not _really_sings(ctx.roles.instrumental, ctx.inst_vocals):
        return None
    first_drop = kinds.index("drop") if "drop" in kinds else len(kinds)
    candidates = [i for i, kind in enumerate(kinds) if i > first_drop and kind in HANDOVER_KINDS]
    return ctx.rng.choice(candidates) if candidates else None


def _guests(ctx: _Context, analyses: Sequence[AnalysisResult]) -> list[_Guest]:
    """Every song beyond the pair that can lead a section (one that sings, or one whose
    melody is on the beat: a 3:2 song's melody would cross the groove), best fitting
    first: least time-stretch, then least pitch shift, so a short mashup with room for
    fewer guests than songs takes the ones that will sound most natural."""
    roles = ctx.roles
    guests = []
    for song in analyses:
        if song.songId in (roles.vocal.songId, roles.instrumental.songId):
            continue
        ratio = roles.tempo_ratio(song)
        guest = _Guest(song, VocalCursor(song, ratio), InstrumentalCursor(song, ratio, ctx.rng))
        if guest.sings or roles.on_the_beat(song):
            guests.append(guest)
    return sorted(guests, key=lambda guest: _guest_misfit(roles, guest.song))


def _guest_misfit(roles: Roles, song: AnalysisResult) -> float:
    """Stretch (|log speed|, + CROSSING_PENALTY for a 3:2 relation: `shared.tempo_grid`'s
    `grid_misfit`) plus 0.01 a semitone of pitch shift: 4 % of stretch weighs like 4
    semitones."""
    shift = abs(roles.pitch_shift(song))
    return grid_misfit(song_bpm=song.bpm, target_bpm=roles.target_bpm) + 0.01 * shift


def _guest_sections(ctx: _Context, kinds: list[str], handover: int | None,
                    n_guests: int) -> list[int]:
    """Sections (ascending) where guests lead, one each, as many as fit: lead sections
    after the first (the vocal source opens), never the handover, verses and breakdowns
    first (GUEST_KIND_ORDER), seeded among equals."""
    lead = [i for i, kind in enumerate(kinds) if kind in LEAD_KINDS]
    free = [i for i in lead[1:] if i != handover]
    chosen: list[int] = []
    for group in GUEST_KIND_ORDER:
        pool = [i for i in free if kinds[i] in group and i not in chosen]
        room = n_guests - len(chosen)
        chosen += ctx.rng.sample(pool, min(room, len(pool)))
    return sorted(chosen)


def _section_layers(ctx: _Context, kind: str, duration_sec: float, energy: float, *,
                    into_drop: bool = False) -> list[Layer]:
    """The layers of one section: the arrangement rules of the form, with seeded variety.

    `into_drop`: a drop follows, so a verse or breakdown sweeps its keys open into it
    (a build always sweeps)."""
    rng = ctx.rng
    inst_start = ctx.inst.take(duration_sec, energy=energy, kind=kind,
                               under_voice=kind in LEAD_KINDS)
    if kind == "intro":
        drum_fx = rng.choice([["fade_in"], ["highpass:200", "fade_in"], ["lowpass:800"]])
        # The bass fades in with the drums: at full level under faded drums and keys, it
        # played the intro's first bars nearly alone (a real render's intro sat at -21.8
        # LUFS, most of it bass).
        bass_fx = ["fade_in"] if "fade_in" in drum_fx else []
        return _inst_layers(ctx, inst_start, energy, ("drums", "bass", "other"),
                            {"drums": drum_fx, "bass": bass_fx, "other": ["fade_in"]})
    if kind == "verse":
        lead = _lead_layer(ctx, duration_sec, energy, rng.choice([[], ["reverb:0.2"]]))
        other_fx = rng.choice([[], ["sidechain:3"], ["highpass:300"]])
        if into_drop:
            other_fx = [*other_fx, "filter_sweep_up"]
        return [*_inst_layers(ctx, inst_start, energy, ("drums", "bass", "other"),
                              {"other": other_fx}), lead]
    if kind == "build":
        stems = ("drums", "other") if rng.random() < 0.6 else ("drums", "bass", "other")
        sweep = {stem: ["filter_sweep_up"] for stem in stems}
        lead = _lead_layer(ctx, duration_sec, energy, [rng.choice(["delay:1/8", "delay:1/4"])])
        return [*_inst_layers(ctx, inst_start, energy, stems, sweep), lead]
    if kind == "drop":
        ctx.drops_seen += 1
        pump = {"bass": ["sidechain:6"], "other": ["sidechain:4"]}
        layers = _inst_layers(ctx, inst_start, energy, ("drums", "bass", "other"), pump)
        lead = _lead_layer(ctx, duration_sec, energy, [], prefer_loud=True)
        layers.append(lead)
        if energy >= 0.7 and ctx.guest is None and ctx.roles.on_the_beat(ctx.roles.vocal):
            # Both songs' drums, the second high-passed: its kick would double the low end.
            # (Not from a song in a 3:2 relation: its rhythm would cross the groove.)
            extra_stem = "drums" if ctx.drops_seen % 2 or rng.random() < 0.5 else "other"
            if lead.stem == "other":  # the lead already is this song's 'other' stem
                extra_stem = "drums"
            layers.append(Layer(songId=ctx.roles.vocal.songId, stem=extra_stem,  # type: ignore[arg-type]
                                volume_db=_volume(-9.0, energy), effects=["highpass:200"],
                                source_start_sec=lead.source_start_sec))
        return layers
    if kind == "breakdown":
        space = rng.choice([["reverb:0.35", "delay:1/4"], ["reverb:0.5"], ["delay:3/16"]])
        lead = _lead_layer(ctx, duration_sec, energy, space, base_db=-1.0)
        keys_fx = rng.choice([["reverb:0.4", "filter_sweep_up"], ["filter_sweep_up"]]
                             if into_drop else [["reverb:0.4"], ["lowpass:2000"]])
        return [*_inst_layers(ctx, inst_start, energy, ("other",), {"other": keys_fx}), lead]
    # outro
    layers = _inst_layers(ctx, inst_start, energy, ("drums", "bass", "other"),
                          {stem: ["fade_out"] for stem in ("drums", "bass", "other")})
    if ctx.vocals.has_fresh(duration_sec) and rng.random() < 0.5:
        layers.append(_lead_layer(ctx, duration_sec, energy,
                                  ["delay:1/4", "reverb:0.5", "fade_out"], base_db=-6.0))
    return layers


def _title(analysis: AnalysisResult) -> str:
    extra = analysis.model_extra or {}
    return str(extra.get("title") or analysis.songId)


def _artist(analysis: AnalysisResult) -> str:
    extra = analysis.model_extra or {}
    return str(extra.get("artist") or _title(analysis))


def _problems(roles: Roles, vocals: VocalCursor, clamped: str | None,
              duration_range_sec: tuple[float, float],
              handover: str | None = None) -> list[ProblemSolution]:
    vocal, inst = roles.vocal, roles.instrumental
    out: list[ProblemSolution] = []
    ratio = beat_ratio(song_bpm=vocal.bpm, target_bpm=roles.target_bpm)
    stretch = (roles.tempo_ratio(vocal) - 1.0) * 100.0
    if abs(stretch) > 0.5 or abs(inst.bpm - roles.target_bpm) > 0.5:
        half = ("" if ratio == 1.0 else " (counted in half/double time)" if on_the_beat(ratio)
                else " (in a 3:2 relation: three of its beats to two of the grid's)")
        large = (" That is a large stretch: the voice may sound processed; a partner closer "
                 "in tempo would sound more natural.") if abs(stretch) > 15 else ""
        out.append(ProblemSolution(
            problem=f"{vocal.songId} runs at {vocal.bpm:.1f} BPM and {inst.songId} at "
                    f"{inst.bpm:.1f} BPM.",
            solution=f"Both play at {roles.target_bpm:.1f} BPM: {vocal.songId} is "
                     f"time-stretched by {stretch:+.1f}%{half}, on the bar grid.{large}"))
    shift = roles.pitch_shift_semitones.get(vocal.songId, 0)
    if shift:
        out.append(ProblemSolution(
            problem=f"{vocal.songId} is in {vocal.key} ({vocal.camelot}), {inst.songId} in "
                    f"{inst.key} ({inst.camelot}).",
            solution=f"{vocal.songId} is pitch-shifted by {shift:+d} semitones to fit "
                     f"{roles.target_key} ({key_to_camelot(roles.target_key)})."))
    if handover:
        out.append(ProblemSolution(
            problem="Both songs have vocals; two singers at once would clash.",
            solution=f"{vocal.songId} leads; in the {handover} the lead passes to "
                     f"{inst.songId}'s own vocals while {vocal.songId} rests, then comes "
                     "back: one voice at a time."))
    elif vocal_time_sec(inst) > 0:
        out.append(ProblemSolution(
            problem="Both songs have vocals; two singers at once would clash.",
            solution=f"Only {vocal.songId}'s vocal stem is used, one layer at a time; "
                     f"{inst.songId} plays as drums, bass and other stems only."))
    out.append(ProblemSolution(
        problem="Two bass lines or two kicks together would muddy the low end.",
        solution=f"Only {inst.songId}'s bass plays; {vocal.songId}'s extra drums in the "
                 "drops are high-passed at 200 Hz."))
    if not vocals.phrases:
        out.append(ProblemSolution(
            problem=f"{vocal.songId} has no detected vocal phrases.",
            solution="Its 'other' stem (melody) takes the lead instead of vocals."))
    elif vocals.reused:
        out.append(ProblemSolution(
            problem=f"The mashup needs more sung material than {vocal.songId} has.",
            solution="Its strongest phrases come back for the later sections."))
    if clamped:
        low, high = duration_range_sec
        out.append(ProblemSolution(problem=clamped, solution="The length was clamped to the "
                                   f"{low:g}–{high:g} s range."))
    return out


def _guest_problem(roles: Roles, guest: _Guest, kind: str) -> ProblemSolution:
    song = guest.song
    stretch = (roles.tempo_ratio(song) - 1.0) * 100.0
    shift = roles.pitch_shift(song)
    fit = [f"time-stretched by {stretch:+.1f}%"] if abs(stretch) > 0.5 else []
    if shift:
        fit.append(f"pitch-shifted by {shift:+d} semitones")
    how = f" ({' and '.join(fit)})" if fit else ""
    part = "vocals lead" if guest.sings else "melody ('other' stem) leads"
    return ProblemSolution(
        problem=f"{song.songId} joins as a guest; two leads at once would clash.",
        solution=f"{song.songId}'s {part} the {kind}{how} over "
                 f"{roles.instrumental.songId}'s groove while {roles.vocal.songId} rests.")


def _vision(roles: Roles, curve: str, timeline: list[TimelineSection], kinds: list[str],
            placed: list[tuple[int, _Guest]]) -> str:
    vocal, inst = _title(roles.vocal), _title(roles.instrumental)
    peak = max(range(len(timeline)), key=lambda i: timeline[i].energy_level)
    form = " → ".join(kinds)
    guests = "".join(f" {_title(guest.song)} steps in for the {kinds[index]}."
                     for index, guest in placed)
    return (f"{vocal}'s vocals ride {inst}'s groove at {roles.target_bpm:.0f} BPM in "
            f"{roles.target_key}.{guests} The form is {form}, in whole 4-bar phrases, "
            f"following a {curve} energy curve that peaks in the {kinds[peak]} at "
            f"{timeline[peak].time_start_sec:.0f} s. Only one voice and one bass line sound "
            f"at any time, so the blend stays clear.")


def plan_rules(analyses: Sequence[AnalysisResult], scores: Mapping[str, Any] | None,
               options: PlanOptions | None = None) -> MasterplanResponse:
    """A complete, validated masterplan from the analyses and scores; deterministic per seed."""
    options = options or PlanOptions()
    seed = options.seed or 0
    rng = random.Random(seed)
    roles = choose_roles(analyses, scores or {})
    warnings = list(roles.notes)
    if options.energy_curve and options.energy_curve not in ENERGY_CURVES:
        warnings.append(f"unknown energy_curve {options.energy_curve!r}; "
                        f"use one of {list(ENERGY_CURVES)}")
    curve = options.energy_curve if options.energy_curve in ENERGY_CURVES else \
        DEFAULT_CURVES[seed % len(DEFAULT_CURVES)]
    if options.style_prompt:
        warnings.append("style_prompt is only read by the Claude planner")
    asked_range = asked_duration_range(options)
    wanted, clamp_warning = wanted_duration(options, asked_range)
    clamped = None
    if clamp_warning:
        clamped = f"A length of {options.duration_sec:g} s was asked for."
        warnings.append(clamp_warning)

    bar = bar_sec(roles.target_bpm)
    phrases, duration_range = plan_length(wanted, target_bpm=roles.target_bpm,
                                          duration_range_sec=asked_range)
    if duration_range != asked_range:
        warnings.append(f"no whole number of 4-bar phrases at {roles.target_bpm:g} BPM fits "
                        f"{asked_range[0]:g}–{asked_range[1]:g} s; the plan lasts "
                        f"{phrases * 4 * bar:.1f} s")
    form = plan_form(phrases, rng)
    vocal_ratio = roles.tempo_ratio(roles.vocal)
    ctx = _Context(
        roles=roles, rng=rng,
        vocals=VocalCursor(roles.vocal, vocal_ratio),
        vocal_lead_backup=InstrumentalCursor(roles.vocal, vocal_ratio, rng),
        inst=InstrumentalCursor(roles.instrumental, roles.tempo_ratio(roles.instrumental), rng),
        inst_vocals=VocalCursor(roles.instrumental, roles.tempo_ratio(roles.instrumental)))
    lead_sections = sum(s.kind in ("verse", "build", "drop", "breakdown") for s in form)
    if len(ctx.vocals.phrases) >= lead_sections + 2 and rng.random() < 0.4:
        ctx.vocals.skip(1)  # variety: start from the second sung phrase

    total_sec = phrases * 4 * bar
    names = {"vocal": _title(roles.vocal), "inst": _title(roles.instrumental)}
    timeline: list[TimelineSection] = []
    kinds = [s.kind for s in form]
    handover = _handover_index(ctx, kinds)
    guests = _guests(ctx, analyses)
    # More guests than free sections: the last ones are left out (and named in a warning).
    guest_at = dict(zip(_guest_sections(ctx, kinds, handover, len(guests)), guests, strict=False))
    start_bar = 0
    for index, section in enumerate(form):
        start, duration = start_bar * bar, section.bars * bar
        energy = energy_level(section.kind, (start + duration / 2) / total_sec, curve)
        into_drop = index + 1 < len(form) and form[index + 1].kind == "drop"
        if index == handover:
            layers = _handover_layers(ctx, section.kind, duration, energy, into_drop=into_drop)
            text = HANDOVER_DESCRIPTION.format(Kind=section.kind.capitalize(), **names)
        elif index in guest_at:
            ctx.guest = guest_at[index]
            layers = _section_layers(ctx, section.kind, duration, energy, into_drop=into_drop)
            ctx.guest = None
            text = GUEST_DESCRIPTION.format(
                Kind=section.kind.capitalize(), guest=_title(guest_at[index].song),
                part="vocals" if guest_at[index].sings else "melody", **names)
        else:
            layers = _section_layers(ctx, section.kind, duration, energy, into_drop=into_drop)
            text = DESCRIPTIONS[section.kind].format(**names)
        timeline.append(TimelineSection(
            time_start_sec=round(start, 6), duration_sec=round(duration, 6),
            description=text + f" ({section.bars} bars)", energy_level=energy, layers=layers))
        start_bar += section.bars

    placed = sorted(guest_at.items())
    title = " × ".join([_title(roles.vocal), _title(roles.instrumental),
                        *(_title(guest.song) for _, guest in placed)])
    credits = [f"{_artist(roles.vocal)} (vocals)", f"{_artist(roles.instrumental)} (instrumental)",
               *(f"{_artist(guest.song)} (guest {'vocals' if guest.sings else 'melody'})"
                 for _, guest in placed)]
    plan = Masterplan(
        title=title,
        artistCredits=" × ".join(credits),
        **{"global": GlobalSettings(targetBPM=roles.target_bpm, targetKey=roles.target_key,
                                    timeSignature=(4, 4))},
        timeline=timeline,
        problems_and_solutions=[
            *_problems(roles, ctx.vocals, clamped, asked_range,
                       handover=None if handover is None else form[handover].kind),
            *(_guest_problem(roles, guest, kinds[index]) for index, guest in placed)])
    used = {roles.vocal.songId, roles.instrumental.songId} | {g.song.songId for _, g in placed}
    left_out = [a.songId for a in analyses if a.songId not in used]
    if left_out:
        warnings.append(f"the rules planner found no section for {', '.join(left_out)}: a "
                        "longer mashup has room for more guests, and a song in a 3:2 "
                        "relation to the tempo can only join with its vocals")
    fixed, errors, check_warnings = validate_plan(plan, analyses,
                                                  duration_range_sec=duration_range)
    if errors or fixed is None:  # a bug in this module, not bad input
        raise RuntimeError("rules planner produced an invalid plan: " + "; ".join(errors))
    return MasterplanResponse(
        creative_vision=_vision(roles, curve, timeline, kinds, placed),
        masterplan=fixed, planner="rules", warnings=warnings + check_warnings)
