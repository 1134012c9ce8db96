//! Live job progress: `GET /api/projects/{id}/progress` is a server-sent event stream that says
//! `progress` whenever the project's latest job changes — a new event, stage or status — with
//! the job's id, status and newest event id; the page then fetches what it shows through
//! `job_status`. The owner only; anyone else gets 404, as for the project itself.
//!
//! It watches through the `JobRunner` port (one cheap `latest` call per second, asking only for
//! events after the last one seen), so it works the same over any runner. A user holds at most
//! [`STREAMS_PER_USER`] streams, and a stream ends when its session does.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use app::error::AppError;
use app::services::Services;
use axum::extract::Path;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use domain::job::{JobStatus, Stage};
use domain::ports::SessionToken;
use domain::{ProjectId, UserId};
use http::HeaderMap;

use crate::session::{error_response, token, user};

/// How often the stream looks for changes.
const EVERY: Duration = Duration::from_secs(1);

/// How often (in looks) the stream checks that its session is still alive: a signed-out or
/// revoked session's stream ends within this many seconds.
const SESSION_CHECK_EVERY: u32 = 5;

/// Streams one user may hold open at once (tabs, a phone); more are refused with 429, so one
/// user cannot make the server poll the runner without bound.
pub const STREAMS_PER_USER: usize = 6;

/// Open streams per user.
fn open_streams() -> &'static Mutex<HashMap<UserId, usize>> {
    static OPEN: OnceLock<Mutex<HashMap<UserId, usize>>> = OnceLock::new();
    OPEN.get_or_init(Mutex::default)
}

/// One of a user's open streams; gives its place back when the stream is dropped (the client
/// went away, or the stream ended).
struct StreamSlot(UserId);

impl StreamSlot {
    fn take(user: &UserId) -> Option<Self> {
        let mut open = open_streams().lock().ok()?;
        let n = open.entry(user.clone()).or_default();
        if *n >= STREAMS_PER_USER {
            return None;
        }
        *n += 1;
        Some(Self(user.clone()))
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        if let Ok(mut open) = open_streams().lock() {
            if let Some(n) = open.get_mut(&self.0) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    open.remove(&self.0);
                }
            }
        }
    }
}

/// What the page has been told: a change in any of these is news.
#[derive(Clone, PartialEq, Eq, Default)]
struct Seen {
    job: String,
    status: Option<JobStatus>,
    stage: Option<Stage>,
    done: usize,
    last_event: i64,
}

struct Watch {
    svc: Services,
    owner: UserId,
    token: SessionToken,
    project: ProjectId,
    seen: Option<Seen>,
    looks: u32,
    _slot: StreamSlot,
}

pub async fn stream(svc: Services, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let owner = match user(&svc, &headers).await {
        Ok(u) => u.id,
        Err(e) => return error_response(&e),
    };
    let Some(token) = token(&svc, &headers) else {
        return error_response(&AppError::Unauthenticated);
    };
    let Ok(project) = ProjectId::parse(&id) else {
        return error_response(&AppError::NotFound);
    };
    if let Err(e) = svc.projects.get(&owner, &project).await {
        return error_response(&AppError::from(e));
    }
    let Some(slot) = StreamSlot::take(&owner) else {
        return (
            http::StatusCode::TOO_MANY_REQUESTS,
            "Too many pages are following jobs at once: close some tabs and reload.",
        )
            .into_response();
    };
    let watch = Watch {
        svc,
        owner,
        token,
        project,
        seen: None,
        looks: 0,
        _slot: slot,
    };
    let events = futures::stream::unfold(watch, |mut w| async move {
        loop {
            if w.looks > 0 {
                // Every look but the first waits, a failed one included (it used to retry at
                // once, spinning on a runner that was down).
                tokio::time::sleep(EVERY).await;
            }
            w.looks = w.looks.wrapping_add(1);
            if w.looks % SESSION_CHECK_EVERY == 0 {
                match w.svc.signed_in(&w.token).await {
                    // Signed out (or the session was revoked): the stream ends with it.
                    Ok(None) => return None,
                    Ok(Some(u)) if u.id != w.owner => return None,
                    // Still signed in, or the check itself failed (looked at again next time).
                    Ok(Some(_)) | Err(_) => {}
                }
            }
            let after = w.seen.as_ref().map_or(0, |s| s.last_event);
            let Ok(latest) = w.svc.jobs.latest(&w.owner, &w.project, after).await else {
                continue;
            };
            let now = match latest {
                None => Seen::default(),
                Some((job, events)) => {
                    let previous = w.seen.clone().unwrap_or_default();
                    let last_event = events.last().map_or(
                        if previous.job == job.id {
                            previous.last_event
                        } else {
                            0
                        },
                        |e| e.id,
                    );
                    Seen {
                        job: job.id,
                        status: Some(job.status),
                        stage: job.stage,
                        done: job.done_stages.len(),
                        last_event,
                    }
                }
            };
            if w.seen.as_ref() != Some(&now) {
                let data = serde_json::json!({
                    "job": now.job,
                    "status": now.status.map_or("", JobStatus::as_str),
                    "last_event": now.last_event,
                });
                w.seen = Some(now);
                let event = Event::default().event("progress").data(data.to_string());
                return Some((Ok::<_, std::convert::Infallible>(event), w));
            }
        }
    });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}
