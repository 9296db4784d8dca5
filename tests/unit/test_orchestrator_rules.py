"""The rules planner: valid, song-like, musical invariants, deterministic per seed."""

from __future__ import annotations

import itertools
import random
from types import SimpleNamespace

import pytest

from services.orchestrator.form import (
    CURVES,
    asked_duration_range,
    energy_level,
    phrases_for,
    plan_form,
)
from services.orchestrator.roles import choose_roles
from services.orchestrator.rules_planner import plan_rules
from services.orchestrator.sources import CLEAN_END_MAX_LEAD, downbeat_grid, vocal_phrases
from services.orchestrator.validation import bass_bearing, validate_plan, vocal_bearing
from shared.camelot import key_shift_semitones
from shared.contracts.analysis import AnalysisResult
from shared.contracts.orchestrator import ENERGY_CURVES, MasterplanResponse, PlanOptions
from tests.unit.test_orchestrator_factory import (
    demo_analyses,
    demo_scores,
    make_analysis,
    random_analysis,
)


def assert_plan_invariants(result: MasterplanResponse, analyses: list[AnalysisResult],
                           options: PlanOptions | None = None) -> None:
    """Everything a rules plan promises, checked independently of validate_plan too.

    The length must lie in the range the options ask for (60–240 s by default), or
    within one phrase of it when the planner warns that no whole phrase count fits.
    """
    plan = result.masterplan
    duration_range_sec = asked_duration_range(options)
    if any("no whole number of 4-bar phrases" in w for w in result.warnings):
        phrase = 16 * 60.0 / plan.global_.targetBPM
        duration_range_sec = (duration_range_sec[0] - phrase, duration_range_sec[1] + phrase)
    fixed, errors, _ = validate_plan(plan, analyses, duration_range_sec=duration_range_sec)
    assert errors == [], errors
    assert fixed is not None and fixed.wire() == plan.wire()  # nothing needed fixing
    bar = 240.0 / plan.global_.targetBPM
    songs = {a.songId: a for a in analyses}
    end = 0.0
    for section in plan.timeline:
        assert section.time_start_sec == pytest.approx(end, abs=1e-5)  # contiguous from 0
        bars = section.duration_sec / bar
        assert bars == pytest.approx(round(bars), abs=1e-4) and round(bars) % 4 == 0
        end = section.time_start_sec + section.duration_sec
        sung = [la for la in section.layers
                if vocal_bearing(la.stem, bool(songs[la.songId].vocal_intervals))]
        assert len(sung) <= 1
        assert sum(bass_bearing(la.stem) for la in section.layers) <= 1
        for layer in section.layers:
            assert layer.source_start_sec is not None
            assert 0 <= layer.source_start_sec < songs[layer.songId].duration_sec
            assert -60 <= layer.volume_db <= 6
    assert duration_range_sec[0] - 1e-6 <= end <= duration_range_sec[1] + 1e-6
    intro = plan.timeline[0]
    if intro.description.lower().startswith("intro"):
        fading = {la.stem for la in intro.layers if "fade_in" in la.effects}
        if "drums" in fading:  # the bass never leads an intro whose drums fade in
            assert "bass" in fading or "bass" not in {la.stem for la in intro.layers}, intro
    for before, section in itertools.pairwise(plan.timeline):
        if section.description.lower().startswith("drop"):  # filter sweeps into drops
            assert any("filter_sweep_up" in la.effects for la in before.layers), before


