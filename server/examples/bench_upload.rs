//! Benchmark (not a test), run by scripts/bench-upload.sh: the real server on loopback with a
//! temporary data directory.
//!
//! 1. Upload throughput through the resumable protocol (8 MiB parts, three in flight, as the
//!    browser sends them) against a plain local copy of the same bytes; medians of 3 and the ratio.
//! 2. A preview run on real photos: the time from launch to `delivered`, per stage.
//!
//! Usage: `bench_upload [MIB] [PHOTO_DIR] [PHOTOS]` (defaults: 256 MiB, fountain-P11, 6 photos).

#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::job::JobStatus;
use domain::ports::AuthProvider;
use domain::{Email, Role};
use reqwest::Client;
use server::config::{Config, Overrides};
use server::startup::Application;

const PASSWORD: &str = "correct horse battery";

async fn call(
    client: &Client,
    base: &str,
    endpoint: &str,
    form: &[(&str, &str)],
) -> serde_json::Value {
    let res = client
        .post(format!("{base}/api/{endpoint}"))
        .header("accept", "application/json")
        .form(form)
        .send()
        .await
        .unwrap();
    res.json().await.unwrap_or(serde_json::Value::Null)
}

/// Uploads `bytes` as `photos.zip` through the protocol, three parts in flight.
async fn upload(client: &Client, base: &str, project: &str, bytes: Arc<Vec<u8>>) {
    let created: serde_json::Value = client
        .post(format!("{base}/api/projects/{project}/uploads"))
        .json(&serde_json::json!({ "file_name": "photos.zip", "size": bytes.len() }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let part = usize::try_from(created["part_size"].as_u64().unwrap()).unwrap();
    let parts = bytes.len().div_ceil(part);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (client, base, id, bytes, next) = (
                client.clone(),
                base.to_owned(),
                id.clone(),
                bytes.clone(),
                next.clone(),
            );
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if n >= parts {
                        break;
                    }
                    let body = bytes[n * part..((n + 1) * part).min(bytes.len())].to_vec();
                    let status = client
                        .put(format!("{base}/api/uploads/{id}/parts/{}", n + 1))
                        .body(body)
                        .send()
                        .await
                        .unwrap()
                        .status();
                    assert!(status.is_success(), "part {}: {status}", n + 1);
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    let done = client
        .post(format!("{base}/api/uploads/{id}/complete"))
        .send()
        .await
        .unwrap();
    assert!(done.status().is_success(), "complete: {}", done.status());
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mib: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(256);
    let photos = args.get(1).map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/datasets/strecha-fountain-p11/images")
        },
        PathBuf::from,
    );
    let count: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(6);

    let data = tempfile::tempdir().unwrap();
    let overrides = Overrides {
        config_file: None,
        addr: Some("127.0.0.1:0".into()),
        data_dir: Some(data.path().to_path_buf()),
    };
    let env: std::collections::BTreeMap<String, String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("SPACEPORT_"))
        .collect();
    let config = Config::from_layers(&env, &overrides).unwrap();
    let app = Application::build(&config).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    let embedded = app.embedded.clone();
    tokio::spawn(app.run());

    let temporary = embedded
        .auth
        .invite(&Email::parse("bench@example.com").unwrap(), Role::User)
        .await
        .unwrap()
        .temporary_password;
    let client = Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    call(
        &client,
        &base,
        "sign_in",
        &[("email", "bench@example.com"), ("password", &temporary)],
    )
    .await;
    call(
        &client,
        &base,
        "complete_first_sign_in",
        &[
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
            ("handle", "bench"),
        ],
    )
    .await;

    // 1. Throughput.
    let bytes: Arc<Vec<u8>> = Arc::new(
        (0..mib << 20)
            .map(|i| u8::try_from((i.wrapping_mul(2_654_435_761) >> 13) & 0xff).unwrap())
            .collect(),
    );
    let source = data.path().join("source.bin");
    std::fs::File::create(&source)
        .unwrap()
        .write_all(&bytes)
        .unwrap();
    let (mut copies, mut uploads) = (Vec::new(), Vec::new());
    for round in 0..3 {
        let target = data.path().join(format!("copy-{round}.bin"));
        let t = Instant::now();
        std::fs::copy(&source, &target).unwrap();
        std::fs::File::open(&target).unwrap().sync_all().unwrap();
        copies.push(t.elapsed().as_secs_f64());
        std::fs::remove_file(&target).unwrap();

        let project = call(
            &client,
            &base,
            "create_project",
            &[("title", &format!("Upload {round}"))],
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let t = Instant::now();
        upload(&client, &base, &project, bytes.clone()).await;
        uploads.push(t.elapsed().as_secs_f64());
    }
    let (copy, up) = (median(copies), median(uploads));
    let mb = mib as f64 * 1.048_576;
    println!("upload of {mib} MiB (median of 3): protocol {up:.2} s = {:.0} MB/s; plain file copy {copy:.2} s = {:.0} MB/s; ratio {:.2}x the copy's time",
        mb / up, mb / copy, up / copy);

    // 2. A preview run on real photos, per stage.
    let mut names: Vec<PathBuf> = std::fs::read_dir(&photos)
        .unwrap_or_else(|e| panic!("{}: {e}", photos.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("jpg")))
        .collect();
    names.sort();
    // The middle of the sequence: neighbours overlap.
    let skip = names.len().saturating_sub(count) / 2;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for p in names.iter().skip(skip).take(count) {
        zip.start_file(
            p.file_name().unwrap().to_string_lossy(),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        zip.write_all(&std::fs::read(p).unwrap()).unwrap();
    }
    let archive = zip.finish().unwrap().into_inner();
    let project = call(
        &client,
        &base,
        "create_project",
        &[("title", "Preview run")],
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    upload(&client, &base, &project, Arc::new(archive)).await;
    let launched = Instant::now();
    let job = call(
        &client,
        &base,
        "launch_job",
        &[("id", &project), ("preset", "preview")],
    )
    .await;
    assert!(job["id"].is_string(), "launch failed: {job}");
    let mut seen: Vec<(String, f64)> = Vec::new();
    let end = loop {
        let s = call(
            &client,
            &base,
            "job_status",
            &[("id", &project), ("after", "0")],
        )
        .await;
        let stage = s["job"]["stage"].as_str().unwrap_or_default().to_owned();
        if !stage.is_empty() && seen.last().is_none_or(|(st, _)| *st != stage) {
            seen.push((stage, launched.elapsed().as_secs_f64()));
        }
        if s["job"]["status"]
            .as_str()
            .and_then(JobStatus::parse)
            .is_some_and(JobStatus::is_terminal)
        {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let total = launched.elapsed().as_secs_f64();
    assert_eq!(end["job"]["status"], JobStatus::Succeeded.as_str(), "{end}");
    println!(
        "preview run on {count} photos of {}: launch to delivered {total:.1} s",
        photos.display()
    );
    for (i, (stage, from)) in seen.iter().enumerate() {
        let to = seen.get(i + 1).map_or(total, |(_, t)| *t);
        println!("  {stage:<9} {:7.1} s", to - from);
    }
}
