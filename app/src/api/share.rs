//! Public share links for a project's delivered model (`/s/{token}`).

use leptos::prelude::*;

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::services::require_user;

#[cfg(feature = "ssr")]
fn project_id(raw: &str) -> Result<domain::ProjectId, AppError> {
    domain::ProjectId::parse(raw).map_err(|_| AppError::NotFound)
}

/// The path of the project's share link (`/s/{token}`), if it is shared.
#[server(prefix = "/api", endpoint = "share_link")]
pub async fn share_link(id: String) -> Result<Option<String>, AppError> {
    let (svc, user, _) = require_user().await?;
    let token = svc.shares.current(&user.id, &project_id(&id)?).await?;
    Ok(token.map(|t| format!("/s/{t}")))
}

/// Shares the project's model: returns the link's path, the same one on every call until revoked.
/// Only a delivered project can be shared — there is nothing to show before.
#[server(prefix = "/api", endpoint = "create_share_link")]
pub async fn create_share_link(id: String) -> Result<String, AppError> {
    let (svc, user, _) = require_user().await?;
    let project = project_id(&id)?;
    let delivered =
        svc.projects.get(&user.id, &project).await?.status == domain::ProjectStatus::Delivered;
    if !delivered {
        return Err(AppError::Invalid {
            field: "share".into(),
            message: "only a delivered model can be shared".into(),
        });
    }
    let token = svc.shares.share(&user.id, &project).await?;
    Ok(format!("/s/{token}"))
}

/// Stops sharing: the old link stops working at once.
#[server(prefix = "/api", endpoint = "revoke_share_link")]
pub async fn revoke_share_link(id: String) -> Result<(), AppError> {
    let (svc, user, _) = require_user().await?;
    Ok(svc.shares.revoke(&user.id, &project_id(&id)?).await?)
}
