"""Which separated stems a masterplan needs of each song."""

from __future__ import annotations

from shared.contracts.orchestrator import Masterplan, layer_stems_needed, stem_files


def _plan(*sections: list[tuple[str, str]]) -> Masterplan:
    timeline = [{"time_start_sec": 8.0 * i, "duration_sec": 8.0,
                 "layers": [{"songId": song, "stem": stem} for song, stem in layers]}
                for i, layers in enumerate(sections)]
    return Masterplan.model_validate({"title": "t", "timeline": timeline, "global": {
        "targetBPM": 120.0, "targetKey": "A minor"}})


def test_stem_files_in_separation_order() -> None:
    assert stem_files(["other", "vocals"]) == ["vocals", "other"]
    assert stem_files(["instrumental", "drums"]) == ["drums", "bass", "other"]
    assert stem_files(["full"]) == [] and stem_files([]) == []


def test_layer_stems_needed_per_song_with_the_fill_song_for_empty_sections() -> None:
    plan = _plan([("a", "drums"), ("b", "vocals")], [("a", "bass"), ("c", "full")])
    assert layer_stems_needed(plan, ["a", "b", "c", "d"]) == {
        "a": {"drums", "bass"}, "b": {"vocals"}, "c": {"full"}}
    # A section without layers plays the first named song's instrumental...
    gap = _plan([("b", "vocals")], [])
    assert layer_stems_needed(gap, ["a", "b"]) == {"b": {"vocals", "instrumental"}}
    # ...or the first song's when the plan names none.
    assert layer_stems_needed(_plan([]), ["a", "b"]) == {"a": {"instrumental"}}
