#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::common::{spawn_app_with, TestApp};

const PASSWORD: &str = "correct horse battery";

/// A minimal SMTP relay speaking just enough of RFC 5321 for one client; it records each DATA.
async fn fake_relay() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 fake ESMTP\r\n").await.unwrap();
                let mut in_data = false;
                let mut data = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            store.lock().unwrap().push(std::mem::take(&mut data));
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            data.push_str(&line);
                            data.push('\n');
                        }
                        continue;
                    }
                    let verb = line.split_whitespace().next().unwrap_or("").to_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 fake\r\n",
                        "DATA" => {
                            in_data = true;
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.unwrap();
                            break;
                        }
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, received)
}

async fn request_reset(app: &TestApp, email: &str) {
    app.active_user(email, "mailer", PASSWORD).await;
    let r = app
        .browser()
        .call("request_password_reset", &[("email", email)])
        .await;
    assert!(r.status.is_success(), "{}", r.body);
}

#[tokio::test]
async fn mail_is_delivered_through_the_configured_relay() {
    let (port, received) = fake_relay().await;
    let url = format!("smtp://127.0.0.1:{port}");
    let app = spawn_app_with(&[
        ("SPACEPORT_SMTP_URL", &url),
        ("SPACEPORT_MAIL_FROM", "Spaceport <noreply@test.example>"),
    ])
    .await;
    request_reset(&app, "inbox@example.com").await;
    let mut delivered = Vec::new();
    for _ in 0..100 {
        delivered = received.lock().unwrap().clone();
        if delivered.iter().any(|m| m.contains("reset?token=")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let reset = delivered
        .iter()
        .find(|m| m.contains("reset?token="))
        .expect("the reset mail reached the relay");
    assert!(reset.contains("To: inbox@example.com"), "{reset}");
    // Two parts with the same words: plain text, and HTML for the clients that prefer it.
    assert!(reset.contains("multipart/alternative"), "{reset}");
    assert!(reset.contains("Content-Type: text/plain"), "{reset}");
    assert!(reset.contains("Content-Type: text/html"), "{reset}");
    assert!(
        reset.contains("From: Spaceport <noreply@test.example>"),
        "{reset}"
    );
    let mut stored = Vec::new();
    for _ in 0..100 {
        stored = app
            .embedded
            .outbox
            .recent(Some("inbox@example.com"), 5)
            .await
            .unwrap();
        if stored.iter().all(|m| m.sent_at.is_some()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        stored.iter().all(|m| m.sent_at.is_some()),
        "the outbox records delivery"
    );
    // Once sent, the copy kept for the record no longer holds the one-time link.
    assert!(
        stored
            .iter()
            .all(|m| !m.body.contains("token=") && m.body.contains("removed once sent")),
        "{stored:?}"
    );
}

#[tokio::test]
async fn a_relay_outage_loses_nothing() {
    // A port nobody listens on: delivery fails, the message stays with its error for a retry.
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("smtp://127.0.0.1:{closed}");
    let app = spawn_app_with(&[("SPACEPORT_SMTP_URL", &url)]).await;
    request_reset(&app, "later@example.com").await;
    let mut reset = None;
    for _ in 0..100 {
        let stored = app
            .embedded
            .outbox
            .recent(Some("later@example.com"), 1)
            .await
            .unwrap();
        // The reset's mail is queued after the request is answered: wait for it, tried once.
        if stored
            .first()
            .is_some_and(|m| m.attempts > 0 && m.body.contains("reset?token="))
        {
            reset = stored.into_iter().next();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let reset = reset.expect("a delivery attempt was made");
    assert!(reset.sent_at.is_none());
    assert!(reset.error.is_some());
    assert!(
        reset.body.contains("reset?token="),
        "the message itself is intact"
    );
}

/// Every message queued to `to`, newest first.
async fn mails_to(app: &TestApp, to: &str) -> Vec<String> {
    app.embedded
        .outbox
        .recent(Some(to), 20)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect()
}

#[tokio::test]
async fn joining_the_waitlist_and_arriving_photos_are_told_by_mail_once() {
    let app = crate::common::spawn_app().await;
    app.invite("boss@example.com", domain::Role::Admin).await;
    let visitor = app.browser();
    for _ in 0..2 {
        let r = visitor
            .call(
                "join_waitlist",
                &[("email", "eager@example.com"), ("note", "Mavic 3, farms")],
            )
            .await;
        assert!(r.status.is_success(), "{}", r.body);
    }
    let notice = app
        .wait_for_mail("boss@example.com", "eager@example.com joined")
        .await;
    assert!(
        notice.contains("Mavic 3, farms") && notice.contains("/admin"),
        "{notice}"
    );
    let to_visitor = mails_to(&app, "eager@example.com").await;
    assert_eq!(
        to_visitor.len(),
        1,
        "joining twice mails once: {to_visitor:?}"
    );
    assert!(
        to_visitor[0].contains("on the waitlist"),
        "{}",
        to_visitor[0]
    );

    // All the photos of an upload arrive: the owner hears, once, even if `complete` is asked again.
    let owner = app
        .active_user("pilot@example.com", "pilot", PASSWORD)
        .await;
    let project = owner.create_project("Barn roof").await;
    let tmp = tempfile::tempdir().unwrap();
    let id = crate::jobs::upload(&owner, &project, &crate::jobs::orbit_zip(tmp.path(), 3)).await;
    let mail = app.wait_for_mail("pilot@example.com", "arrived").await;
    assert!(
        mail.contains("\u{201c}Barn roof\u{201d}")
            && mail.contains(&format!("/projects/{project}")),
        "{mail}"
    );
    let again = owner
        .client
        .post(format!("{}/api/uploads/{id}/complete", owner.base))
        .send()
        .await
        .unwrap();
    assert!(again.status().is_success(), "completing again is safe");
    let arrived = mails_to(&app, "pilot@example.com")
        .await
        .into_iter()
        .filter(|m| m.contains("arrived"))
        .count();
    assert_eq!(arrived, 1);
}
