//! The job contract: what a processing job is, in one place. The stages and their order, the
//! lifecycle of a job, its parameters and presets, the rule for running a job again, the files a
//! delivered job offers (and where each lives in the job's folder), and the progress lines a stage
//! prints. The app, both job runners, the cloud's state machine and the `spaceport` CLI all use
//! these types; no other code spells a stage or a status as a string (serde and SQL go through
//! `as_str`/`parse`).

use std::fmt;

use crate::error::StoreError;
use crate::types::{ProjectId, ProjectStatus};

/// A pipeline stage. The order of the variants is the order they run in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Photos in: validated, downscaled working copies, a manifest.
    Ingest,
    /// Structure-from-Motion (COLMAP): cameras and sparse points.
    Sfm,
    /// 3D Gaussian Splatting training.
    Train,
    /// SOG compression of the trained model.
    Compress,
}

impl Stage {
    /// Every stage, in the order they run.
    pub const ALL: [Self; 4] = [Self::Ingest, Self::Sfm, Self::Train, Self::Compress];

    /// The longest this stage may run on one machine's CPU before the runner stops it and the
    /// job fails with that reason: generous (several times what a big survey takes), so only a
    /// stage that hangs (a stuck COLMAP) or a runaway reaches it, and one user's job cannot
    /// hold the machine for ever. Training scales with its iterations (about 1 s each on a
    /// 2-core machine at 1200 px, so 3 s each leaves room).
    pub fn time_limit_secs(self, params: &JobParams) -> u64 {
        match self {
            Self::Ingest | Self::Compress => 2 * 3600,
            Self::Sfm => 6 * 3600,
            Self::Train => 2 * 3600 + 3 * u64::from(params.iterations),
        }
    }

    /// The stable name: in URLs, forms, databases, command lines and the state machine.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ingest => "ingest",
            Self::Sfm => "sfm",
            Self::Train => "train",
            Self::Compress => "compress",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw.trim())
    }

    /// Position in [`Stage::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The stage that runs after this one.
    pub fn next(self) -> Option<Self> {
        Self::ALL.get(self.index() + 1).copied()
    }

    /// `ingest, sfm, train or compress`, for messages that ask for a stage.
    pub fn choices() -> String {
        let names: Vec<&str> = Self::ALL.iter().map(|s| s.as_str()).collect();
        let (last, rest) = names.split_last().unwrap_or((&"", &[]));
        format!("{} or {last}", rest.join(", "))
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Stage {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse(s).ok_or_else(|| format!("no stage '{s}': choose {}", Self::choices()))
    }
}

/// Where a job is in its life. `Queued → Running → Succeeded | Failed`, or `→ Cancelling →
/// Cancelled` when the user stops it (a queued job is `Cancelled` at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    /// Asked to stop; the runner is stopping the stage.
    Cancelling,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobStatus {
    pub const ALL: [Self; 6] = [
        Self::Queued,
        Self::Running,
        Self::Cancelling,
        Self::Succeeded,
        Self::Failed,
        Self::Cancelled,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Cancelling => "cancelling",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Has the job ended? An ended job can be run again; a job that has not holds the user's one
    /// slot.
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }

    /// Can the user still cancel it?
    pub const fn is_cancellable(self) -> bool {
        matches!(self, Self::Queued | Self::Running)
    }

    /// The statuses of jobs that have not ended.
    pub fn active() -> impl Iterator<Item = Self> {
        Self::ALL.into_iter().filter(|s| !s.is_terminal())
    }

    /// The statuses of ended jobs.
    pub fn ended() -> impl Iterator<Item = Self> {
        Self::ALL.into_iter().filter(|s| s.is_terminal())
    }

    /// Where the project stands while its latest job is in this status.
    pub const fn project_status(self) -> ProjectStatus {
        match self {
            Self::Queued | Self::Running | Self::Cancelling => ProjectStatus::Processing,
            Self::Succeeded => ProjectStatus::Delivered,
            Self::Failed => ProjectStatus::Failed,
            // A cancelled job leaves the photos ready to be processed again.
            Self::Cancelled => ProjectStatus::PhotosUploaded,
        }
    }

    /// `'queued', 'running'` — a SQL `IN (…)` list of these statuses (constants only, so nothing
    /// a user typed ever reaches the query text).
    pub fn sql_list(statuses: impl IntoIterator<Item = Self>) -> String {
        let quoted: Vec<String> = statuses
            .into_iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        quoted.join(", ")
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The quality presets a user picks from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// A model that looks right in minutes on one machine.
    Preview,
    Standard,
    /// Long runs, best on a GPU.
    High,
}

impl Preset {
    pub const ALL: [Self; 3] = [Self::Preview, Self::Standard, Self::High];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Preview => "preview",
            Self::Standard => "standard",
            Self::High => "high",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == raw.trim())
    }

    /// The settings this preset stands for.
    pub const fn params(self) -> JobParams {
        match self {
            // Measured on the 75-photo caliterra survey on 2 cores: the whole run (ingest, SfM,
            // 1,500 iterations at 640 px, compression) in 16 minutes, held-out PSNR 32.8 dB
            // (docs/decisions.md).
            Self::Preview => JobParams {
                working_size: 1200,
                iterations: 1500,
                train_size: 640,
                sh_degree: 3,
                max_gaussians: 200_000,
            },
            Self::Standard => JobParams {
                working_size: 1600,
                iterations: 7000,
                train_size: 1200,
                sh_degree: 3,
                max_gaussians: 500_000,
            },
            Self::High => JobParams {
                working_size: 1600,
                iterations: 30_000,
                train_size: 1600,
                sh_degree: 3,
                max_gaussians: 1_500_000,
            },
        }
    }
}

