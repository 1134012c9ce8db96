//! Processing: launch the pipeline on a project's uploaded photos, follow it, cancel it.

use domain::ports::{Job, JobEvent};
use leptos::prelude::*;

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::services::require_user;

/// The latest job of a project and the events after `after`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct JobProgress {
    pub job: Job,
    pub events: Vec<JobEvent>,
}

#[cfg(feature = "ssr")]
fn project_id(raw: &str) -> Result<domain::ProjectId, AppError> {
    domain::ProjectId::parse(raw).map_err(|_| AppError::NotFound)
}

/// Starts processing with a quality preset (`preview`, `standard`, `high`), optionally
/// overriding its training iterations and image sizes (advanced settings). With `from` (a stage
/// name) it runs the project's last job again from that stage, keeping what the stages before it
/// made, with these settings.
#[server(prefix = "/api", endpoint = "launch_job")]
pub async fn launch_job(
    id: String,
    preset: String,
    iterations: Option<String>,
    working_size: Option<String>,
    train_size: Option<String>,
    from: Option<String>,
) -> Result<Job, AppError> {
    let (svc, user, _) = require_user().await?;
    let params = job_params(&preset, iterations, working_size, train_size)?;
    let project = project_id(&id)?;
    match from.as_deref().map(str::trim) {
        None | Some("") => Ok(svc.jobs.launch(&user.id, &project, params).await?),
        Some(stage) => Ok(svc
            .jobs
            .resume(&user.id, &project, Some(stage), Some(params))
            .await?),
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

/// A preset's settings with the advanced fields (text, empty = as the preset says) applied.
#[cfg(feature = "ssr")]
fn job_params(
    preset: &str,
    iterations: Option<String>,
    working_size: Option<String>,
    train_size: Option<String>,
) -> Result<domain::ports::JobParams, AppError> {
    let invalid = |field: &str, message: &str| AppError::Invalid {
        field: field.into(),
        message: message.into(),
    };
    let mut params = domain::ports::JobParams::preset(preset)
        .ok_or_else(|| invalid("preset", "choose preview, standard or high"))?;
    let number = |field: &str, raw: Option<String>| -> Result<Option<u32>, AppError> {
        match raw.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| invalid(field, "a whole number, please")),
        }
    };
    let (iterations, working_size, train_size) = (
        number("iterations", iterations)?,
        number("working_size", working_size)?,
        number("train_size", train_size)?,
    );
    if let Some(n) = iterations {
        if !(50..=100_000).contains(&n) {
            return Err(invalid("iterations", "iterations must be 50–100000"));
        }
        params.iterations = n;
    }
    for (field, value, target) in [
        ("working_size", working_size, &mut params.working_size),
        ("train_size", train_size, &mut params.train_size),
    ] {
        if let Some(v) = value {
            if !(256..=8192).contains(&v) {
                return Err(invalid(field, "image sizes must be 256–8192 pixels"));
            }
            *target = v;
        }
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
    Ok(svc
        .jobs
        .latest(&user.id, &id, after)
        .await?
        .map(|(job, events)| JobProgress { job, events }))
}
