-- Jobs and their event log.
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('processing', 'complete', 'failed')),
    progress DOUBLE PRECISION NOT NULL DEFAULT 0,
    current_step TEXT NOT NULL,
    request JSONB NOT NULL,
    outputs JSONB NOT NULL DEFAULT '{}'::jsonb,
    error_message TEXT,
    idempotency_key TEXT UNIQUE,
    created_at TEXT NOT NULL,
    deadline_at DOUBLE PRECISION NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);
CREATE TABLE IF NOT EXISTS job_events (
    id BIGSERIAL PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
    at DOUBLE PRECISION NOT NULL,
    status TEXT NOT NULL,
    progress DOUBLE PRECISION NOT NULL,
    step TEXT NOT NULL,
    message TEXT
);
CREATE INDEX IF NOT EXISTS job_events_job ON job_events (job_id, id);