impl std::str::FromStr for Preset {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse(s).ok_or_else(|| format!("no preset '{s}': choose preview, standard or high"))
    }
}

/// How hard to work: a preset's settings, possibly changed by hand. Every runner hands all of
/// them to every stage that uses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JobParams {
    /// Longest side of the working photos (ingest).
    pub working_size: u32,
    /// Training iterations.
    pub iterations: u32,
    /// Longest side of the training images.
    pub train_size: u32,
    /// Highest spherical-harmonics degree the model learns (0 = one colour per Gaussian, 3 =
    /// full view dependence; each degree costs file size). Jobs stored before this setting
    /// existed read as 3, what they were trained with.
    #[serde(default = "JobParams::default_sh_degree")]
    pub sh_degree: u8,
    /// Cap on the number of Gaussians (memory, time and file size grow with it).
    #[serde(default = "JobParams::default_max_gaussians")]
    pub max_gaussians: u32,
}

impl JobParams {
    const fn default_sh_degree() -> u8 {
        3
    }

    const fn default_max_gaussians() -> u32 {
        500_000
    }
}

/// The arguments of `spaceport` that run `stage` of the job in folder `job_dir`: `run-stage STAGE
/// DIR --params JSON`, and `--archive PHOTOS` for ingest. The pipeline's one entry: the local job
/// runner starts it for every stage, and the cloud's state machine has each SageMaker container
/// run it.
pub fn run_stage_args(
    stage: Stage,
    job_dir: &str,
    params: &JobParams,
    archive: Option<&str>,
) -> Vec<String> {
    let mut args = vec![
        "run-stage".to_owned(),
        stage.as_str().to_owned(),
        job_dir.to_owned(),
        "--params".to_owned(),
        serde_json::to_string(params).unwrap_or_default(),
    ];
    if let (Stage::Ingest, Some(archive)) = (stage, archive) {
        args.extend(["--archive".to_owned(), archive.to_owned()]);
    }
    args
}

/// What running a job again keeps and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rerun {
    /// The finished stages whose output stays.
    pub keep: Vec<Stage>,
    /// The first stage to run.
    pub first: Stage,
}

/// The rule for running a job again, for a job whose finished stages are `done`: from `from`
/// (every stage before it must have finished), or, without `from`, from the first stage that did
/// not finish. Refused (a validation error on `from`) when a stage before `from` has not
/// finished, or when everything finished and no stage was chosen.
pub fn rerun(done: &[Stage], from: Option<Stage>) -> Result<Rerun, StoreError> {
    let invalid =
        |message: &str| StoreError::Validation(crate::ValidationError::new("from", message));
    let keep: Vec<Stage> = match from {
        None => Stage::ALL
            .into_iter()
            .take_while(|s| done.contains(s))
            .collect(),
        Some(stage) => {
            let before = &Stage::ALL[..stage.index()];
            if let Some(missing) = before.iter().find(|s| !done.contains(s)) {
                return Err(invalid(&format!(
                    "{missing} has not finished, so {stage} cannot start: start from {missing}"
                )));
            }
            before.to_vec()
        }
    };
    match Stage::ALL.get(keep.len()) {
        Some(&first) => Ok(Rerun { keep, first }),
        None => Err(invalid(
            "every stage has finished: choose a stage to run again",
        )),
    }
}

