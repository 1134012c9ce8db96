//! The resumable upload protocol (`UploadStore` over HTTP):
//!
//! ```text
//! POST /api/projects/{id}/uploads   {"file_name": "photos.zip", "size": N}  → the session
//! GET  /api/uploads/{upload}                                               → the session (received parts)
//! PUT  /api/uploads/{upload}/parts/{n}   raw bytes of part n (1-based)      → 204
//! POST /api/uploads/{upload}/complete                                      → the session
//! GET  /api/uploads/{upload}/parts/{n}/url  → {"url": null} or {"url": "https://…"}
//! POST /api/uploads/{upload}/parts/{n}/etag {"etag": "\"…\""}              → 204
//! ```
//!
//! Where the storage takes parts directly (S3 in the cloud), `url` is a presigned URL: the
//! client `PUT`s the part there and reports the `ETag` the storage answered with; otherwise the
//! part goes to `PUT …/parts/{n}`.
//!
//! A client resumes after a dropped connection or a reload by asking which parts arrived and
//! sending the rest. Parts may go in parallel and in any order; re-sending one is harmless.

use app::error::AppError;
use app::services::Services;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use domain::ProjectId;
use http::{HeaderMap, StatusCode};

use crate::adapters::local_uploads::PART_SIZE;
use crate::session::{error_response, user};

#[derive(serde::Deserialize)]
struct ETag {
    etag: String,
}

#[derive(serde::Deserialize)]
struct Create {
    file_name: String,
    size: u64,
}

/// The upload routes, with a body limit of one part (the rest of the API keeps its small one).
pub fn routes(svc: Services) -> Router {
    let (s1, s2, s3, s4) = (svc.clone(), svc.clone(), svc.clone(), svc.clone());
    let (s5, s6) = (svc.clone(), svc);
    let part_limit = usize::try_from(PART_SIZE).unwrap_or(usize::MAX) + 1024;
    Router::new()
        .route(
            "/api/projects/{id}/uploads",
            post(move |Path(id): Path<String>, headers: HeaderMap, Json(c): Json<Create>| async move {
                reply(create(&s1, &headers, &id, &c).await)
            }),
        )
        .route(
            "/api/uploads/{upload}",
            get(move |Path(upload): Path<String>, headers: HeaderMap| async move {
                reply(async { s2.uploads.get(&user(&s2, &headers).await?.id, &upload).await.map_err(AppError::from) }.await)
            }),
        )
        .route(
            "/api/uploads/{upload}/parts/{n}",
            put(move |Path((upload, n)): Path<(String, u32)>, headers: HeaderMap, body: Bytes| async move {
                let done = async {
                    let u = user(&s3, &headers).await?;
                    s3.uploads.put_part(&u.id, &upload, n, &body).await.map_err(AppError::from)
                }
                .await;
                match done {
                    Ok(()) => StatusCode::NO_CONTENT.into_response(),
                    Err(e) => error_response(&e),
                }
            })
            .layer(DefaultBodyLimit::max(part_limit)),
        )
        .route(
            "/api/uploads/{upload}/parts/{n}/url",
            get(move |Path((upload, n)): Path<(String, u32)>, headers: HeaderMap| async move {
                reply(async {
                    let u = user(&s5, &headers).await?;
                    let url = s5.uploads.part_url(&u.id, &upload, n).await?;
                    Ok::<_, AppError>(serde_json::json!({ "url": url }))
                }.await)
            }),
        )
        .route(
            "/api/uploads/{upload}/parts/{n}/etag",
            post(move |Path((upload, n)): Path<(String, u32)>, headers: HeaderMap, Json(e): Json<ETag>| async move {
                let done = async {
                    let u = user(&s6, &headers).await?;
                    s6.uploads.confirm_part(&u.id, &upload, n, &e.etag).await.map_err(AppError::from)
                }
                .await;
                match done {
                    Ok(()) => StatusCode::NO_CONTENT.into_response(),
                    Err(e) => error_response(&e),
                }
            }),
        )
        .route(
            "/api/uploads/{upload}/complete",
            post(move |Path(upload): Path<String>, headers: HeaderMap| async move {
                reply(async { s4.uploads.complete(&user(&s4, &headers).await?.id, &upload).await.map_err(AppError::from) }.await)
            }),
        )
        .layer(tower_http::limit::RequestBodyLimitLayer::new(part_limit))
}

async fn create(
    svc: &Services,
    headers: &HeaderMap,
    project: &str,
    c: &Create,
) -> Result<domain::ports::UploadSession, AppError> {
    let u = user(svc, headers).await?;
    let project = ProjectId::parse(project).map_err(|_| AppError::NotFound)?;
    Ok(svc
        .uploads
        .create(&u.id, &project, &c.file_name, c.size)
        .await?)
}

fn reply<T: serde::Serialize>(r: Result<T, AppError>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => error_response(&e),
    }
}
