"""gateway (port 8080): the frontend's API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from shared.contracts.common import Contract, check_storage_key

JobStatus = Literal["processing", "complete", "failed"]


class UploadResponse(Contract):
    storage_path: str
    bytes: int


class SongInput(Contract):
    id: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.\-]+$")
    storage_path: str
    title: str | None = Field(default=None, max_length=300)
    artist: str | None = Field(default=None, max_length=300)

    @field_validator("storage_path")
    @classmethod
    def _key(cls, value: str) -> str:
        return check_storage_key(value)


class GenerateRequest(Contract):
    songs: list[SongInput] = Field(min_length=2, max_length=8)
    options: dict[str, Any] | None = None


class GenerateResponse(Contract):
    success: bool = True
    jobId: str


class StatusRequest(Contract):
    jobId: str = Field(min_length=1, max_length=100)


class JobState(Contract):
    jobId: str
    status: JobStatus
    progress: float = Field(ge=0, le=100)
    currentStep: str
    songs: list[dict[str, Any]]
    analyses: list[dict[str, Any]] | None = None
    mashabilityScore: dict[str, Any] | None = None
    masterplan: dict[str, Any] | None = None
    result_url: str | None = None
    error_message: str | None = None
    created_at: str
