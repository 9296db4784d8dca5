"""Scoring service settings, read from the environment at call time (see README)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.settings import env_int


@dataclass(frozen=True)
class ScoringSettings:
    workers: int  # SCORING_WORKERS: scoring jobs running at once (threads)
    queue: int  # SCORING_QUEUE: jobs waiting beyond that before callers get 429
    block_elements: int  # SCORING_BLOCK_ELEMENTS: pair scores per block in /find-mashups
    max_json_bytes: int  # SCORING_MAX_JSON_BYTES: largest request body accepted

    @classmethod
    def from_env(cls) -> ScoringSettings:
        return cls(
            workers=env_int("SCORING_WORKERS", 2),
            queue=env_int("SCORING_QUEUE", 16),
            block_elements=env_int("SCORING_BLOCK_ELEMENTS", 1_000_000),
            max_json_bytes=env_int("SCORING_MAX_JSON_BYTES", 300 * 1024 * 1024),
        )
