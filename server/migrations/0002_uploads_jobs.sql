-- Resumable uploads: one row per upload, one per stored part (the bytes live on disk).
CREATE TABLE uploads (
    id           TEXT PRIMARY KEY,
    owner_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    project_id   TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    file_name    TEXT NOT NULL,
    size         INTEGER NOT NULL,
    part_size    INTEGER NOT NULL,
    parts        INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    completed_at INTEGER
);
CREATE INDEX uploads_owner ON uploads (owner_id, created_at);

CREATE TABLE upload_parts (
    upload_id TEXT NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
    part      INTEGER NOT NULL,
    size      INTEGER NOT NULL,
    PRIMARY KEY (upload_id, part)
);

-- Pipeline jobs: a durable queue. `done_stages` lets a restarted server resume a job from its
-- last completed stage; `events` keeps what the stages reported (progress, messages).
CREATE TABLE jobs (
    id          TEXT PRIMARY KEY,
    owner_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    status      TEXT NOT NULL,          -- queued | running | cancelling | succeeded | failed | cancelled
    stage       TEXT,                   -- the stage running (or that failed)
    done_stages TEXT NOT NULL DEFAULT '',
    params      TEXT NOT NULL,          -- JSON
    error       TEXT,
    created_at  INTEGER NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER
);
CREATE INDEX jobs_project ON jobs (project_id, created_at);
CREATE INDEX jobs_status ON jobs (status, created_at);

CREATE TABLE job_events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id   TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    at       INTEGER NOT NULL,
    stage    TEXT NOT NULL,
    step     TEXT NOT NULL,
    fraction REAL,
    message  TEXT NOT NULL
);
CREATE INDEX job_events_job ON job_events (job_id, id);
