//! Benchmark (not a test): latency and throughput of `list_projects` for a user with 1,000
//! projects under concurrent load on loopback, against the release `server` binary running as its
//! own process; and the size of the release wasm bundle (raw and gzip).
//!
//! Run with `scripts/bench.sh` (which builds what this needs). Options (environment):
//! `BENCH_CONCURRENCY` (default 32), `BENCH_SECONDS` (default 10), `BENCH_PROJECTS` (default 1000).

// Percentile arithmetic on sample counts: precision far beyond what a benchmark reports.
#![allow(
    clippy::unwrap_used,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::ports::{AuthProvider, ProjectStore, SessionToken};
use domain::{Email, ProjectTitle, Role};
use server::config::{Config, Overrides};
use server::startup::Embedded;

fn env_num(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let concurrency = env_num("BENCH_CONCURRENCY", 32);
    let seconds = env_num("BENCH_SECONDS", 10);
    let n_projects = env_num("BENCH_PROJECTS", 1000);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let server_bin = root.join("target/release/server");
    anyhow::ensure!(
        server_bin.exists(),
        "build the release server first: cargo build --release -p server"
    );

    // Seed a fresh data directory through the same adapters the server uses.
    let data = tempfile::tempdir()?;
    let overrides = Overrides {
        config_file: None,
        addr: Some("127.0.0.1:0".into()),
        data_dir: Some(data.path().into()),
    };
    let config = Config::from_layers(&std::collections::BTreeMap::default(), &overrides)?;
    let embedded = Embedded::open(&config).await?;
    let email = Email::parse("bench@example.com").map_err(anyhow::Error::msg)?;
    let temporary = embedded
        .auth
        .invite(&email, Role::User)
        .await?
        .temporary_password;

    // Start the release server as its own process and read its address from its first line.
    let mut child = Command::new(&server_bin)
        .args(["--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .env("SPACEPORT_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let mut first_line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first_line)?;
    let base = first_line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .ok_or_else(|| anyhow::anyhow!("unexpected server output: {first_line}"))?
        .to_owned();

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let post = |path: &str, form: &[(&str, &str)], cookie: Option<&str>| {
        let mut req = client
            .post(format!("{base}/api/{path}"))
            .header("accept", "application/json")
            .form(form);
        if let Some(c) = cookie {
            req = req.header("cookie", c.to_owned());
        }
        req.send()
    };
    let challenge = cookie_value(
        &post(
            "sign_in",
            &[("email", "bench@example.com"), ("password", &temporary)],
            None,
        )
        .await?,
        "sp_challenge",
    );
    let password = "benchmark password 123";
    let res = post(
        "complete_first_sign_in",
        &[
            ("password", password),
            ("password_confirm", password),
            ("handle", "bench"),
        ],
        Some(&format!("sp_challenge={challenge}")),
    )
    .await?;
    let session = cookie_value(&res, "sp_session");
    let user = embedded
        .auth
        .session_user(&SessionToken(session.clone()))
        .await?
        .unwrap();
    let seed_start = Instant::now();
    for i in 0..n_projects {
        let title =
            ProjectTitle::parse(&format!("Survey site {i:04}")).map_err(anyhow::Error::msg)?;
        embedded.projects.create(&user.id, &title).await?;
    }
    println!(
        "seeded {n_projects} projects in {:.1} s",
        seed_start.elapsed().as_secs_f64()
    );

    let cookie = Arc::new(format!("sp_session={session}"));
    let url = Arc::new(format!("{base}/api/list_projects"));
    // Warm up (connections, SQLite page cache).
    let body = client
        .post(url.as_str())
        .header("cookie", cookie.as_str())
        .send()
        .await?
        .bytes()
        .await?;
    let listed: serde_json::Value = serde_json::from_slice(&body)?;
    anyhow::ensure!(
        listed.as_array().map(Vec::len) == Some(n_projects),
        "the server did not list every project"
    );

    let deadline = Instant::now() + Duration::from_secs(seconds as u64);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, url, cookie) = (client.clone(), url.clone(), cookie.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                let res = client
                    .post(url.as_str())
                    .header("cookie", cookie.as_str())
                    .send()
                    .await
                    .unwrap();
                assert!(res.status().is_success());
                res.bytes().await.unwrap();
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    child.kill()?;
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3;
    println!(
        "list_projects ({n_projects} projects, {} KiB JSON), {concurrency} concurrent clients, {seconds} s on loopback:",
        body.len() / 1024
    );
    println!(
        "  requests={} throughput={:.0} req/s p50={:.2} ms p99={:.2} ms max={:.2} ms",
        all.len(),
        all.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        pct(1.0)
    );

    let wasm = root.join("target/site/pkg/spaceport.wasm");
    match std::fs::read(&wasm) {
        Ok(bytes) => {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            gz.write_all(&bytes)?;
            let gzipped = gz.finish()?.len();
            println!(
                "wasm bundle {}: raw={} KiB gzip={} KiB",
                wasm.display(),
                bytes.len() / 1024,
                gzipped / 1024
            );
        }
        Err(_) => println!(
            "wasm bundle not found at {} (run scripts/build-site.sh)",
            wasm.display()
        ),
    }
    Ok(())
}

fn cookie_value(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .unwrap_or_default()
}
