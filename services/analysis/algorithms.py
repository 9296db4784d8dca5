"""Per-thread Essentia algorithm instances.

Building RhythmExtractor2013 costs ~0.15 s, so each worker thread keeps its own instances
(Essentia algorithms must not be shared between threads). Keeping them also matters for
correct quiet operation: when an algorithm that runs an internal streaming network is
destroyed, Essentia resets its global "last network" and every later call of a kept
RhythmExtractor2013 logs a flood of warnings."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import essentia.standard as es

_THREAD_STATE = threading.local()


def cached_algorithm(key: tuple[Any, ...], factory: Callable[[], Any]) -> Any:
    """This thread's instance for `key`, built by `factory` on first use."""
    cache: dict[tuple[Any, ...], Any] | None = getattr(_THREAD_STATE, "algorithms", None)
    if cache is None:
        cache = _THREAD_STATE.algorithms = {}
    if key not in cache:
        cache[key] = factory()
    return cache[key]


# "degara" (one complex-spectral-difference onset function) instead of "multifeature"
# (five of them and a vote): on the benchmark it finds the same tempi and beats once
# tempo.py has fitted the grid and chosen the metrical level, at a quarter of the cost
# (0.18 s instead of 0.70 s per minute of audio), which the 40x-realtime budget needs.
# tempo.py falls back to "multifeature" where degara's beat does not fit the bars.
RHYTHM_METHOD = "degara"


def rhythm_extractor(method: str = RHYTHM_METHOD) -> Any:
    return cached_algorithm(("rhythm", method),
                            lambda: es.RhythmExtractor2013(method=method))


def key_extractor(*, profile_type: str, sample_rate_hz: int) -> Any:
    return cached_algorithm(
        ("key", profile_type, sample_rate_hz),
        lambda: es.KeyExtractor(profileType=profile_type, sampleRate=float(sample_rate_hz)),
    )
