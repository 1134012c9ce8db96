//! Serving delivered files: `GET /api/projects/{id}/files/model.sog` (and `model.ply`,
//! `report.json`) from the project's latest successful job, for its owner only; `GET
//! /s/{token}/model.sog` for anyone holding the project's share link. Where the file is comes
//! from the `DeliveredFiles` port: this server's disk (served here, with ranges) or S3 (a
//! redirect to a short-lived presigned URL).

use app::services::Services;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use domain::job::{DeliveredFile, Job, JobStatus};
use domain::ports::Delivery;
use domain::ProjectId;
use http::{HeaderMap, StatusCode};

use crate::session::{error_response, user};

pub async fn download(
    svc: Services,
    Path((id, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let u = match user(&svc, &headers).await {
        Ok(u) => u,
        Err(e) => return error_response(&e),
    };
    let Ok(project) = ProjectId::parse(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(file) = DeliveredFile::from_download_name(&file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    serve_delivered(
        &svc,
        &u.id,
        &project,
        file,
        "private, max-age=300",
        &headers,
    )
    .await
}

/// `GET /s/{token}/model.sog`: a shared model, for anyone with the link (the model only: not the
/// PLY or the report).
pub async fn shared(svc: Services, Path(token): Path<String>, headers: HeaderMap) -> Response {
    match svc.shares.resolve(&token).await {
        Ok(Some((owner, project))) => {
            // Revalidated often: a revoked link must stop serving soon, even from caches.
            serve_delivered(
                &svc,
                &owner,
                &project,
                DeliveredFile::Sog,
                "public, max-age=60",
                &headers,
            )
            .await
        }
        Ok(None) => (
            StatusCode::NOT_FOUND,
            "This share link does not exist or was revoked.",
        )
            .into_response(),
        Err(e) => error_response(&e.into()),
    }
}

/// The job whose output a delivered project shows: its latest job, if that one succeeded.
pub async fn delivered_job(
    svc: &Services,
    owner: &domain::UserId,
    project: &ProjectId,
) -> Result<Option<Job>, domain::StoreError> {
    Ok(svc
        .jobs
        .latest(owner, project, i64::MAX)
        .await?
        .map(|(job, _)| job)
        .filter(|job| job.status == JobStatus::Succeeded))
}

/// Serves a delivered job's file with HTTP range requests (the viewer reads a `.sog`'s central
/// directory from its last bytes before streaming the rest) and conditional requests.
async fn serve_delivered(
    svc: &Services,
    owner: &domain::UserId,
    project: &ProjectId,
    file: DeliveredFile,
    cache: &'static str,
    headers: &HeaderMap,
) -> Response {
    use http::header::{
        CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, IF_MODIFIED_SINCE, IF_RANGE,
        IF_UNMODIFIED_SINCE, RANGE,
    };
    use tower::ServiceExt;
    let job = match delivered_job(svc, owner, project).await {
        Ok(Some(job)) => job,
        Ok(None) => return (StatusCode::NOT_FOUND, "no delivered model yet").into_response(),
        Err(e) => return error_response(&e.into()),
    };
    // In the cloud the file is in S3: the browser fetches it from there (ranges included)
    // through a short-lived presigned URL, after the same owner or share-link check.
    let path = match svc.delivered.locate(&job, file).await {
        Ok(Delivery::Url(url)) => {
            let Ok(location) = http::HeaderValue::from_str(&url) else {
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            };
            return (
                StatusCode::TEMPORARY_REDIRECT,
                [
                    (http::header::LOCATION, location),
                    (CACHE_CONTROL, http::HeaderValue::from_static("no-store")),
                ],
            )
                .into_response();
        }
        Ok(Delivery::File(path)) => path,
        Err(e) => return error_response(&e.into()),
    };
    let mut request = http::Request::new(axum::body::Body::empty());
    for name in [RANGE, IF_RANGE, IF_MODIFIED_SINCE, IF_UNMODIFIED_SINCE] {
        if let Some(value) = headers.get(&name) {
            request.headers_mut().insert(name, value.clone());
        }
    }
    let Ok(response) = tower_http::services::ServeFile::new(&path)
        .oneshot(request)
        .await;
    if response.status() == StatusCode::NOT_FOUND {
        return (StatusCode::NOT_FOUND, "the model file is missing").into_response();
    }
    let mut response = response.map(axum::body::Body::new);
    let h = response.headers_mut();
    h.insert(
        CONTENT_TYPE,
        http::HeaderValue::from_static(file.content_type()),
    );
    h.insert(CACHE_CONTROL, http::HeaderValue::from_static(cache));
    if let Ok(v) = http::HeaderValue::from_str(&format!(
        "attachment; filename=\"{}\"",
        file.download_name()
    )) {
        h.insert(CONTENT_DISPOSITION, v);
    }
    response
}
