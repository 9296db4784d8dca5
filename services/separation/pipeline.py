"""One separation from file bytes to stored stems (runs in a worker thread)."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

import numpy as np

from services.separation.backends import Separator
from services.separation.cache import cached_stems, store_stem_blocks
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
    so the cache is checked again first. Stems stream from the separator to FLAC block
    by block, so memory holds the decoded song and a chunk or two, not four whole stems.
    """
    done = cached_stems(storage, prefix, STEMS)
    if done is not None:
        return done
    audio = decode_audio(data)
    del data  # the caller keeps its reference; this frame no longer needs the bytes
    samples = audio.samples
    started = time.perf_counter()
    covered = 0

    def check(start: int, block: Mapping[str, np.ndarray]) -> None:
        nonlocal covered
        missing = [name for name in STEMS if name not in block]
        if missing:
            raise MeshError(
                f"The {separator.name} separator returned no {', '.join(missing)}.")
        width = block["other"].shape[-1]
        for name in STEMS:
            stem = block[name]
            if (start != covered or stem.shape != (samples.shape[0], width)
                    or not np.all(np.isfinite(stem))):
                raise MeshError(
                    f"The {separator.name} separator returned a malformed {name} stem.")
        covered += width

    keys = store_stem_blocks(
        storage, prefix, separator.stream(samples, audio.sample_rate_hz), names=STEMS,
        sample_rate_hz=audio.sample_rate_hz, channels=samples.shape[0], check=check,
    )
    if covered != samples.shape[1]:
        raise MeshError(f"The {separator.name} separator returned stems of the wrong length.")
    elapsed_sec = time.perf_counter() - started
    log.info("separated %.1f s of audio with %s in %.1f s (%.1fx realtime)",
             audio.duration_sec, separator.name, elapsed_sec,
             audio.duration_sec / max(elapsed_sec, 1e-9))
    return keys
