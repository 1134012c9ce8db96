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
    /// The admin looking (who may not disable themselves).
    pub me: String,
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
    Ok(Overview {
        users: svc.auth.list_users().await?,
        waitlist: svc.waitlist.list().await?,
        me: me.email.to_string(),
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
