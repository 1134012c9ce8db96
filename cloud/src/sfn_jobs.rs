//! `JobRunner` on Step Functions. A launch starts one execution of the pipeline's state machine
//! (`state_machine`), named by the job id, so a launch sent twice starts one execution; a run
//! again from a stage starts a new execution (`{job}-r{n}`) with `start_from` set, over the same
//! job folder in S3. Where a job stands is asked of Step Functions (the execution's status and
//! history: which stage is running, which have finished), and the stages' progress lines are read
//! from the files SageMaker uploads while they run (`jobs/{job}/progress/{stage}.jsonl`). The
//! job's record — the latest per project, under the owner's key like projects — keeps what Step
//! Functions does not: the parameters, the attempt, and the outcome once it is known.
//!
//! A running job also has an entry under `pk = "RUNNING"`, which the server's watcher
//! (`SfnJobs::watch`) visits every half minute, so a job that ends while nobody looks still
//! moves its project on and mails its owner. A page asking where a job is (`latest`, a GET)
//! writes nothing: it answers from Step Functions and, when it sees an end not yet recorded,
//! wakes the watcher. The watcher, or a request that changes the job anyway (launch, cancel, run
//! again), records the end with a conditional write, and only the one that wins it mails.
//!
//! One job at a time per owner is kept by a slot item (`sk = "ACTIVE"`) taken with a conditional
//! write before a job's record is written (`SfnJobs::claim`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use domain::job::{Job, JobEvent, JobParams, JobStatus, ProgressLine, Stage};
use domain::ports::{JobRunner, ProjectStore};
use domain::{ProjectId, StoreError, UserId, ValidationError};
use tokio::sync::Notify;

use crate::s3_delivered::{job_prefix, Bucket};
use crate::s3_uploads::S3Uploads;
use crate::settings::describe;
use crate::state_machine::task_name;
use crate::table::{self as dp, Item, Table};

/// Progress lines of one stage get ids `stage index × this + line number`, so ids grow along the
/// pipeline and a page asking for events after one id misses none.
const EVENTS_PER_STAGE: i64 = 1_000_000;

/// How long a launch may take between taking the owner's one-job slot and writing its job's
/// record (two DynamoDB writes apart); a slot older than this with no record was left by a
/// launch that died in between.
const CLAIM_GRACE_SECS: i64 = 120;

/// Who to tell when a job ends, and how.
pub struct JobMail {
    pub notifier: Arc<dyn domain::ports::Notifier>,
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
    pub user_pool_id: String,
    pub public_url: String,
}

pub struct SfnJobs {
    mail: Option<JobMail>,
    sfn: aws_sdk_sfn::Client,
    bucket: Bucket,
    bucket_name: String,
    table: Table,
    state_machine: String,
    projects: Arc<dyn ProjectStore>,
    /// Wakes the watcher early: a page saw an end nobody has recorded yet.
    wake: Notify,
}

fn sfn_error(e: impl std::error::Error + 'static) -> StoreError {
    StoreError::Internal(format!("step functions: {}", describe(&e)))
}

fn invalid(field: &str, message: impl Into<String>) -> StoreError {
    StoreError::Validation(ValidationError::new(field, message))
}

/// A job's stored record.
#[derive(Clone)]
struct Record {
    job: Job,
    execution: String,
    attempt: u32,
}

impl SfnJobs {
    pub fn new(
        config: &aws_config::SdkConfig,
        table: Table,
        bucket: impl Into<String>,
        state_machine: impl Into<String>,
        projects: Arc<dyn ProjectStore>,
    ) -> Self {
        let bucket_name = bucket.into();
        Self {
            mail: None,
            sfn: aws_sdk_sfn::Client::new(config),
            bucket: Bucket::new(config, &bucket_name),
            bucket_name,
            table,
            state_machine: state_machine.into(),
            projects,
            wake: Notify::new(),
        }
    }

    /// Mails the owner when a job ends (as the local runner does).
    #[must_use]
    pub fn with_mail(mut self, mail: JobMail) -> Self {
        self.mail = Some(mail);
        self
    }

