"""Property test: any plausible songs and any seed give a plan that validates.

Needs hypothesis (a dev dependency); skipped where it is not installed, in which case the
seeded sweep in test_orchestrator_rules.py still covers random songs.
"""

from __future__ import annotations

import pytest

hypothesis = pytest.importorskip("hypothesis")
st = pytest.importorskip("hypothesis.strategies")

from services.orchestrator.rules_planner import plan_rules  # noqa: E402
from shared.contracts.analysis import AnalysisResult  # noqa: E402
from shared.contracts.orchestrator import ENERGY_CURVES, PlanOptions  # noqa: E402
from tests.unit.test_orchestrator_factory import make_analysis  # noqa: E402
from tests.unit.test_orchestrator_rules import assert_plan_invariants  # noqa: E402

KEYS = [f"{tonic} {mode}" for tonic in ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A",
                                        "A#", "B") for mode in ("major", "minor")]


@st.composite
def songs(draw: st.DrawFn, song_id: str) -> AnalysisResult:
    duration = draw(st.floats(30.0, 400.0))
    starts = sorted(draw(st.lists(st.floats(0.0, duration - 0.5), max_size=30, unique=True)))
    intervals = []
    for start in starts:
        end = min(duration, start + draw(st.floats(0.1, 20.0)))
        if not intervals or start >= intervals[-1][1]:
            intervals.append((start, end))
    body = make_analysis(song_id, tempo_bpm=draw(st.floats(70.0, 180.0)),
                         key=draw(st.sampled_from(KEYS)), duration_sec=duration,
                         first_downbeat_sec=draw(st.floats(0.0, 1.5)),
                         vocal_intervals=intervals)
    return AnalysisResult.model_validate(body)


@hypothesis.settings(max_examples=150, deadline=None)
@hypothesis.given(a=songs("a"), b=songs("b"), seed=st.integers(-10**6, 10**6),
                  duration=st.none() | st.floats(1.0, 1200.0),
                  curve=st.none() | st.sampled_from([*ENERGY_CURVES, "unknown"]),
                  length_range=st.none() | st.lists(st.floats(5.0, 600.0), min_size=2,
                                                    max_size=2).map(sorted))
def test_every_plan_validates(a: AnalysisResult, b: AnalysisResult, seed: int,
                              duration: float | None, curve: str | None,
                              length_range: list[float] | None) -> None:
    low, high = length_range or (None, None)
    options = PlanOptions(seed=seed, duration_sec=duration, energy_curve=curve,
                          min_duration_sec=low, max_duration_sec=high)
    result = plan_rules([a, b], {}, options)
    assert_plan_invariants(result, [a, b], options)
    assert result.model_dump() == plan_rules([a, b], {}, options).model_dump()
