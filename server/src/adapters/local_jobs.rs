//! `JobRunner` on one machine: jobs are rows in SQLite (a durable queue), a worker task runs
//! each stage as a `spaceport run-stage STAGE DIR --params JSON` subprocess in the job's folder
//! (the same entry the cloud's containers run), stores the JSON progress lines it prints as
//! events, and records each finished stage — so a restarted server puts interrupted jobs back in
//! the queue and resumes them at the stage they were in. One job per user at a time; one job on
//! the machine at a time (the stages use every core).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use domain::job::{Job, JobEvent, JobParams, JobStatus, ProgressLine, Stage};
use domain::ports::JobRunner;
use domain::{ProjectId, ProjectStatus, StoreError, UserId, ValidationError};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::Notify;

use crate::adapters::internal;
use crate::adapters::layout::DataLayout;
use ids::{new_id, now_secs};

pub struct LocalJobs {
    pool: SqlitePool,
    layout: DataLayout,
    pipeline: PathBuf,
    wake: Notify,
    /// Tells the owner when a job delivers or fails, with a link to the project.
    notifier: Arc<dyn domain::ports::Notifier>,
    public_url: String,
    /// `stage_time_limit_secs`: a cap on every stage's run time (0: none).
    time_cap: AtomicU64,
    /// `min_free_bytes`: a stage does not start with less room than this on the data disk.
    keep_free: AtomicU64,
    /// Where stage durations are counted (`/metrics`), once set.
    metrics: std::sync::OnceLock<Arc<crate::ops::Metrics>>,
}

/// A duration as the user reads it: "6 h", "2 h 20 min", "45 min", "30 s".
fn spoken(secs: u64) -> String {
    match (secs / 3600, secs % 3600 / 60) {
        (0, 0) => format!("{secs} s"),
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

fn db(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(internal(e))
}

const COLUMNS: &str =
    "id, project_id, status, stage, done_stages, params, error, created_at, started_at, finished_at";

fn corrupt(what: &str) -> StoreError {
    StoreError::Internal(format!("database: a job's {what} is unknown"))
}

fn stage(raw: &str) -> Result<Stage, StoreError> {
    Stage::parse(raw).ok_or_else(|| corrupt("stage"))
}

fn job_from_row(row: &SqliteRow) -> Result<Job, StoreError> {
    let done: String = row.get(4);
    let params: String = row.get(5);
    let status: String = row.get(2);
    let current: Option<String> = row.get(3);
    Ok(Job {
        id: row.get(0),
        project: ProjectId(row.get(1)),
        status: JobStatus::parse(&status).ok_or_else(|| corrupt("status"))?,
        stage: current.as_deref().map(stage).transpose()?,
        done_stages: done
            .split(',')
            .filter(|s| !s.is_empty())
            .map(stage)
            .collect::<Result<_, _>>()?,
        params: serde_json::from_str(&params).map_err(db)?,
        error: row.get(6),
        created_at: row.get(7),
        started_at: row.get(8),
        finished_at: row.get(9),
    })
}

/// The `spaceport` binary: beside the server's own executable (or one level up, for test
/// binaries in `target/*/deps/`).
pub fn default_pipeline_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    [dir.join("spaceport"), dir.join("..").join("spaceport")]
        .into_iter()
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("spaceport"))
}

impl LocalJobs {
    pub fn new(
        pool: SqlitePool,
        layout: DataLayout,
        pipeline: PathBuf,
        notifier: Arc<dyn domain::ports::Notifier>,
        public_url: &str,
    ) -> Arc<Self> {
        Arc::new(Self {
            pool,
            layout,
            pipeline,
            wake: Notify::new(),
            notifier,
            public_url: public_url.trim_end_matches('/').to_owned(),
            time_cap: AtomicU64::new(0),
            keep_free: AtomicU64::new(0),
            metrics: std::sync::OnceLock::new(),
        })
    }

    /// Caps every stage's run time at `time_cap` seconds (`stage_time_limit_secs`), over the
    /// stage's own limit, and starts no stage with less than `keep_free` bytes free on the data
    /// disk (`min_free_bytes`).
    pub fn set_limits(&self, time_cap: Option<u64>, keep_free: u64) {
        self.time_cap
            .store(time_cap.unwrap_or(0), Ordering::Relaxed);
        self.keep_free.store(keep_free, Ordering::Relaxed);
    }

