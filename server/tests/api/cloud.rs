//! Cloud mode end to end, against the moto server (a local stand-in of AWS): the whole journey
//! through the real server — an account in Cognito, a project in DynamoDB, photos uploaded
//! straight into S3 through presigned parts, a Step Functions execution whose SageMaker stages a
//! local worker runs with the real pipeline, the delivered model fetched from S3 — and the
//! misconfigurations that must stop the server before it starts anything.

use std::collections::BTreeMap;
use std::time::Duration;

use cloud::testkit::{provision, provision_state_machine, Moto, StandInSageMaker};
use reqwest::StatusCode;
use serde_json::Value;
use server::config::{Config, Overrides};
use server::startup::Application;

use crate::common::{browser_at, Browser};
use crate::jobs::{launch, orbit_zip, spaceport, wait_for_end};

const PASSWORD: &str = "correct horse battery";

fn env_of(s: &cloud::AwsSettings) -> BTreeMap<String, String> {
    [
        ("SPACEPORT_MODE", "aws"),
        ("SPACEPORT_AWS_REGION", s.region.as_str()),
        (
            "SPACEPORT_AWS_ENDPOINT_URL",
            s.endpoint_url.as_deref().unwrap_or_default(),
        ),
        ("SPACEPORT_DYNAMODB_TABLE", s.table.as_str()),
        ("SPACEPORT_S3_BUCKET", s.bucket.as_str()),
        ("SPACEPORT_COGNITO_USER_POOL_ID", s.user_pool_id.as_str()),
        ("SPACEPORT_COGNITO_CLIENT_ID", s.client_id.as_str()),
        ("SPACEPORT_STATE_MACHINE_ARN", s.state_machine_arn.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn config(env: &BTreeMap<String, String>, data: &std::path::Path) -> Config {
    let overrides = Overrides {
        config_file: None,
        addr: Some("127.0.0.1:0".into()),
        data_dir: Some(data.to_path_buf()),
    };
    Config::from_layers(env, &overrides).expect("a well-formed configuration")
}

/// `server invite` in cloud mode, as an administrator would run it; the temporary password.
fn invite(env: &BTreeMap<String, String>, data: &std::path::Path, email: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["invite", email, "--data-dir"])
        .arg(data)
        .envs(env)
        .env_remove("SPACEPORT_LOG")
        .output()
        .expect("server invite");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .last()
        .expect("a password")
        .trim()
        .to_owned()
}

/// Uploads `bytes` as the browser does in the cloud: each part PUT to its presigned S3 URL and
/// its ETag reported.
async fn upload_direct(b: &Browser, project: &str, bytes: &[u8]) {
    let s: Value = b
        .client
        .post(format!("{}/api/projects/{project}/uploads", b.base))
        .json(&serde_json::json!({ "file_name": "photos.zip", "size": bytes.len() }))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("session");
    let id = s["id"].as_str().expect("id");
    let part = usize::try_from(s["part_size"].as_u64().expect("part size")).expect("usize");
    let s3 = reqwest::Client::new(); // no cookies: S3 needs none, and must get none
    for (n, chunk) in bytes.chunks(part).enumerate() {
        let n = n + 1;
        let target: Value = b
            .client
            .get(format!("{}/api/uploads/{id}/parts/{n}/url", b.base))
            .send()
            .await
            .expect("url")
            .json()
            .await
            .expect("json");
        let url = target["url"]
            .as_str()
            .expect("the cloud hands out part URLs");
        assert!(!url.starts_with(&b.base), "parts go straight to S3: {url}");
        let put = s3.put(url).body(chunk.to_vec()).send().await.expect("PUT");
        assert!(put.status().is_success(), "{}", put.status());
        let etag = put.headers()["etag"].to_str().expect("etag").to_owned();
        let r = b
            .client
            .post(format!("{}/api/uploads/{id}/parts/{n}/etag", b.base))
            .json(&serde_json::json!({ "etag": etag }))
            .send()
            .await
            .expect("etag");
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }
    let r = b
        .client
        .post(format!("{}/api/uploads/{id}/complete", b.base))
        .send()
        .await
        .expect("complete");
    assert!(
        r.status().is_success(),
        "{}",
        r.text().await.unwrap_or_default()
    );
}

#[tokio::test]
async fn the_whole_journey_runs_on_the_aws_stand_in() {
    let moto = Moto::start();
    let mut settings = moto.settings("journey");
    provision(&mut settings).await;
    provision_state_machine(&moto, &mut settings).await;
    let work = tempfile::tempdir().expect("tempdir");
    let _sagemaker =
        StandInSageMaker::start(&settings, spaceport(), work.path().to_path_buf()).await;

    let data = tempfile::tempdir().expect("tempdir");
    let env = env_of(&settings);
    let app = Application::build(&config(&env, data.path()))
        .await
        .expect("cloud mode starts");
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run());

    // Sign-in with a Cognito user: invited by the admin command, first sign-in sets the
    // password and handle.
    let temporary = invite(&env, data.path(), "pilot@example.com");
    let b = browser_at(&base);
    crate::common::activate(&b, "pilot@example.com", &temporary, "pilot", PASSWORD).await;
    // Browsers send photo parts to S3 and fetch models from it: the pages' CSP lets them.
    let page = b
        .client
        .get(format!("{base}/dashboard"))
        .send()
        .await
        .expect("page");
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let endpoint = settings
        .endpoint_url
        .clone()
        .expect("the stand-in's endpoint");
    assert!(
        csp.contains(&format!(
            "connect-src 'self' {}",
            endpoint.trim_end_matches('/')
        )),
        "{csp}"
    );
    let other_temporary = invite(&env, data.path(), "other@example.com");
    let other = browser_at(&base);
    crate::common::activate(
        &other,
        "other@example.com",
        &other_temporary,
        "other",
        PASSWORD,
    )
    .await;

    let project = b.create_project("Orbit").await;
    assert_eq!(
        other
            .call("get_project", &[("id", project.as_str())])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    upload_direct(&b, &project, &orbit_zip(tmp.path(), 16)).await;

    let r = launch(&b, &project).await;
    assert!(r.status.is_success(), "{}", r.body);
    let end = wait_for_end(&b, &project, Duration::from_mins(8)).await;
    assert_eq!(end["job"]["status"], "succeeded", "{end}");
    assert_eq!(
        end["job"]["done_stages"],
        serde_json::json!(["ingest", "sfm", "train", "compress"])
    );
    let events = end["events"].as_array().expect("events");
    assert!(
        events
            .iter()
            .any(|e| e["stage"] == "train" && !e["train"].is_null()),
        "the training curve arrived through the progress files: {end}"
    );
    assert!(
        end["report"]["gaussians"].as_u64().unwrap_or(0) > 0,
        "the quality report: {end}"
    );

    // The delivered model comes from S3, after the owner check.
    let r = b
        .client
        .get(format!("{base}/api/projects/{project}/files/model.sog"))
        .send()
        .await
        .expect("model");
    assert_eq!(r.status(), StatusCode::TEMPORARY_REDIRECT);
    let location = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let model = reqwest::get(&location)
        .await
        .expect("S3")
        .bytes()
        .await
        .expect("bytes");
    assert!(
        model.starts_with(b"PK\x03\x04") && model.len() > 1000,
        "a SOG bundle: {} bytes",
        model.len()
    );
    let r = other
        .client
        .get(format!("{base}/api/projects/{project}/files/model.sog"))
        .send()
        .await
        .expect("model");
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "another user gets nothing"
    );
}

/// Starts the server with `env` and expects it to refuse, naming `setting`; nothing may have
/// been written.
async fn refuses(env: &BTreeMap<String, String>, setting: &str) {
    let data = tempfile::tempdir().expect("tempdir");
    let err = match Application::build(&config(env, data.path())).await {
        Ok(_) => panic!("the server started with a broken {setting}"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains(setting), "the error names {setting}: {err}");
    assert!(err.contains("check-config"), "{err}");
    assert_eq!(
        std::fs::read_dir(data.path()).expect("data").count(),
        0,
        "nothing half-started: {err}"
    );
}

#[tokio::test]
async fn misconfigurations_stop_the_server_naming_the_setting() {
    let moto = Moto::start();
    let mut settings = moto.settings("misconfigured");
    provision(&mut settings).await;
    provision_state_machine(&moto, &mut settings).await;
    let good = env_of(&settings);

    let with = |key: &str, value: &str| {
        let mut env = good.clone();
        env.insert(key.to_owned(), value.to_owned());
        env
    };
    // A well-formed pool id that is not there (another stack's, a deleted pool's).
    refuses(
        &with("SPACEPORT_COGNITO_USER_POOL_ID", "eu-west-1_NoSuchPool"),
        "SPACEPORT_COGNITO_USER_POOL_ID",
    )
    .await;
    refuses(
        &with("SPACEPORT_COGNITO_CLIENT_ID", "nosuchclient123"),
        "SPACEPORT_COGNITO_CLIENT_ID",
    )
    .await;
    refuses(
        &with("SPACEPORT_S3_BUCKET", "no-such-bucket"),
        "SPACEPORT_S3_BUCKET",
    )
    .await;
    refuses(
        &with("SPACEPORT_DYNAMODB_TABLE", "no-such-table"),
        "SPACEPORT_DYNAMODB_TABLE",
    )
    .await;
    refuses(
        &with(
            "SPACEPORT_STATE_MACHINE_ARN",
            "arn:aws:states:eu-west-1:123456789012:stateMachine:gone",
        ),
        "SPACEPORT_STATE_MACHINE_ARN",
    )
    .await;
    // Nothing answers at the endpoint.
    refuses(
        &with("SPACEPORT_AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        "SPACEPORT_AWS_ENDPOINT_URL",
    )
    .await;

    // Refused credentials (what AWS answers to expired ones): a stand-in that checks them.
    let strict = Moto::start_checking_credentials();
    refuses(
        &with("SPACEPORT_AWS_ENDPOINT_URL", &strict.url),
        "AWS credentials",
    )
    .await;

    // Mistakes in the settings' shape stop the server before it asks AWS anything.
    let data = tempfile::tempdir().expect("tempdir");
    let overrides = Overrides {
        config_file: None,
        addr: Some("127.0.0.1:0".into()),
        data_dir: Some(data.path().to_path_buf()),
    };
    for (key, value) in [
        ("SPACEPORT_COGNITO_USER_POOL_ID", "us-east-1_AbCdEf123"),
        ("SPACEPORT_S3_BUCKET", "s3://bucket"),
        ("SPACEPORT_STATE_MACHINE_ARN", "spaceport-pipeline"),
        ("SPACEPORT_AWS_REGION", "Ireland"),
    ] {
        let e = Config::from_layers(&with(key, value), &overrides)
            .expect_err(key)
            .to_string();
        assert!(e.contains(key), "{e}");
    }
    let mut missing = good.clone();
    missing.remove("SPACEPORT_S3_BUCKET");
    let e = Config::from_layers(&missing, &overrides)
        .expect_err("missing")
        .to_string();
    assert!(e.contains("SPACEPORT_S3_BUCKET is not set"), "{e}");

    // The good configuration passes `server check-config`, which lists what it found.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["check-config", "--data-dir"])
        .arg(data.path())
        .envs(&good)
        .output()
        .expect("check-config");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for thing in [
        "credentials",
        "table",
        "bucket",
        "user pool",
        "state machine",
    ] {
        assert!(stdout.contains(thing), "{stdout}");
    }
}
