"""One separation from file bytes to stored stems (runs in a worker thread)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable, Iterator, Mapping

import numpy as np

from services.separation.backends import Separator
from services.separation.cache import cached_stems, store_stem_blocks
from services.separation.dsp import STEMS
from services.separation.spill import SpilledAudio
from shared.audio_io import decode_audio
from shared.contracts.separation import ALL_STEMS
from shared.errors import MeshError
from shared.storage import Storage

log = logging.getLogger(__name__)


def requested_stems(stems: list[str] | None) -> list[str]:
    """The stems to answer with, in the contract's order, without duplicates."""
    wanted = set(stems or ALL_STEMS)
    return [name for name in ALL_STEMS if name in wanted]


def checked_blocks(
    blocks: Iterable[tuple[int, Mapping[str, np.ndarray]]], *, separator_name: str,
    shape: tuple[int, ...],
) -> Iterator[tuple[int, Mapping[str, np.ndarray]]]:
    """Pass a separator's blocks through, raising MeshError (before anything is stored)
    unless they hold all four finite stems of `shape`'s channels and tile its length."""
    channels, length_samples = shape
    covered = 0
    for start, block in blocks:
        missing = [name for name in STEMS if name not in block]
        if missing:
            raise MeshError(f"The {separator_name} separator returned no {', '.join(missing)}.")
        width = block["other"].shape[-1]
        for name in STEMS:
            stem = block[name]
            if (start != covered or stem.shape != (channels, width)
                    or not np.all(np.isfinite(stem))):
                raise MeshError(
                    f"The {separator_name} separator returned a malformed {name} stem.")
        covered += width
        yield start, block
    if covered != length_samples:
        raise MeshError(f"The {separator_name} separator returned stems of the wrong length.")


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
    shape, sample_rate_hz = audio.samples.shape, audio.sample_rate_hz
    duration_sec = audio.duration_sec
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        samples: np.ndarray | SpilledAudio = audio.samples
        if separator.reads_pieces:
            samples = stack.enter_context(SpilledAudio(audio.samples))
        del audio  # from here the separator's input is the only copy of the song
        keys = store_stem_blocks(
            storage, prefix,
            checked_blocks(separator.stream(samples, sample_rate_hz),
                           separator_name=separator.name, shape=shape),
            names=STEMS, sample_rate_hz=sample_rate_hz, channels=shape[0],
        )
    elapsed_sec = time.perf_counter() - started
    log.info("separated %.1f s of audio with %s in %.1f s (%.1fx realtime)",
             duration_sec, separator.name, elapsed_sec, duration_sec / max(elapsed_sec, 1e-9))
    return keys