    /// Visits the running jobs every `every` (and whenever a page saw an end), recording the
    /// ends nobody has recorded yet.
    pub fn watch(self: &Arc<Self>, every: Duration) {
        let jobs = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = jobs.wake.notified() => {}
                }
                if let Err(e) = jobs.visit_running().await {
                    tracing::error!(error = %e, "checking the running jobs failed");
                }
            }
        });
    }

    /// One round of the watcher; public so tests need not wait for the timer.
    pub async fn visit_running(&self) -> Result<(), StoreError> {
        for item in self.table.query("RUNNING", "").await? {
            let (Some(owner), Some(project)) = (dp::s(&item, "owner"), dp::s(&item, "project"))
            else {
                continue;
            };
            let (owner, project) = (UserId(owner.to_owned()), ProjectId(project.to_owned()));
            match self.record(&owner, &project).await? {
                Some(r) => {
                    self.refreshed(&owner, r).await?;
                }
                // The project (and its job) was deleted.
                None => {
                    self.running(&owner, &project, false).await?;
                }
            }
        }
        Ok(())
    }

    /// Adds or removes the project's entry in the running index.
    async fn running(
        &self,
        owner: &UserId,
        project: &ProjectId,
        on: bool,
    ) -> Result<(), StoreError> {
        let key = dp::key("RUNNING", format!("{}#{}", owner.0, project.0));
        if on {
            let mut item = key;
            item.insert("owner".to_owned(), dp::text(&owner.0));
            item.insert("project".to_owned(), dp::text(&project.0));
            self.table.put(item).await
        } else {
            self.table.delete(key).await.map(|_| ())
        }
    }

    /// Tells the owner how the job ended.
    async fn mail_end(&self, owner: &UserId, job: &Job) {
        let Some(mail) = &self.mail else { return };
        let users = mail
            .cognito
            .list_users()
            .user_pool_id(&mail.user_pool_id)
            .filter(format!("sub = \"{}\"", owner.0))
            .limit(1)
            .send()
            .await;
        let email = users.ok().and_then(|u| {
            u.users().first().and_then(|u| {
                u.attributes()
                    .iter()
                    .find(|a| a.name() == "email")
                    .and_then(|a| a.value())
                    .and_then(|e| domain::Email::parse(e).ok())
            })
        });
        let (Some(to), Ok(project)) = (email, self.projects.get(owner, &job.project).await) else {
            tracing::warn!(job = %job.id, "no owner to tell about the job");
            return;
        };
        let link = format!("{}/projects/{}", mail.public_url, job.project.0);
        let message = match job.status {
            JobStatus::Succeeded => {
                domain::messages::job_delivered(&to, project.title.as_str(), &link)
            }
            JobStatus::Failed => domain::messages::job_stopped(
                &to,
                project.title.as_str(),
                job.error.as_deref().unwrap_or("the pipeline failed"),
                &link,
            ),
            _ => return,
        };
        if let Err(e) = mail.notifier.send(message).await {
            tracing::error!(job = %job.id, error = %e, "could not queue the job's mail");
        }
    }

    fn key(owner: &UserId, project: &ProjectId) -> Item {
        dp::key(dp::owner_pk(owner), format!("JOB#{}", project.0))
    }

    fn record_from(item: &Item) -> Result<Record, StoreError> {
        let corrupt = || StoreError::Internal("dynamodb: a job record is incomplete".into());
        let job = Job {
            id: dp::s(item, "id").ok_or_else(corrupt)?.to_owned(),
            project: ProjectId(dp::s(item, "project").ok_or_else(corrupt)?.to_owned()),
            status: dp::s(item, "status")
                .and_then(JobStatus::parse)
                .ok_or_else(corrupt)?,
            stage: dp::s(item, "stage").and_then(Stage::parse),
            done_stages: dp::s(item, "done_stages")
                .and_then(|v| serde_json::from_str(v).ok())
                .unwrap_or_default(),
            params: dp::s(item, "params")
                .and_then(|p| serde_json::from_str(p).ok())
                .ok_or_else(corrupt)?,
            error: dp::s(item, "error").map(str::to_owned),
            created_at: dp::n(item, "created_at").ok_or_else(corrupt)?,
            started_at: dp::n(item, "started_at"),
            finished_at: dp::n(item, "finished_at"),
        };
        Ok(Record {
            job,
            execution: dp::s(item, "execution").ok_or_else(corrupt)?.to_owned(),
            attempt: dp::n(item, "attempt")
                .and_then(|a| u32::try_from(a).ok())
                .unwrap_or(0),
        })
    }

    /// Stores `r`; with `ending`, only if the stored record is still this execution, running —
    /// `Ok(false)` when someone else recorded the end first.
    async fn put(&self, owner: &UserId, r: &Record) -> Result<(), StoreError> {
        self.put_if(owner, r, false).await.map(|_| ())
    }

    async fn put_if(&self, owner: &UserId, r: &Record, ending: bool) -> Result<bool, StoreError> {
        let j = &r.job;
        let mut item = Self::key(owner, &j.project);
        let text = |v: &str| AttributeValue::S(v.to_owned());
        let num = |v: i64| AttributeValue::N(v.to_string());
        let json = |v: &dyn erased::Json| AttributeValue::S(v.json());
        item.extend([
            ("id".to_owned(), text(&j.id)),
            ("project".to_owned(), text(&j.project.0)),
            ("status".to_owned(), text(j.status.as_str())),
            ("done_stages".to_owned(), json(&j.done_stages)),
            ("params".to_owned(), json(&j.params)),
            ("created_at".to_owned(), num(j.created_at)),
            ("execution".to_owned(), text(&r.execution)),
            ("attempt".to_owned(), num(i64::from(r.attempt))),
        ]);
        let stage = j.stage.map(|s| s.as_str().to_owned());
        for (k, v) in [("stage", &stage), ("error", &j.error)] {
            if let Some(v) = v {
                item.insert(k.to_owned(), text(v));
            }
        }
        for (k, v) in [("started_at", j.started_at), ("finished_at", j.finished_at)] {
            if let Some(v) = v {
                item.insert(k.to_owned(), num(v));
            }
        }
        let mut put = self
            .table
            .client()
            .put_item()
            .table_name(self.table.name())
            .set_item(Some(item));
        if ending {
            put = put
                .condition_expression("#s = :running AND execution = :execution")
                .expression_attribute_names("#s", "status")
                .expression_attribute_values(
                    ":running",
                    AttributeValue::S(JobStatus::Running.as_str().to_owned()),
                )
                .expression_attribute_values(":execution", AttributeValue::S(r.execution.clone()));
        }
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e) if ending && dp::is_condition_failure(&e) => Ok(false),
            Err(e) => Err(dp::internal(e)),
        }
    }

    async fn record(
        &self,
        owner: &UserId,
        project: &ProjectId,
    ) -> Result<Option<Record>, StoreError> {
        self.table
            .get(Self::key(owner, project))
            .await?
            .as_ref()
            .map(Self::record_from)
            .transpose()
    }

    /// The record as Step Functions sees it now (its status, stage and finished stages), without
    /// writing anything.
    async fn observed(&self, mut r: Record) -> Result<Record, StoreError> {
        if r.job.status.is_terminal() {
            return Ok(r);
        }
        let described = match self
            .sfn
            .describe_execution()
            .execution_arn(&r.execution)
            .send()
            .await
        {
            Ok(d) => d,
            // The execution is gone (Step Functions keeps ended ones for 90 days): the record
            // is all there is; a job still marked running then did not finish.
            Err(e)
                if e.as_service_error()
                    .is_some_and(aws_sdk_sfn::operation::describe_execution::DescribeExecutionError::is_execution_does_not_exist) =>
            {
                r.job.status = JobStatus::Failed;
                r.job.error = Some("the pipeline's run can no longer be found".to_owned());
                r.job.finished_at = Some(dp::now_secs());
                return Ok(r);
            }
            Err(e) => return Err(sfn_error(e)),
        };
        let (done, current) = self.stages_of(&r.execution).await?;
        for stage in done {
            if !r.job.done_stages.contains(&stage) {
                r.job.done_stages.push(stage);
            }
        }
        r.job.done_stages.sort();
        r.job.stage = current.or(r.job.stage);
        r.job.status = match described.status() {
            ExecutionStatus::Running | ExecutionStatus::PendingRedrive => JobStatus::Running,
            ExecutionStatus::Succeeded => JobStatus::Succeeded,
            ExecutionStatus::Aborted => JobStatus::Cancelled,
            _ => JobStatus::Failed,
        };
        if !r.job.status.is_terminal() {
            return Ok(r);
        }
        r.job.finished_at = described
            .stop_date()
            .map(aws_sdk_sfn::primitives::DateTime::secs)
            .or(Some(dp::now_secs()));
        match r.job.status {
            JobStatus::Failed => {
                let stage = r.job.stage.map_or("", Stage::as_str);
                let cause = described
                    .cause()
                    .or(described.error())
                    .unwrap_or("the pipeline failed");
                r.job.error = Some(format!("{stage}: {cause}"));
            }
            JobStatus::Cancelled => r.job.error = Some("cancelled".to_owned()),
            _ => {}
        }
        Ok(r)
    }

    /// The record brought up to date with its execution; a newly ended job is stored as ended,
    /// moves its project on and mails its owner (once: a conditional write decides who does).
    /// For the watcher and for requests that change the job anyway, never for a GET.
    async fn refreshed(&self, owner: &UserId, r: Record) -> Result<Record, StoreError> {
        let was_ended = r.job.status.is_terminal();
        let r = self.observed(r).await?;
        if was_ended || !r.job.status.is_terminal() {
            return Ok(r);
        }
        if !self.put_if(owner, &r, true).await? {
            // Someone else saw the end first and did the rest.
            return Ok(self.record(owner, &r.job.project).await?.unwrap_or(r));
        }
        self.running(owner, &r.job.project, false).await?;
        if let Err(e) = self
            .projects
            .set_status(owner, &r.job.project, r.job.status.project_status())
            .await
        {
            tracing::warn!(
                "job {} ended but its project could not be moved on: {e}",
                r.job.id
            );
        }
        self.mail_end(owner, &r.job).await;
        Ok(r)
    }

    /// The stages an execution finished and the one it is in, from its history.
    async fn stages_of(&self, execution: &str) -> Result<(Vec<Stage>, Option<Stage>), StoreError> {
        let mut done = Vec::new();
        let mut current: Option<Stage> = None;
        let mut next: Option<String> = None;
        loop {
            let page = self
                .sfn
                .get_execution_history()
                .execution_arn(execution)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(sfn_error)?;
            for event in page.events() {
                match event.r#type() {
                    HistoryEventType::TaskStateEntered => {
                        let name = event
                            .state_entered_event_details()
                            .map(aws_sdk_sfn::types::StateEnteredEventDetails::name)
                            .unwrap_or_default();
                        current = Stage::ALL.into_iter().find(|&s| task_name(s) == name);
                    }
                    HistoryEventType::TaskSucceeded => {
                        if let Some(stage) = current.take() {
                            done.push(stage);
                        }
                    }
                    _ => {}
                }
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok((done, current))
    }

    /// Erases the project's job (its project is being deleted): stops its execution if it
    /// still runs, deletes its folder in the bucket and its records, and frees the owner's
    /// one-job slot if the job held it.
    pub async fn forget(&self, owner: &UserId, project: &ProjectId) -> Result<(), StoreError> {
        let Some(r) = self.record(owner, project).await? else {
            return Ok(());
        };
        if !self.observed(r.clone()).await?.job.status.is_terminal() {
            let stopped = self
                .sfn
                .stop_execution()
                .execution_arn(&r.execution)
                .error("Deleted")
                .cause("the project was deleted")
                .send()
                .await;
            if let Err(e) = stopped {
                // Ended on its own in the meantime: nothing left to stop.
                tracing::warn!(job = %r.job.id, "stopping a deleted project's job: {}", describe(&e));
            }
        }
        self.bucket.delete_prefix(&job_prefix(&r.job.id)).await?;
        self.table.delete(Self::key(owner, project)).await?;
        self.running(owner, project, false).await?;
        let freed = self
            .table
            .client()
            .delete_item()
            .table_name(self.table.name())
            .set_key(Some(dp::key(dp::owner_pk(owner), "ACTIVE")))
            .condition_expression("execution = :mine")
            .expression_attribute_values(":mine", dp::text(&r.execution))
            .send()
            .await;
        match freed {
            Ok(_) => Ok(()),
            Err(e) if dp::is_condition_failure(&e) => Ok(()),
            Err(e) => Err(dp::internal(e)),
        }
    }

    /// Starts an execution of `r` from `from`.
    async fn start(&self, owner: &UserId, r: &Record, from: Stage) -> Result<(), StoreError> {
        let archive = format!(
            "s3://{}/{}",
            self.bucket_name,
            S3Uploads::archive_key(owner, &r.job.project)
        );
        let input = serde_json::json!({
            "job_id": r.job.id,
            "params": r.job.params,
            "archive": archive,
            "start_from": from,
        });
        let started = self
            .sfn
            .start_execution()
            .state_machine_arn(&self.state_machine)
            .name(r.execution.rsplit(':').next().unwrap_or_default())
            .input(input.to_string())
            .send()
            .await;
        if let Err(e) = started {
            // Nothing runs: the job must not stay "running" (it would block the user's next
            // launch), so it is recorded as failed to start, and the user can try again.
            let failed = Record {
                job: Job {
                    status: JobStatus::Failed,
                    error: Some(
                        "the pipeline could not be started; try again in a moment".to_owned(),
                    ),
                    finished_at: Some(dp::now_secs()),
                    ..r.job.clone()
                },
                execution: r.execution.clone(),
                attempt: r.attempt,
            };
            self.put(owner, &failed).await?;
            self.running(owner, &r.job.project, false).await?;
            return Err(sfn_error(e));
        }
        Ok(())
    }

    fn execution_arn(&self, name: &str) -> String {
        // arn:aws:states:REGION:ACCOUNT:stateMachine:NAME → …:execution:NAME:EXECUTION
        let base = self
            .state_machine
            .replacen(":stateMachine:", ":execution:", 1);
        format!("{base}:{name}")
    }

    /// Takes the owner's one-job slot for `execution`, or refuses while any job of `owner` is
    /// still running. The slot (`sk = "ACTIVE"`, naming the execution that holds it) is written
    /// on condition that it still holds what was read here, so of two launches at the same
    /// moment — both seeing nothing running — only one gets it: a check then an unconditional
    /// write would start both. Taken before the job's record is written; a slot whose execution
    /// has no record yet is a launch in between, and it holds the slot for `CLAIM_GRACE_SECS` (a
    /// launch that died there frees it when that has passed).
    async fn claim(&self, owner: &UserId, execution: &str) -> Result<(), StoreError> {
        let busy = || {
            StoreError::LimitReached(
                "one job at a time: wait for the running job or cancel it".into(),
            )
        };
        let pk = dp::owner_pk(owner);
        let slot = self.table.get(dp::key(pk.as_str(), "ACTIVE")).await?;
        let held = slot
            .as_ref()
            .and_then(|i| dp::s(i, "execution"))
            .map(str::to_owned);
        let mut recorded = false;
        for item in self.table.query(&pk, "JOB#").await? {
            let r = self.refreshed(owner, Self::record_from(&item)?).await?;
            if !r.job.status.is_terminal() {
                return Err(busy());
            }
            recorded |= held.as_deref() == Some(r.execution.as_str());
        }
        let claimed_at = slot.as_ref().and_then(|i| dp::n(i, "claimed_at"));
        let now = dp::now_secs();
        if held.is_some() && !recorded && claimed_at.is_some_and(|t| now - t < CLAIM_GRACE_SECS) {
            return Err(busy());
        }
        let mut item = dp::key(pk, "ACTIVE");
        item.insert("execution".to_owned(), dp::text(execution));
        item.insert("claimed_at".to_owned(), dp::num(now));
        let put = self
            .table
            .client()
            .put_item()
            .table_name(self.table.name())
            .set_item(Some(item));
        let put = match &held {
            Some(seen) => put
                .condition_expression("execution = :seen")
                .expression_attribute_values(":seen", dp::text(seen)),
            None => put.condition_expression("attribute_not_exists(pk)"),
        };
        match put.send().await {
            Ok(_) => Ok(()),
            Err(e) if dp::is_condition_failure(&e) => Err(busy()),
            Err(e) => Err(dp::internal(e)),
        }
    }

    async fn archive_uploaded_at(
        &self,
        owner: &UserId,
        project: &ProjectId,
    ) -> Result<Option<i64>, StoreError> {
        Ok(self
            .bucket
            .head(&S3Uploads::archive_key(owner, project))
            .await?
            .map(|(_, modified)| modified))
    }

    /// The stages' progress lines after event `after`, newest 500.
    async fn events(&self, job: &Job, after: i64) -> Result<Vec<JobEvent>, StoreError> {
        let mut events = Vec::new();
        for (i, stage) in (0_i64..).zip(Stage::ALL) {
            if (i + 1) * EVENTS_PER_STAGE <= after {
                continue;
            }
            let Some(raw) = self
                .bucket
                .get(&format!("{}progress/{stage}.jsonl", job_prefix(&job.id)))
                .await?
            else {
                continue;
            };
            for (n, line) in (1_i64..).zip(String::from_utf8_lossy(&raw).lines()) {
                let id = i * EVENTS_PER_STAGE + n;
                if id <= after {
                    continue;
                }
                let Some(l) = ProgressLine::read(line) else {
                    continue;
                };
                events.push(JobEvent {
                    id,
                    at: job.started_at.unwrap_or(job.created_at),
                    stage,
                    train: l.train_point(),
                    step: l.step,
                    fraction: l.fraction,
                    message: l.message,
                });
            }
        }
        let skip = events.len().saturating_sub(500);
        Ok(events.split_off(skip))
    }
}