    /// Counts each stage's duration and outcome in `metrics`.
    pub fn set_metrics(&self, metrics: Arc<crate::ops::Metrics>) {
        let _ = self.metrics.set(metrics);
    }

    /// Mails the owner how the job ended. A mail that cannot be queued is logged, never allowed
    /// to fail the job: the model is there either way.
    async fn notify(&self, job: &Job, owner: &str, outcome: Result<(), &str>) {
        let row = sqlx::query(
            "SELECT u.email, p.title FROM users u JOIN projects p ON p.owner_id = u.id \
             WHERE u.id = ? AND p.id = ?",
        )
        .bind(owner)
        .bind(&job.project.0)
        .fetch_optional(&self.pool)
        .await;
        let Ok(Some(row)) = row else {
            tracing::warn!(job = %job.id, "no owner to tell about the job");
            return;
        };
        let Ok(to) = domain::Email::parse(row.get::<String, _>(0).as_str()) else {
            return;
        };
        let title: String = row.get(1);
        let link = format!("{}/projects/{}", self.public_url, job.project.0);
        let message = match outcome {
            Ok(()) => domain::messages::job_delivered(&to, &title, &link),
            Err(reason) => domain::messages::job_stopped(&to, &title, reason, &link),
        };
        if let Err(e) = self.notifier.send(message).await {
            tracing::error!(job = %job.id, error = %e, "could not queue the job's mail");
        }
    }

    fn job_dir(&self, id: &str) -> PathBuf {
        self.layout.job(id)
    }

