//! Benchmark (not a test): latency and throughput of `list_projects` for a user with 1,000
//! projects under concurrent load on loopback, against the release `server` binary running as its
//! own process; and the size of the release wasm bundle (raw and gzip).
//!
//! Then the same user's sign-in and listing again, while `BENCH_ATTACKERS` unauthenticated
//! clients (default 200) hammer the server: half send 1 MiB upload parts without a session, half
//! guess passwords of random accounts, each from its own address (the server runs behind a
//! "proxy": `client_ip_header = x-forwarded-for`) — p50/p99 with and without the attack.
//!
//! Run with `scripts/bench.sh` (which builds what this needs). Options (environment):
//! `BENCH_CONCURRENCY` (default 32), `BENCH_SECONDS` (default 10), `BENCH_PROJECTS` (default 1000),
//! `BENCH_ATTACKERS` (default 200).

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
        .env("SPACEPORT_LOG", "error")
        .env("SPACEPORT_CLIENT_IP_HEADER", "x-forwarded-for")
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

    let attackers = env_num("BENCH_ATTACKERS", 200);
    let calm = legit_latencies(&client, &base, cookie.as_str(), password, seconds).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut attack = Vec::new();
    for a in 0..attackers {
        let (client, base, stop) = (client.clone(), base.clone(), stop.clone());
        attack.push(tokio::spawn(async move {
            let from = format!("10.{}.{}.{}", a / 65536, (a / 256) % 256, a % 256);
            let part = vec![0u8; 1 << 20];
            let mut sent = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let req = if a % 2 == 0 {
                    client
                        .put(format!(
                            "{base}/api/uploads/0123456789abcdef0123456789abcdef/parts/1"
                        ))
                        .body(part.clone())
                } else {
                    client.post(format!("{base}/api/sign_in")).form(&[
                        ("email", format!("someone{}@example.com", sent % 1000)),
                        ("password", "a guess".to_owned()),
                    ])
                };
                if let Ok(res) = req.header("x-forwarded-for", &from).send().await {
                    let _ = res.bytes().await;
                }
                sent += 1;
            }
            sent
        }));
    }
    let under = legit_latencies(&client, &base, cookie.as_str(), password, seconds).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut hammered = 0;
    for a in attack {
        hammered += a.await?;
    }
    println!(
        "under attack: {attackers} unauthenticated clients sent {hammered} requests ({:.0}/s): \
         {} part uploads without a session and password guesses",
        hammered as f64 / seconds as f64,
        if attackers > 1 { "half" } else { "only" }
    );
    for (what, c, u) in [
        ("sign_in (the user's own)", &calm.0, &under.0),
        ("list_projects", &calm.1, &under.1),
    ] {
        println!(
            "  {what}: calm p50={:.1} ms p99={:.1} ms | under attack p50={:.1} ms p99={:.1} ms (n={}, p99 ratio {:.1})",
            percentile(c, 0.5),
            percentile(c, 0.99),
            percentile(u, 0.5),
            percentile(u, 0.99),
            u.len(),
            percentile(u, 0.99) / percentile(c, 0.99).max(0.001)
        );
    }
    child.kill()?;

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

/// Milliseconds at percentile `p` of sorted-or-not `samples`.
fn percentile(samples: &[f64], p: f64) -> f64 {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    s.get(((s.len() as f64 - 1.0) * p).round() as usize)
        .copied()
        .unwrap_or(f64::NAN)
}

/// The user's own traffic for `seconds`, from its own address: a sign-in every 250 ms and two
/// clients listing projects back to back. Latencies in ms: (sign-ins, listings).
async fn legit_latencies(
    client: &reqwest::Client,
    base: &str,
    cookie: &str,
    password: &str,
    seconds: usize,
) -> (Vec<f64>, Vec<f64>) {
    let deadline = Instant::now() + Duration::from_secs(seconds as u64);
    let signer = {
        let (client, base, password) = (client.clone(), base.to_owned(), password.to_owned());
        tokio::spawn(async move {
            let mut ms = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                let res = client
                    .post(format!("{base}/api/sign_in"))
                    .header("x-forwarded-for", "192.0.2.1")
                    .form(&[
                        ("email", "bench@example.com"),
                        ("password", password.as_str()),
                    ])
                    .send()
                    .await
                    .unwrap();
                assert!(
                    res.status().is_redirection() || res.status().is_success(),
                    "the user's sign-in failed: {}",
                    res.status()
                );
                ms.push(t.elapsed().as_secs_f64() * 1e3);
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            ms
        })
    };
    let listers: Vec<_> = (0..2)
        .map(|_| {
            let (client, url, cookie) = (
                client.clone(),
                format!("{base}/api/list_projects"),
                cookie.to_owned(),
            );
            tokio::spawn(async move {
                let mut ms = Vec::new();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let res = client
                        .post(&url)
                        .header("cookie", &cookie)
                        .header("x-forwarded-for", "192.0.2.1")
                        .send()
                        .await
                        .unwrap();
                    assert!(res.status().is_success());
                    res.bytes().await.unwrap();
                    ms.push(t.elapsed().as_secs_f64() * 1e3);
                }
                ms
            })
        })
        .collect();
    let sign_ins = signer.await.unwrap();
    let mut lists = Vec::new();
    for l in listers {
        lists.extend(l.await.unwrap());
    }
    (sign_ins, lists)
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
