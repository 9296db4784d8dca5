"""One separation from file bytes to stored stems (runs in a worker thread)."""

from __future__ import annotations

import logging
import time

import numpy as np

from services.separation.backends import Separator
from services.separation.cache import cached_stems, store_stems
from services.separation.dsp import STEMS
from shared.audio_io import decode_audio
from shared.contracts.separation import ALL_STEMS
from shared.errors import MeshError
from shared.storage import Storage

log = logging.getLogger(__name__)


def requested_stems(stems: list[str] | None) -> list[str]:
    """The stems to answer with, in the contract's order, without duplicates."""
    wanted = set(stems or ALL_STEMS)
    return [name for name in ALL_STEMS if name in wanted]


def separate_and_store(
    data: bytes, *, separator: Separator, storage: Storage, prefix: str
) -> dict[str, str]:
    """Decode `data`, separate all four stems and store them under `prefix`.

    Returns {stem: storage key} for all four. Raises the decoder's 4xx errors for bad
    input. Another request for the same song may have finished while this one queued,
    so the cache is checked again first.
    """
    done = cached_stems(storage, prefix, STEMS)
    if done is not None:
        return done
    audio = decode_audio(data)
    started = time.perf_counter()
    stems = separator.separate(audio.samples, audio.sample_rate_hz)
    missing = [name for name in STEMS if name not in stems]
    if missing:
        raise MeshError(f"The {separator.name} separator returned no {', '.join(missing)}.")
    for name in STEMS:
        if stems[name].shape != audio.samples.shape or not np.all(np.isfinite(stems[name])):
            raise MeshError(f"The {separator.name} separator returned a malformed {name} stem.")
    elapsed_sec = time.perf_counter() - started
    log.info("separated %.1f s of audio with %s in %.1f s (%.1fx realtime)",
             audio.duration_sec, separator.name, elapsed_sec,
             audio.duration_sec / max(elapsed_sec, 1e-9))
    return store_stems(storage, prefix, {name: stems[name] for name in STEMS},
                       sample_rate_hz=audio.sample_rate_hz)
