//! The ports: what the application needs from the outside world, as traits. The server picks one
//! implementation of each at start-up from configuration (embedded SQLite and local files on one
//! machine; Cognito, DynamoDB, S3, SES in the cloud); nothing above the ports knows which.

use async_trait::async_trait;

use crate::error::{AuthError, StoreError};
use crate::types::{
    Email, FlightInputs, Handle, NewPassword, Project, ProjectId, ProjectStatus, ProjectTitle,
    Role, User, UserId, UserSummary, WaitlistEntry,
};

/// An opaque session token; what the browser's cookie carries. The provider stores only its hash.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(pub String);

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}

/// The answer to a correct email and password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInOutcome {
    SignedIn(SessionToken),
    /// First sign-in with a temporary password (Cognito's `NEW_PASSWORD_REQUIRED`): the user must
    /// choose a password and a handle. `challenge` is opaque and short-lived.
    NewPasswordRequired {
        challenge: String,
    },
}

/// What an invitation produced, for the admin to pass on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub email: Email,
    pub temporary_password: String,
    pub expires_at: i64,
    /// `true` when the account already existed and its temporary password was re-issued.
    pub resent: bool,
}

#[async_trait]
pub trait AuthProvider: Send + Sync {
    /// Checks credentials. Unknown accounts and wrong passwords answer alike, in the same time.
    async fn sign_in(&self, email: &Email, password: &str) -> Result<SignInOutcome, AuthError>;
    async fn complete_new_password(
        &self,
        challenge: &str,
        password: &NewPassword,
        handle: &Handle,
    ) -> Result<SessionToken, AuthError>;
    /// The user a session token belongs to, or `None` when it is unknown, expired or revoked.
    async fn session_user(&self, token: &SessionToken) -> Result<Option<User>, AuthError>;
    async fn sign_out(&self, token: &SessionToken) -> Result<(), AuthError>;
    /// Changes the password of the session's user and ends their *other* sessions.
    async fn change_password(
        &self,
        token: &SessionToken,
        current: &str,
        new: &NewPassword,
    ) -> Result<(), AuthError>;
    /// Sends a one-time reset link if the account exists; silent either way.
    async fn request_password_reset(&self, email: &Email) -> Result<(), AuthError>;
    /// Spends a reset link: sets the password and ends every session of that user.
    async fn reset_password(&self, link_token: &str, new: &NewPassword) -> Result<(), AuthError>;
    /// Creates an account with a temporary password, or re-issues it for a pending account.
    async fn invite(&self, email: &Email, role: Role) -> Result<Invitation, AuthError>;
    async fn list_users(&self) -> Result<Vec<UserSummary>, AuthError>;
}

/// Projects, always addressed through their owner: an implementation must put the owner in every
/// query so that another user's project is indistinguishable from a missing one.
#[async_trait]
pub trait ProjectStore: Send + Sync {
    async fn list(&self, owner: &UserId) -> Result<Vec<Project>, StoreError>;
    async fn get(&self, owner: &UserId, id: &ProjectId) -> Result<Project, StoreError>;
    async fn create(&self, owner: &UserId, title: &ProjectTitle) -> Result<Project, StoreError>;
    async fn rename(
        &self,
        owner: &UserId,
        id: &ProjectId,
        title: &ProjectTitle,
    ) -> Result<Project, StoreError>;
    async fn set_flight_inputs(
        &self,
        owner: &UserId,
        id: &ProjectId,
        inputs: &FlightInputs,
    ) -> Result<Project, StoreError>;
    async fn set_status(
        &self,
        owner: &UserId,
        id: &ProjectId,
        status: ProjectStatus,
    ) -> Result<Project, StoreError>;
    async fn delete(&self, owner: &UserId, id: &ProjectId) -> Result<(), StoreError>;
}

/// The public waitlist. Joining twice keeps the first entry untouched.
#[async_trait]
pub trait Waitlist: Send + Sync {
    /// `Ok(true)` when added, `Ok(false)` when the address was already on the list.
    async fn join(&self, email: &Email, note: &str) -> Result<bool, StoreError>;
    async fn list(&self) -> Result<Vec<WaitlistEntry>, StoreError>;
}

/// An email-like message to one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub to: Email,
    pub subject: String,
    pub body: String,
}

