"""Settings of the analysis service, read from the environment at call time."""

from __future__ import annotations

from dataclasses import dataclass

from shared.settings import env_int

# Bump whenever a change alters any analysis output: cached results are keyed by it, so
# a new version re-analyses every song instead of serving stale results.
ANALYSIS_VERSION = "1.14.0"
CACHE_PREFIX = "analysis"


@dataclass(frozen=True)
class AnalysisSettings:
    workers: int  # analyses running at once (each holds one core)
    queue: int  # analyses waiting beyond that before callers get 429

    @classmethod
    def from_env(cls) -> AnalysisSettings:
        return cls(
            workers=env_int("ANALYSIS_WORKERS", 2),
            queue=env_int("ANALYSIS_QUEUE", 16),
        )
