"""The gateway's job metrics (the HTTP ones come from shared.metrics); the alert rules in
deploy/prometheus/alerts.yml are written against these names."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

JOBS_FINISHED = Counter("mesh_gateway_jobs_finished_total", "Jobs that reached a terminal state",
                        ["status"])
JOBS_CREATED = Counter("mesh_gateway_jobs_created_total", "Jobs accepted by generate-mashup")
STEP_SECONDS = Histogram(
    "mesh_gateway_step_duration_seconds", "Time one chain step took", ["step"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 900),
)
PLANS = Counter("mesh_gateway_masterplans_total", "Masterplans created, by planner",
                ["planner", "fallback"])
QUEUE_DEPTH = Gauge("mesh_gateway_queue_depth", "Jobs waiting for a slot on this replica")
RUNNING = Gauge("mesh_gateway_running_jobs", "Jobs running a step on this replica")
TAKEOVERS = Counter("mesh_gateway_job_takeovers_total",
                    "Jobs this replica took over from an expired lease")
RATE_LIMITED = Counter("mesh_gateway_rate_limited_total", "generate-mashup answered 429")
STEP_RETRIES = Counter("mesh_gateway_step_retries_total",
                       "Steps tried again because their service was down or busy", ["step"])
