//! The one entry into the pipeline: run one stage of a job folder with the job's parameters,
//! reporting progress lines. `spaceport run-stage` calls it — which is what the local job runner
//! starts for every stage and what each cloud container runs — and `spaceport run` calls it for
//! every stage in turn. The job's settings reach every stage that uses them here, and nowhere
//! else.

use std::path::Path;

use anyhow::bail;
use domain::job::{JobParams, Stage};

use crate::compress::{self, Compressed};
use crate::ingest::{self, IngestOptions, Manifest};
use crate::job::JobDir;
use crate::progress::Progress;
use crate::sfm::{self, SfmOptions, SfmReport};
use crate::train::{self, TrainOptions};

/// What a stage made, for a caller that reports it.
pub enum Outcome {
    Ingested(Manifest),
    Reconstructed(SfmReport),
    Trained(trainer::train::Report),
    Compressed(Compressed),
}

/// How a stage is run, beyond the job's parameters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Run<'a> {
    /// The uploaded photos (a zip or a folder): what ingest reads.
    pub archive: Option<&'a Path>,
    /// Training continues from the job's checkpoint, if it has one (what the job runners
    /// want: a restarted stage picks up where it stopped).
    pub resume: bool,
    /// Where training runs.
    pub backend: train::Backend,
}

/// Runs `stage` of the job in `job` with `params`.
pub fn run(
    stage: Stage,
    job: &JobDir,
    params: &JobParams,
    how: Run<'_>,
    progress: &mut dyn Progress,
) -> anyhow::Result<Outcome> {
    Ok(match stage {
        Stage::Ingest => {
            let Some(archive) = how.archive else {
                bail!("ingest needs the uploaded photos (--archive)");
            };
            let opts = IngestOptions {
                working_max_size: params.working_size,
                ..IngestOptions::default()
            };
            Outcome::Ingested(ingest::ingest(archive, job, &opts, progress)?)
        }
        Stage::Sfm => Outcome::Reconstructed(sfm::run(job, &SfmOptions::default(), progress)?),
        Stage::Train => {
            let opts = TrainOptions {
                backend: how.backend,
                iterations: params.iterations,
                max_gaussians: usize::try_from(params.max_gaussians).unwrap_or(usize::MAX),
                sh_degree: params.sh_degree,
                max_size: Some(params.train_size),
                resume: how.resume,
                ..TrainOptions::default()
            };
            Outcome::Trained(train::run(job, &opts, progress)?)
        }
        Stage::Compress => Outcome::Compressed(compress::run(job, progress)?),
    })
}
