use domain::{UserSummary, WaitlistEntry};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::services::require_admin;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    pub users: Vec<UserSummary>,
    pub waitlist: Vec<WaitlistEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteResult {
    pub email: String,
    pub temporary_password: String,
    pub resent: bool,
}

#[server(prefix = "/api", endpoint = "admin_overview")]
pub async fn admin_overview() -> Result<Overview, AppError> {
    let (svc, _) = require_admin().await?;
    Ok(Overview {
        users: svc.auth.list_users().await?,
        waitlist: svc.waitlist.list().await?,
    })
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