def test_demo_plan_is_song_like_and_valid() -> None:
    analyses = demo_analyses()
    result = plan_rules(analyses, demo_scores(), PlanOptions(seed=0))
    assert_plan_invariants(result, analyses)
    plan = result.masterplan
    assert result.planner == "rules"
    assert plan.title == "Sunny Pop × Deep House"
    assert "The Synths" in plan.artistCredits and "DJ Test" in plan.artistCredits
    assert plan.global_.targetBPM == 124.0 and plan.global_.targetKey == "A minor"
    kinds = [s.description.split(":")[0].lower() for s in plan.timeline]
    assert kinds[0] == "intro" and kinds[-1] == "outro" and "drop" in kinds
    total = sum(s.duration_sec for s in plan.timeline)
    assert abs(total - 90.0) <= 240 / 124 * 2  # ~90 s, rounded to whole phrases
    intro = plan.timeline[0]
    assert {(la.songId, la.stem) for la in intro.layers} == \
        {("house_groove", "drums"), ("house_groove", "bass"), ("house_groove", "other")}
    assert result.creative_vision.count(".") >= 2
    assert any("time-stretched" in p.solution for p in plan.problems_and_solutions)
    wire = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert "global" in wire["masterplan"] and "global_" not in wire["masterplan"]


def test_vocal_layers_start_on_unsung_downbeats_at_sung_phrases_in_order() -> None:
    analyses = demo_analyses()
    pop = analyses[0]
    phrase_starts = [p[0] for p in vocal_phrases(pop)]
    grid = downbeat_grid(pop)
    result = plan_rules(analyses, demo_scores(), PlanOptions(seed=1, duration_sec=120))
    windows = [(la.source_start_sec, s.duration_sec) for s in result.masterplan.timeline
               for la in s.layers if la.stem == "vocals"]
    assert len(windows) >= 3
    for start, duration in windows:
        assert start is not None and min(abs(start - g) for g in grid) < 1e-3
        # at (or at most a quarter of the window before) a sung phrase, never inside a line
        assert any(-1e-6 <= p - start <= CLEAN_END_MAX_LEAD * duration + 1e-6
                   for p in phrase_starts)
        assert not any(a < start < b for a, b in pop.vocal_intervals)
    starts = [start for start, _ in windows]
    assert starts[:3] == sorted(starts[:3])  # walks forward through the song


def test_instrumental_layers_start_on_source_downbeats() -> None:
    analyses = demo_analyses()
    house = analyses[1]
    grid = downbeat_grid(house)
    result = plan_rules(analyses, demo_scores(), PlanOptions(seed=2))
    for section in result.masterplan.timeline:
        inst = {la.source_start_sec for la in section.layers if la.songId == "house_groove"}
        assert len(inst) <= 1  # one song's stems stay together
        for start in inst:
            assert start is not None and min(abs(start - g) for g in grid) < 1e-3


def test_deterministic_for_a_seed_and_varied_across_seeds() -> None:
    analyses = demo_analyses()
    def wire(seed: int) -> dict:
        return plan_rules(analyses, demo_scores(), PlanOptions(seed=seed)).model_dump()
    assert wire(7) == wire(7)
    assert wire(0) != wire(1)
    assert len({repr(wire(seed)) for seed in range(6)}) >= 5


@pytest.mark.parametrize("curve", ENERGY_CURVES)
def test_every_energy_curve_gives_a_valid_plan(curve: str) -> None:
    analyses = demo_analyses()
    result = plan_rules(analyses, demo_scores(), PlanOptions(energy_curve=curve, seed=3))
    assert_plan_invariants(result, analyses)
    assert curve in result.creative_vision


def test_energy_curve_shapes_the_energy() -> None:
    analyses = demo_analyses()
    def levels(curve: str) -> list[float]:
        result = plan_rules(analyses, demo_scores(),
                            PlanOptions(energy_curve=curve, duration_sec=200))
        return [s.energy_level for s in result.masterplan.timeline]
    build, decline = levels("build"), levels("decline")
    assert build[-2] > decline[-2] and build[1] < decline[1]
    assert CURVES["build"](1.0) > CURVES["build"](0.0)
    assert all(0 <= energy_level(k, t / 10, c) <= 1 for k in ("intro", "drop") for t in
               range(11) for c in ENERGY_CURVES)


