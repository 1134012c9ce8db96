-- Whether the owner has been told how the job ended (its mail queued). A job's end and its
-- project's status are written in one transaction with `told = 0`, the mail after it; a server
-- killed in between tells the owner when it starts again. Jobs that ended before this column
-- existed were told (the default).
ALTER TABLE jobs ADD COLUMN told INTEGER NOT NULL DEFAULT 1;
