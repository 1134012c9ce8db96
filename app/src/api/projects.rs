use domain::Project;
use leptos::prelude::*;

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::services::require_user;
#[cfg(feature = "ssr")]
use domain::{FlightInputs, ProjectId, ProjectTitle};

/// A malformed id names no project: answer exactly as for someone else's project.
#[cfg(feature = "ssr")]
fn project_id(raw: &str) -> Result<ProjectId, AppError> {
    ProjectId::parse(raw).map_err(|_| AppError::NotFound)
}

#[server(prefix = "/api", endpoint = "list_projects")]
pub async fn list_projects() -> Result<Vec<Project>, AppError> {
    let (svc, user, _) = require_user().await?;
    Ok(svc.projects.list(&user.id).await?)
}

#[server(prefix = "/api", endpoint = "get_project")]
pub async fn get_project(id: String) -> Result<Project, AppError> {
    let (svc, user, _) = require_user().await?;
    Ok(svc.projects.get(&user.id, &project_id(&id)?).await?)
}

#[server(prefix = "/api", endpoint = "create_project")]
pub async fn create_project(title: String) -> Result<Project, AppError> {
    let (svc, user, _) = require_user().await?;
    Ok(svc
        .projects
        .create(&user.id, &ProjectTitle::parse(&title)?)
        .await?)
}

#[server(prefix = "/api", endpoint = "rename_project")]
pub async fn rename_project(id: String, title: String) -> Result<Project, AppError> {
    let (svc, user, _) = require_user().await?;
    let id = project_id(&id)?;
    Ok(svc
        .projects
        .rename(&user.id, &id, &ProjectTitle::parse(&title)?)
        .await?)
}

#[server(prefix = "/api", endpoint = "save_flight_inputs")]
pub async fn save_flight_inputs(
    id: String,
    center: String,
    battery_minutes: String,
    batteries: String,
    min_height_ft: String,
    max_height_ft: String,
) -> Result<Project, AppError> {
    let (svc, user, _) = require_user().await?;
    let id = project_id(&id)?;
    let inputs = FlightInputs::parse(
        &center,
        &battery_minutes,
        &batteries,
        &min_height_ft,
        &max_height_ft,
    )?;
    Ok(svc
        .projects
        .set_flight_inputs(&user.id, &id, &inputs)
        .await?)
}

/// Deletes a project. The page asks for confirmation before calling this.
#[server(prefix = "/api", endpoint = "delete_project")]
pub async fn delete_project(id: String) -> Result<(), AppError> {
    let (svc, user, _) = require_user().await?;
    svc.projects.delete(&user.id, &project_id(&id)?).await?;
    leptos_axum::redirect("/dashboard");
    Ok(())
}
