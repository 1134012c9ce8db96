//! The pipeline's stages, one at a time (`ingest`, `sfm`, `train`, with their own options for
//! experiments), all of them with a preset (`run`), or one as the job runners run it
//! (`run-stage`, the pipeline's one entry).

use std::path::PathBuf;

use anyhow::Context as _;
use domain::job::{JobParams, Preset, ProgressLine, Stage};
use pipeline::ingest::{self, IngestOptions};
use pipeline::job::JobDir;
use pipeline::progress::{JsonLines, JsonLinesAndFile, Progress};
use pipeline::sfm;
use pipeline::stage::{self, Outcome, Run};
use pipeline::train::TrainOptions;

#[derive(clap::Args)]
pub struct Ingest {
    source: PathBuf,
    job: PathBuf,
    /// Longest side of the working copies, in pixels.
    #[arg(long, default_value_t = 1600, value_parser = clap::value_parser!(u32).range(256..=16384))]
    max_size: u32,
    /// Largest accepted photo, in MiB.
    #[arg(long, default_value_t = 200)]
    max_file_mib: u64,
}

#[derive(clap::Args)]
pub struct Sfm {
    job: PathBuf,
    /// Override the matcher chosen from the data.
    #[arg(long, value_enum)]
    matcher: Option<sfm::Matcher>,
    /// COLMAP worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Keep the principal point at the image centre (COLMAP's default; less accurate).
    #[arg(long)]
    fixed_principal_point: bool,
}

#[derive(clap::Args)]
pub struct Train {
    job: PathBuf,
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    backend: Backend,
    #[arg(long, default_value_t = 3000)]
    iterations: u32,
    #[arg(long, default_value_t = 500_000)]
    max_gaussians: usize,
    /// Highest spherical-harmonics degree to learn (0–3).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(0..=3))]
    sh_degree: u8,
    /// Longest side of the training images, pixels (default: the working copies' size).
    #[arg(long)]
    max_size: Option<u32>,
    /// Continue from JOB/train/checkpoint.bin: the same model as a run that never stopped.
    #[arg(long)]
    resume: bool,
    /// Save the run's state to JOB/train/checkpoint.bin every this many iterations (0: never).
    #[arg(long, default_value_t = 500)]
    checkpoint_every: u32,
}

#[derive(clap::Args)]
pub struct RunAll {
    source: PathBuf,
    job: PathBuf,
    /// preview, standard or high (`domain::job::Preset`).
    #[arg(long, default_value = "preview")]
    preset: Preset,
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    backend: Backend,
}

