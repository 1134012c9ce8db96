#![allow(clippy::unwrap_used)]

use reqwest::StatusCode;

use crate::common::spawn_app;

const PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn malformed_bodies_get_4xx() {
    let app = spawn_app().await;
    let b = app.active_user("fuzz@example.com", "fuzz", PASSWORD).await;
    let url = |e: &str| format!("{}/api/{e}", app.base);
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        (
            "sign_in",
            "application/x-www-form-urlencoded",
            b"email=a@b.com".to_vec(),
        ),
        (
            "sign_in",
            "application/x-www-form-urlencoded",
            b"%%%=%zz&&==".to_vec(),
        ),
        (
            "sign_in",
            "application/x-www-form-urlencoded",
            vec![0xff, 0xfe, 0x00, 0x80],
        ),
        (
            "create_project",
            "application/json",
            b"{\"title\": [1,2,3]}".to_vec(),
        ),
        (
            "create_project",
            "application/x-www-form-urlencoded",
            b"".to_vec(),
        ),
        (
            "rename_project",
            "application/x-www-form-urlencoded",
            b"id=../../etc/passwd&title=x".to_vec(),
        ),
        (
            "save_flight_inputs",
            "application/x-www-form-urlencoded",
            b"id=0123456789abcdef0123456789abcdef".to_vec(),
        ),
    ];
    for (endpoint, content_type, body) in cases {
        let res = b
            .client
            .post(url(endpoint))
            .header("content-type", content_type)
            .header("accept", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = res.status();
        assert!(status.is_client_error(), "{endpoint} {body:?}: {status}");
    }
    let nowhere = b.client.post(url("no_such_function")).send().await.unwrap();
    assert!(nowhere.status().is_client_error(), "{}", nowhere.status());
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = spawn_app().await;
    let b = app.browser();
    let huge = "a".repeat(1024 * 1024);
    let res = b
        .client
        .post(format!("{}/api/sign_in", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("email=a@b.com&password={huge}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // A long-but-allowed title is a validation error, not a crash.
    let user = app.active_user("big@example.com", "big", PASSWORD).await;
    let r = user
        .call("create_project", &[("title", &"x".repeat(5000))])
        .await;
    assert_eq!(r.json()["Invalid"]["field"], "title");
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let app = spawn_app().await;
    let b = app.active_user("csrf@example.com", "csrf", PASSWORD).await;
    let post = |origin: Option<&str>, site: Option<&str>| {
        let mut req = b
            .client
            .post(format!("{}/api/create_project", app.base))
            .header("accept", "application/json")
            .form(&[("title", "from somewhere")]);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        if let Some(s) = site {
            req = req.header("sec-fetch-site", s);
        }
        req.send()
    };
    assert_eq!(
        post(Some("https://evil.example"), None)
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(Some("null"), None).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(None, Some("cross-site")).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(Some(&app.base), Some("same-origin"))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        b.call("list_projects", &[])
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1,
        "only the same-origin one"
    );
}

#[tokio::test]
async fn unknown_pages_are_real_404s_and_pages_render() {
    let app = spawn_app().await;
    let b = app.browser();
    let missing = b.get("/no/such/page").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("Page not found"));
    let landing = b.get("/").await;
    assert_eq!(landing.status, StatusCode::OK);
    assert!(landing.body.contains("invite-only"));
    assert_eq!(b.get("/signin").await.status, StatusCode::OK);
    let res = b.client.get(&app.base).send().await.unwrap();
    assert_eq!(
        res.headers().get("x-content-type-options").unwrap(),
        "nosniff"
    );
}
