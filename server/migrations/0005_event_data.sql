-- The structured figures of a progress line (training: iteration, loss, PSNR, Gaussians, ETA),
-- as the pipeline printed them (JSON), for the training curve.
ALTER TABLE job_events ADD COLUMN data TEXT;