@pytest.mark.parametrize(("duration", "expect_sections"), [(30, (2, 4)), (60, (4, 7)),
                                                           (240, (7, 11))])
def test_short_requests_get_fewer_sections(duration: float,
                                           expect_sections: tuple[int, int]) -> None:
    analyses = demo_analyses()
    options = PlanOptions(duration_sec=duration)
    result = plan_rules(analyses, demo_scores(), options)
    assert_plan_invariants(result, analyses, options)
    low, high = expect_sections
    assert low <= len(result.masterplan.timeline) <= high


def test_duration_is_clamped_with_a_warning() -> None:
    analyses = demo_analyses()
    result = plan_rules(analyses, demo_scores(), PlanOptions(duration_sec=1000))
    assert_plan_invariants(result, analyses)
    assert sum(s.duration_sec for s in result.masterplan.timeline) <= 240
    assert any("clamped" in w for w in result.warnings)


def test_fallback_roles_without_scores() -> None:
    # Song "b" sings most; "a" is the instrumental; 65 BPM folds to 130.
    analyses = [AnalysisResult.model_validate(make_analysis(
                    "a", tempo_bpm=65.0, key="E minor", vocal_intervals=[(10.0, 12.0)])),
                AnalysisResult.model_validate(make_analysis("b", tempo_bpm=128.0,
                                                            key="G major"))]
    roles = choose_roles(analyses, {})
    assert (roles.vocal.songId, roles.instrumental.songId) == ("b", "a")
    assert roles.target_bpm == 130.0 and roles.target_key == "E minor"
    assert roles.pitch_shift_semitones == {"a": 0, "b": 0}  # G major is E minor's relative
    result = plan_rules(analyses, {"pairs": []}, PlanOptions(seed=4))
    assert_plan_invariants(result, analyses)
    assert result.masterplan.global_.targetBPM == 130.0


def test_malformed_recommendation_falls_back_with_a_warning() -> None:
    analyses = demo_analyses()
    scores = demo_scores()
    scores["pairs"][0]["recommended"] = {"targetBPM": "fast"}
    result = plan_rules(analyses, scores)
    assert_plan_invariants(result, analyses)
    assert any("malformed" in w for w in result.warnings)
    scores = demo_scores()
    scores["pairs"][0]["recommended"]["vocal_source"] = "nobody"
    result = plan_rules(analyses, scores)
    assert any("do not form a pair" in w for w in result.warnings)


def test_key_shift_is_smallest_and_mode_aware() -> None:
    assert key_shift_semitones("C major", "D major") == 2
    assert key_shift_semitones("C major", "A# major") == -2
    assert key_shift_semitones("C major", "A minor") == 0  # relative keys
    assert key_shift_semitones("D minor", "C major") == -5
    assert -6 <= key_shift_semitones("F# major", "C major") <= 5


def test_song_without_vocals_leads_with_its_melody() -> None:
    analyses = [AnalysisResult.model_validate(make_analysis("x", sung=False)),
                AnalysisResult.model_validate(make_analysis("y", sung=False, tempo_bpm=122.0))]
    result = plan_rules(analyses, {}, PlanOptions(duration_sec=120))
    assert_plan_invariants(result, analyses, PlanOptions(duration_sec=120))
    stems = {la.stem for s in result.masterplan.timeline for la in s.layers}
    assert "vocals" not in stems
    assert any("no detected vocal phrases" in p.problem
               for p in result.masterplan.problems_and_solutions)


def _leads(result: MasterplanResponse) -> list[list[str]]:
    """Per section, the songs of its vocal or lead-melody layers (not the instrumental
    source's backing 'other')."""
    plan = result.masterplan
    inst = plan.timeline[0].layers[0].songId  # the intro is the instrumental source's
    return [[la.songId for la in s.layers if la.stem == "vocals"
             or (la.stem == "other" and la.songId != inst)] for s in plan.timeline]