#[derive(clap::Args)]
pub struct RunStage {
    /// ingest, sfm, train or compress.
    stage: Stage,
    job: PathBuf,
    /// The job's parameters (`JobParams` as JSON).
    #[arg(long)]
    params: String,
    /// The uploaded photo archive (ingest only).
    #[arg(long)]
    archive: Option<PathBuf>,
    /// Also append the stage's progress lines (and, if it fails, why) to this file, one
    /// JSON object per line: how a stage in the cloud reports progress.
    #[arg(long)]
    progress: Option<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Backend {
    /// A hardware GPU when there is one, else the CPU.
    Auto,
    /// Every CPU core (rayon).
    Cpu,
    /// wgpu compute on the first adapter found, even a software one (lavapipe).
    Wgpu,
}

impl From<Backend> for pipeline::train::Backend {
    fn from(b: Backend) -> Self {
        match b {
            Backend::Auto => Self::Auto,
            Backend::Cpu => Self::Cpu,
            Backend::Wgpu => Self::Wgpu,
        }
    }
}

pub fn ingest(a: &Ingest) -> anyhow::Result<()> {
    let mut opts = IngestOptions {
        working_max_size: a.max_size,
        ..IngestOptions::default()
    };
    opts.limits.max_file_bytes = a.max_file_mib << 20;
    let manifest = ingest::ingest(&a.source, &JobDir::new(&a.job), &opts, &mut JsonLines)?;
    println!(
        "photos={} gps={} refused={}",
        manifest.photos.len(),
        manifest.with_gps(),
        manifest.rejected.len()
    );
    Ok(())
}

pub fn sfm(a: &Sfm) -> anyhow::Result<()> {
    let opts = sfm::SfmOptions {
        matcher: a.matcher,
        threads: a.threads,
        refine_principal_point: !a.fixed_principal_point,
        ..sfm::SfmOptions::default()
    };
    let started = std::time::Instant::now();
    let report = sfm::run(&JobDir::new(&a.job), &opts, &mut JsonLines)?;
    let steps: Vec<String> = report
        .steps
        .iter()
        .map(|s| format!("{}={:.1}s", s.name, s.seconds))
        .collect();
    println!(
        "registered={}/{} points={} georegistered={} seconds={:.1} {}",
        report.registered,
        report.photos,
        report.points,
        report.georegistration.is_some(),
        started.elapsed().as_secs_f64(),
        steps.join(" ")
    );
    Ok(())
}

pub fn train(a: &Train) -> anyhow::Result<()> {
    let opts = TrainOptions {
        backend: a.backend.into(),
        iterations: a.iterations,
        max_gaussians: a.max_gaussians,
        sh_degree: a.sh_degree,
        max_size: a.max_size,
        resume: a.resume,
        checkpoint_every: a.checkpoint_every,
        ..TrainOptions::default()
    };
    let report = pipeline::train::run(&JobDir::new(&a.job), &opts, &mut JsonLines)?;
    println!("{}", train_summary(&report));
    Ok(())
}

/// `psnr=… ssim=… gaussians=… seconds=…`, the training commands' last line.
fn train_summary(report: &trainer::train::Report) -> String {
    let (psnr, ssim) = report
        .evaluation
        .as_ref()
        .map_or((f64::NAN, f64::NAN), |e| (e.psnr, e.ssim));
    format!(
        "psnr={psnr:.2} ssim={ssim:.4} gaussians={} seconds={:.1}",
        report.gaussians, report.seconds
    )
}

/// Every stage in turn, through the same entry as the job runners, with the preset's settings.
pub fn run_all(a: &RunAll) -> anyhow::Result<()> {
    let dir = JobDir::new(&a.job);
    let params = a.preset.params();
    let how = Run {
        archive: Some(&a.source),
        resume: false,
        backend: a.backend.into(),
    };
    let mut summary = String::new();
    for s in Stage::ALL {
        if let Outcome::Trained(report) = stage::run(s, &dir, &params, how, &mut JsonLines)? {
            summary = train_summary(&report);
        }
    }
    println!(
        "{summary} model={}",
        dir.delivered(domain::job::DeliveredFile::Sog).display()
    );
    Ok(())
}

/// One stage, as the job runners run it: progress on stdout (and appended to `--progress`), the
/// reason for a failure on stderr (and as the progress file's last line).
pub fn run_stage(a: &RunStage) -> anyhow::Result<()> {
    let params: JobParams = serde_json::from_str(&a.params)
        .map_err(|e| anyhow::anyhow!("--params is not a job's parameters: {e}"))?;
    let mut sink: Box<dyn Progress> = match &a.progress {
        Some(path) => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            Box::new(JsonLinesAndFile(file))
        }
        None => Box::new(JsonLines),
    };
    let how = Run {
        archive: a.archive.as_deref(),
        resume: true,
        backend: pipeline::train::Backend::Auto,
    };
    let result = stage::run(a.stage, &JobDir::new(&a.job), &params, how, sink.as_mut());
    if let (Err(e), Some(path)) = (&result, &a.progress) {
        // Only to the file: on stdout, the runner reads the reason from stderr.
        let line = serde_json::to_string(&ProgressLine::failed(a.stage, format!("{e:#}")))?;
        let mut file = std::fs::OpenOptions::new().append(true).open(path)?;
        std::io::Write::write_all(&mut file, format!("{line}\n").as_bytes())?;
    }
    result.map(|_| ())
}