/// `serde_json::to_string` behind a trait object, for the record's JSON attributes.
mod erased {
    pub trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}

#[async_trait]
impl JobRunner for SfnJobs {
    async fn launch(
        &self,
        owner: &UserId,
        project: &ProjectId,
        params: JobParams,
    ) -> Result<Job, StoreError> {
        self.projects.get(owner, project).await?;
        if self.archive_uploaded_at(owner, project).await?.is_none() {
            return Err(invalid("photos", "upload the photos first"));
        }
        let id = dp::new_id();
        let execution = self.execution_arn(&id);
        self.claim(owner, &execution).await?;
        // The project's record names one job: the earlier one, overwritten below, can never be
        // served, resumed or found again (the delivered model is always the latest job's).
        let earlier = self.record(owner, project).await?.map(|r| r.job.id);
        let now = dp::now_secs();
        let r = Record {
            job: Job {
                id: id.clone(),
                project: project.clone(),
                status: JobStatus::Running,
                stage: Some(Stage::Ingest),
                done_stages: Vec::new(),
                params,
                error: None,
                created_at: now,
                started_at: Some(now),
                finished_at: None,
            },
            execution,
            attempt: 0,
        };
        // The record first: an execution nobody knows about could not be followed or stopped.
        self.put(owner, &r).await?;
        self.running(owner, project, true).await?;
        self.start(owner, &r, Stage::Ingest).await?;
        self.projects
            .set_status(owner, project, JobStatus::Running.project_status())
            .await?;
        // So its files go now, or they would stay in the bucket for as long as the bucket does.
        // A failure here costs storage, not the launch: logged, and the launch stands.
        if let Some(earlier) = earlier.filter(|e| *e != id) {
            match self.bucket.delete_prefix(&job_prefix(&earlier)).await {
                Ok(n) => {
                    tracing::info!(job = %earlier, objects = n, "removed a superseded job's files");
                }
                Err(e) => {
                    tracing::warn!(job = %earlier, error = %e, "removing a superseded job's files");
                }
            }
        }
        Ok(r.job)
    }

