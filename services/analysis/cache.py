"""Analysis results cached in storage by content: `analysis/<sha256>-<version>.json`.

The key hashes the file bytes, so the same file uploaded twice (under any songId or
storage path) is analysed once; the version in the key retires old results when the
algorithms change."""

from __future__ import annotations

import hashlib
import json
import logging

from pydantic import ValidationError

from services.analysis.settings import ANALYSIS_VERSION, CACHE_PREFIX
from shared.contracts.analysis import AnalysisResult
from shared.errors import ObjectNotFound
from shared.storage import Storage

log = logging.getLogger(__name__)


def cache_key(file_bytes: bytes, *, version: str = ANALYSIS_VERSION) -> str:
    """Storage key of the cached analysis of these file bytes."""
    return f"{CACHE_PREFIX}/{hashlib.sha256(file_bytes).hexdigest()}-{version}.json"


def load_cached(storage: Storage, key: str, *, song_id: str) -> AnalysisResult | None:
    """The cached result under `key` with `songId` set to `song_id`, or None when there is
    none or it is unreadable (then the song is simply analysed again)."""
    if not storage.exists(key):
        return None
    try:
        result = AnalysisResult.model_validate(json.loads(storage.get_bytes(key)))
    except (ObjectNotFound, ValueError, ValidationError) as exc:
        log.warning("ignoring unreadable cached analysis %s: %s", key, exc)
        return None
    return result.model_copy(update={"songId": song_id})


def store_cached(storage: Storage, key: str, result: AnalysisResult) -> None:
    storage.put_bytes(key, result.model_dump_json(by_alias=True).encode())
