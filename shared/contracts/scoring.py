"""scoring service (port 8002): `POST /calculate-mashability`, `POST /find-mashups`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from shared.contracts.analysis import AnalysisResult
from shared.contracts.common import Contract

Quality = Literal["perfect", "excellent", "good", "acceptable", "risky", "clash"]
TempoRelation = Literal["direct", "half", "double", "3:2", "2:3", "clash"]


class MashabilityRequest(Contract):
    analyses: list[AnalysisResult] = Field(min_length=2, max_length=16)


class HarmonicScore(Contract):
    type: str  # same|relative|+1|-1|energy_boost|modal|clash|...
    score: float = Field(ge=0, le=100)
    quality: Quality
    recommendation: str


class RhythmicScore(Contract):
    bpm_a: float
    bpm_b: float
    relation: TempoRelation
    stretch_percent: float
    score: float = Field(ge=0, le=100)


class SpectralScore(Contract):
    clash_bands: list[str]
    score: float = Field(ge=0, le=100)


class VocalScore(Contract):
    clash: bool
    score: float = Field(ge=0, le=100)


class Recommendation(Contract):
    targetBPM: float = Field(gt=0)
    targetKey: str
    pitch_shift_semitones: dict[str, int]
    vocal_source: str
    instrumental_source: str


class PairScore(Contract):
    a: str
    b: str
    score: float = Field(ge=0, le=100)
    harmonic: HarmonicScore
    rhythmic: RhythmicScore
    spectral: SpectralScore
    vocal: VocalScore
    recommended: Recommendation


class MashabilityResponse(Contract):
    overall: float = Field(ge=0, le=100)
    best_pair: tuple[str, str]
    pairs: list[PairScore]


class FindMashupsRequest(Contract):
    library: list[dict[str, Any]] = Field(min_length=2)
    query: str | None = None
    top_k: int = Field(default=10, ge=1, le=1000)


class Match(Contract):
    a: str
    b: str
    score: float


class FindMashupsResponse(Contract):
    matches: list[Match]