    async fn active(&self) -> Result<Vec<(UserId, Job)>, StoreError> {
        let mut jobs = Vec::new();
        for item in self.table.query("RUNNING", "").await? {
            let (Some(owner), Some(project)) = (dp::s(&item, "owner"), dp::s(&item, "project"))
            else {
                continue;
            };
            let (owner, project) = (UserId(owner.to_owned()), ProjectId(project.to_owned()));
            // As Step Functions sees it now (an end the watcher has not recorded yet is an end).
            if let Some(r) = self.record(&owner, &project).await? {
                let r = self.observed(r).await?;
                if !r.job.status.is_terminal() {
                    jobs.push((owner, r.job));
                }
            }
        }
        jobs.sort_by_key(|(_, j)| j.created_at);
        Ok(jobs)
    }

    async fn latest(
        &self,
        owner: &UserId,
        project: &ProjectId,
        after: i64,
    ) -> Result<Option<(Job, Vec<JobEvent>)>, StoreError> {
        let Some(stored) = self.record(owner, project).await? else {
            return Ok(None);
        };
        let was_ended = stored.job.status.is_terminal();
        let r = self.observed(stored).await?;
        if !was_ended && r.job.status.is_terminal() {
            // Recorded (project moved on, owner mailed) by the watcher, not by this GET.
            self.wake.notify_one();
        }
        let events = self.events(&r.job, after).await?;
        Ok(Some((r.job, events)))
    }