def test_three_songs_the_third_is_a_guest_lead() -> None:
    analyses = [*demo_analyses(), AnalysisResult.model_validate(make_analysis(
        "third", tempo_bpm=118.0, key="D major"))]
    places = set()
    for seed in range(5):
        options = PlanOptions(seed=seed, duration_sec=180)
        result = plan_rules(analyses, demo_scores(), options)
        assert_plan_invariants(result, analyses, options)  # still one voice at a time
        plan = result.masterplan
        used = {la.songId for s in plan.timeline for la in s.layers}
        assert used == {"pop_song", "house_groove", "third"}
        guest = [i for i, s in enumerate(plan.timeline) if any(la.songId == "third"
                                                               for la in s.layers)]
        assert len(guest) == 1  # one section of its own
        section = plan.timeline[guest[0]]
        assert section.description.lower().startswith(("verse", "breakdown", "build", "drop"))
        assert "guest spot" in section.description
        # The guest sings instead of the vocal source, over the instrumental's groove.
        assert [la.stem for la in section.layers if la.songId == "third"] == ["vocals"]
        assert not any(la.songId == "pop_song" for la in section.layers)
        assert guest[0] > 1 and _leads(result)[1] == ["pop_song"]  # the vocal source opens
        assert "third" in plan.title and "third (guest vocals)" in plan.artistCredits
        assert any(p.problem.startswith("third joins") and "pitch-shifted by" in p.solution
                   for p in plan.problems_and_solutions)
        assert not any("no section for" in w for w in result.warnings)
        places.add(guest[0])
    assert len(places) >= 2  # the seed chooses where


def test_guests_fill_free_sections_and_the_rest_are_named() -> None:
    many = [AnalysisResult.model_validate(make_analysis(f"g{i}", tempo_bpm=120.0 + i))
            for i in range(6)]
    analyses = [*demo_analyses(), *many]
    options = PlanOptions(seed=3, duration_sec=60)
    result = plan_rules(analyses, demo_scores(), options)
    assert_plan_invariants(result, analyses, options)
    used = {la.songId for s in result.masterplan.timeline for la in s.layers}
    left_out = {a.songId for a in analyses} - used
    assert left_out and len(used) >= 3
    warning = next(w for w in result.warnings if "no section for" in w)
    assert all(song in warning for song in left_out)
    # Each guest leads one section, never two songs' leads in one section.
    assert all(len(leads) <= 1 for leads in _leads(result))


def test_with_room_for_fewer_guests_the_best_fitting_songs_play() -> None:
    # Target 124 BPM in A minor (the recommended pair); guests further off in tempo or
    # key fit worse and are the ones left out of a short mashup.
    guests = [make_analysis("far_tempo", tempo_bpm=112.0), make_analysis("far_key",
              tempo_bpm=124.0, key="F# major"), make_analysis("close", tempo_bpm=123.0),
              make_analysis("exact", tempo_bpm=124.0)]
    analyses = [*demo_analyses(), *(AnalysisResult.model_validate(g) for g in guests)]
    options = PlanOptions(seed=0, duration_sec=60)
    result = plan_rules(analyses, demo_scores(), options)
    assert_plan_invariants(result, analyses, options)
    used = {la.songId for s in result.masterplan.timeline for la in s.layers}
    placed = [g["songId"] for g in guests if g["songId"] in used]
    order = ["exact", "close", "far_key", "far_tempo"]  # best fitting first
    assert placed and sorted(placed, key=order.index) == order[:len(placed)]
    assert len(placed) < len(guests)


