"""Where stems live in storage, and the cache check that skips a second separation.

Stems are 24-bit FLAC at
`stems/<sha256 of the input file bytes>/<backend>-<model or 'dsp'>-<version>/<stem>.flac`,
so the same file separated by the same separator version is found again without
decoding it, and a new backend, model or version never reads stale stems.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping

import numpy as np

from shared.audio_io import encode_audio
from shared.storage import Storage

STEM_EXT = "flac"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]+")


def audio_digest(data: bytes) -> str:
    """Hex sha256 of the input file's bytes."""
    return hashlib.sha256(data).hexdigest()


def _segment(text: str) -> str:
    """A storage-key-safe path segment (model names may hold odd characters)."""
    cleaned = _UNSAFE.sub("_", text).strip("._") or "x"
    return cleaned[:80]


def stem_prefix(digest: str, *, backend: str, model: str | None, version: str) -> str:
    """The folder of one song's stems from one separator version."""
    variant = f"{_segment(backend)}-{_segment(model or 'dsp')}-{_segment(version)}"
    return f"stems/{digest}/{variant}"


def stem_key(prefix: str, stem: str) -> str:
    return f"{prefix}/{stem}.{STEM_EXT}"


def cached_stems(storage: Storage, prefix: str, stems: Iterable[str]) -> dict[str, str] | None:
    """{stem: key} when every requested stem is stored already, else None."""
    keys = {stem: stem_key(prefix, stem) for stem in stems}
    if all(storage.exists(key) for key in keys.values()):
        return keys
    return None


def store_stems(
    storage: Storage, prefix: str, stems: Mapping[str, np.ndarray], *, sample_rate_hz: int
) -> dict[str, str]:
    """Encode each stem as 24-bit FLAC and store it; returns {stem: key}."""
    keys: dict[str, str] = {}
    for name, samples in stems.items():
        data = encode_audio(samples, sample_rate_hz=sample_rate_hz, fmt=STEM_EXT, bit_depth=24)
        keys[name] = storage.put_bytes(stem_key(prefix, name), data)
    return keys