    /// Puts jobs a previous run of the server left running back in the queue, then runs the
    /// queue for as long as the server lives.
    pub async fn start(self: &Arc<Self>) -> Result<(), StoreError> {
        // A server killed without warning (SIGKILL, power loss) left its stages running as
        // orphans: stop them before the stage runs again in the same folder.
        let left: Vec<(String, i64)> = sqlx::query(&format!(
            "SELECT id, pgid FROM jobs WHERE status IN ({}) AND pgid IS NOT NULL",
            JobStatus::sql_list([JobStatus::Running, JobStatus::Cancelling])
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
        for (id, pgid) in left {
            let killed = kill_leftovers(pgid, &self.job_dir(&id)).await;
            if killed > 0 {
                tracing::warn!(job = %id, processes = killed, "stopped a stage left running by a previous server");
            }
        }
        sqlx::query("UPDATE jobs SET status = ?, pgid = NULL WHERE status = ?")
            .bind(JobStatus::Queued.as_str())
            .bind(JobStatus::Running.as_str())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        sqlx::query("UPDATE jobs SET status = ?, finished_at = ? WHERE status = ?")
            .bind(JobStatus::Cancelled.as_str())
            .bind(now_secs())
            .bind(JobStatus::Cancelling.as_str())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        self.tell_untold().await?;
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                match me.run_next().await {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(e) => tracing::error!(error = %e, "job worker"),
                }
                tokio::select! {
                    () = me.wake.notified() => {}
                    () = tokio::time::sleep(Duration::from_secs(5)) => {}
                }
            }
        });
        Ok(())
    }

    async fn event(
        &self,
        job: &str,
        stage: Stage,
        step: &str,
        fraction: Option<f64>,
        message: &str,
        data: Option<&str>,
    ) {
        let r = sqlx::query(
            "INSERT INTO job_events (job_id, at, stage, step, fraction, message, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(job)
        .bind(now_secs())
        .bind(stage.as_str())
        .bind(step)
        .bind(fraction)
        .bind(message)
        .bind(data)
        .execute(&self.pool)
        .await;
        if let Err(e) = r {
            tracing::error!(error = %e, "storing a job event");
        }
    }

    async fn set_project_status(&self, job: &Job, owner: &str, status: ProjectStatus) {
        let r = sqlx::query(
            "UPDATE projects SET status = ?, updated_at = ? WHERE id = ? AND owner_id = ?",
        )
        .bind(status.as_str())
        .bind(now_secs())
        .bind(&job.project.0)
        .bind(owner)
        .execute(&self.pool)
        .await;
        if let Err(e) = r {
            tracing::error!(error = %e, "updating a project's status");
        }
    }

    /// Whether the job has been asked to stop (or is gone: its project was deleted).
    async fn stopping(&self, id: &str) -> bool {
        sqlx::query("SELECT status FROM jobs WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .ok()
            .flatten()
            .is_none_or(|r| r.get::<String, _>(0) == JobStatus::Cancelling.as_str())
    }

    /// Runs the oldest queued job, if any; Ok(true) when one ran.
    async fn run_next(&self) -> Result<bool, StoreError> {
        let Some(row) = sqlx::query(&format!(
            "UPDATE jobs SET status = ?, started_at = COALESCE(started_at, ?) \
             WHERE id = (SELECT id FROM jobs WHERE status = ? ORDER BY created_at LIMIT 1) \
             RETURNING {COLUMNS}, owner_id"
        ))
        .bind(JobStatus::Running.as_str())
        .bind(now_secs())
        .bind(JobStatus::Queued.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        else {
            return Ok(false);
        };
        let job = job_from_row(&row)?;
        let owner: String = row.get(10);
        self.set_project_status(&job, &owner, ProjectStatus::Processing)
            .await;
        let dir = self.job_dir(&job.id);
        let _ = tokio::fs::create_dir_all(&dir).await;
        for stage in Stage::ALL {
            if job.done_stages.contains(&stage) {
                continue;
            }
            sqlx::query("UPDATE jobs SET stage = ? WHERE id = ?")
                .bind(stage.as_str())
                .bind(&job.id)
                .execute(&self.pool)
                .await
                .map_err(db)?;
            let started = std::time::Instant::now();
            let outcome = self.run_stage(&job, stage, &dir).await;
            if let Some(m) = self.metrics.get() {
                m.observe_stage(stage, outcome.is_ok(), started.elapsed().as_secs_f64());
            }
            match outcome {
                Ok(()) => {
                    sqlx::query(
                        "UPDATE jobs SET done_stages = done_stages || CASE WHEN done_stages = '' THEN '' ELSE ',' END || ? WHERE id = ?",
                    )
                    .bind(stage.as_str())
                    .bind(&job.id)
                    .execute(&self.pool)
                    .await
                    .map_err(db)?;
                }
                Err(reason) => {
                    let cancelled = self.stopping(&job.id).await;
                    let (status, error) = if cancelled {
                        (JobStatus::Cancelled, "cancelled by the user".to_owned())
                    } else {
                        (JobStatus::Failed, reason)
                    };
                    self.finish(&job, &owner, status, Some(&error)).await?;
                    tracing::info!(job = %job.id, %stage, %status, "job ended");
                    return Ok(true);
                }
            }
        }
        // The earlier jobs' folders go before the delivery is recorded, so that whoever sees
        // the job delivered sees them gone (swept after, a test that saw the end raced it).
        self.sweep_superseded(&job).await;
        self.finish(&job, &owner, JobStatus::Succeeded, None)
            .await?;
        tracing::info!(job = %job.id, "job delivered");
        Ok(true)
    }

    /// Once a job has delivered, the project's earlier jobs are superseded: the project serves
    /// its latest delivered model, and a retry always takes the latest job. Their folders
    /// (working photos, SfM, model: 246 MB for the 75-photo survey) are removed, so relaunching
    /// a project does not add a folder each time; their rows stay, as the project's history.
    /// A folder that cannot be removed is logged and left to the next delivery.
    async fn sweep_superseded(&self, job: &Job) {
        let older = sqlx::query(&format!(
            "SELECT id FROM jobs WHERE project_id = ? AND id != ? AND status IN ({})",
            JobStatus::sql_list(JobStatus::ended())
        ))
        .bind(&job.project.0)
        .bind(&job.id)
        .fetch_all(&self.pool)
        .await;
        let older = match older {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(job = %job.id, error = %e, "listing the project's earlier jobs");
                return;
            }
        };
        for row in older {
            let id: String = row.get(0);
            let dir = self.job_dir(&id);
            match tokio::fs::remove_dir_all(&dir).await {
                Ok(()) => tracing::info!(job = %id, "removed a superseded job's folder"),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(job = %id, error = %e, "removing a superseded job's folder");
                }
            }
        }
    }

    /// Records how the job ended: its status and its project's in one transaction (written one
    /// after the other, a crash between them left a delivered job whose project could not be
    /// shared), then tells the owner (`tell`). A crash before the mail is made good when the
    /// server starts again (`tell_untold`), so the owner hears at least once.
    async fn finish(
        &self,
        job: &Job,
        owner: &str,
        status: JobStatus,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = now_secs();
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query(
            "UPDATE jobs SET status = ?, error = ?, finished_at = ?, told = ?, \
             stage = CASE WHEN ? THEN NULL ELSE stage END WHERE id = ?",
        )
        .bind(status.as_str())
        .bind(error)
        .bind(now)
        // A cancelled job needs no mail: the user stopped it.
        .bind(status == JobStatus::Cancelled)
        .bind(status == JobStatus::Succeeded)
        .bind(&job.id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        sqlx::query("UPDATE projects SET status = ?, updated_at = ? WHERE id = ? AND owner_id = ?")
            .bind(status.project_status().as_str())
            .bind(now)
            .bind(&job.project.0)
            .bind(owner)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        if status != JobStatus::Cancelled {
            let ended = Job {
                status,
                error: error.map(str::to_owned),
                ..job.clone()
            };
            self.tell(&ended, owner).await;
        }
        Ok(())
    }

    /// Mails the owner how `job` ended, then notes that they were told.
    async fn tell(&self, job: &Job, owner: &str) {
        let outcome = match job.status {
            JobStatus::Succeeded => Ok(()),
            _ => Err(job.error.as_deref().unwrap_or("the pipeline failed")),
        };
        self.notify(job, owner, outcome).await;
        if let Err(e) = sqlx::query("UPDATE jobs SET told = 1 WHERE id = ?")
            .bind(&job.id)
            .execute(&self.pool)
            .await
        {
            tracing::error!(job = %job.id, error = %e, "could not note that the owner was told");
        }
    }

    /// Tells the owners of jobs that ended while the server was going down (killed between
    /// recording the end and queueing the mail).
    async fn tell_untold(&self) -> Result<(), StoreError> {
        let untold = sqlx::query(&format!(
            "SELECT {COLUMNS}, owner_id FROM jobs WHERE told = 0 AND status IN ({})",
            JobStatus::sql_list([JobStatus::Succeeded, JobStatus::Failed])
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        for row in untold {
            let job = job_from_row(&row)?;
            let owner: String = row.get(10);
            tracing::warn!(job = %job.id, "telling the owner how a job ended before the restart");
            self.tell(&job, &owner).await;
        }
        Ok(())
    }

    /// The pipeline's one entry, as the cloud's containers call it.
    fn stage_args(&self, job: &Job, stage: Stage, dir: &Path) -> Vec<String> {
        let archive = self.layout.archive(&job.project);
        domain::job::run_stage_args(
            stage,
            &dir.display().to_string(),
            &job.params,
            Some(&archive.display().to_string()),
        )
    }

    /// Runs one stage; Err carries the reason to show the user.
    async fn run_stage(&self, job: &Job, stage: Stage, dir: &Path) -> Result<(), String> {
        // A stage that fills the disk fails half-way and takes the database's writes with it:
        // refuse to start it instead, saying why.
        if let Err(StoreError::LimitReached(why)) = crate::disk::check_room(
            self.layout.root(),
            0,
            self.keep_free.load(Ordering::Relaxed),
        ) {
            self.event(&job.id, stage, ProgressLine::FAILED, None, &why, None)
                .await;
            return Err(why);
        }
        let mut command = tokio::process::Command::new(&self.pipeline);
        if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
            // The training stage looks for a GPU; Mesa's Vulkan loader prints an error line
            // without a runtime folder, which would pass for the stage's reason if it failed.
            command.env("XDG_RUNTIME_DIR", dir);
        }
        let mut child = command
            .args(self.stage_args(job, stage, dir))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // Its own process group, so cancelling also stops what the stage started (COLMAP).
            .process_group(0)
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start the pipeline ({}): {e}",
                    self.pipeline.display()
                )
            })?;
        if let Some(pid) = child.id() {
            let _ = sqlx::query("UPDATE jobs SET pgid = ? WHERE id = ?")
                .bind(i64::from(pid))
                .bind(&job.id)
                .execute(&self.pool)
                .await;
        }
        let result = self.follow_stage(job, stage, &mut child).await;
        let _ = sqlx::query("UPDATE jobs SET pgid = NULL WHERE id = ?")
            .bind(&job.id)
            .execute(&self.pool)
            .await;
        result
    }

    /// Stores the stage's progress lines until it ends; kills it when the job is cancelled.
    async fn follow_stage(
        &self,
        job: &Job,
        stage: Stage,
        child: &mut tokio::process::Child,
    ) -> Result<(), String> {
        let stdout = child.stdout.take().ok_or("no pipeline output")?;
        let stderr = child.stderr.take().ok_or("no pipeline output")?;
        let errors = tokio::spawn(async move {
            let mut last = String::new();
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if !line.trim().is_empty() {
                    last = line;
                }
            }
            last
        });
        let mut lines = BufReader::new(stdout).lines();
        let mut check = tokio::time::interval(Duration::from_secs(1));
        let limit = match self.time_cap.load(Ordering::Relaxed) {
            0 => stage.time_limit_secs(&job.params),
            cap => stage.time_limit_secs(&job.params).min(cap),
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(limit);
        loop {
            tokio::select! {
                line = lines.next_line() => match line {
                    Ok(Some(line)) => self.store_line(&job.id, stage, &line).await,
                    _ => break,
                },
                _ = check.tick() => {
                    if self.stopping(&job.id).await {
                        kill_group(child).await;
                        return Err("cancelled".into());
                    }
                }
                () = tokio::time::sleep_until(deadline) => {
                    // A stage that hangs (a stuck COLMAP) or runs away is stopped with
                    // everything it started, and the job says why.
                    kill_group(child).await;
                    let reason = format!(
                        "the {stage} stage ran past its time limit ({}) and was stopped; \
                         try fewer photos or a smaller preset",
                        spoken(limit)
                    );
                    self.event(&job.id, stage, ProgressLine::FAILED, None, &reason, None)
                        .await;
                    return Err(reason);
                }
            }
        }
        let status = child.wait().await.map_err(|e| e.to_string())?;
        let last_error = errors.await.unwrap_or_default();
        if status.success() {
            Ok(())
        } else {
            let reason = self.tidy(&job.id, last_error.trim_start_matches("spaceport: "));
            self.event(&job.id, stage, ProgressLine::FAILED, None, &reason, None)
                .await;
            Err(if reason.is_empty() {
                format!("the {stage} stage failed ({status})")
            } else {
                reason
            })
        }
    }

    /// Users see the stages' lines: paths inside the job's folder become relative and the rest of
    /// the data directory disappears, so the server's own layout never shows.
    fn tidy(&self, job: &str, text: &str) -> String {
        text.replace(&format!("{}/", self.job_dir(job).display()), "")
            .replace(&format!("{}/", self.layout.root().display()), "")
    }

    async fn store_line(&self, job: &str, stage: Stage, line: &str) {
        let Some(l) = ProgressLine::read(line) else {
            return;
        };
        let data = l.data.map(|d| d.to_string());
        let message = self.tidy(job, &l.message);
        self.event(job, stage, &l.step, l.fraction, &message, data.as_deref())
            .await;
    }
}