def test_a_guest_without_vocals_leads_with_its_melody_and_a_3_to_2_one_is_left_out() -> None:
    melodic = AnalysisResult.model_validate(make_analysis("keys", sung=False, tempo_bpm=121.0))
    crossing = AnalysisResult.model_validate(make_analysis("triplets", sung=False,
                                                           tempo_bpm=80.0))
    analyses = [*demo_analyses(), melodic, crossing]
    options = PlanOptions(seed=1, duration_sec=200)
    result = plan_rules(analyses, demo_scores(), options)
    assert_plan_invariants(result, analyses, options)
    layers = [la for s in result.masterplan.timeline for la in s.layers]
    assert {la.stem for la in layers if la.songId == "keys"} == {"other"}
    assert not any(la.songId == "triplets" for la in layers)
    assert any("no section for triplets" in w for w in result.warnings)
    assert "keys (guest melody)" in result.masterplan.artistCredits


def test_form_totals_and_phrase_counts() -> None:
    for phrases in range(1, 60):
        for seed in range(3):
            form = plan_form(phrases, random.Random(seed))
            assert sum(s.bars for s in form) == 4 * phrases
            assert all(s.bars % 4 == 0 and s.bars > 0 for s in form)
    assert phrases_for(90.0, target_bpm=120.0) == 11  # 8 s phrases → 88 s
    assert phrases_for(10.0, target_bpm=120.0) == 8  # at least 60 s by default
    assert phrases_for(10.0, target_bpm=120.0, duration_range_sec=(15.0, 240.0)) == 2
    assert phrases_for(500.0, target_bpm=120.0) == 30  # at most 240 s


def test_random_analyses_always_give_valid_plans() -> None:
    """A seeded sweep over random songs (the hypothesis test explores further)."""
    rng = random.Random(1234)
    for _ in range(150):
        analyses = [AnalysisResult.model_validate(random_analysis(rng, f"s{i}"))
                    for i in range(rng.choice((2, 2, 3)))]
        options = PlanOptions(seed=rng.randrange(1000),
                              duration_sec=rng.choice([None, rng.uniform(1.0, 600.0)]),
                              energy_curve=rng.choice([None, *ENERGY_CURVES, "zigzag"]))
        result = plan_rules(analyses, {}, options)
        assert_plan_invariants(result, analyses, options)


@pytest.mark.parametrize("tempo", [45.0, 95.0, 250.0])
def test_sparse_analyses_still_plan(tempo: float) -> None:
    """No beats, downbeats, sections or vocals reported, odd tempos: still a valid plan."""
    bare = []
    for song_id in ("p", "q"):
        body = make_analysis(song_id, tempo_bpm=tempo, duration_sec=40.0, sung=False)
        body.update(beats=[], downbeats=[], sections=[], vocal_intervals=[])
        bare.append(AnalysisResult.model_validate(body))
    result = plan_rules(bare, {}, PlanOptions(duration_sec=200))
    assert_plan_invariants(result, bare, PlanOptions(duration_sec=200))
    assert 70 <= result.masterplan.global_.targetBPM <= 180  # folded half/double


def test_lead_is_handed_over_to_a_singing_partner_without_clashes() -> None:
    analyses = [AnalysisResult.model_validate(make_analysis("lead", tempo_bpm=124.0)),
                AnalysisResult.model_validate(make_analysis("partner", tempo_bpm=124.0,
                                                            key="C major"))]
    places = set()
    for seed in range(6):
        options = PlanOptions(seed=seed, duration_sec=200)
        result = plan_rules(analyses, {}, options)
        assert_plan_invariants(result, analyses, options)  # never two vocals at once
        plan = result.masterplan
        kinds = [s.description.split(":")[0].lower() for s in plan.timeline]
        singers = [[la.songId for la in s.layers if la.stem == "vocals"] for s in plan.timeline]
        vocal_id = {a.songId for a in analyses} - {plan.timeline[0].layers[0].songId}
        handed = [i for i, names in enumerate(singers) if names and names[0] not in vocal_id]
        assert len(handed) == 1, singers  # one section, then the lead comes back
        i = handed[0]
        assert kinds[i] in ("breakdown", "verse") and i > kinds.index("drop")
        assert any(names and names[0] in vocal_id for names in singers[i + 1:])
        # The partner's vocal plays with its own backing from the same passage.
        starts = {la.source_start_sec for la in plan.timeline[i].layers}
        assert len(starts) == 1
        assert any("lead passes" in p.solution for p in plan.problems_and_solutions)
        places.add(i)
    assert len(places) >= 2  # the seed chooses where


