//! Delivered files: `GET /api/projects/{id}/model.sog` (and `model.ply`, `report.json`) from the
//! project's latest successful job, for its owner only.

use app::services::Services;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use domain::ProjectId;
use http::{HeaderMap, StatusCode};

use crate::session::{attachment, error_response, user};

pub async fn download(
    svc: Services,
    data_dir: std::path::PathBuf,
    Path((id, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (relative, content_type) = match file.as_str() {
        "model.sog" => ("model.sog", "application/zip"),
        "model.ply" => ("train/point_cloud.ply", "application/octet-stream"),
        "report.json" => ("train/report.json", "application/json"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let u = match user(&svc, &headers).await {
        Ok(u) => u,
        Err(e) => return error_response(&e),
    };
    let Ok(project) = ProjectId::parse(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let job = match svc.jobs.latest(&u.id, &project, i64::MAX).await {
        Ok(Some((job, _))) if job.status == "succeeded" => job,
        Ok(_) => return (StatusCode::NOT_FOUND, "no delivered model yet").into_response(),
        Err(e) => return error_response(&e.into()),
    };
    let path = data_dir.join("jobs").join(&job.id).join(relative);
    match tokio::fs::read(&path).await {
        Ok(bytes) => attachment(bytes, content_type, "private, max-age=300", &file),
        Err(_) => (StatusCode::NOT_FOUND, "the model file is missing").into_response(),
    }
}
