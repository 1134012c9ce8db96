-- Accounts, sessions and one-time tokens. Tokens are stored only as SHA-256 hashes, so a leaked
-- database does not leak usable sessions or links. Times are Unix seconds.
CREATE TABLE users (
    id                       TEXT PRIMARY KEY,
    email                    TEXT NOT NULL UNIQUE,
    handle                   TEXT UNIQUE COLLATE NOCASE,
    password_hash            TEXT NOT NULL,
    role                     TEXT NOT NULL CHECK (role IN ('user', 'admin')),
    must_change_password     INTEGER NOT NULL DEFAULT 1,
    temp_password_expires_at INTEGER,
    created_at               INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_user ON sessions(user_id);

-- First-sign-in challenges (temporary password accepted, new password + handle still owed).
CREATE TABLE challenges (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
);

CREATE TABLE reset_links (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);

-- The public waitlist: the first sign-up for an address is kept as it was.
CREATE TABLE waitlist (
    email      TEXT PRIMARY KEY,
    note       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- Mail the app sends. It is always written here first (so nothing is lost if delivery fails or the
-- server stops); with an SMTP relay configured a background task delivers it.
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    to_email   TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    sent_at    INTEGER,            -- set once an SMTP relay accepted it
    attempts   INTEGER NOT NULL DEFAULT 0,
    error      TEXT                -- the last delivery failure, for the admin
);
CREATE INDEX outbox_undelivered ON outbox(id) WHERE sent_at IS NULL;

CREATE TABLE projects (
    id         TEXT PRIMARY KEY,
    owner_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    title      TEXT NOT NULL,
    status     TEXT NOT NULL,
    flight     TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX projects_by_owner ON projects(owner_id, updated_at DESC, id);
