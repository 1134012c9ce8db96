//! Running the service: `/healthz` (the process answers), `/readyz` (it can do its work: the
//! database takes a write, the data disk has its reserve, and in cloud mode the AWS resources
//! answer) and Prometheus metrics at `/metrics`, behind the `metrics_token` bearer token
//! (absent without one): requests by route and status with latency histograms, upload bytes,
//! stage durations by outcome, and — on the embedded job runner — jobs by state.
//!
//! The registry is this process's, kept by hand (a few maps under a mutex, rendered in the text
//! exposition format) rather than through a metrics framework: a dozen series do not need one.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::job::Stage;
use http::StatusCode;
use sqlx::{Row, SqlitePool};

/// Request latency buckets, seconds.
const LATENCY: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Stage duration buckets, seconds (a minute to a day).
const STAGE: [f64; 10] = [
    10.0, 30.0, 60.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21_600.0, 86_400.0,
];

#[derive(Debug, Clone, Default)]
struct Histogram {
    /// Cumulative counts per bucket bound, as the format wants them.
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], value: f64) {
        if self.buckets.is_empty() {
            self.buckets = vec![0; bounds.len()];
        }
        for (b, bound) in self.buckets.iter_mut().zip(bounds) {
            if value <= *bound {
                *b += 1;
            }
        }
        self.sum += value;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str, bounds: &[f64]) {
        for (b, bound) in self.buckets.iter().zip(bounds) {
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {b}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

/// This process's counters.
#[derive(Default)]
pub struct Metrics {
    /// (route, method, status) → requests.
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    /// route → latency.
    latency: Mutex<BTreeMap<String, Histogram>>,
    /// (stage, outcome) → duration.
    stages: Mutex<BTreeMap<(&'static str, &'static str), Histogram>>,
    upload_bytes: AtomicU64,
}

/// The route that takes upload parts (its accepted bodies are the upload bytes).
const PART_ROUTE: &str = "/api/uploads/{upload}/parts/{n}";

impl Metrics {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn observe_request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        if let Ok(mut r) = self.requests.lock() {
            *r.entry((route.to_owned(), method.to_owned(), status))
                .or_default() += 1;
        }
        if let Ok(mut l) = self.latency.lock() {
            l.entry(route.to_owned())
                .or_default()
                .observe(&LATENCY, seconds);
        }
    }

    /// A stage ended (`ok`: it succeeded) after `seconds`.
    pub fn observe_stage(&self, stage: Stage, ok: bool, seconds: f64) {
        if let Ok(mut s) = self.stages.lock() {
            s.entry((stage.as_str(), if ok { "succeeded" } else { "failed" }))
                .or_default()
                .observe(&STAGE, seconds);
        }
    }

    /// The exposition text; `jobs` are (state, count) when this process runs the jobs.
    fn render(&self, jobs: &[(String, i64)]) -> String {
        let mut out = String::new();
        out.push_str("# HELP spaceport_http_requests_total Requests answered, by route, method and status.\n# TYPE spaceport_http_requests_total counter\n");
        if let Ok(r) = self.requests.lock() {
            for ((route, method, status), n) in r.iter() {
                let _ = writeln!(
                    out,
                    "spaceport_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
        }
        out.push_str("# HELP spaceport_http_request_duration_seconds Time to answer, by route.\n# TYPE spaceport_http_request_duration_seconds histogram\n");
        if let Ok(l) = self.latency.lock() {
            for (route, h) in l.iter() {
                h.render(
                    &mut out,
                    "spaceport_http_request_duration_seconds",
                    &format!("route=\"{}\"", escape(route)),
                    &LATENCY,
                );
            }
        }
        out.push_str("# HELP spaceport_upload_bytes_total Photo bytes received in accepted upload parts.\n# TYPE spaceport_upload_bytes_total counter\n");
        let _ = writeln!(
            out,
            "spaceport_upload_bytes_total {}",
            self.upload_bytes.load(Ordering::Relaxed)
        );
        out.push_str("# HELP spaceport_stage_duration_seconds Pipeline stages run by this process, by stage and outcome.\n# TYPE spaceport_stage_duration_seconds histogram\n");
        if let Ok(s) = self.stages.lock() {
            for ((stage, outcome), h) in s.iter() {
                h.render(
                    &mut out,
                    "spaceport_stage_duration_seconds",
                    &format!("stage=\"{stage}\",outcome=\"{outcome}\""),
                    &STAGE,
                );
            }
        }
        if !jobs.is_empty() {
            out.push_str("# HELP spaceport_jobs Jobs by state (queued is the queue's length).\n# TYPE spaceport_jobs gauge\n");
            for (state, n) in jobs {
                let _ = writeln!(out, "spaceport_jobs{{state=\"{}\"}} {n}", escape(state));
            }
        }
        out
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Middleware: counts every answer under the route that matched (`other` for what no route
/// matched, so scanners probing random paths make one series, not thousands).
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "other".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let length = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let response = next.run(req).await;
    let status = response.status();
    if route == PART_ROUTE && method == "PUT" && status.is_success() {
        metrics
            .upload_bytes
            .fetch_add(length.unwrap_or(0), Ordering::Relaxed);
    }
    metrics.observe_request(
        &route,
        &method,
        status.as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// What `/readyz` and `/metrics` look at.
#[derive(Clone)]
pub struct Ops {
    pub metrics: Arc<Metrics>,
    pub pool: SqlitePool,
    pub data_dir: PathBuf,
    pub min_free_bytes: u64,
    /// The bearer token `/metrics` wants (`None`: no `/metrics`).
    pub metrics_token: Option<String>,
    /// Jobs run here (the embedded runner), so the database knows their states.
    pub local_jobs: bool,
    pub aws: Option<Arc<CloudProbe>>,
}

/// The AWS resources' check, run at most every 30 s however often `/readyz` is asked (each run
/// is several AWS calls).
pub struct CloudProbe {
    settings: cloud::AwsSettings,
    last: tokio::sync::Mutex<Option<(Instant, Result<(), String>)>>,
}

impl CloudProbe {
    pub fn new(settings: cloud::AwsSettings) -> Arc<Self> {
        Arc::new(Self {
            settings,
            last: tokio::sync::Mutex::new(None),
        })
    }

    async fn check(&self) -> Result<(), String> {
        let mut last = self.last.lock().await;
        if let Some((at, result)) = last.as_ref() {
            if at.elapsed() < Duration::from_secs(30) {
                return result.clone();
            }
        }
        let result = cloud::check::check(&self.settings)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string());
        *last = Some((Instant::now(), result.clone()));
        result
    }
}

/// `/healthz`: the process is up and answering.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `/readyz`: 200 when every check passes, 503 naming what failed (for a load balancer, and a
/// person reading it). Reveals no figures, only which part is unwell.
pub async fn readyz(State(ops): State<Ops>) -> Response {
    let mut checks = serde_json::Map::new();
    let mut ready = true;
    let mut put = |name: &str, result: Result<(), String>| {
        if let Err(e) = &result {
            tracing::warn!(check = name, reason = %e, "not ready");
            ready = false;
        }
        checks.insert(
            name.to_owned(),
            serde_json::Value::String(result.err().unwrap_or_else(|| "ok".into())),
        );
    };
    put("database", database_writable(&ops.pool).await);
    put(
        "disk",
        match crate::disk::free_bytes(&ops.data_dir) {
            Some(free) if free >= ops.min_free_bytes => Ok(()),
            Some(_) => Err("less free space than min_free_bytes on the data disk".into()),
            None => Err("the data directory's disk cannot be read".into()),
        },
    );
    if let Some(aws) = &ops.aws {
        put("aws", aws.check().await);
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(serde_json::json!({ "ready": ready, "checks": checks })),
    )
        .into_response()
}

/// The database takes a write within 2 s (a read alone passes even while a stuck writer holds
/// every write back).
async fn database_writable(pool: &SqlitePool) -> Result<(), String> {
    let probe = async {
        let tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        tx.rollback().await
    };
    match tokio::time::timeout(Duration::from_secs(2), probe).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("the database refuses writes: {e}")),
        Err(_) => Err("the database took no write within 2 s".into()),
    }
}

/// `/metrics`, for Prometheus with `Authorization: Bearer <metrics_token>`.
pub async fn metrics(State(ops): State<Ops>, headers: http::HeaderMap) -> Response {
    let Some(token) = &ops.metrics_token else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let given = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    // Compared as hashes: equal-length digests, so the time taken says nothing of the token.
    if ids::token_hash(given) != ids::token_hash(token) {
        return (
            StatusCode::UNAUTHORIZED,
            [(http::header::WWW_AUTHENTICATE, "Bearer")],
        )
            .into_response();
    }
    let jobs = if ops.local_jobs {
        match sqlx::query("SELECT status, COUNT(*) FROM jobs GROUP BY status ORDER BY status")
            .fetch_all(&ops.pool)
            .await
        {
            Ok(rows) => rows.iter().map(|r| (r.get(0), r.get(1))).collect(),
            Err(e) => {
                tracing::error!(error = %e, "counting jobs for /metrics failed");
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    (
        [(
            http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        ops.metrics.render(&jobs),
    )
        .into_response()
}

/// The routes, with their state.
pub fn routes(ops: Ops) -> axum::Router {
    axum::Router::new()
        .route("/healthz", axum::routing::get(healthz))
        .route("/readyz", axum::routing::get(readyz))
        .route("/metrics", axum::routing::get(metrics))
        .with_state(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_text_has_cumulative_buckets_and_escaped_labels() {
        let m = Metrics::default();
        m.observe_request("/a", "GET", 200, 0.003);
        m.observe_request("/a", "GET", 200, 0.2);
        m.observe_request("/\"odd\"", "POST", 500, 40.0);
        m.observe_stage(Stage::Sfm, true, 95.0);
        let text = m.render(&[("queued".into(), 2)]);
        assert!(text.contains(
            "spaceport_http_requests_total{route=\"/a\",method=\"GET\",status=\"200\"} 2"
        ));
        assert!(text.contains("route=\"/\\\"odd\\\"\""), "{text}");
        assert!(text.contains(
            "spaceport_http_request_duration_seconds_bucket{route=\"/a\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "spaceport_http_request_duration_seconds_bucket{route=\"/a\",le=\"0.25\"} 2"
        ));
        assert!(text.contains(
            "spaceport_http_request_duration_seconds_bucket{route=\"/\\\"odd\\\"\",le=\"30\"} 0"
        ));
        assert!(text.contains(
            "spaceport_stage_duration_seconds_bucket{stage=\"sfm\",outcome=\"succeeded\",le=\"300\"} 1"
        ));
        assert!(text.contains("spaceport_jobs{state=\"queued\"} 2"));
    }
}
