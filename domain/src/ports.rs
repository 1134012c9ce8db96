//! The ports: what the application needs from the outside world, as traits. The server picks one
//! implementation of each at start-up from configuration (embedded SQLite and local files on one
//! machine; Cognito, DynamoDB, S3, SES in the cloud); nothing above the ports knows which.

use async_trait::async_trait;

use crate::error::{AuthError, StoreError};
use crate::job::{DeliveredFile, Job, JobEvent, JobParams, JobStatus, ModelReport, Stage};
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
    /// [`Self::sign_in`] for an attempt on an account, or from an address, with recent
    /// failures: the same answer, but a provider that checks passwords on this machine runs it
    /// behind attempts that look legitimate, so a flood of guesses cannot queue a user's own
    /// sign-in behind it.
    async fn sign_in_suspect(
        &self,
        email: &Email,
        password: &str,
    ) -> Result<SignInOutcome, AuthError> {
        self.sign_in(email, password).await
    }
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
    /// Disables an account (it can no longer sign in, its sessions, first-sign-in steps and
    /// reset links end at once) or enables it again. An unknown email is a validation error.
    async fn set_disabled(&self, email: &Email, disabled: bool) -> Result<(), AuthError>;
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

    /// Why every plan is on flat ground, when this is no source at all (the operator has none
    /// configured): the flight page says it to the pilot.
    fn flat_because(&self) -> Option<&str> {
        None
    }
}

/// A place a search found: what the flight page lists for the pilot to pick.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Place {
    /// The place's full name as the search service gives it ("Space Needle, Seattle, …").
    pub name: String,
    pub lat: f64,
    pub lon: f64,
}

/// Address and place search for the flight page's map (a Nominatim-compatible service, or
/// none).
#[async_trait]
pub trait Places: Send + Sync {
    /// At most a handful of places matching what the pilot typed, best first. `Err` is a
    /// sentence for the pilot (the service is off, busy or down), ending in what to do instead.
    async fn search(&self, query: &str) -> Result<Vec<Place>, String>;
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
    /// Every job not yet ended, of every owner, oldest first: the operator's view (an admin
    /// stops one with [`Self::cancel`] under its owner).
    async fn active(&self) -> Result<Vec<(UserId, Job)>, StoreError>;
    /// Runs the project's latest job again once it has ended (failed, cancelled or delivered),
    /// reusing what its finished stages made: from `from` when given (every stage before it must
    /// have finished), else from the first stage that did not finish. `params`, when given,
    /// replace the job's settings for the stages that run again.
    async fn resume(
        &self,
        owner: &UserId,
        project: &ProjectId,
        from: Option<Stage>,
        params: Option<JobParams>,
    ) -> Result<Job, StoreError>;
}

/// Where a delivered file is for the browser to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// On this server's disk: the server serves it (ranges included).
    File(std::path::PathBuf),
    /// Elsewhere (a short-lived presigned S3 URL): the server redirects there.
    Url(String),
}

/// The files delivered jobs made, wherever they are kept (a local folder per job, or the job's
/// prefix in S3). Callers check ownership first: they address files by a job they got from
/// [`JobRunner::latest`] for the owner.
#[async_trait]
pub trait DeliveredFiles: Send + Sync {
    /// The file's bytes, or `None` when the job has no such file.
    async fn read(&self, job: &Job, file: DeliveredFile) -> Result<Option<Vec<u8>>, StoreError>;
    /// The file's size, or `None` when the job has no such file.
    async fn size(&self, job: &Job, file: DeliveredFile) -> Result<Option<u64>, StoreError>;
    /// Where the browser fetches the file from.
    async fn locate(&self, job: &Job, file: DeliveredFile) -> Result<Delivery, StoreError>;

    /// The quality report of a delivered job: the trainer's report and the model's size.
    async fn model_report(&self, job: &Job) -> Result<Option<ModelReport>, StoreError> {
        if job.status != JobStatus::Succeeded {
            return Ok(None);
        }
        let missing = |what: &str| StoreError::Internal(format!("the delivered job has no {what}"));
        let raw = self
            .read(job, DeliveredFile::Report)
            .await?
            .ok_or_else(|| missing("report"))?;
        let sog_bytes = self
            .size(job, DeliveredFile::Sog)
            .await?
            .ok_or_else(|| missing("model"))?;
        ModelReport::from_trainer_report(&raw, sog_bytes)
            .map(Some)
            .map_err(StoreError::Internal)
    }

    /// Whether a delivered job's model is georegistered (Structure-from-Motion placed it by the
    /// photos' GPS: east-north-up, so the viewer's up axis is +Z).
    async fn georegistered(&self, job: &Job) -> Result<bool, StoreError> {
        Ok(job.status == JobStatus::Succeeded
            && self.size(job, DeliveredFile::Geo).await?.is_some())
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
