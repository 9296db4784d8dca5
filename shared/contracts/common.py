"""Bodies shared by every service: the error shape, health, and audio input."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Storage keys are relative paths of safe characters; never `..`, absolute or a URL.
STORAGE_KEY_RE = re.compile(r"^[A-Za-z0-9_\-][A-Za-z0-9_.\-/]{0,511}$")


class Contract(BaseModel):
    """Base of every wire model: extra fields are kept, since the contract lets clients
    and services add fields without breaking each other."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


def check_storage_key(value: str) -> str:
    """Validate a storage key; raises ValueError with a sentence a person can act on."""
    if not isinstance(value, str) or not value:
        raise ValueError("storage_path must be a non-empty relative key such as uploads/<sha>.wav")
    if "://" in value or value.startswith("/") or "\\" in value:
        raise ValueError("storage_path must be a relative key, not an absolute path or URL")
    parts = value.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError("storage_path may not contain empty, '.' or '..' segments")
    if not STORAGE_KEY_RE.match(value):
        raise ValueError("storage_path may only use letters, digits, '_', '-', '.' and '/'")
    return value


class ErrorDetail(Contract):
    code: str
    message: str


class ErrorBody(Contract):
    error: ErrorDetail


class Health(Contract):
    status: str = "ok"
    service: str
    version: str


class AudioInput(Contract):
    """A song reaches a service as base64 bytes (`audioData`) or a storage key."""

    audioData: str | None = None
    storage_path: str | None = None

    @field_validator("storage_path")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        return None if value is None else check_storage_key(value)

    @model_validator(mode="after")
    def _one_source(self) -> AudioInput:
        if not self.audioData and not self.storage_path:
            raise ValueError("give the audio as audioData (base64) or storage_path")
        return self


JsonDict = dict[str, Any]

__all__ = [
    "AudioInput",
    "Contract",
    "ErrorBody",
    "ErrorDetail",
    "Field",
    "Health",
    "JsonDict",
    "check_storage_key",
]
