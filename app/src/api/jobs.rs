//! Processing: launch the pipeline on a project's uploaded photos, follow it, cancel it.

// `launch_job` takes one argument per field of the launch form, as the form posts them; the
// browser-side function `#[server]` generates from it does not carry a function-level allow.
#![allow(clippy::too_many_arguments)]

use domain::job::{Job, JobEvent, ModelReport};
use leptos::prelude::*;

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::services::require_user;

/// The latest job of a project and the events after `after`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct JobProgress {
    pub job: Job,
    pub events: Vec<JobEvent>,
    /// The delivered model's quality report, once the job has succeeded.
    pub report: Option<ModelReport>,
}

#[cfg(feature = "ssr")]
fn project_id(raw: &str) -> Result<domain::ProjectId, AppError> {
    domain::ProjectId::parse(raw).map_err(|_| AppError::NotFound)
}

/// Starts processing with a quality preset (`preview`, `standard`, `high`), optionally
/// overriding its settings (the form's advanced fields; empty = as the preset says). With `from`
/// (a stage name) it runs the project's last job again from that stage, keeping what the stages
/// before it made, with these settings.
#[server(prefix = "/api", endpoint = "launch_job")]
pub async fn launch_job(
    id: String,
    preset: String,
    iterations: Option<String>,
    working_size: Option<String>,
    train_size: Option<String>,
    sh_degree: Option<String>,
    max_gaussians: Option<String>,
    from: Option<String>,
) -> Result<Job, AppError> {
    let (svc, user, _) = require_user().await?;
    let params = job_params(
        &preset,
        &Advanced {
            iterations,
            working_size,
            train_size,
            sh_degree,
            max_gaussians,
        },
    )?;
    let project = project_id(&id)?;
    match from.as_deref().map(str::trim) {
        None | Some("") => Ok(svc.jobs.launch(&user.id, &project, params).await?),
        Some(stage) => {
            let stage = domain::job::Stage::parse(stage).ok_or_else(|| AppError::Invalid {
                field: "from".into(),
                message: format!("choose {}", domain::job::Stage::choices()),
            })?;
            Ok(svc
                .jobs
                .resume(&user.id, &project, Some(stage), Some(params))
                .await?)
        }
    }
}

/// Runs the project's last job again from the stage where it stopped (after a failure or a
/// cancel), with the same settings and everything its finished stages made.
#[server(prefix = "/api", endpoint = "retry_job")]
pub async fn retry_job(id: String) -> Result<Job, AppError> {
    let (svc, user, _) = require_user().await?;
    Ok(svc
        .jobs
        .resume(&user.id, &project_id(&id)?, None, None)
        .await?)
}

/// The advanced fields as typed (empty or absent = as the preset says).
#[cfg(feature = "ssr")]
struct Advanced {
    iterations: Option<String>,
    working_size: Option<String>,
    train_size: Option<String>,
    sh_degree: Option<String>,
    max_gaussians: Option<String>,
}

/// A preset's settings with the advanced fields applied, each checked against its range.
#[cfg(feature = "ssr")]
fn job_params(preset: &str, advanced: &Advanced) -> Result<domain::job::JobParams, AppError> {
    let invalid = |field: &str, message: &str| AppError::Invalid {
        field: field.into(),
        message: message.into(),
    };
    let mut params = domain::job::Preset::parse(preset)
        .map(domain::job::Preset::params)
        .ok_or_else(|| invalid("preset", "choose preview, standard or high"))?;
    // Each field: its name, what it says, its accepted range and the message when outside it.
    let number = |field: &str,
                  raw: &Option<String>,
                  range: std::ops::RangeInclusive<u32>,
                  message: &str|
     -> Result<Option<u32>, AppError> {
        match raw.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(v) => {
                let n: u32 = v
                    .parse()
                    .map_err(|_| invalid(field, "a whole number, please"))?;
                if range.contains(&n) {
                    Ok(Some(n))
                } else {
                    Err(invalid(field, message))
                }
            }
        }
    };
    let sizes = "image sizes must be 256–8192 pixels";
    if let Some(n) = number(
        "iterations",
        &advanced.iterations,
        50..=100_000,
        "iterations must be 50–100000",
    )? {
        params.iterations = n;
    }
    if let Some(n) = number("working_size", &advanced.working_size, 256..=8192, sizes)? {
        params.working_size = n;
    }
    if let Some(n) = number("train_size", &advanced.train_size, 256..=8192, sizes)? {
        params.train_size = n;
    }
    if let Some(n) = number(
        "sh_degree",
        &advanced.sh_degree,
        0..=3,
        "the colour detail (SH degree) is 0, 1, 2 or 3",
    )? {
        params.sh_degree = u8::try_from(n).unwrap_or(3);
    }
    if let Some(n) = number(
        "max_gaussians",
        &advanced.max_gaussians,
        1_000..=6_000_000,
        "the Gaussian cap must be 1000–6000000",
    )? {
        params.max_gaussians = n;
    }
    Ok(params)
}

#[server(prefix = "/api", endpoint = "cancel_job")]
pub async fn cancel_job(id: String) -> Result<(), AppError> {
    let (svc, user, _) = require_user().await?;
    Ok(svc.jobs.cancel(&user.id, &project_id(&id)?).await?)
}

#[server(prefix = "/api", endpoint = "job_status")]
pub async fn job_status(id: String, after: i64) -> Result<Option<JobProgress>, AppError> {
    let (svc, user, _) = require_user().await?;
    let id = project_id(&id)?;
    svc.projects.get(&user.id, &id).await?; // another user's project is NotFound
    let Some((job, events)) = svc.jobs.latest(&user.id, &id, after).await? else {
        return Ok(None);
    };
    // A report that cannot be read must not hide the job itself: the page then shows the
    // downloads without the figures.
    let report = svc.delivered.model_report(&job).await.unwrap_or_else(|e| {
        tracing::warn!(project = %id.0, error = %e, "no model report");
        None
    });
    Ok(Some(JobProgress {
        job,
        events,
        report,
    }))
}
