"""DSP separations in worker processes, so that songs separated at once use a core each.

The DSP separator holds the GIL for about 40 % of its time (Essentia's melody extractor,
Python between numpy calls; a spinning probe thread beside it ran at 0.60 of its rate),
so in threads a second song at once gains little. Worker processes run
`pipeline.separate_and_store` whole: the child decodes, separates and stores the stems
itself and returns their keys, so only the file's bytes and a few strings cross the
process boundary. Demucs stays in threads: torch releases the GIL and keeps its own
thread pool (or the GPU).

Each child builds its own storage client from the parent's storage settings (a client
holding sockets does not cross processes). A child that dies (the OOM killer on a huge
song) breaks the pool: the request gets a 503 that callers retry, and the next request
starts a fresh pool.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from shared.errors import ServiceUnavailable
from shared.logs import JOB_ID

# A worker is replaced after this many songs, so that memory fragmented by long songs
# is given back to the system.
SONGS_PER_WORKER = 20
_SETTINGS_PREFIXES = ("STORAGE_", "SUPABASE_")

T = TypeVar("T")
_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_pool_size = 0


def storage_settings() -> dict[str, str]:
    """The environment a child needs to reach the same storage as this process."""
    return {k: v for k, v in os.environ.items() if k.startswith(_SETTINGS_PREFIXES)}


def _separate_in_child(data: bytes, prefix: str, settings: dict[str, str],
                       job_id: str | None) -> dict[str, str]:
    # Imported here: the parent imports this module without loading the separator.
    from services.separation.backends import dsp_separator
    from services.separation.pipeline import separate_and_store
    from shared.logs import configure_logging, job_context
    from shared.storage import get_storage

    os.environ.update(settings)
    configure_logging("separation")  # the service's JSON lines, on the stderr it shares
    with job_context(job_id):
        return separate_and_store(data, separator=dsp_separator(), storage=get_storage(),
                                  prefix=prefix)


def _exit_with_parent(parent_pid: int) -> None:
    """In each worker: exit when the service is gone (a SIGKILL leaves it no chance to stop
    its pool), instead of separating on for nobody. A watcher thread, not the kernel's
    parent-death signal: that fires when the thread that started the worker ends, and
    the service's request threads come and go."""
    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _get_pool(size: int) -> ProcessPoolExecutor:
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size != size:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=False)
            # spawn, not fork: the service's threads (event loop, thread pool) must not be
            # copied half-way through whatever they were doing.
            _pool = ProcessPoolExecutor(max_workers=size,
                                        mp_context=multiprocessing.get_context("spawn"),
                                        max_tasks_per_child=SONGS_PER_WORKER,
                                        initializer=_exit_with_parent,
                                        initargs=(os.getpid(),))
            _pool_size = size
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def run_in_pool(func: Callable[..., T], *args: Any, workers: int) -> T:
    """`func(*args)` in a worker process of a pool of `workers` (blocking: call it from a
    thread). A worker that dies breaks the pool: ServiceUnavailable (503), and the next
    call starts a fresh pool."""
    pool = _get_pool(max(1, workers))
    try:
        return pool.submit(func, *args).result()
    except BrokenProcessPool:
        _discard(pool)
        raise ServiceUnavailable(
            "The separation worker stopped before it finished (out of memory?); try again."
        ) from None


def separate_in_process(data: bytes, *, prefix: str, workers: int) -> dict[str, str]:
    """`separate_and_store` with the DSP separator in a worker process (blocking; call it
    from a thread). `workers` sizes the pool: the service's SEPARATION_WORKERS."""
    return run_in_pool(_separate_in_child, data, prefix, storage_settings(), JOB_ID.get(),
                       workers=workers)


def shutdown() -> None:
    """Stop the worker processes (at service shutdown, and in tests)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
