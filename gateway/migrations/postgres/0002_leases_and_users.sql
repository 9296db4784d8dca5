-- A lease per job (which replica runs it, until when) and the job's owner.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS lease_owner TEXT;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS lease_expires_at DOUBLE PRECISION;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS user_id TEXT;
CREATE INDEX IF NOT EXISTS jobs_user ON jobs (user_id);
CREATE INDEX IF NOT EXISTS jobs_processing ON jobs (updated_at) WHERE status = 'processing';