#[async_trait]
pub trait Notifier: Send + Sync {
    async fn send(&self, message: Message) -> Result<(), StoreError>;
}

/// Ground heights for flight planning: local tiles, flat ground, or a web service.
#[async_trait]
pub trait Terrain: Send + Sync {
    /// Metres above sea level at each (latitude, longitude), in order; `None` where the source
    /// has no data. `Err` is a message for the pilot (the service is down, the key is refused).
    async fn elevations_m(&self, points: &[(f64, f64)]) -> Result<Vec<Option<f64>>, String>;
}

/// A resumable upload of one file into a project, in fixed-size parts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UploadSession {
    pub id: String,
    pub project: ProjectId,
    pub file_name: String,
    pub size: u64,
    pub part_size: u64,
    pub parts: u32,
    /// Part numbers (1-based) already stored.
    pub received: Vec<u32>,
    pub completed: bool,
}

fn invalid_upload(field: &str, message: impl Into<String>) -> StoreError {
    StoreError::Validation(crate::ValidationError::new(field, message))
}

/// The rules every upload store applies to a new upload: a plain `.zip` name, not empty, not over
/// `max_size`. Returns the trimmed name.
pub fn check_new_upload(file_name: &str, size: u64, max_size: u64) -> Result<&str, StoreError> {
    let name = file_name.trim();
    if name.is_empty() || name.len() > 255 || name.contains(['/', '\\', '\0']) {
        return Err(invalid_upload("file", "the file needs a plain name"));
    }
    if !name.to_ascii_lowercase().ends_with(".zip") {
        return Err(invalid_upload(
            "file",
            "upload your photos as one .zip archive",
        ));
    }
    if size == 0 {
        return Err(invalid_upload("file", "the file is empty"));
    }
    if size > max_size {
        return Err(invalid_upload(
            "file",
            format!(
                "the file is larger than the {} GiB limit; split the photos into smaller jobs",
                max_size >> 30
            ),
        ));
    }
    Ok(name)
}

impl UploadSession {
    /// Bytes in part `part` (1-based).
    pub fn part_len(&self, part: u32) -> u64 {
        if part == self.parts {
            self.size - u64::from(self.parts - 1) * self.part_size
        } else {
            self.part_size
        }
    }

    /// The length part `part` must have, or why it cannot be sent: the upload is complete, or
    /// there is no such part.
    pub fn open_part(&self, part: u32) -> Result<u64, StoreError> {
        if self.completed {
            return Err(invalid_upload("part", "this upload is already complete"));
        }
        if part == 0 || part > self.parts {
            return Err(invalid_upload(
                "part",
                format!(
                    "part {part} does not exist; this upload has parts 1–{}",
                    self.parts
                ),
            ));
        }
        Ok(self.part_len(part))
    }

    /// Refuses completion while parts are missing, naming how many and the first.
    pub fn check_all_received(&self, received: &[u32]) -> Result<(), StoreError> {
        let missing: Vec<u32> = (1..=self.parts).filter(|p| !received.contains(p)).collect();
        match missing.first() {
            None => Ok(()),
            Some(first) => Err(invalid_upload(
                "parts",
                format!(
                    "{} part(s) not uploaded yet (first: {first}); send them, then complete",
                    missing.len()
                ),
            )),
        }
    }
}

/// Where uploaded photos go. The local store keeps parts on disk and assembles them; a cloud
/// store can hand out presigned part URLs instead, behind the same create/complete steps.
/// Every call names the owner: another user's upload behaves like a missing one.
#[async_trait]
pub trait UploadStore: Send + Sync {
    async fn create(
        &self,
        owner: &UserId,
        project: &ProjectId,
        file_name: &str,
        size: u64,
    ) -> Result<UploadSession, StoreError>;
    async fn get(&self, owner: &UserId, id: &str) -> Result<UploadSession, StoreError>;
    /// Where the client sends part `part` itself: a URL to `PUT` the part's bytes to (a
    /// presigned S3 URL, valid for a while, after which the client reports the part with
    /// `confirm_part`), or `None` to send it through `put_part`. A store that hands out URLs
    /// refuses them like `put_part` for a part that does not exist or a completed upload.
    async fn part_url(
        &self,
        owner: &UserId,
        id: &str,
        part: u32,
    ) -> Result<Option<String>, StoreError> {
        let _ = (owner, id, part);
        Ok(None)
    }
    async fn put_part(
        &self,
        owner: &UserId,
        id: &str,
        part: u32,
        bytes: &[u8],
    ) -> Result<(), StoreError>;
    /// Records a part the client sent to its `part_url` itself, with the `ETag` the storage
    /// answered; the storage checks it again at `complete`. Stores without part URLs refuse.
    async fn confirm_part(
        &self,
        owner: &UserId,
        id: &str,
        part: u32,
        etag: &str,
    ) -> Result<(), StoreError> {
        let _ = (owner, id, part, etag);
        Err(StoreError::Validation(crate::ValidationError::new(
            "part",
            "send the part's bytes to this server",
        )))
    }
    /// Assembles the parts into the project's photo archive; every part must be present.
    async fn complete(&self, owner: &UserId, id: &str) -> Result<UploadSession, StoreError>;
}

