"""The job state machine: states, the steps of the chain, and progress per step."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any


class JobStatus(enum.StrEnum):
    # Accepted, or running some step of the chain (the contract has no separate 'queued').
    PROCESSING = "processing"
    # The mashup is stored and result_url can be signed. Terminal.
    COMPLETE = "complete"
    # A step failed, the deadline passed, or the gateway could not resume it. Terminal.
    FAILED = "failed"


TERMINAL = frozenset({JobStatus.COMPLETE, JobStatus.FAILED})


class Step(enum.StrEnum):
    """Steps in chain order; each one's output is saved before the next begins."""

    ANALYZE = "analyze"
    SCORE = "score"
    PLAN = "plan"
    SEPARATE = "separate"
    RENDER = "render"


STEP_ORDER: tuple[Step, ...] = tuple(Step)

# (progress when the step starts, progress when it ends), in percent.
STEP_PROGRESS: dict[Step, tuple[float, float]] = {
    Step.ANALYZE: (5.0, 30.0),
    Step.SCORE: (30.0, 38.0),
    Step.PLAN: (38.0, 48.0),
    Step.SEPARATE: (48.0, 72.0),
    Step.RENDER: (72.0, 98.0),
}

STEP_LABELS: dict[Step, str] = {
    Step.ANALYZE: "Analyzing songs",
    Step.SCORE: "Scoring mashability",
    Step.PLAN: "Writing the masterplan",
    Step.SEPARATE: "Separating stems",
    Step.RENDER: "Rendering and mastering",
}


class JobTransitionError(RuntimeError):
    """A guarded update matched no row: the job is gone or already terminal."""


@dataclass
class Job:
    job_id: str
    status: JobStatus
    progress: float
    current_step: str
    request: dict[str, Any]
    created_at: str
    deadline_at: float
    outputs: dict[str, Any] = field(default_factory=dict)  # Step value -> saved output
    error_message: str | None = None
    idempotency_key: str | None = None
    attempts: int = 0
    # Who asked for the job (an API-key name or a JWT `sub`); None when auth is off.
    user_id: str | None = None
    # The replica running the job and until when (unix seconds) its lease holds.
    lease_owner: str | None = None
    lease_expires_at: float | None = None
    updated_at: float = 0.0

    @property
    def songs(self) -> list[dict[str, Any]]:
        return list(self.request.get("songs", []))

    @classmethod
    def from_row(cls, row: Any, *, request_column: str, outputs_column: str) -> Job:
        """A job from a store's row (sqlite3.Row or asyncpg.Record: both index by name);
        the stores differ only in what they call the two JSON columns."""
        return cls(
            job_id=row["job_id"],
            status=JobStatus(row["status"]),
            progress=row["progress"],
            current_step=row["current_step"],
            request=json.loads(row[request_column]),
            outputs=json.loads(row[outputs_column]),
            error_message=row["error_message"],
            idempotency_key=row["idempotency_key"],
            created_at=row["created_at"],
            deadline_at=row["deadline_at"],
            attempts=row["attempts"],
            user_id=row["user_id"],
            lease_owner=row["lease_owner"],
            lease_expires_at=row["lease_expires_at"],
            updated_at=row["updated_at"],
        )

    def next_step(self) -> Step | None:
        """The first step whose output is not saved yet."""
        for step in STEP_ORDER:
            if step.value not in self.outputs:
                return step
        return None