    async fn cancel(&self, owner: &UserId, project: &ProjectId) -> Result<(), StoreError> {
        let r = self
            .record(owner, project)
            .await?
            .ok_or(StoreError::NotFound)?;
        let r = self.refreshed(owner, r).await?;
        if r.job.status.is_terminal() {
            return Err(StoreError::NotFound);
        }
        // Stopping the execution stops the stage's SageMaker job too (`.sync`).
        self.sfn
            .stop_execution()
            .execution_arn(&r.execution)
            .error("Cancelled")
            .cause("cancelled by the user")
            .send()
            .await
            .map_err(sfn_error)?;
        Ok(())
    }

    async fn resume(
        &self,
        owner: &UserId,
        project: &ProjectId,
        from: Option<Stage>,
        params: Option<JobParams>,
    ) -> Result<Job, StoreError> {
        self.projects.get(owner, project).await?;
        let bad = |message: &str| invalid("from", message);
        let r = self
            .record(owner, project)
            .await?
            .ok_or_else(|| bad("nothing has run yet: start processing first"))?;
        let mut r = self.refreshed(owner, r).await?;
        if !r.job.status.is_terminal() {
            return Err(StoreError::LimitReached(
                "the job is still running: wait for it or cancel it".into(),
            ));
        }
        let rerun = domain::job::rerun(&r.job.done_stages, from)?;
        if !rerun.keep.is_empty()
            && self
                .archive_uploaded_at(owner, project)
                .await?
                .is_some_and(|at| at > r.job.created_at)
        {
            return Err(bad(
                "new photos were uploaded since this job ran: start processing to use them",
            ));
        }
        r.attempt += 1;
        r.execution = self.execution_arn(&format!("{}-r{}", r.job.id, r.attempt));
        self.claim(owner, &r.execution).await?;
        r.job.status = JobStatus::Running;
        r.job.stage = Some(rerun.first);
        r.job.done_stages = rerun.keep;
        r.job.params = params.unwrap_or(r.job.params);
        r.job.error = None;
        r.job.started_at = Some(dp::now_secs());
        r.job.finished_at = None;
        self.put(owner, &r).await?;
        self.running(owner, project, true).await?;
        self.start(owner, &r, rerun.first).await?;
        self.projects
            .set_status(owner, project, JobStatus::Running.project_status())
            .await?;
        Ok(r.job)
    }
}
