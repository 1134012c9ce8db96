-- The sign-in and public-form limiters' counters (`domain::ratelimit`), here rather than in the
-- server's memory so a restart does not hand an attacker a fresh budget and every process on
-- the database counts together. A row's window is over at `expires_at`; the sweep deletes it.
CREATE TABLE attempts (
    key TEXT PRIMARY KEY,
    started_at INTEGER NOT NULL,
    failures INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX attempts_expiry ON attempts (expires_at);