/// Pipeline stages, in order.
pub const STAGES: [&str; 4] = ["ingest", "sfm", "train", "compress"];

/// The `spaceport` command line that runs `stage` of a job with `params`, in the job folder `dir`
/// (ingest reads the uploaded photo `archive`). One definition for every runner: the local job
/// runner calls it directly; in the cloud, the container gets the stage and the parameters and
/// calls it through `spaceport run-stage`. `None` for a stage that does not exist.
pub fn stage_args(
    stage: &str,
    params: &JobParams,
    archive: &str,
    dir: &str,
) -> Option<Vec<String>> {
    let p = params;
    let s = |v: &str| v.to_owned();
    Some(match stage {
        "ingest" => vec![
            s("ingest"),
            s(archive),
            s(dir),
            s("--max-size"),
            p.working_size.to_string(),
        ],
        "sfm" => vec![s("sfm"), s(dir)],
        "train" => vec![
            s("train"),
            s(dir),
            s("--iterations"),
            p.iterations.to_string(),
            s("--max-size"),
            p.train_size.to_string(),
            s("--sh-degree"),
            p.sh_degree.to_string(),
            s("--max-gaussians"),
            p.max_gaussians.to_string(),
            s("--resume"),
        ],
        "compress" => vec![
            s("compress"),
            format!("{dir}/train/point_cloud.ply"),
            format!("{dir}/model.sog"),
        ],
        _ => return None,
    })
}

/// The stages a run again keeps, for a job whose finished stages are `done`: those before
/// `from` (all of which must have finished), or, without `from`, all that finished. Refused when
/// `from` is no stage, a stage before it has not finished, or nothing would be left to run.
pub fn stages_to_keep(done: &[String], from: Option<&str>) -> Result<Vec<String>, StoreError> {
    let invalid =
        |message: &str| StoreError::Validation(crate::ValidationError::new("from", message));
    let keep = match from {
        None => done.to_vec(),
        Some(stage) => {
            let at = STAGES
                .iter()
                .position(|s| *s == stage)
                .ok_or_else(|| invalid("choose ingest, sfm, train or compress"))?;
            if let Some(missing) = STAGES[..at].iter().find(|s| !done.iter().any(|d| d == *s)) {
                return Err(invalid(&format!(
                    "{missing} has not finished, so {stage} cannot start: start from {missing}"
                )));
            }
            STAGES[..at].iter().map(|s| (*s).to_owned()).collect()
        }
    };
    if keep.len() == STAGES.len() {
        return Err(invalid(
            "every stage has finished: choose a stage to run again",
        ));
    }
    Ok(keep)
}

