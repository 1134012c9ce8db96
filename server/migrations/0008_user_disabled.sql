-- Accounts an admin disabled: they cannot sign in, and their sessions, first-sign-in steps and
-- reset links were deleted when it happened.
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