/// A file a delivered job offers, and where it lives inside the job's folder (locally, or under
/// `jobs/{id}/` in the cloud's bucket).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveredFile {
    /// The compressed model the viewer streams.
    Sog,
    /// The trained model as a standard 3DGS PLY.
    Ply,
    /// The trainer's report: held-out PSNR/SSIM, Gaussians, time.
    Report,
    /// Present when Structure-from-Motion georegistered the model (east-north-up, metres).
    Geo,
}

impl DeliveredFile {
    /// The files a user may download, by the name in their URL.
    pub const DOWNLOADS: [Self; 3] = [Self::Sog, Self::Ply, Self::Report];

    /// The path inside the job's folder.
    pub const fn path(self) -> &'static str {
        match self {
            Self::Sog => "model.sog",
            Self::Ply => "train/point_cloud.ply",
            Self::Report => "train/report.json",
            Self::Geo => "sfm/geo.json",
        }
    }

    /// The name in download URLs (`/api/projects/{id}/files/{name}`).
    pub const fn download_name(self) -> &'static str {
        match self {
            Self::Sog => "model.sog",
            Self::Ply => "model.ply",
            Self::Report => "report.json",
            Self::Geo => "geo.json",
        }
    }

    /// A downloadable file by its URL name.
    pub fn from_download_name(name: &str) -> Option<Self> {
        Self::DOWNLOADS
            .into_iter()
            .find(|f| f.download_name() == name)
    }

    pub const fn content_type(self) -> &'static str {
        match self {
            Self::Sog => "application/zip",
            Self::Ply => "application/octet-stream",
            Self::Report | Self::Geo => "application/json",
        }
    }
}

/// One processing job: the latest per project.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Job {
    pub id: String,
    pub project: ProjectId,
    pub status: JobStatus,
    /// The stage running now (or the one that failed or was cancelled).
    pub stage: Option<Stage>,
    /// Finished stages, in order.
    pub done_stages: Vec<Stage>,
    pub params: JobParams,
    pub error: Option<String>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct JobEvent {
    pub id: i64,
    pub at: i64,
    pub stage: Stage,
    pub step: String,
    pub fraction: Option<f64>,
    pub message: String,
    /// The figures of a training progress line: one point of the training curve.
    pub train: Option<TrainPoint>,
}

/// One point of the training curve, as the trainer reports it every few iterations.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainPoint {
    pub iteration: u32,
    pub iterations: u32,
    pub loss: f64,
    /// PSNR of that iteration's training view (dB); noisy from view to view.
    pub psnr: f64,
    pub gaussians: u64,
    /// Seconds left, from the measured pace (see `trainer::train::Progress::eta_s`).
    pub eta_s: f64,
    /// Mean PSNR (dB) on held-out photos, at the iterations where the trainer measured it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_out_psnr: Option<f64>,
}

