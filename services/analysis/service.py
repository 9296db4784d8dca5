"""Analysis of uploaded file bytes: cache look-up, de-duplication of identical songs in
flight, and the heavy work in a bounded worker pool."""

from __future__ import annotations

import logging
import time

from prometheus_client import Counter
from starlette.concurrency import run_in_threadpool

from services.analysis.analyzer import analyze_audio
from services.analysis.cache import cache_key, load_cached, store_cached
from services.analysis.settings import AnalysisSettings
from shared.audio_io import decode_audio
from shared.contracts.analysis import AnalysisResult
from shared.errors import Unprocessable
from shared.single_flight import SingleFlight
from shared.storage import Storage
from shared.workers import BoundedWorkers

log = logging.getLogger(__name__)
ANALYSES = Counter("analysis_songs_analysed_total", "Songs analysed (cache misses)")
CACHE_HITS = Counter("analysis_cache_hits_total", "Analyses served from the cache")


def decode_and_analyse(file_bytes: bytes, song_id: str) -> AnalysisResult:
    """Decode (4xx on bad audio, see shared.audio_io) and analyse; runs in a worker."""
    audio = decode_audio(file_bytes)
    started = time.perf_counter()
    try:
        result = analyze_audio(audio.samples, sample_rate_hz=audio.sample_rate_hz,
                               song_id=song_id)
    except (RuntimeError, ValueError) as exc:
        # Essentia raises these for input it cannot handle: the caller's audio, not a bug.
        log.warning("analysis of %s failed: %s", song_id, exc)
        raise Unprocessable(f"The audio could not be analysed ({exc}).",
                            code="analysis_failed") from exc
    elapsed = time.perf_counter() - started
    log.info("analysed %s: %.1f s of audio in %.2f s (%.0fx realtime)", song_id,
             audio.duration_sec, elapsed, audio.duration_sec / max(elapsed, 1e-9))
    return result


class AnalysisService:
    """Analyses songs at most once each (by file content), at most `workers` at a time."""

    def __init__(self, settings: AnalysisSettings, storage: Storage) -> None:
        self.workers = BoundedWorkers(max_workers=settings.workers, max_queue=settings.queue)
        self.storage = storage
        self._in_flight: SingleFlight[AnalysisResult] = SingleFlight()

    async def analyse(self, file_bytes: bytes, *, song_id: str) -> tuple[AnalysisResult, bool]:
        """(result for `song_id`, whether it came from the cache or a twin in flight)."""
        key = await run_in_threadpool(cache_key, file_bytes)
        cached = await run_in_threadpool(load_cached, self.storage, key, song_id=song_id)
        if cached is not None:
            CACHE_HITS.inc()
            return cached, True

        async def analyse_and_store() -> AnalysisResult:
            result = await self.workers.run(decode_and_analyse, file_bytes, song_id)
            ANALYSES.inc()
            await run_in_threadpool(store_cached, self.storage, key, result)
            return result

        # The same file being analysed for another request at once shares that result.
        result, shared = await self._in_flight.run(key, analyse_and_store)
        if shared:
            CACHE_HITS.inc()
            return result.model_copy(update={"songId": song_id}), True
        return result, False
