"""separation service (port 8004): `POST /separate`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.contracts.common import AudioInput, Contract

SeparationStem = Literal["vocals", "drums", "bass", "other"]
ALL_STEMS: tuple[SeparationStem, ...] = ("vocals", "drums", "bass", "other")


class SeparateRequest(AudioInput):
    songId: str = Field(min_length=1, max_length=200)
    stems: list[SeparationStem] | None = None


class SeparateResponse(Contract):
    songId: str
    stems: dict[str, str]  # stem name -> storage_path
    backend: str
    model: str | None = None
    cached: bool
    elapsed_sec: float
