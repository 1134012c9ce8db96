//! The mission-file download (`GET /api/projects/{id}/flight/battery-N.csv|kmz?…`): a file, so
//! a plain route rather than a server function; the work is `app::api::flight::mission_file`.

use app::api::flight::{mission_file, FlightQuery};
use app::services::Services;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};

pub async fn download(
    svc: Services,
    Path((id, file)): Path<(String, String)>,
    Query(q): Query<FlightQuery>,
    headers: HeaderMap,
) -> Response {
    // Downloading changes the project's status, so a link on another site must not trigger it
    // (SameSite=Lax cookies still ride along on top-level cross-site navigations).
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return (
            StatusCode::FORBIDDEN,
            "Open the download from the project page.",
        )
            .into_response();
    }
    let token = crate::session::token(&svc, &headers);
    match mission_file(&svc, token, &id, &file, &q).await {
        Ok(d) => crate::session::attachment(d.bytes, d.content_type, "no-store", &d.file_name),
        Err(e) => crate::session::error_response(&e),
    }
}