/// Kills what is left of process group `pgid` — only processes whose command line names
/// `job_dir`, so a group id the system has since given to something else is left alone.
/// Returns how many it killed. Linux only (it reads /proc); elsewhere it does nothing.
async fn kill_leftovers(pgid: i64, job_dir: &Path) -> usize {
    let needle = job_dir.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut victims = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(process) = name.to_str().and_then(|n| n.parse::<i64>().ok()) else {
            continue;
        };
        // Field 5 of /proc/PID/stat is the process group; the name before it may hold spaces,
        // so count from the closing parenthesis.
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let group = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(2))
            .and_then(|g| g.parse::<i64>().ok());
        if group != Some(pgid) {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(&needle) {
            victims.push(process.to_string());
        }
    }
    if !victims.is_empty() {
        let _ = tokio::process::Command::new("kill")
            .arg("-KILL")
            .args(&victims)
            .status()
            .await;
    }
    victims.len()
}

/// Kills a stage and everything it started: SIGKILL to its process group (by the `kill`
/// command — this workspace forbids `unsafe`, which a direct `kill(2)` call would need).
async fn kill_group(child: &mut tokio::process::Child) {
    if let Some(pid) = child.id() {
        let _ = tokio::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .status()
            .await;
    }
    let _ = child.kill().await;
}

