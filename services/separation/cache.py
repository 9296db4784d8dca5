"""Where stems live in storage, and the cache check that skips a second separation.

Stems are 24-bit FLAC at
`stems/<sha256 of the input file bytes>/<backend>-<model or 'dsp'>-<version>/<stem>.flac`,
so the same file separated by the same separator version is found again without
decoding it, and a new backend, model or version never reads stale stems.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import soundfile as sf

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


def store_stem_blocks(
    storage: Storage, prefix: str, blocks: Iterable[tuple[int, Mapping[str, np.ndarray]]], *,
    names: Iterable[str], sample_rate_hz: int, channels: int,
) -> dict[str, str]:
    """Encode stems block by block (as `Separator.stream` yields them) to 24-bit FLAC
    files in a temporary folder, then store each file; returns {stem: key}.

    Only one block and one encoded stem file are in memory at a time; an exception from
    `blocks` aborts before anything is stored.
    """
    names = list(names)
    with tempfile.TemporaryDirectory(prefix="stems-") as folder:
        paths = {name: Path(folder) / f"{name}.{STEM_EXT}" for name in names}
        with contextlib.ExitStack() as stack:
            writers = {
                name: stack.enter_context(sf.SoundFile(
                    path, "w", samplerate=sample_rate_hz, channels=channels,
                    format=STEM_EXT.upper(), subtype="PCM_24"))
                for name, path in paths.items()
            }
            for _start, block in blocks:
                for name, writer in writers.items():
                    writer.write(np.clip(block[name], -1.0, 1.0).T)
        return {name: storage.put_bytes(stem_key(prefix, name), path.read_bytes())
                for name, path in paths.items()}
