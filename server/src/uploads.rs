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
use std::sync::OnceLock;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use domain::ports::UploadSession;
use domain::{ProjectId, User};
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

/// Parts read into memory at once, across all users: each holds up to a part (8 MiB) until it is
/// written, so this bounds what uploads can take (128 MiB); more wait their turn, unread.
const PARTS_AT_ONCE: usize = 16;

/// How long one part may take to arrive once its turn comes (8 MiB at 0.5 Mbit/s): a client
/// that trickles bytes must not hold a slot for ever.
const PART_READ_TIMEOUT: Duration = Duration::from_secs(150);

/// Reads a part's body — at most `limit` bytes, within [`PART_READ_TIMEOUT`], no more than
/// [`PARTS_AT_ONCE`] at a time — or says why not.
async fn read_part(body: Body, limit: usize) -> Result<Bytes, Response> {
    static SLOTS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    let slots = SLOTS.get_or_init(|| tokio::sync::Semaphore::new(PARTS_AT_ONCE));
    let _slot = slots
        .acquire()
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE.into_response())?;
    match tokio::time::timeout(PART_READ_TIMEOUT, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) if too_large(&e) => {
            Err((StatusCode::PAYLOAD_TOO_LARGE, "A part is at most 8 MiB.").into_response())
        }
        Ok(Err(_)) => Err((
            StatusCode::BAD_REQUEST,
            "The part did not arrive whole; send it again.",
        )
            .into_response()),
        Err(_) => Err((
            StatusCode::REQUEST_TIMEOUT,
            "The part took too long to arrive; send it again.",
        )
            .into_response()),
    }
}

/// Whether reading a body stopped at its length limit.
fn too_large(e: &axum::Error) -> bool {
    std::error::Error::source(e)
        .is_some_and(<dyn std::error::Error + 'static>::is::<http_body_util::LengthLimitError>)
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
            put(move |Path((upload, n)): Path<(String, u32)>, headers: HeaderMap, body: Body| async move {
                // Who is sending is settled before a byte of the part is read: reading first let
                // anybody make the server hold 8 MiB per request.
                let u = match user(&s3, &headers).await {
                    Ok(u) => u,
                    Err(e) => return error_response(&e),
                };
                let bytes = match read_part(body, part_limit).await {
                    Ok(bytes) => bytes,
                    Err(refused) => return refused,
                };
                match s3.uploads.put_part(&u.id, &upload, n, &bytes).await {
                    Ok(()) => StatusCode::NO_CONTENT.into_response(),
                    Err(e) => error_response(&AppError::from(e)),
                }
            }),
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
                reply(async {
                    let u = user(&s4, &headers).await?;
                    // `complete` may be asked again (a retry); only the first one mails.
                    let first = !s4.uploads.get(&u.id, &upload).await?.completed;
                    let done = s4.uploads.complete(&u.id, &upload).await?;
                    if first {
                        tell_photos_received(&s4, &u, &done).await;
                    }
                    Ok::<_, AppError>(done)
                }.await)
            }),
        )
        .layer(tower_http::limit::RequestBodyLimitLayer::new(part_limit))
}

/// Mails the owner that a project's photos are all here. Logged, never a failure: the photos
/// are stored either way.
async fn tell_photos_received(svc: &Services, owner: &User, done: &UploadSession) {
    let title = match svc.projects.get(&owner.id, &done.project).await {
        Ok(p) => p.title.as_str().to_owned(),
        Err(e) => {
            tracing::error!(error = %e, "reading the project for its photos-received mail");
            return;
        }
    };
    let link = format!("{}/projects/{}", svc.public_url, done.project.0);
    let mail = domain::messages::photos_received(
        &owner.email,
        &title,
        &crate::disk::size_text(done.size),
        &link,
    );
    if let Err(e) = svc.notifier.send(mail).await {
        tracing::error!(error = %e, "queueing the photos-received mail");
    }
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
