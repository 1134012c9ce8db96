#![allow(clippy::unwrap_used)]

//! Fault tests with the real server binary as a child process, killed with SIGKILL (no chance to
//! clean up) in the middle of an upload and in the middle of a job, then started again on the
//! same data directory: nothing already received is lost or re-sent, and the job resumes at the
//! stage it was in once the stage processes the dead server left behind are gone (they die of
//! SIGPIPE when they next write to the dead server, and the new server kills any that linger —
//! `kill_leftovers`, unit-tested in `adapters/local_jobs.rs`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::common::{activate, browser_at, cli_invite, Browser};
use crate::jobs::{launch, orbit_zip, spaceport, wait_for_end, PASSWORD};

struct Server {
    child: Child,
    base: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start(data: &Path, port: u16) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["--addr", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(data)
        .env("SPACEPORT_PIPELINE_BIN", spaceport())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while reqwest::get(format!("{base}/")).await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Server { child, base }
}

impl Server {
    /// SIGKILL: no shutdown hook, no flush, no goodbye.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn pilot(data: &Path, server: &Server) -> Browser {
    let temporary = cli_invite(data, "pilot@example.com");
    let b = browser_at(&server.base);
    activate(&b, "pilot@example.com", &temporary, "pilot", PASSWORD).await;
    b
}

async fn sign_in(server: &Server) -> Browser {
    let b = browser_at(&server.base);
    let r = b
        .call(
            "sign_in",
            &[("email", "pilot@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.redirect.as_deref(), Some("/dashboard"), "{}", r.body);
    b
}

#[tokio::test]
async fn an_upload_survives_a_killed_server_without_re_sending_parts() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = start(data.path(), port).await;
    let b = pilot(data.path(), &server).await;
    let project = b.create_project("Killed mid-upload").await;
    let bytes: Vec<u8> = (0..(8usize << 20) + 12_345)
        .map(|i| u8::try_from((i * 31 + i / 7) & 0xff).unwrap())
        .collect();
    let created: Value = b
        .client
        .post(format!("{}/api/projects/{project}/uploads", b.base))
        .json(&serde_json::json!({ "file_name": "photos.zip", "size": bytes.len() }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let part_size = usize::try_from(created["part_size"].as_u64().unwrap()).unwrap();
    let put = |b: &Browser, n: usize| {
        let body = bytes[(n - 1) * part_size..(n * part_size).min(bytes.len())].to_vec();
        let req = b
            .client
            .put(format!("{}/api/uploads/{id}/parts/{n}", b.base))
            .body(body);
        async move { req.send().await.unwrap().status() }
    };
    assert_eq!(put(&b, 1).await, StatusCode::NO_CONTENT);

    server.kill();
    let server = start(data.path(), port).await;
    // Sessions live in the database: the same browser is still signed in.
    let state: Value =
        serde_json::from_str(&b.get(&format!("/api/uploads/{id}")).await.body).unwrap();
    assert_eq!(state["received"], serde_json::json!([1]), "{state}");
    assert_eq!(put(&b, 2).await, StatusCode::NO_CONTENT);
    let done = b
        .client
        .post(format!("{}/api/uploads/{id}/complete", b.base))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    let archive = data
        .path()
        .join("projects")
        .join(&project)
        .join("photos.zip");
    assert_eq!(std::fs::read(archive).unwrap(), bytes);
    drop(server);
}

/// Processes whose command line names `dir` (the stage processes of one job).
fn processes_in(dir: &Path) -> Vec<u32> {
    let needle = dir.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
            String::from_utf8_lossy(&cmd)
                .contains(&needle)
                .then_some(pid)
        })
        .collect()
}

fn alive(pid: u32) -> bool {
    // A killed child of a dead server is reaped by init; until then it is a zombie.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

#[tokio::test]
async fn a_job_resumes_at_its_stage_after_a_killed_server() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = start(data.path(), port).await;
    let b = pilot(data.path(), &server).await;
    let project = b.create_project("Killed mid-job").await;
    let tmp = tempfile::tempdir().unwrap();
    let zip = orbit_zip(tmp.path(), 16);
    crate::jobs::upload(&b, &project, &zip).await;
    assert_eq!(launch(&b, &project).await.status, StatusCode::OK);

    // Wait until the SfM stage (COLMAP) is running, then pull the plug.
    let started = Instant::now();
    let job_dir: PathBuf = loop {
        let s = b
            .call("job_status", &[("id", &project), ("after", "0")])
            .await
            .json();
        if s["job"]["stage"] == "sfm" {
            let dir = data
                .path()
                .join("jobs")
                .join(s["job"]["id"].as_str().unwrap());
            if !processes_in(&dir).is_empty() {
                break dir;
            }
        }
        assert!(
            started.elapsed() < Duration::from_mins(2),
            "no sfm stage: {s}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    server.kill();
    let orphans = processes_in(&job_dir);
    assert!(
        !orphans.is_empty(),
        "the stage outlives its server (that is the danger)"
    );

    let server = start(data.path(), port).await;
    let b = sign_in(&server).await;
    // What the old server left running is gone before the stage runs again.
    let deadline = Instant::now() + Duration::from_secs(10);
    while orphans.iter().any(|&p| alive(p)) {
        assert!(
            Instant::now() < deadline,
            "orphaned stage processes still running"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let end = wait_for_end(&b, &project, Duration::from_mins(5)).await;
    assert_eq!(end["job"]["status"], "succeeded", "{end}");
    assert_eq!(
        end["job"]["done_stages"],
        serde_json::json!(["ingest", "sfm", "train", "compress"])
    );
    // Ingest finished before the kill and was not run again.
    let ingest_done = end["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["stage"] == "ingest" && e["step"] == "done")
        .count();
    assert!(ingest_done <= 1, "ingest ran again: {end}");
    drop(server);
}

/// The outbox's newest body to `to`, read straight from the database.
async fn newest_mail(data: &Path, to: &str) -> Option<String> {
    use sqlx::Row as _;
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        data.join("spaceport.sqlite3").display()
    ))
    .await
    .unwrap();
    let row = sqlx::query("SELECT body FROM outbox WHERE to_email = ? ORDER BY id DESC LIMIT 1")
        .bind(to)
        .fetch_optional(&pool)
        .await
        .unwrap();
    pool.close().await;
    row.map(|r| r.get(0))
}

#[tokio::test]
async fn a_job_that_ended_as_the_server_died_is_told_when_it_starts_again() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = start(data.path(), port).await;
    let b = pilot(data.path(), &server).await;
    let project = b.create_project("Killed before the mail").await;
    let tmp = tempfile::tempdir().unwrap();
    crate::jobs::upload(&b, &project, &orbit_zip(tmp.path(), 2)).await;
    assert_eq!(launch(&b, &project).await.status, StatusCode::OK);
    let end = wait_for_end(&b, &project, Duration::from_mins(1)).await;
    assert_eq!(end["job"]["status"], "failed", "{end}");
    server.kill();
    // As a SIGKILL right after the job's end was recorded leaves it: recorded (job and project,
    // one transaction), the mail not yet queued.
    {
        let pool = sqlx::SqlitePool::connect(&format!(
            "sqlite://{}",
            data.path().join("spaceport.sqlite3").display()
        ))
        .await
        .unwrap();
        for sql in [
            "UPDATE jobs SET told = 0",
            "DELETE FROM outbox WHERE id = (SELECT MAX(id) FROM outbox)",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
    }
    let before = newest_mail(data.path(), "pilot@example.com")
        .await
        .unwrap_or_default();
    assert!(!before.contains("at least 3 distinct photos"), "{before}");
    let server = start(data.path(), port).await;
    let mut mail = String::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        mail = newest_mail(data.path(), "pilot@example.com")
            .await
            .unwrap_or_default();
        if mail.contains("at least 3 distinct photos") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        mail.contains("at least 3 distinct photos"),
        "never told: {mail}"
    );
    let b = sign_in(&server).await;
    let project_now = b.call("get_project", &[("id", &project)]).await.json();
    assert_eq!(project_now["status"], "Failed");
    drop(server);
}

/// The sign-in counters live in the database, not in the server's memory: killing the server
/// (or running a second one on the same data) does not hand a guesser a fresh five tries.
#[tokio::test]
async fn a_locked_account_stays_locked_after_a_killed_server() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = start(data.path(), port).await;
    pilot(data.path(), &server).await;
    let guess = |b: Browser| async move {
        b.call(
            "sign_in",
            &[
                ("email", "pilot@example.com"),
                ("password", "a wrong guess"),
            ],
        )
        .await
        .status
    };
    for _ in 0..5 {
        assert_eq!(
            guess(browser_at(&server.base)).await,
            StatusCode::UNAUTHORIZED
        );
    }
    server.kill();
    let server = start(data.path(), port).await;
    let r = browser_at(&server.base)
        .call(
            "sign_in",
            &[("email", "pilot@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits out the lockout: {}",
        r.body
    );
}
