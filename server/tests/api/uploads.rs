#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)] // test bytes are masked to 0–255

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::{spawn_app, spawn_app_with, Browser};

const PASSWORD: &str = "correct horse battery";
const PART: usize = 8 << 20;

async fn create(b: &Browser, project: &str, name: &str, size: usize) -> (StatusCode, String) {
    let r = b
        .client
        .post(format!("{}/api/projects/{project}/uploads", b.base))
        .json(&json!({ "file_name": name, "size": size }))
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn put(b: &Browser, upload: &str, n: u32, bytes: &[u8]) -> (StatusCode, String) {
    let r = b
        .client
        .put(format!("{}/api/uploads/{upload}/parts/{n}", b.base))
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn post(b: &Browser, path: &str) -> (StatusCode, String) {
    let r = b
        .client
        .post(format!("{}{path}", b.base))
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

fn file(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i.wrapping_mul(2_654_435_761) >> 13) & 0xFF) as u8)
        .collect()
}

#[tokio::test]
async fn a_resumable_upload_lands_as_the_projects_photo_archive() {
    let app = spawn_app().await;
    let b = app
        .active_user("up@example.com", "uploader", PASSWORD)
        .await;
    let project = b.create_project("Barn").await;
    let data = file(2 * PART + 3);
    let (status, body) = create(&b, &project, "photos.zip", data.len()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let s: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(s["parts"], 3);
    let id = s["id"].as_str().unwrap().to_owned();
    let part = |n: usize| &data[(n - 1) * PART..(n * PART).min(data.len())];

    // Out of order; a truncated part (a dropped connection) is refused and not counted.
    assert_eq!(put(&b, &id, 3, part(3)).await.0, StatusCode::NO_CONTENT);
    let (status, body) = put(&b, &id, 1, &part(1)[..1000]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("must be 8388608 bytes"), "{body}");
    assert_eq!(put(&b, &id, 1, part(1)).await.0, StatusCode::NO_CONTENT);
    // Resuming: the server says what it has, the client sends the rest.
    let state: Value =
        serde_json::from_str(&b.get(&format!("/api/uploads/{id}")).await.body).unwrap();
    assert_eq!(state["received"], json!([1, 3]));
    let (status, body) = post(&b, &format!("/api/uploads/{id}/complete")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("1 part(s) not uploaded yet (first: 2)"),
        "{body}"
    );
    assert_eq!(put(&b, &id, 2, part(2)).await.0, StatusCode::NO_CONTENT);
    assert_eq!(
        put(&b, &id, 2, part(2)).await.0,
        StatusCode::NO_CONTENT,
        "re-sending is harmless"
    );
    let (status, body) = post(&b, &format!("/api/uploads/{id}/complete")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["completed"],
        true
    );

    let archive = app
        .data_dir()
        .join("projects")
        .join(&project)
        .join("photos.zip");
    assert_eq!(std::fs::read(archive).unwrap(), data);
    assert!(
        !app.data_dir().join("uploads").join(&id).exists(),
        "parts are cleaned up"
    );
    let status = b.call("get_project", &[("id", &project)]).await.json()["status"].clone();
    assert_eq!(status, "PhotosUploaded");
    assert_eq!(
        put(&b, &id, 1, part(1)).await.0,
        StatusCode::UNPROCESSABLE_ENTITY,
        "complete is final"
    );
}

#[tokio::test]
async fn uploads_are_private_and_bounded() {
    let app = spawn_app_with(&[("SPACEPORT_MAX_UPLOAD_BYTES", "10485760")]).await;
    let alice = app.active_user("a@example.com", "alice", PASSWORD).await;
    let mallory = app.active_user("m@example.com", "mallory", PASSWORD).await;
    let project = alice.create_project("Private").await;
    let (_, body) = create(&alice, &project, "photos.zip", 100).await;
    let id = serde_json::from_str::<Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Another user sees nothing and changes nothing; a stranger is asked to sign in.
    assert_eq!(
        create(&mallory, &project, "photos.zip", 100).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        mallory.get(&format!("/api/uploads/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        put(&mallory, &id, 1, &[0; 100]).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post(&mallory, &format!("/api/uploads/{id}/complete"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        put(&app.browser(), &id, 1, &[0; 100]).await.0,
        StatusCode::UNAUTHORIZED
    );
    let state: Value =
        serde_json::from_str(&alice.get(&format!("/api/uploads/{id}")).await.body).unwrap();
    assert_eq!(state["received"], json!([]));

    // Clear limits.
    let (status, body) = create(&alice, &project, "photos.zip", 11 << 20).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("larger than the"), "{body}");
    let (status, body) = create(&alice, &project, "notes.txt", 100).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains(".zip"), "{body}");
    assert_eq!(
        put(&alice, &id, 2, &[0; 100]).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let too_big = alice
        .client
        .put(format!("{}/api/uploads/{id}/parts/1", alice.base))
        .body(vec![0u8; PART + 4096])
        .send()
        .await
        .unwrap();
    assert_eq!(too_big.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

/// Sends a part's headers and its first bytes on a raw connection — a client promising 8 MiB —
/// and returns the status line the server answers with before the rest arrives, if any within
/// `wait`.
async fn answer_before_the_body(
    base: &str,
    path: &str,
    cookie: &str,
    wait: std::time::Duration,
) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {}\r\n{cookie}\r\n",
        8 * 1024 * 1024
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&[0u8; 4096]).await.unwrap();
    let mut reply = vec![0u8; 256];
    match tokio::time::timeout(wait, conn.read(&mut reply)).await {
        Ok(Ok(n)) if n > 0 => Some(
            String::from_utf8_lossy(&reply[..n])
                .lines()
                .next()?
                .to_owned(),
        ),
        _ => None,
    }
}

#[tokio::test]
async fn a_part_from_nobody_is_refused_before_its_body_is_read() {
    let app = spawn_app().await;
    let owner = app
        .active_user("parts@example.com", "parts", PASSWORD)
        .await;
    let project = owner.create_project("Guarded").await;
    let (status, body) = create(&owner, &project, "photos.zip", 2 * PART).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let upload = serde_json::from_str::<Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/uploads/{upload}/parts/1");
    let wait = std::time::Duration::from_secs(10);
    // No session: answered at once, while the client is still "sending" (it never finishes).
    let status = answer_before_the_body(&app.base, &path, "", wait).await;
    assert!(
        status.as_deref().is_some_and(|s| s.contains(" 401 ")),
        "an unauthenticated part was read first: {status:?}"
    );
    // The owner's part is read (the server waits for the rest: no early answer).
    let cookie = format!(
        "Cookie: sp_session={}\r\n",
        owner.cookie("sp_session").unwrap()
    );
    let status =
        answer_before_the_body(&app.base, &path, &cookie, std::time::Duration::from_secs(2)).await;
    assert_eq!(status, None, "the owner's part was refused early");
}

#[tokio::test]
async fn a_users_photos_stay_within_their_quota_even_when_sent_at_once() {
    let app = spawn_app_with(&[("SPACEPORT_USER_QUOTA_BYTES", "20971520")]).await; // 20 MiB
    let b = app
        .active_user("quota@example.com", "quota", PASSWORD)
        .await;
    let projects = [
        b.create_project("One").await,
        b.create_project("Two").await,
        b.create_project("Three").await,
    ];
    // Three 12 MiB uploads started at the same moment: one fits.
    let (r1, r2, r3) = tokio::join!(
        create(&b, &projects[0], "photos.zip", 12 << 20),
        create(&b, &projects[1], "photos.zip", 12 << 20),
        create(&b, &projects[2], "photos.zip", 12 << 20),
    );
    let replies = [r1, r2, r3];
    let ok: Vec<_> = replies
        .iter()
        .filter(|(s, _)| *s == StatusCode::OK)
        .collect();
    assert_eq!(ok.len(), 1, "{replies:?}");
    let refused = replies.iter().find(|(s, _)| *s != StatusCode::OK).unwrap();
    assert_eq!(refused.0, StatusCode::CONFLICT);
    assert!(
        refused.1.contains("your photos may take 20 MiB in all")
            && refused.1.contains("delete a project"),
        "{}",
        refused.1
    );
    // Deleting the project that holds them makes room.
    let holder = projects
        .iter()
        .zip(&replies)
        .find(|(_, (s, _))| *s == StatusCode::OK)
        .map(|(p, _)| p.clone())
        .unwrap();
    let other = projects.iter().find(|p| **p != holder).unwrap();
    let deleted = b.call("delete_project", &[("id", &holder)]).await;
    assert!(deleted.status.is_success(), "{}", deleted.body);
    let (status, body) = create(&b, other, "photos.zip", 12 << 20).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_disk_too_full_refuses_uploads_with_a_message() {
    // Keep an exabyte free: no disk has that, so this machine's disk is "too full".
    let app = spawn_app_with(&[("SPACEPORT_MIN_FREE_BYTES", "1152921504606846976")]).await;
    let b = app.active_user("full@example.com", "full", PASSWORD).await;
    let project = b.create_project("No room").await;
    let (status, body) = create(&b, &project, "photos.zip", 3 << 20).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body.contains("short of disk space") && body.contains("try again later"),
        "{body}"
    );
}
