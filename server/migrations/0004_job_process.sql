-- The process group of a job's running stage, so that a server killed without warning can stop
-- the stage it left behind (its own `spaceport` and COLMAP processes) when it starts again.
ALTER TABLE jobs ADD COLUMN pgid INTEGER;
