#![allow(clippy::unwrap_used)]

//! The job runner with the real pipeline (`target/<profile>/spaceport`, built by the same
//! `cargo test` run when `-p pipeline` is included, as `scripts/test.sh` does).

use std::io::Write as _;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::common::{spawn_app, Browser};

pub(crate) const PASSWORD: &str = "correct horse battery";

pub(crate) fn spaceport() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().join("..").join("spaceport");
    assert!(
        bin.exists(),
        "build the pipeline first: cargo build --release -p pipeline ({})",
        bin.display()
    );
    bin
}

/// A zip of the first `count` photos of a rendered drone orbit (16 views, 480×360).
pub(crate) fn orbit_zip(dir: &std::path::Path, count: usize) -> Vec<u8> {
    let out = std::process::Command::new(spaceport())
        .args([
            "synth-orbit",
            dir.to_str().unwrap(),
            "--images",
            "16",
            "--width",
            "480",
            "--height",
            "360",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names: Vec<_> = std::fs::read_dir(dir.join("images"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for path in names.into_iter().take(count) {
        zip.start_file(
            path.file_name().unwrap().to_str().unwrap(),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        zip.write_all(&std::fs::read(&path).unwrap()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

pub(crate) async fn launch(b: &Browser, project: &str) -> crate::common::Reply {
    b.call(
        "launch_job",
        &[
            ("id", project),
            ("preset", "preview"),
            ("iterations", "60"),
            ("working_size", "480"),
            ("train_size", "320"),
            ("sh_degree", "1"),
            ("max_gaussians", "20000"),
        ],
    )
    .await
}

/// Uploads `bytes` as the project's photos and completes the upload; returns the upload's id.
pub(crate) async fn upload(b: &Browser, project: &str, bytes: &[u8]) -> String {
    let r = b
        .client
        .post(format!("{}/api/projects/{project}/uploads", b.base))
        .json(&serde_json::json!({ "file_name": "photos.zip", "size": bytes.len() }))
        .send()
        .await
        .unwrap();
    let s: Value = r.json().await.unwrap();
    let id = s["id"].as_str().unwrap();
    let part = usize::try_from(s["part_size"].as_u64().unwrap()).unwrap();
    for (n, chunk) in bytes.chunks(part).enumerate() {
        let r = b
            .client
            .put(format!("{}/api/uploads/{id}/parts/{}", b.base, n + 1))
            .body(chunk.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }
    let r = b
        .client
        .post(format!("{}/api/uploads/{id}/complete", b.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    id.to_owned()
}

/// No process of job `job_id` is running (its stages and COLMAP name the job's folder), half
/// a second after it ended.
async fn assert_nothing_left_running(job_id: &str) {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let survivors: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(job_id))
        .collect();
    assert!(survivors.is_empty(), "still running: {survivors:?}");
}

pub(crate) async fn wait_for_end(b: &Browser, project: &str, limit: Duration) -> Value {
    let started = Instant::now();
    loop {
        let s = b
            .call("job_status", &[("id", project), ("after", "0")])
            .await
            .json();
        let status = s["job"]["status"].as_str().unwrap_or_default().to_owned();
        if matches!(status.as_str(), "succeeded" | "failed" | "cancelled") {
            return s;
        }
        assert!(
            started.elapsed() < limit,
            "job still {status} after {limit:?}: {s}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn photos_become_a_delivered_model_and_only_the_owner_sees_it() {
    let app = spawn_app().await;
    let b = app
        .active_user("pilot@example.com", "pilot", PASSWORD)
        .await;
    let other = app
        .active_user("other@example.com", "other", PASSWORD)
        .await;
    let project = b.create_project("Orbit").await;
    // Nothing to process before the photos arrive.
    let early = launch(&b, &project).await;
    assert_eq!(
        early.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        early.body
    );

    let tmp = tempfile::tempdir().unwrap();
    upload(&b, &project, &orbit_zip(tmp.path(), 16)).await;
    // Advanced settings out of range are refused, field by field, and launch nothing.
    for (field, value, says) in [
        ("iterations", "10", "50–100000"),
        ("sh_degree", "4", "0, 1, 2 or 3"),
        ("max_gaussians", "many", "whole number"),
        ("max_gaussians", "999", "1000–6000000"),
        ("train_size", "9000", "256–8192"),
    ] {
        let r = b
            .call(
                "launch_job",
                &[
                    ("id", project.as_str()),
                    ("preset", "preview"),
                    (field, value),
                ],
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}={value}"
        );
        assert!(
            r.body.contains(field) && r.body.contains(says),
            "{}",
            r.body
        );
    }
    let started = launch(&b, &project).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    // One job at a time.
    assert_eq!(launch(&b, &project).await.status, StatusCode::CONFLICT);
    // Nobody else can see, follow or cancel it.
    assert_eq!(
        other
            .call("job_status", &[("id", &project), ("after", "0")])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        other.call("cancel_job", &[("id", &project)]).await.status,
        StatusCode::NOT_FOUND
    );

    let end = wait_for_end(&b, &project, Duration::from_mins(5)).await;
    assert_eq!(end["job"]["status"], "succeeded", "{end}");
    assert_eq!(
        end["job"]["done_stages"],
        serde_json::json!(["ingest", "sfm", "train", "compress"])
    );
    let events = end["events"].as_array().unwrap();
    for stage in ["ingest", "sfm", "train", "compress"] {
        assert!(
            events.iter().any(|e| e["stage"] == stage),
            "no {stage} events"
        );
    }
    // Messages never show the server's folders.
    let data_dir = app.data_dir().to_string_lossy().into_owned();
    assert!(
        events
            .iter()
            .all(|e| !e["message"].as_str().unwrap().contains(&data_dir)),
        "a message shows a server path: {end}"
    );
    // Training progress carries the points of the training curve.
    let curve: Vec<&Value> = events
        .iter()
        .filter_map(|e| e["train"].as_object().map(|_| &e["train"]))
        .collect();
    assert!(!curve.is_empty(), "no training curve: {end}");
    assert!(
        curve
            .iter()
            .all(|t| t["iterations"] == 60 && t["psnr"].as_f64().unwrap() > 5.0),
        "{curve:?}"
    );
    let project_now = b.call("get_project", &[("id", &project)]).await.json();
    assert_eq!(project_now["status"], "Delivered");
    // The advanced settings reached the trainer, and the page gets the model's report.
    assert_eq!(end["job"]["params"]["sh_degree"], 1, "{end}");
    let report = &end["report"];
    assert_eq!(report["sh_degree"], 1, "{end}");
    assert_eq!(report["iterations"], 60, "{end}");
    assert!(report["gaussians"].as_u64().unwrap() > 100, "{report}");
    assert!(report["held_out"].as_u64().unwrap() >= 1, "{report}");
    let psnr = report["psnr"].as_f64().unwrap();
    assert!((5.0..60.0).contains(&psnr), "{report}");
    let ssim = report["ssim"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&ssim), "{report}");
    let sog_len = report["sog_bytes"].as_u64().unwrap();
    // The owner is told, with a link to the project.
    let mail = app.last_mail("pilot@example.com").await.unwrap();
    assert!(mail.contains("now a 3D model"), "{mail}");
    assert!(mail.contains(&format!("/projects/{project}")), "{mail}");

    let sog = b
        .client
        .get(format!("{}/api/projects/{project}/files/model.sog", b.base))
        .send()
        .await
        .unwrap();
    assert_eq!(sog.status(), StatusCode::OK);
    let sog = sog.bytes().await.unwrap();
    assert!(sog.starts_with(b"PK"));
    assert_eq!(sog.len() as u64, sog_len, "the report's size is the file's");
    // The viewer reads a bundle's central directory from its last bytes first: ranges work,
    // and a range past the end is refused.
    let url = format!("{}/api/projects/{project}/files/model.sog", b.base);
    let tail = b
        .client
        .get(&url)
        .header("range", "bytes=-100")
        .send()
        .await
        .unwrap();
    assert_eq!(tail.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        tail.headers()["content-range"],
        format!("bytes {}-{}/{}", sog.len() - 100, sog.len() - 1, sog.len()).as_str()
    );
    assert_eq!(tail.bytes().await.unwrap(), sog[sog.len() - 100..]);
    let past = b
        .client
        .get(&url)
        .header("range", format!("bytes={}-", sog.len() + 10))
        .send()
        .await
        .unwrap();
    assert_eq!(past.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    // Degree 1: three SH rest coefficients per channel in the delivered PLY.
    let ply = b
        .client
        .get(format!("{}/api/projects/{project}/files/model.ply", b.base))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let header = String::from_utf8_lossy(&ply[..ply.len().min(4096)]).into_owned();
    assert!(
        header.contains("f_rest_8\n") && !header.contains("f_rest_9\n"),
        "{header}"
    );
    let theirs = other
        .client
        .get(format!(
            "{}/api/projects/{project}/files/model.sog",
            other.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);

    viewer_pages_and_share_links(&b, &other, &project).await;

    // A long run has thousands of events; the page gets the newest 500, oldest first.
    let job_id = end["job"]["id"].as_str().unwrap();
    for n in 0..600 {
        sqlx::query("INSERT INTO job_events (job_id, at, stage, step, message) VALUES (?, 0, 'train', 'log', ?)")
            .bind(job_id)
            .bind(format!("line {n}"))
            .execute(&app.embedded.pool)
            .await
            .unwrap();
    }
    let now = b
        .call("job_status", &[("id", &project), ("after", "0")])
        .await
        .json();
    let events = now["events"].as_array().unwrap();
    assert_eq!(events.len(), 500);
    assert_eq!(events[499]["message"], "line 599");
    assert_eq!(events[0]["message"], "line 100");

    // Launched again, the project delivers a new model and the superseded job's folder goes:
    // relaunching does not add a folder each time. (It stays until then, for an operator.)
    let first = app.data_dir().join("jobs").join(job_id);
    assert!(first.join("model.sog").is_file());
    assert_eq!(launch(&b, &project).await.status, StatusCode::OK);
    let second = wait_for_end(&b, &project, Duration::from_mins(3)).await;
    assert_eq!(second["job"]["status"], "succeeded", "{second}");
    let second_id = second["job"]["id"].as_str().unwrap();
    assert_ne!(second_id, job_id);
    assert!(
        !first.exists(),
        "the superseded job's folder is still there"
    );
    assert!(app
        .data_dir()
        .join("jobs")
        .join(second_id)
        .join("model.sog")
        .is_file());
    let model = b
        .client
        .get(format!("{}/api/projects/{project}/files/model.sog", b.base))
        .send()
        .await
        .unwrap();
    assert_eq!(model.status(), StatusCode::OK);
}

/// The owner's viewer page, and a share link's whole life: made once, public, embeddable,
/// serving the model only, revoked for good. (Runs on the delivered project above: delivering
/// a model takes a pipeline run.)
async fn viewer_pages_and_share_links(b: &Browser, other: &Browser, project: &str) {
    let get = |client: &reqwest::Client, path: String| {
        let url = format!("{}{path}", b.base);
        let client = client.clone();
        async move { client.get(url).send().await.unwrap() }
    };
    let page = get(&b.client, format!("/projects/{project}/view")).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["x-frame-options"], "SAMEORIGIN");
    assert!(page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .ends_with("frame-ancestors 'self'"));
    let html = page.text().await.unwrap();
    assert!(html.contains(&format!(
        "data-url=\"/api/projects/{project}/files/model.sog\""
    )));
    // The synthetic orbit carries GPS: the model is east-north-up.
    assert!(html.contains("data-up=\"z\""), "{html}");
    assert!(
        !html.contains("/pkg/"),
        "the viewer page must not load the app's bundle"
    );
    assert_eq!(
        get(&other.client, format!("/projects/{project}/view"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    assert_eq!(b.call("share_link", &[("id", project)]).await.body, "null");
    assert_eq!(
        other
            .call("create_share_link", &[("id", project)])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let created = b.call("create_share_link", &[("id", project)]).await;
    let (status, body) = (created.status, created.body);
    assert_eq!(status, StatusCode::OK, "{body}");
    let path: String = serde_json::from_str(&body).unwrap();
    assert!(path.starts_with("/s/") && path.len() == 3 + 32, "{path}");
    assert_eq!(
        b.call("create_share_link", &[("id", project)]).await.body,
        body,
        "sharing twice gives the same link"
    );
    assert_eq!(
        other.call("share_link", &[("id", project)]).await.status,
        StatusCode::NOT_FOUND
    );

    // Anyone with the link, signed in or not, sees the model — and other sites may frame it.
    let anonymous = crate::common::browser_at(&b.base).client;
    let shared = get(&anonymous, path.clone()).await;
    assert_eq!(shared.status(), StatusCode::OK);
    assert!(shared.headers().get("x-frame-options").is_none());
    let csp = shared.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(
        csp.ends_with("frame-ancestors *")
            && csp.contains("script-src 'self' 'wasm-unsafe-eval' 'nonce-"),
        "{csp}"
    );
    assert!(shared
        .text()
        .await
        .unwrap()
        .contains(&format!("data-url=\"{path}/model.sog\"")));
    let model = get(&anonymous, format!("{path}/model.sog")).await;
    assert_eq!(model.status(), StatusCode::OK);
    let model = model.bytes().await.unwrap();
    assert!(model.starts_with(b"PK"));
    let tail = anonymous
        .get(format!("{}{path}/model.sog", b.base))
        .header("range", "bytes=-22")
        .send()
        .await
        .unwrap();
    assert_eq!(tail.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(tail.bytes().await.unwrap(), model[model.len() - 22..]);
    // The link opens the model, not the account's other files.
    assert_eq!(
        get(&anonymous, format!("{path}/model.ply")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(
            &anonymous,
            format!("/api/projects/{project}/files/model.sog")
        )
        .await
        .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&anonymous, "/s/00000000000000000000000000000000".into())
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    let status = b.call("revoke_share_link", &[("id", project)]).await.status;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        get(&anonymous, path.clone()).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&anonymous, format!("{path}/model.sog")).await.status(),
        StatusCode::NOT_FOUND
    );
    let again = b.call("create_share_link", &[("id", project)]).await.body;
    assert_ne!(again, body, "a revoked link never comes back");
}

#[tokio::test]
async fn only_a_delivered_model_can_be_shared() {
    let app = spawn_app().await;
    let b = app
        .active_user("pilot@example.com", "pilot", PASSWORD)
        .await;
    let project = b.create_project("Not yet").await;
    let reply = b.call("create_share_link", &[("id", &project)]).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    assert!(
        reply.body.contains("only a delivered model"),
        "{}",
        reply.body
    );
    assert_eq!(
        b.client
            .get(format!("{}/projects/{project}/view", b.base))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_failing_stage_ends_the_job_with_its_reason() {
    let app = spawn_app().await;
    let b = app.active_user("few@example.com", "few", PASSWORD).await;
    let project = b.create_project("Too few").await;
    let tmp = tempfile::tempdir().unwrap();
    upload(&b, &project, &orbit_zip(tmp.path(), 2)).await;
    // The page follows the job through a server-sent event stream; only the owner may.
    let url = format!("{}/api/projects/{project}/progress", b.base);
    let stranger = app.active_user("nosy@example.com", "nosy", PASSWORD).await;
    assert_eq!(
        stranger.client.get(&url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        reqwest::get(&url).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let mut stream = b.client.get(&url).send().await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(
        stream.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    // First what is there before the launch (nothing): read before launching, since the server
    // computes that first event when the body is first read, which could be after the launch.
    let first = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
        .await
        .expect("a first event at once")
        .unwrap()
        .expect("the stream stays open");
    let mut seen = String::from_utf8_lossy(&first).into_owned();
    assert!(
        seen.starts_with("event: progress\ndata: {\"job\":\"\""),
        "{seen}"
    );
    assert_eq!(launch(&b, &project).await.status, StatusCode::OK);
    // Events arrive as the job moves, down to its end.
    let deadline = Instant::now() + Duration::from_mins(1);
    while !seen.contains(r#""status":"failed""#) {
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = tokio::time::timeout(left, stream.chunk())
            .await
            .unwrap_or_else(|_| panic!("no end in the stream: {seen}"))
            .unwrap()
            .expect("the stream stays open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("event: progress"), "{seen}");
    let end = wait_for_end(&b, &project, Duration::from_mins(1)).await;
    assert_eq!(end["job"]["status"], "failed", "{end}");
    assert_eq!(end["job"]["stage"], "ingest");
    let reason = end["job"]["error"].as_str().unwrap();
    assert!(reason.contains("at least 3 distinct photos"), "{reason}");
    let project_now = b.call("get_project", &[("id", &project)]).await.json();
    assert_eq!(project_now["status"], "Failed");
    let mail = app.last_mail("few@example.com").await.unwrap();
    assert!(
        mail.contains("stopped") && mail.contains("at least 3 distinct photos"),
        "{mail}"
    );
    // Nothing finished, so no later stage can start; a retry runs ingest again (and fails again).
    // A stage that cannot start yet, and one that does not exist, are refused by name.
    for (from, says) in [
        ("train", "Ingest has not finished"),
        ("paint", "ingest, sfm, train or compress"),
    ] {
        let refused = b
            .call(
                "launch_job",
                &[("id", &project), ("preset", "preview"), ("from", from)],
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.body
        );
        assert!(refused.body.contains(says), "{}", refused.body);
    }
    let retried = b.call("retry_job", &[("id", &project)]).await;
    assert_eq!(retried.status, StatusCode::OK, "{}", retried.body);
    let again = wait_for_end(&b, &project, Duration::from_mins(1)).await;
    assert_eq!(again["job"]["status"], "failed", "{again}");
    assert_eq!(
        again["job"]["id"], end["job"]["id"],
        "a retry reruns the same job"
    );
    // A failed job frees the user to launch again.
    assert_eq!(launch(&b, &project).await.status, StatusCode::OK);
}

#[tokio::test]
async fn cancel_stops_the_running_stage() {
    let app = spawn_app().await;
    let b = app
        .active_user("stop@example.com", "stopper", PASSWORD)
        .await;
    let project = b.create_project("Stop").await;
    let tmp = tempfile::tempdir().unwrap();
    upload(&b, &project, &orbit_zip(tmp.path(), 16)).await;
    let started = b
        .call(
            "launch_job",
            &[
                ("id", &project),
                ("preset", "preview"),
                ("iterations", "5000"),
                ("working_size", "480"),
                ("train_size", "320"),
            ],
        )
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    // Wait until a stage is running (SfM: COLMAP is busy), then cancel.
    let t0 = Instant::now();
    loop {
        let s = b
            .call("job_status", &[("id", &project), ("after", "0")])
            .await
            .json();
        if s["job"]["stage"] == "sfm" {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_mins(1),
            "never reached sfm: {s}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        b.call("cancel_job", &[("id", &project)]).await.status,
        StatusCode::OK
    );
    let end = wait_for_end(&b, &project, Duration::from_secs(20)).await;
    assert_eq!(end["job"]["status"], "cancelled", "{end}");
    assert_eq!(end["job"]["done_stages"], serde_json::json!(["ingest"]));
    let project_now = b.call("get_project", &[("id", &project)]).await.json();
    assert_eq!(
        project_now["status"], "PhotosUploaded",
        "cancelling keeps the photos, ready to launch again"
    );
    // Nothing is left running to cancel, and no process of the job survives (COLMAP included).
    assert_eq!(
        b.call("cancel_job", &[("id", &project)]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_nothing_left_running(end["job"]["id"].as_str().unwrap()).await;

    // Start again from SfM with lighter settings: ingest's output is kept, not redone, and
    // nobody else can restart the job.
    let other = app
        .active_user("other-stop@example.com", "other", PASSWORD)
        .await;
    assert_eq!(
        other.call("retry_job", &[("id", &project)]).await.status,
        StatusCode::NOT_FOUND
    );
    let from_sfm = [
        ("id", project.as_str()),
        ("preset", "preview"),
        ("iterations", "60"),
        ("working_size", "480"),
        ("train_size", "320"),
        ("from", "sfm"),
    ];
    let resumed = b.call("launch_job", &from_sfm).await;
    assert_eq!(resumed.status, StatusCode::OK, "{}", resumed.body);
    assert_eq!(
        b.call("launch_job", &from_sfm).await.status,
        StatusCode::CONFLICT,
        "one run at a time"
    );
    let end = wait_for_end(&b, &project, Duration::from_mins(5)).await;
    assert_eq!(end["job"]["status"], "succeeded", "{end}");
    assert_eq!(end["job"]["params"]["iterations"], 60);
    let events = end["events"].as_array().unwrap();
    let restart = events
        .iter()
        .position(|e| e["message"] == "run again from sfm")
        .expect("the restart is in the log");
    assert!(
        events[restart..].iter().all(|e| e["stage"] != "ingest"),
        "ingest ran again: {end}"
    );
    let project_now = b.call("get_project", &[("id", &project)]).await.json();
    assert_eq!(project_now["status"], "Delivered");
    // Everything finished: a plain retry has nothing to do; compressing again does.
    let nothing = b.call("retry_job", &[("id", &project)]).await;
    assert_eq!(
        nothing.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        nothing.body
    );
    let again = b
        .call(
            "launch_job",
            &[
                ("id", &project),
                ("preset", "preview"),
                ("from", "compress"),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    let end = wait_for_end(&b, &project, Duration::from_mins(2)).await;
    assert_eq!(end["job"]["status"], "succeeded", "{end}");
}

#[tokio::test]
async fn a_deleted_projects_files_are_swept_from_disk() {
    let app = spawn_app().await;
    let b = app.active_user("tidy@example.com", "tidy", PASSWORD).await;
    let tmp = tempfile::tempdir().unwrap();
    let photos = orbit_zip(tmp.path(), 2);
    let (gone, kept) = (
        b.create_project("Gone").await,
        b.create_project("Kept").await,
    );
    for project in [&gone, &kept] {
        upload(&b, project, &photos).await;
        assert_eq!(launch(&b, project).await.status, StatusCode::OK);
        wait_for_end(&b, project, Duration::from_mins(1)).await;
    }
    let job_of = |s: &Value| s["job"]["id"].as_str().unwrap().to_owned();
    let gone_job = job_of(
        &b.call("job_status", &[("id", &gone), ("after", "0")])
            .await
            .json(),
    );
    let kept_job = job_of(
        &b.call("job_status", &[("id", &kept), ("after", "0")])
            .await
            .json(),
    );
    let data = app.data_dir();
    let folders = |project: &str, job: &str| {
        [
            data.join("projects").join(project),
            data.join("jobs").join(job),
        ]
    };
    for f in folders(&gone, &gone_job)
        .iter()
        .chain(&folders(&kept, &kept_job))
    {
        assert!(f.is_dir(), "{} should exist", f.display());
    }
    let deleted = b.call("delete_project", &[("id", &gone)]).await;
    assert!(
        deleted.status.is_success() || deleted.status.is_redirection(),
        "{}",
        deleted.body
    );

    // The first pass only notes the orphans; the second removes them, and nothing else.
    let mut sweep = server::orphans::OrphanSweep::default();
    assert!(sweep.pass(&app.embedded.pool, data).await.is_empty());
    let removed = sweep.pass(&app.embedded.pool, data).await;
    assert_eq!(removed.len(), 2, "{removed:?}");
    for f in folders(&gone, &gone_job) {
        assert!(!f.exists(), "{} is still there", f.display());
    }
    for f in folders(&kept, &kept_job) {
        assert!(f.is_dir(), "{} was removed", f.display());
    }
}

#[tokio::test]
async fn progress_streams_are_bounded_per_user_and_end_with_the_session() {
    let app = spawn_app().await;
    let b = app.active_user("tabs@example.com", "tabs", PASSWORD).await;
    let project = b.create_project("Many tabs").await;
    let url = format!("{}/api/projects/{project}/progress", b.base);
    let mut open = Vec::new();
    for _ in 0..server::progress::STREAMS_PER_USER {
        let stream = b.client.get(&url).send().await.unwrap();
        assert_eq!(stream.status(), StatusCode::OK);
        open.push(stream);
    }
    let refused = b.client.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.text().await.unwrap().contains("close some tabs"));
    // A closed tab gives its place back.
    drop(open.pop());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let again = b.client.get(&url).send().await.unwrap();
        if again.status() == StatusCode::OK {
            open.push(again);
            break;
        }
        assert!(Instant::now() < deadline, "a closed stream kept its place");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Signing out ends every stream of the session within seconds.
    assert_eq!(b.call("sign_out", &[]).await.redirect.as_deref(), Some("/"));
    for mut stream in open {
        let ended = tokio::time::timeout(Duration::from_secs(30), async {
            while stream.chunk().await.unwrap().is_some() {}
        })
        .await;
        assert!(ended.is_ok(), "a stream outlived its session");
    }
}

#[tokio::test]
async fn a_stage_past_its_time_limit_is_stopped_with_everything_it_started() {
    // Operators may cap stages (`stage_time_limit_secs`); 3 s is shorter than SfM (COLMAP) on
    // sixteen photos, so the job reaches a stage it cannot finish in time, as a hung one would.
    let app = crate::common::spawn_app_with(&[("SPACEPORT_STAGE_TIME_LIMIT_SECS", "3")]).await;
    let b = app.active_user("slow@example.com", "slow", PASSWORD).await;
    let project = b.create_project("Slow").await;
    let tmp = tempfile::tempdir().unwrap();
    upload(&b, &project, &orbit_zip(tmp.path(), 16)).await;
    assert_eq!(launch(&b, &project).await.status, StatusCode::OK);
    let end = wait_for_end(&b, &project, Duration::from_mins(1)).await;
    assert_eq!(end["job"]["status"], "failed", "{end}");
    let reason = end["job"]["error"].as_str().unwrap();
    assert!(
        reason.contains("ran past its time limit (3 s) and was stopped"),
        "{reason}"
    );
    let mail = app.last_mail("slow@example.com").await.unwrap();
    assert!(mail.contains("time limit"), "the owner is told why: {mail}");
    assert_nothing_left_running(end["job"]["id"].as_str().unwrap()).await;
}

#[tokio::test]
async fn an_admin_sees_every_running_job_and_stops_another_users() {
    let app = spawn_app().await;
    let temporary = app.invite("ops@example.com", domain::Role::Admin).await;
    let admin = app.browser();
    crate::common::activate(&admin, "ops@example.com", &temporary, "ops", PASSWORD).await;
    let pilot = app.active_user("busy@example.com", "busy", PASSWORD).await;
    let project = pilot.create_project("Long survey").await;
    let tmp = tempfile::tempdir().unwrap();
    upload(&pilot, &project, &orbit_zip(tmp.path(), 8)).await;
    assert_eq!(launch(&pilot, &project).await.status, StatusCode::OK);

    let overview = admin.call("admin_overview", &[]).await.json();
    let jobs = overview["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1, "{overview}");
    assert_eq!(jobs[0]["owner_email"], "busy@example.com");
    assert_eq!(jobs[0]["project_title"], "Long survey");
    // Users may not; admins may.
    let owner_id = jobs[0]["owner_id"].as_str().unwrap().to_owned();
    let stop = [("owner", owner_id.as_str()), ("project", project.as_str())];
    assert_eq!(
        pilot.call("admin_stop_job", &stop).await.status,
        StatusCode::FORBIDDEN
    );
    let r = admin.call("admin_stop_job", &stop).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let end = wait_for_end(&pilot, &project, Duration::from_mins(1)).await;
    assert_eq!(end["job"]["status"], "cancelled", "{end}");
    let after = admin.call("admin_overview", &[]).await.json();
    assert_eq!(after["jobs"].as_array().unwrap().len(), 0, "{after}");
}
