"""Environment settings of the separation service (read at call time; see README)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from shared.settings import env_float, env_int, env_str

# Bump when the DSP separator's output changes, so cached stems are recomputed.
DEFAULT_SEPARATION_VERSION = "v16"


@dataclass(frozen=True)
class SeparationSettings:
    workers: int  # SEPARATION_WORKERS: songs separated at once (default: 2, or 1 on one core)
    queue: int  # SEPARATION_QUEUE: songs waiting beyond those (then 429)
    threads: int  # SEPARATION_THREADS: torch intra-op threads for Demucs
    version: str  # SEPARATION_VERSION: part of the cache key
    demucs_weights_dir: Path | None  # DEMUCS_WEIGHTS_DIR: a demucs --repo folder
    demucs_model: str  # DEMUCS_MODEL: model name (a bag .yaml or a signature) in that folder
    device: str  # SEPARATION_DEVICE: "cpu", "cuda" or "auto"
    demucs_chunk_sec: float = 15.0  # DEMUCS_CHUNK_SEC: piece length that bounds memory
    # DEMUCS_ALLOW_DOWNLOAD=1: fetch DEMUCS_MODEL from demucs' own hub when the folder
    # lacks it. Off by default: the service must never block on the network.
    demucs_allow_download: bool = False
    # SEPARATION_PROCESSES=1: the DSP separator runs in worker processes (`processes`),
    # one song per core; 0: in the service's threads, where songs share one core's worth.
    processes: bool = True

    @classmethod
    def from_env(cls) -> SeparationSettings:
        weights = env_str("DEMUCS_WEIGHTS_DIR", "")
        return cls(
            workers=max(1, env_int("SEPARATION_WORKERS", min(2, os.cpu_count() or 1))),
            queue=max(0, env_int("SEPARATION_QUEUE", 8)),
            threads=max(1, env_int("SEPARATION_THREADS", 1)),
            version=env_str("SEPARATION_VERSION", DEFAULT_SEPARATION_VERSION),
            demucs_weights_dir=Path(weights) if weights else None,
            demucs_model=env_str("DEMUCS_MODEL", "htdemucs"),
            device=env_str("SEPARATION_DEVICE", "auto"),
            demucs_chunk_sec=max(10.0, env_float("DEMUCS_CHUNK_SEC", 15.0)),
            demucs_allow_download=env_str("DEMUCS_ALLOW_DOWNLOAD", "0").lower()
            in ("1", "true", "yes"),
            processes=env_str("SEPARATION_PROCESSES", "1").lower() in ("1", "true", "yes"),
        )
