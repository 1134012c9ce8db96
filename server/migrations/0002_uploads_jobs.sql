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
