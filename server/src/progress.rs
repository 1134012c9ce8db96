//! Live job progress: `GET /api/projects/{id}/progress` is a server-sent event stream that says
//! `progress` whenever the project's latest job changes — a new event, stage or status — with
//! the job's id, status and newest event id; the page then fetches what it shows through
//! `job_status`. The owner only; anyone else gets 404, as for the project itself.
//!
//! It watches through the `JobRunner` port (one cheap `latest` call per second, asking only for
//! events after the last one seen), so it works the same over any runner.

use std::time::Duration;

use app::error::AppError;
use app::services::Services;
use axum::extract::Path;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use domain::job::{JobStatus, Stage};
use domain::{ProjectId, UserId};
use http::HeaderMap;

use crate::session::{error_response, user};

/// How often the stream looks for changes.
const EVERY: Duration = Duration::from_secs(1);

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
    project: ProjectId,
    seen: Option<Seen>,
}

pub async fn stream(svc: Services, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let owner = match user(&svc, &headers).await {
        Ok(u) => u.id,
        Err(e) => return error_response(&e),
    };
    let Ok(project) = ProjectId::parse(&id) else {
        return error_response(&AppError::NotFound);
    };
    if let Err(e) = svc.projects.get(&owner, &project).await {
        return error_response(&AppError::from(e));
    }
    let watch = Watch {
        svc,
        owner,
        project,
        seen: None,
    };
    let events = futures::stream::unfold(watch, |mut w| async move {
        loop {
            if w.seen.is_some() {
                tokio::time::sleep(EVERY).await;
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