/// How hard to work: quality presets, or explicit settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JobParams {
    /// Longest side of the working photos.
    pub working_size: u32,
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

    /// `preview`, `standard` or `high`.
    pub fn preset(name: &str) -> Option<Self> {
        Some(match name {
            "preview" => Self {
                working_size: 1200,
                iterations: 2000,
                train_size: 800,
                sh_degree: 3,
                max_gaussians: 200_000,
            },
            "standard" => Self {
                working_size: 1600,
                iterations: 7000,
                train_size: 1200,
                sh_degree: 3,
                max_gaussians: 500_000,
            },
            "high" => Self {
                working_size: 1600,
                iterations: 30_000,
                train_size: 1600,
                sh_degree: 3,
                max_gaussians: 1_500_000,
            },
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct JobEvent {
    pub id: i64,
    pub at: i64,
    pub stage: String,
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
    /// Seconds left, extrapolated from the pace so far.
    pub eta_s: f64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Job {
    pub id: String,
    pub project: ProjectId,
    pub status: String,
    pub stage: Option<String>,
    pub done_stages: Vec<String>,
    pub params: JobParams,
    pub error: Option<String>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
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

/// Runs the pipeline for a project's uploaded photos. Every call names the owner.
#[async_trait]
pub trait JobRunner: Send + Sync {
    /// Queues a job; refused while the user already has one queued or running.
    async fn launch(
        &self,
        owner: &UserId,
        project: &ProjectId,
        params: JobParams,
    ) -> Result<Job, StoreError>;
    /// The project's latest job and its events after `after` (event id), oldest first.
    async fn latest(
        &self,
        owner: &UserId,
        project: &ProjectId,
        after: i64,
    ) -> Result<Option<(Job, Vec<JobEvent>)>, StoreError>;
    async fn cancel(&self, owner: &UserId, project: &ProjectId) -> Result<(), StoreError>;
    /// Runs the project's latest job again once it has ended (failed, cancelled or delivered),
    /// reusing what its finished stages made: from `from` when given (every stage before it must
    /// have finished), else from the first stage that did not finish. `params`, when given,
    /// replace the job's settings for the stages that run again.
    async fn resume(
        &self,
        owner: &UserId,
        project: &ProjectId,
        from: Option<&str>,
        params: Option<JobParams>,
    ) -> Result<Job, StoreError>;
    /// The quality report of the project's delivered model (None until one is delivered).
    async fn report(
        &self,
        owner: &UserId,
        project: &ProjectId,
    ) -> Result<Option<ModelReport>, StoreError>;
    /// Whether the delivered model is georegistered (Structure-from-Motion placed it by the photos'
    /// GPS: east-north-up, so the viewer's up axis is +Z) — false without a delivered model.
    async fn georegistered(&self, owner: &UserId, project: &ProjectId) -> Result<bool, StoreError>;
    /// Where the browser fetches a file of the delivered model from, when it is not this server
    /// (a presigned S3 URL); `None` when the server serves it from its own disk. `file` is
    /// `model.sog`, `train/point_cloud.ply` or `train/report.json`.
    async fn delivered_url(
        &self,
        owner: &UserId,
        project: &ProjectId,
        file: &str,
    ) -> Result<Option<String>, StoreError> {
        let _ = (owner, project, file);
        Ok(None)
    }
}

/// Public links to a project's delivered model: anyone with the link may view the model, nothing
/// else. One link per project; revoking it makes the old link dead for good.
#[async_trait]
pub trait ShareLinks: Send + Sync {
    /// The project's link token, made on first use. Only the owner may share.
    async fn share(&self, owner: &UserId, project: &ProjectId) -> Result<String, StoreError>;
    /// The project's link token, if it is shared.
    async fn current(
        &self,
        owner: &UserId,
        project: &ProjectId,
    ) -> Result<Option<String>, StoreError>;
    async fn revoke(&self, owner: &UserId, project: &ProjectId) -> Result<(), StoreError>;
    /// Who shared what under `token`: (owner, project).
    async fn resolve(&self, token: &str) -> Result<Option<(UserId, ProjectId)>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stage_has_its_command_line() {
        let params = JobParams::preset("standard").expect("preset");
        for stage in STAGES {
            let args = stage_args(stage, &params, "/up/photos.zip", "/jobs/j1").expect(stage);
            assert_eq!(args[0], stage, "the stage's own subcommand");
        }
        let ingest = stage_args("ingest", &params, "/up/photos.zip", "/jobs/j1").expect("ingest");
        assert_eq!(ingest[1..3], ["/up/photos.zip", "/jobs/j1"]);
        let train = stage_args("train", &params, "", "/jobs/j1").expect("train");
        let at = train.iter().position(|a| a == "--sh-degree").expect("flag");
        assert_eq!(train[at + 1], params.sh_degree.to_string());
        assert_eq!(
            stage_args("compress", &params, "", "/jobs/j1").expect("compress")[1..],
            ["/jobs/j1/train/point_cloud.ply", "/jobs/j1/model.sog"]
        );
        assert!(stage_args("deploy", &params, "", "/jobs/j1").is_none());
    }
}
