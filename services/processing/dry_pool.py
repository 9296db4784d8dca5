"""Warp the dry layers of a render span by span on a thread pool.

Rubber Band releases the GIL, so stretcher calls run in parallel threads. The unit of
work is one span (a ~4 s chunk, one stretcher call), not a whole layer: with layers as
the unit a section's longest layer, and the last section's only one, left a core idle;
with spans both cores stay busy until the last second of the render.

Spans are planned for the whole render up front (pure and cheap), so a stretch that more
than one span needs (the same source samples, speeds, stem and pitch: a stem layered twice
in a section, dry and through an effect, or a phrase repeated on the same map where the
reads coincide to the sample) runs once, and its output is kept only until its last use. The output
is the same bytes in any thread order: every stretch is deterministic and the splicing
runs in the caller's thread, in order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from services.processing.arrange import Placement, SongContext
from services.processing.layers import SpanJob, plan_spans, splice_spans, stretch_job
from services.processing.material import SongMaterial
from services.processing.settings import RenderSettings
from services.processing.stretch import StemStretch, stem_stretch
from services.processing.warp import cut_span

_Key = tuple[object, ...]


class DryPool:
    """Dry (warped, pitched, at volume) audio of placements, computed in `threads` threads.

    `submit(p)` queues the stretches of `p` (call it in the order the audio is needed);
    `result(p)` waits for them and splices the dry buffer. Use as a context manager.
    """

    def __init__(self, placements: Iterable[Placement], *,
                 materials: Mapping[str, SongMaterial], contexts: Mapping[str, SongContext],
                 shifts: Mapping[str, int], settings: RenderSettings, beat_sec: float,
                 threads: int) -> None:
        self._materials = materials
        self._shifts = shifts
        self._settings = settings
        # Keyed by id(): placements are mutable dataclasses (unhashable) that outlive this.
        self._jobs: dict[int, list[SpanJob]] = {}
        self._options: dict[int, StemStretch] = {}
        self._uses: Counter[_Key] = Counter()
        placements = list(placements)
        # The stems of each song in each section: a stem's stretch options depend on which
        # stems of its song play beside it.
        stems_of: dict[tuple[int, str], list[str]] = {}
        for p in placements:
            stems_of.setdefault((p.section, p.song_id), []).append(p.stem)
        for p in placements:
            jobs = plan_spans(p, contexts[p.song_id], settings=settings, beat_sec=beat_sec)
            beside = list(stems_of[p.section, p.song_id])
            beside.remove(p.stem)
            self._options[id(p)] = stem_stretch(p.stem, beside=beside)
            self._jobs[id(p)] = jobs
            self._uses.update(self._key(p, job) for job in jobs)
        self._futures: dict[_Key, Future[np.ndarray]] = {}
        self._pool = ThreadPoolExecutor(max_workers=max(1, threads))

    def _key(self, p: Placement, job: SpanJob) -> _Key:
        return (p.song_id, p.stem, self._shifts[p.song_id], self._options[id(p)],
                *job.read.stretch_key())

    def _stretch(self, p: Placement, job: SpanJob) -> np.ndarray:
        return stretch_job(self._materials[p.song_id], p.stem, job.read,
                           pitch=self._shifts[p.song_id], settings=self._settings,
                           options=self._options[id(p)])

    def submit(self, p: Placement) -> None:
        """Queue every stretch `p` needs that is not queued yet."""
        for job in self._jobs[id(p)]:
            key = self._key(p, job)
            if key not in self._futures:
                self._futures[key] = self._pool.submit(self._stretch, p, job)

    def result(self, p: Placement) -> np.ndarray:
        """The dry buffer of `p`: float32 (2, preroll + end - start)."""
        self.submit(p)
        audios = []
        for job in self._jobs[id(p)]:
            key = self._key(p, job)
            source = self._futures[key].result()
            # Spans sharing one stretch may start at different offsets into it.
            offset = job.read.source_offset(self._shifts[p.song_id])
            audios.append(cut_span(source, offset, n_out=job.read.n_out))
            self._uses[key] -= 1
            if self._uses[key] <= 0:  # its last use: let the audio go
                del self._futures[key]
        return splice_spans(p, self._jobs[id(p)], audios)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> DryPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