/// One progress line as a stage prints it on stdout (and, in the cloud, appends to its progress
/// file): `{"stage","step","fraction","message","data"}`. The contract between the pipeline and
/// whatever follows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProgressLine {
    /// Absent in lines written by tools that predate it; the runner knows the stage anyway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<Stage>,
    pub step: String,
    /// 0–1 within the stage; absent for a message without a measurable position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraction: Option<f64>,
    pub message: String,
    /// Stage-specific figures (training: iteration, loss, Gaussians, ETA…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl ProgressLine {
    /// The step of the line that says why a stage failed.
    pub const FAILED: &'static str = "failed";
    /// The step of a line that is not JSON (a tool's own output), kept as a log message.
    pub const LOG: &'static str = "log";

    pub fn new(
        stage: Stage,
        step: &str,
        fraction: Option<f64>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            stage: Some(stage),
            step: step.to_owned(),
            // Three decimals is finer than any progress bar and keeps the lines short.
            fraction: fraction.map(|f| (f.clamp(0.0, 1.0) * 1000.0).round() / 1000.0),
            message: message.into(),
            data: None,
        }
    }

    /// The line that ends a failed stage.
    pub fn failed(stage: Stage, reason: impl Into<String>) -> Self {
        Self::new(stage, Self::FAILED, None, reason)
    }

    /// Reads one line of a stage's output: a progress line, a plain line kept as a log message,
    /// or `None` for a blank one.
    pub fn read(line: &str) -> Option<Self> {
        if line.trim().is_empty() {
            return None;
        }
        Some(serde_json::from_str(line).unwrap_or_else(|_| Self {
            stage: None,
            step: Self::LOG.to_owned(),
            fraction: None,
            message: line.trim().to_owned(),
            data: None,
        }))
    }

    /// The training figures the line carries, if it is a training progress line.
    pub fn train_point(&self) -> Option<TrainPoint> {
        self.data
            .as_ref()
            .and_then(|d| serde_json::from_value(d.clone()).ok())
    }
}

/// What a delivered model is worth: the trainer's evaluation on the held-out photos and the
/// compressed file's size.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelReport {
    /// Mean PSNR (dB) and SSIM of the model rendered from the held-out photos' cameras; None
    /// when too few photos were taken to hold any out.
    pub psnr: Option<f64>,
    pub ssim: Option<f64>,
    pub held_out: u32,
    pub gaussians: u64,
    pub sh_degree: u8,
    pub iterations: u32,
    pub train_seconds: f64,
    /// Size of `model.sog`.
    pub sog_bytes: u64,
}

