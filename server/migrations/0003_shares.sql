-- Public share links: one per project at most. The token is the link's secret; it is stored as is
-- (unlike session tokens) because the owner must be able to see and copy the link again, and it
-- grants nothing but viewing one model.
CREATE TABLE shares (
    token      TEXT PRIMARY KEY,
    project_id TEXT NOT NULL UNIQUE REFERENCES projects(id) ON DELETE CASCADE,
    owner_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);