def test_no_handover_when_the_partner_hardly_sings() -> None:
    analyses = demo_analyses()  # the house groove sings 4 s of 180
    result = plan_rules(analyses, demo_scores(), PlanOptions(seed=0, duration_sec=200))
    singers = {la.songId for s in result.masterplan.timeline for la in s.layers
               if la.stem == "vocals"}
    assert singers == {"pop_song"}


def test_asked_length_range() -> None:
    assert asked_duration_range(None) == (60.0, 240.0)
    assert asked_duration_range(PlanOptions(duration_sec=30)) == (15.0, 240.0)
    assert asked_duration_range(PlanOptions(min_duration_sec=100, max_duration_sec=120)) == \
        (100.0, 120.0)
    analyses = demo_analyses()
    options = PlanOptions(min_duration_sec=100, max_duration_sec=120, seed=2)
    result = plan_rules(analyses, demo_scores(), options)
    assert_plan_invariants(result, analyses, options)
    total = sum(s.duration_sec for s in result.masterplan.timeline)
    assert 100 <= total <= 120
    # No whole number of phrases (7.74 s at 124 BPM) fits 60–61 s: the nearest, with a warning.
    options = PlanOptions(min_duration_sec=60, max_duration_sec=61)
    result = plan_rules(analyses, demo_scores(), options)
    assert_plan_invariants(result, analyses, options)
    assert any("no whole number of 4-bar phrases" in w for w in result.warnings)
    with pytest.raises(ValueError):
        PlanOptions(min_duration_sec=120, max_duration_sec=100)


def _extra_rhythm_of_the_singer(result: MasterplanResponse) -> list[str]:
    vocal_song = next(layer.songId for section in result.masterplan.timeline
                      for layer in section.layers if layer.stem == "vocals")
    return [layer.stem for section in result.masterplan.timeline for layer in section.layers
            if layer.songId == vocal_song and layer.stem in ("drums", "bass", "other")]


def test_a_song_in_a_3_to_2_relation_lends_only_its_voice() -> None:
    """Three of a 124 BPM song's beats take two of an 87 BPM grid's: its drums would play
    triplets against the groove, so the planner uses its vocals alone, and plans their
    passages at the speed the renderer plays them (not a power-of-two fold)."""
    from shared.tempo_grid import playback_speed

    def pair(vocal_bpm: float) -> list[AnalysisResult]:
        return [AnalysisResult.model_validate(make_analysis("inst", tempo_bpm=87.0,
                                                            sung=False)),
                AnalysisResult.model_validate(make_analysis("voc", tempo_bpm=vocal_bpm))]

    straight = [plan_rules(pair(88.0), {}, PlanOptions(seed=seed, energy_curve="build"))
                for seed in range(6)]
    assert any(_extra_rhythm_of_the_singer(r) for r in straight)  # the check can fail
    for seed in range(6):
        analyses = pair(124.0)
        result = plan_rules(analyses, {}, PlanOptions(seed=seed, energy_curve="build"))
        assert_plan_invariants(result, analyses)
        assert _extra_rhythm_of_the_singer(result) == []
        assert any("3:2" in p.solution for p in result.masterplan.problems_and_solutions)
    roles = choose_roles(pair(124.0), {})
    assert roles.tempo_ratio(roles.vocal) == pytest.approx(
        playback_speed(song_bpm=124.0, target_bpm=roles.target_bpm))
    assert roles.tempo_ratio(roles.vocal) == pytest.approx(87.0 / (124.0 * 2 / 3))


