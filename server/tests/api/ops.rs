#![allow(clippy::unwrap_used)]

//! Running the service: health, readiness (and its failures), and metrics that follow a job.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use sqlx::Connection as _;

use crate::common::{bare_client, spawn_app, spawn_app_with};
use crate::jobs::{launch, orbit_zip, upload, wait_for_end, PASSWORD};

const TOKEN: &str = "0123456789abcdef-metrics";

async fn readyz(base: &str) -> (StatusCode, Value) {
    let r = bare_client()
        .get(format!("{base}/readyz"))
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

#[tokio::test]
async fn ready_until_the_database_takes_no_write() {
    let app = spawn_app().await;
    let health = bare_client()
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let (status, body) = readyz(&app.base).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["checks"]["database"], "ok");
    assert_eq!(body["checks"]["disk"], "ok");

    // Another process holds the database's write lock (a stuck writer): not ready, and why.
    let path = app.data_dir().join("spaceport.sqlite3");
    let mut other = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    let (status, body) = readyz(&app.base).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["ready"], false);
    assert!(
        body["checks"]["database"]
            .as_str()
            .unwrap()
            .contains("write"),
        "{body}"
    );
    sqlx::raw_sql("ROLLBACK").execute(&mut other).await.unwrap();
    assert_eq!(readyz(&app.base).await.0, StatusCode::OK);
}

#[tokio::test]
async fn not_ready_when_the_disk_has_less_than_its_reserve() {
    // A reserve no disk has.
    let app = spawn_app_with(&[("SPACEPORT_MIN_FREE_BYTES", "1152921504606846976")]).await;
    let (status, body) = readyz(&app.base).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        body["checks"]["disk"]
            .as_str()
            .unwrap()
            .contains("min_free_bytes"),
        "{body}"
    );
    assert_eq!(body["checks"]["database"], "ok");
}

async fn scrape(base: &str) -> String {
    let r = bare_client()
        .get(format!("{base}/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

/// The value of the series `name` (with its labels) in an exposition text, 0 when absent.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_need_the_token_and_follow_a_job() {
    let hidden = spawn_app().await;
    let r = bare_client()
        .get(format!("{}/metrics", hidden.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "no token set: no metrics"
    );

    let app = spawn_app_with(&[("SPACEPORT_METRICS_TOKEN", TOKEN)]).await;
    for wrong in [None, Some("not-the-token-at-all")] {
        let mut req = bare_client().get(format!("{}/metrics", app.base));
        if let Some(w) = wrong {
            req = req.bearer_auth(w);
        }
        assert_eq!(req.send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    let before = scrape(&app.base).await;
    assert!(value(&before, "spaceport_upload_bytes_total").abs() < 0.5);

    // A job on two photos: ingest runs and fails (three are the least it takes).
    let b = app.active_user("ops@example.com", "ops", PASSWORD).await;
    let project = b.create_project("Metrics").await;
    let tmp = tempfile::tempdir().unwrap();
    let zip = orbit_zip(tmp.path(), 2);
    upload(&b, &project, &zip).await;
    assert_eq!(launch(&b, &project).await.status, StatusCode::OK);
    let end = wait_for_end(&b, &project, Duration::from_mins(2)).await;
    assert_eq!(end["job"]["status"], "failed", "{end}");

    let after = scrape(&app.base).await;
    #[allow(clippy::cast_precision_loss)]
    let sent = zip.len() as f64;
    assert!(
        (value(&after, "spaceport_upload_bytes_total") - sent).abs() < 0.5,
        "{after}"
    );
    for (series, want) in [
        ("spaceport_jobs{state=\"failed\"}", 1.0),
        (
            "spaceport_stage_duration_seconds_count{stage=\"ingest\",outcome=\"failed\"}",
            1.0,
        ),
        (
            "spaceport_stage_duration_seconds_count{stage=\"sfm\",outcome=\"failed\"}",
            0.0,
        ),
        (
            "spaceport_http_requests_total{route=\"/api/uploads/{upload}/parts/{n}\",method=\"PUT\",status=\"204\"}",
            1.0,
        ),
    ] {
        assert!(
            (value(&after, series) - want).abs() < 0.5,
            "{series} should be {want}:\n{after}"
        );
    }
    // Routes are the matched templates, never the raw paths with their ids.
    assert!(!after.contains(&project), "{after}");
}
