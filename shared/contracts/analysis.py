"""analysis service (port 8000): `POST /analyze`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.contracts.common import AudioInput, Contract

SectionLabel = Literal["intro", "verse", "chorus", "build", "drop", "breakdown", "bridge", "outro"]
CueType = Literal["mix_in", "mix_out", "pre_drop", "post_drop"]


class AnalyzeRequest(AudioInput):
    songId: str = Field(min_length=1, max_length=200)


class EnergyCurve(Contract):
    hop_sec: float = Field(gt=0)
    values: list[float]


class SongSection(Contract):
    label: SectionLabel
    start_sec: float = Field(ge=0)
    end_sec: float = Field(ge=0)
    energy: float = Field(ge=0, le=1)


class CuePoint(Contract):
    type: CueType
    time_sec: float = Field(ge=0)


class SpectralProfile(Contract):
    """Each band's share of total energy; the five values sum to 1."""

    low: float = Field(ge=0, le=1)  # 20-200 Hz
    mid_low: float = Field(ge=0, le=1)  # 200-500 Hz
    mid: float = Field(ge=0, le=1)  # 500-2000 Hz
    high: float = Field(ge=0, le=1)  # 2-8 kHz
    air: float = Field(ge=0, le=1)  # 8-20 kHz


class AnalysisResult(Contract):
    songId: str
    duration_sec: float = Field(gt=0)
    sample_rate: int = Field(gt=0)
    channels: int = Field(ge=1)
    bpm: float = Field(gt=0)
    bpm_confidence: float = Field(ge=0, le=1)
    beats: list[float]
    downbeats: list[float]
    time_signature: tuple[int, int] = (4, 4)
    key: str
    camelot: str
    key_confidence: float = Field(ge=0, le=1)
    loudness_lufs: float
    energy: float = Field(ge=0, le=1)
    energy_curve: EnergyCurve
    sections: list[SongSection]
    cue_points: list[CuePoint]
    vocal_intervals: list[tuple[float, float]]
    spectral_profile: SpectralProfile
    analysis_version: str
