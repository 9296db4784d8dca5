-- Jobs and their event log (the schema of the first gateway release).
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('processing', 'complete', 'failed')),
    progress REAL NOT NULL DEFAULT 0,
    current_step TEXT NOT NULL,
    request_json TEXT NOT NULL,
    outputs_json TEXT NOT NULL DEFAULT '{}',
    error_message TEXT,
    idempotency_key TEXT UNIQUE,
    created_at TEXT NOT NULL,
    deadline_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);
CREATE TABLE IF NOT EXISTS job_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL REFERENCES jobs (job_id),
    at REAL NOT NULL,
    status TEXT NOT NULL,
    progress REAL NOT NULL,
    step TEXT NOT NULL,
    message TEXT
);
CREATE INDEX IF NOT EXISTS job_events_job ON job_events (job_id);
