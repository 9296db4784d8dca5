"""processing service (port 8001): `POST /execute-masterplan`, `POST /render-preview`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from shared.contracts.common import Contract, check_storage_key


class SongRef(Contract):
    id: str = Field(min_length=1, max_length=200)
    storage_path: str
    analysis: dict[str, Any] | None = None

    @field_validator("storage_path")
    @classmethod
    def _key(cls, value: str) -> str:
        return check_storage_key(value)


class OutputOptions(Contract):
    format: Literal["wav", "flac", "mp3"] = "wav"
    preview: bool = False


class ExecuteRequest(Contract):
    masterplan: dict[str, Any]
    songs: list[SongRef] = Field(min_length=1, max_length=16)
    output: OutputOptions | None = None


class RenderResponse(Contract):
    success: bool
    storage_path: str
    duration_sec: float
    lufs: float
    true_peak_dbtp: float
    warnings: list[str] = Field(default_factory=list)
