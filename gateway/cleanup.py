"""Deletes finished jobs older than `GATEWAY_JOB_MAX_AGE_SEC` with their mashups, and
uploads no remaining job names. Stems stay: they are a content-addressed cache the
separation service shares across jobs."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from gateway.jobs import Step
from gateway.settings import GatewaySettings
from gateway.store import JobStore
from shared.storage import Storage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CleanupReport:
    jobs: int
    files: int


async def cleanup_once(store: JobStore, storage: Storage, *, max_age_sec: float,
                       now_sec: float | None = None) -> CleanupReport:
    now = time.time() if now_sec is None else now_sec
    gone = await store.delete_finished_before(now - max_age_sec)
    if not gone:
        return CleanupReport(0, 0)
    still_used = await store.referenced_paths()
    keys: set[str] = set()
    for job in gone:
        result = job.outputs.get(Step.RENDER.value) or {}
        if isinstance(result.get("storage_path"), str):
            keys.add(result["storage_path"])
        keys.update(s["storage_path"] for s in job.songs if s["storage_path"] not in still_used)
    for key in keys:
        await asyncio.to_thread(storage.delete, key)
    log.info("cleanup removed %d jobs and %d files", len(gone), len(keys))
    return CleanupReport(len(gone), len(keys))


async def cleanup_forever(store: JobStore, storage: Storage, settings: GatewaySettings) -> None:
    if settings.job_max_age_sec <= 0:
        return
    while True:
        try:
            await cleanup_once(store, storage, max_age_sec=settings.job_max_age_sec)
        except Exception:  # never let one failed sweep end the loop
            log.exception("cleanup failed; retrying next interval")
        await asyncio.sleep(settings.cleanup_interval_sec)