def test_claude_is_told_which_songs_cross_the_grid() -> None:
    from services.orchestrator.prompt import user_prompt

    def prompt(vocal_bpm: float) -> str:
        analyses = [AnalysisResult.model_validate(make_analysis("inst", tempo_bpm=87.0,
                                                                sung=False)),
                    AnalysisResult.model_validate(make_analysis("voc", tempo_bpm=vocal_bpm))]
        return user_prompt(analyses=analyses, scores={}, roles=choose_roles(analyses, {}),
                           duration_sec=120.0, duration_range_sec=(60.0, 180.0),
                           curve="build", style_prompt=None)

    crossing = prompt(124.0)
    assert '"beat_ratio":{"inst":1.0,"voc":0.6667}' in crossing
    assert "voc meet(s) targetBPM in a 3:2 relation" in crossing
    assert "3:2" not in prompt(88.0)


@pytest.mark.parametrize(("vocal_key", "shift"), [("D major", 0), ("G minor", 0),
                                                   ("B minor", 0), ("D# minor", 1)])
def test_vocal_pitch_shift_is_the_renderers_and_named_when_there_is_one(vocal_key: str,
                                                                        shift: int) -> None:
    # The instrumental is in G major (9B): D major (10B) is a fifth away, G minor (6A)
    # parallel, B minor (10A) a diagonal neighbour: they layer unshifted. D# minor (2A)
    # clashes; up 1 it is E minor (9A), the relative.
    from services.processing.render import pitch_shifts

    vocal = AnalysisResult.model_validate(make_analysis("vox", key=vocal_key, tempo_bpm=120))
    inst = AnalysisResult.model_validate(make_analysis("inst", key="G major", tempo_bpm=121,
                                                       sung=False))
    roles = choose_roles([vocal, inst], {})
    assert roles.pitch_shift(vocal) == shift and roles.pitch_shift(inst) == 0
    result = plan_rules([vocal, inst], {}, PlanOptions(seed=0))
    named = [p.solution for p in result.masterplan.problems_and_solutions
             if "pitch-shifted" in p.solution]
    assert named == ([f"vox is pitch-shifted by {shift:+d} semitones to fit G major (9B)."]
                     if shift else [])
    # the renderer reads only each song's analysed key
    materials = {song.songId: SimpleNamespace(analysis=song) for song in (vocal, inst)}
    assert pitch_shifts(result.masterplan, materials, []) == {  # type: ignore[arg-type]
        "vox": shift, "inst": 0}


def test_the_target_fold_keeps_the_relation_that_stretches_least() -> None:
    # Metal at 180 and house-pop at 124 meet at ~183 in a 2:3 relation (1.6 % each). Folded
    # into the 70-180 range, 91.5 BPM would make it 4:3, which no song plays in: the
    # singer would go 3:2 at +10.7 %.
    from services.orchestrator.roles import fold_for_songs, fold_into_range

    inst = AnalysisResult.model_validate(make_analysis("inst", tempo_bpm=180.0, sung=False))
    voc = AnalysisResult.model_validate(make_analysis("voc", tempo_bpm=124.0))
    assert fold_into_range(182.95) == pytest.approx(91.475)
    assert fold_for_songs(182.95, (inst, voc)) == pytest.approx(182.95)
    roles = choose_roles([voc, inst], {"best_pair": ["inst", "voc"], "pairs": [{
        "a": "inst", "b": "voc", "recommended": {
            "targetBPM": 182.95, "targetKey": "A minor", "vocal_source": "voc",
            "instrumental_source": "inst", "tempo_relation": "2:3",
            "pitch_shift_semitones": {"inst": 0, "voc": 0}}}]})
    assert roles.target_bpm == pytest.approx(182.95) and roles.from_scores
    assert abs(roles.tempo_ratio(voc) - 1.0) < 0.02
    # Where both stretch alike (power-of-two relations), the range decides.
    plain = AnalysisResult.model_validate(make_analysis("p", tempo_bpm=95.0))
    assert fold_for_songs(190.0, (inst, plain)) == pytest.approx(95.0)
