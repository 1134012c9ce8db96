use domain::{UserSummary, WaitlistEntry};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::services::require_admin;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub users: Vec<UserSummary>,
    pub waitlist: Vec<WaitlistEntry>,
    /// Every job not yet ended, oldest first.
    pub jobs: Vec<ActiveJob>,
    /// The admin looking (who may not disable themselves).
    pub me: String,
}

/// A job as the operator sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveJob {
    pub owner_id: String,
    pub owner_email: String,
    pub project_id: String,
    pub project_title: String,
    /// Seconds since it started (or was queued), computed by the server so that the page
    /// renders the same on both sides.
    pub running_secs: i64,
    pub job: domain::job::Job,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteResult {
    pub email: String,
    pub temporary_password: String,
    pub resent: bool,
}

#[server(prefix = "/api", endpoint = "admin_overview")]
pub async fn admin_overview() -> Result<Overview, AppError> {
    let (svc, me) = require_admin().await?;
    let users = svc.auth.list_users().await?;
    let mut jobs = Vec::new();
    for (owner, job) in svc.jobs.active().await? {
        let project_title = match svc.projects.get(&owner, &job.project).await {
            Ok(p) => p.title.as_str().to_owned(),
            Err(_) => "(deleted)".to_owned(),
        };
        jobs.push(ActiveJob {
            owner_email: users
                .iter()
                .find(|u| u.id == owner)
                .map_or_else(|| owner.0.clone(), |u| u.email.to_string()),
            owner_id: owner.0,
            project_id: job.project.0.clone(),
            project_title,
            running_secs: ids::now_secs() - job.started_at.unwrap_or(job.created_at),
            job,
        });
    }
    Ok(Overview {
        users,
        waitlist: svc.waitlist.list().await?,
        jobs,
        me: me.email.to_string(),
    })
}

/// Stops another user's job (or one's own), as its owner's Cancel would.
#[server(prefix = "/api", endpoint = "admin_stop_job")]
pub async fn admin_stop_job(owner: String, project: String) -> Result<(), AppError> {
    let (svc, _) = require_admin().await?;
    svc.jobs
        .cancel(&domain::UserId(owner), &domain::ProjectId(project))
        .await?;
    Ok(())
}

/// Invites someone (or re-sends a pending invitation). The temporary password is shown once to
/// the admin, who passes it on.
#[server(prefix = "/api", endpoint = "admin_invite")]
pub async fn admin_invite(email: String, admin: Option<String>) -> Result<InviteResult, AppError> {
    let (svc, _) = require_admin().await?;
    let email = domain::Email::parse(&email)?;
    let role = if admin.is_some() {
        domain::Role::Admin
    } else {
        domain::Role::User
    };
    let inv = svc.auth.invite(&email, role).await?;
    Ok(InviteResult {
        email: inv.email.to_string(),
        temporary_password: inv.temporary_password,
        resent: inv.resent,
    })
}

/// Disables an account (`state` = "disabled": it is signed out everywhere at once and cannot
/// sign in) or enables it again ("enabled"). An admin cannot disable their own account.
#[server(prefix = "/api", endpoint = "admin_set_account")]
pub async fn admin_set_account(email: String, state: String) -> Result<(), AppError> {
    let (svc, me) = require_admin().await?;
    let email = domain::Email::parse(&email)?;
    let disabled = match state.as_str() {
        "disabled" => true,
        "enabled" => false,
        _ => {
            return Err(AppError::Invalid {
                field: "state".into(),
                message: "Choose enabled or disabled.".into(),
            })
        }
    };
    if disabled && email == me.email {
        return Err(AppError::Invalid {
            field: "email".into(),
            message: "You can't disable your own account; ask another admin.".into(),
        });
    }
    svc.auth.set_disabled(&email, disabled).await?;
    Ok(())
}