#[async_trait]
impl JobRunner for LocalJobs {
    async fn launch(
        &self,
        owner: &UserId,
        project: &ProjectId,
        params: JobParams,
    ) -> Result<Job, StoreError> {
        crate::adapters::require_owned_project(&self.pool, owner, project).await?;
        if !self.layout.archive(project).exists() {
            return Err(StoreError::Validation(ValidationError::new(
                "photos",
                "upload the photos first",
            )));
        }
        // One job per user, decided by the insert itself: a count and then an insert let two
        // launches at the same moment both see none running and both start. SQLite takes the
        // write lock before the statement reads, so the check and the write are one step.
        let id = new_id();
        let inserted = sqlx::query(&format!(
            "INSERT INTO jobs (id, owner_id, project_id, status, params, created_at) \
             SELECT ?, ?, ?, ?, ?, ? \
             WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE owner_id = ? AND status IN ({}))",
            JobStatus::sql_list(JobStatus::active())
        ))
        .bind(&id)
        .bind(&owner.0)
        .bind(&project.0)
        .bind(JobStatus::Queued.as_str())
        .bind(serde_json::to_string(&params).map_err(db)?)
        .bind(now_secs())
        .bind(&owner.0)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::LimitReached(
                "one job at a time: wait for the running job or cancel it".into(),
            ));
        }
        self.wake.notify_one();
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM jobs WHERE id = ?"))
            .bind(&id)
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        job_from_row(&row)
    }

    async fn active(&self) -> Result<Vec<(UserId, Job)>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS}, owner_id FROM jobs WHERE status IN ('queued', 'running', 'cancelling') \
             ORDER BY created_at, rowid"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| Ok((UserId(r.get("owner_id")), job_from_row(r)?)))
            .collect()
    }

    async fn latest(
        &self,
        owner: &UserId,
        project: &ProjectId,
        after: i64,
    ) -> Result<Option<(Job, Vec<JobEvent>)>, StoreError> {
        let Some(row) = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM jobs WHERE project_id = ? AND owner_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1"
        ))
        .bind(&project.0)
        .bind(&owner.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        else {
            return Ok(None);
        };
        let job = job_from_row(&row)?;
        let events = sqlx::query(
            // The newest 500 after `after`: a long run has thousands of events, and the page
            // must see where the job is now, not where it was at event 500.
            "SELECT id, at, stage, step, fraction, message, data FROM job_events \
             WHERE job_id = ? AND id > ? ORDER BY id DESC LIMIT 500",
        )
        .bind(&job.id)
        .bind(after)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(|r| {
            let data: Option<String> = r.get(6);
            Ok(JobEvent {
                id: r.get(0),
                at: r.get(1),
                stage: stage(r.get(2))?,
                step: r.get(3),
                fraction: r.get(4),
                message: r.get(5),
                train: data.and_then(|d| serde_json::from_str(&d).ok()),
            })
        })
        .rev()
        .collect::<Result<_, StoreError>>()?;
        Ok(Some((job, events)))
    }

    async fn cancel(&self, owner: &UserId, project: &ProjectId) -> Result<(), StoreError> {
        // A queued job ends at once; a running one is stopped by the worker.
        let done = sqlx::query(&format!(
            "UPDATE jobs SET status = CASE status WHEN ?1 THEN ?2 ELSE ?3 END, \
             finished_at = CASE status WHEN ?1 THEN ?4 ELSE finished_at END \
             WHERE project_id = ?5 AND owner_id = ?6 AND status IN ({})",
            JobStatus::sql_list(JobStatus::ALL.into_iter().filter(|s| s.is_cancellable()))
        ))
        .bind(JobStatus::Queued.as_str())
        .bind(JobStatus::Cancelled.as_str())
        .bind(JobStatus::Cancelling.as_str())
        .bind(now_secs())
        .bind(&project.0)
        .bind(&owner.0)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn resume(
        &self,
        owner: &UserId,
        project: &ProjectId,
        from: Option<Stage>,
        params: Option<JobParams>,
    ) -> Result<Job, StoreError> {
        crate::adapters::require_owned_project(&self.pool, owner, project).await?;
        let invalid = |message: &str| StoreError::Validation(ValidationError::new("from", message));
        let (job, _) = self
            .latest(owner, project, i64::MAX)
            .await?
            .ok_or_else(|| invalid("nothing has run yet: start processing first"))?;
        if !job.status.is_terminal() {
            return Err(StoreError::LimitReached(
                "the job is still running: wait for it or cancel it".into(),
            ));
        }
        // The stages that stay done: those before `from`, all of which must have finished.
        let rerun = domain::job::rerun(&job.done_stages, from)?;
        // Photos uploaded since the job ran would be silently ignored by a kept ingest.
        let archive = self.layout.archive(project);
        let uploaded = tokio::fs::metadata(&archive)
            .await
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|d| i64::try_from(d.as_secs()).ok());
        if !rerun.keep.is_empty() && uploaded.is_some_and(|at| at > job.created_at) {
            return Err(invalid(
                "new photos were uploaded since this job ran: start processing to use them",
            ));
        }
        let params = params.unwrap_or(job.params);
        // Requeue only if nothing else of the user's is active (one job per user), in one
        // statement so that two clicks cannot queue two runs.
        let kept: Vec<&str> = rerun.keep.iter().map(|s| s.as_str()).collect();
        let updated = sqlx::query(&format!(
            "UPDATE jobs SET status = ?, stage = NULL, error = NULL, started_at = NULL, finished_at = NULL, \
             done_stages = ?, params = ? \
             WHERE id = ? AND owner_id = ? AND status IN ({}) \
             AND NOT EXISTS (SELECT 1 FROM jobs WHERE owner_id = ? AND status IN ({}))",
            JobStatus::sql_list(JobStatus::ended()),
            JobStatus::sql_list(JobStatus::active()),
        ))
        .bind(JobStatus::Queued.as_str())
        .bind(kept.join(","))
        .bind(serde_json::to_string(&params).map_err(db)?)
        .bind(&job.id)
        .bind(&owner.0)
        .bind(&owner.0)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::LimitReached(
                "one job at a time: wait for the running job or cancel it".into(),
            ));
        }
        let first = rerun.first;
        self.event(
            &job.id,
            first,
            "job",
            None,
            &format!("run again from {first}"),
            None,
        )
        .await;
        self.wake.notify_one();
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM jobs WHERE id = ?"))
            .bind(&job.id)
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        job_from_row(&row)
    }
}

#[cfg(test)]
mod tests {
    use super::kill_leftovers;
    use std::path::Path;

    /// A process in its own group whose command line names `marker`, as a stage's does its job
    /// folder.
    fn stage_like(marker: &str) -> std::process::Child {
        use std::os::unix::process::CommandExt;
        std::process::Command::new("bash")
            .args(["-c", &format!("exec -a {marker} sleep 30")])
            .process_group(0)
            .spawn()
            .expect("bash")
    }

    #[tokio::test]
    async fn leftovers_are_killed_only_when_they_name_the_job() {
        let marker = format!("/tmp/spaceport-leftover-{}", std::process::id());
        let mut mine = stage_like(&marker);
        let pgid = i64::from(mine.id());
        std::thread::sleep(std::time::Duration::from_millis(200));
        // The same group id, but another job's folder: a reused id must not kill a stranger.
        assert_eq!(
            kill_leftovers(pgid, Path::new("/tmp/some-other-job")).await,
            0
        );
        assert!(
            mine.try_wait().expect("status").is_none(),
            "a stranger was killed"
        );
        assert_eq!(kill_leftovers(pgid, Path::new(&marker)).await, 1);
        let status = mine.wait().expect("status");
        assert!(!status.success(), "killed, not finished");
    }
}