impl ModelReport {
    /// Reads the trainer's `report.json` (see `trainer::train::Report`), with the size of the
    /// compressed model beside it.
    pub fn from_trainer_report(raw: &[u8], sog_bytes: u64) -> Result<Self, String> {
        #[derive(serde::Deserialize)]
        struct Evaluation {
            psnr: f64,
            ssim: f64,
            views: Vec<serde::de::IgnoredAny>,
        }
        #[derive(serde::Deserialize)]
        struct Report {
            iterations: u32,
            gaussians: u64,
            sh_degree: u8,
            seconds: f64,
            evaluation: Option<Evaluation>,
        }
        let r: Report =
            serde_json::from_slice(raw).map_err(|e| format!("the training report: {e}"))?;
        Ok(Self {
            psnr: r.evaluation.as_ref().map(|e| e.psnr),
            ssim: r.evaluation.as_ref().map(|e| e.ssim),
            held_out: r
                .evaluation
                .as_ref()
                .map_or(0, |e| u32::try_from(e.views.len()).unwrap_or(u32::MAX)),
            gaussians: r.gaussians,
            sh_degree: r.sh_degree,
            iterations: r.iterations,
            train_seconds: r.seconds,
            sog_bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_and_statuses_round_trip_through_their_names_and_serde() {
        for stage in Stage::ALL {
            assert_eq!(Stage::parse(stage.as_str()), Some(stage));
            let json = serde_json::to_string(&stage).expect("json");
            assert_eq!(json, format!("\"{stage}\""));
            assert_eq!(Stage::ALL[stage.index()], stage);
        }
        assert_eq!(Stage::parse("paint"), None);
        assert!("paint"
            .parse::<Stage>()
            .expect_err("no such stage")
            .contains("ingest, sfm, train or compress"));
        assert_eq!(Stage::Train.next(), Some(Stage::Compress));
        assert_eq!(Stage::Compress.next(), None);
        for status in JobStatus::ALL {
            assert_eq!(JobStatus::parse(status.as_str()), Some(status));
            let json = serde_json::to_string(&status).expect("json");
            assert_eq!(json, format!("\"{status}\""));
        }
        let ended: Vec<_> = JobStatus::ended().collect();
        assert_eq!(
            ended,
            [
                JobStatus::Succeeded,
                JobStatus::Failed,
                JobStatus::Cancelled
            ]
        );
        assert!(JobStatus::active().all(|s| !s.is_terminal()));
        assert_eq!(
            JobStatus::sql_list(JobStatus::ended()),
            "'succeeded', 'failed', 'cancelled'"
        );
    }

    #[test]
    fn stored_jobs_keep_reading() {
        // A job as the SQLite twin and DynamoDB stored it before these types existed.
        let raw = r#"{"id":"j","project":"p","status":"failed","stage":"train",
            "done_stages":["ingest","sfm"],"params":{"working_size":1200,"iterations":2000,
            "train_size":800},"error":"x","created_at":1,"started_at":2,"finished_at":3}"#;
        let job: Job = serde_json::from_str(raw).expect("job");
        assert_eq!(job.status, JobStatus::Failed);
        assert_eq!(job.stage, Some(Stage::Train));
        assert_eq!(job.done_stages, [Stage::Ingest, Stage::Sfm]);
        assert_eq!(
            (job.params.sh_degree, job.params.max_gaussians),
            (3, 500_000)
        );
    }

    #[test]
    fn every_stage_runs_through_run_stage_with_all_its_parameters() {
        let params = Preset::Standard.params();
        for stage in Stage::ALL {
            let args = run_stage_args(stage, "/jobs/j1", &params, Some("/up/photos.zip"));
            assert_eq!(args[..3], ["run-stage", stage.as_str(), "/jobs/j1"]);
            let json = &args[args.iter().position(|a| a == "--params").expect("params") + 1];
            let back: JobParams = serde_json::from_str(json).expect("params json");
            assert_eq!(back, params, "every setting reaches the stage");
            assert_eq!(
                args.contains(&"--archive".to_owned()),
                stage == Stage::Ingest,
                "only ingest reads the photos"
            );
        }
    }

    #[test]
    fn presets_grow_in_every_setting() {
        for p in Preset::ALL {
            assert_eq!(Preset::parse(p.as_str()), Some(p));
        }
        let [a, b, c] = Preset::ALL.map(Preset::params);
        assert!(a.iterations < b.iterations && b.iterations < c.iterations);
        assert!(a.train_size <= b.train_size && b.train_size <= c.train_size);
        assert!(a.max_gaussians < b.max_gaussians && b.max_gaussians < c.max_gaussians);
    }

    fn refused(r: Result<Rerun, StoreError>) -> String {
        match r {
            Err(StoreError::Validation(v)) if v.field == "from" => v.message,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn running_again_keeps_exactly_the_finished_stages_before_the_start() {
        use Stage::{Compress, Ingest, Sfm, Train};
        // Without a stage: from where it stopped.
        assert_eq!(
            rerun(&[Ingest, Sfm], None).expect("rerun"),
            Rerun {
                keep: vec![Ingest, Sfm],
                first: Train
            }
        );
        assert_eq!(rerun(&[], None).expect("rerun").first, Ingest);
        // From a stage: what is before it stays, what is after it runs again.
        assert_eq!(
            rerun(&[Ingest, Sfm, Train, Compress], Some(Sfm)).expect("rerun"),
            Rerun {
                keep: vec![Ingest],
                first: Sfm
            }
        );
        assert!(refused(rerun(&[Ingest], Some(Train))).contains("start from sfm"));
        assert!(refused(rerun(&[Ingest, Sfm, Train, Compress], None)).contains("choose a stage"));
    }

    #[test]
    fn delivered_files_have_one_place_and_one_name() {
        for f in DeliveredFile::DOWNLOADS {
            assert_eq!(
                DeliveredFile::from_download_name(f.download_name()),
                Some(f)
            );
        }
        assert_eq!(DeliveredFile::from_download_name("geo.json"), None);
        assert_eq!(DeliveredFile::from_download_name("../etc/passwd"), None);
        assert_eq!(DeliveredFile::Ply.path(), "train/point_cloud.ply");
    }

    #[test]
    fn progress_lines_read_json_and_plain_text() {
        let line = ProgressLine::new(Stage::Sfm, "matching", Some(0.123_456), "matching photos");
        let json = serde_json::to_string(&line).expect("json");
        assert_eq!(ProgressLine::read(&json), Some(line));
        let plain = ProgressLine::read("  COLMAP says hello ").expect("line");
        assert_eq!(
            (plain.step.as_str(), plain.message.as_str()),
            (ProgressLine::LOG, "COLMAP says hello")
        );
        assert_eq!(ProgressLine::read("   "), None);
    }
}
