#![allow(clippy::unwrap_used)]

use reqwest::StatusCode;

use crate::common::{spawn_app, spawn_app_with};

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

/// The CSP's script nonce, and every `<script` tag of `html` that lacks it.
fn scripts_without_nonce(csp: &str, html: &str) -> Vec<String> {
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_else(|| panic!("no nonce in {csp}"));
    html.match_indices("<script")
        .map(|(i, _)| html[i..].split('>').next().unwrap().to_owned())
        .filter(|tag| !tag.contains(" src=") && !tag.contains(&format!("nonce=\"{nonce}\"")))
        .collect()
}

#[tokio::test]
async fn every_route_kind_carries_the_security_headers() {
    let app = spawn_app().await;
    let b = app.browser();
    let anonymous = crate::common::browser_at(&app.base);
    let user = app.active_user("csp@example.com", "csp", PASSWORD).await;
    let mut nonces = std::collections::HashSet::new();
    // A visitor's page, a signed-in page rendered with its data (async SSR writes the data as
    // inline scripts), an unknown page, a server function, a static file, the viewer page.
    for (who, method, path) in [
        (&anonymous, "GET", "/"),
        (&anonymous, "GET", "/signin"),
        (&user, "GET", "/dashboard"),
        (&user, "GET", "/account"),
        (&anonymous, "GET", "/no/such/page"),
        (&b, "POST", "/api/current_user"),
        (&anonymous, "GET", "/favicon.svg"),
        (&anonymous, "GET", "/view?url=/m.sog"),
    ] {
        let res = match method {
            "GET" => who.client.get(format!("{}{path}", app.base)),
            _ => who.client.post(format!("{}{path}", app.base)),
        }
        .send()
        .await
        .unwrap();
        let h = res.headers().clone();
        let csp = h
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{path}: no CSP"))
            .to_str()
            .unwrap()
            .to_owned();
        let scripts = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src "))
            .unwrap_or_else(|| panic!("{path}: no script-src in {csp}"));
        assert!(
            scripts.starts_with("script-src 'self' 'wasm-unsafe-eval' 'nonce-")
                && !scripts.contains("unsafe-inline")
                && !scripts.contains(" 'unsafe-eval'")
                && csp.contains("object-src 'none'")
                && csp.contains("base-uri 'none'"),
            "{path}: {csp}"
        );
        // Only Spaceport's own pages may frame the viewer; nobody frames the rest.
        let (ancestors, frame_options) = if path.starts_with("/view") {
            ("frame-ancestors 'self'", "SAMEORIGIN")
        } else {
            ("frame-ancestors 'none'", "DENY")
        };
        assert!(
            csp.ends_with(ancestors) && h["x-frame-options"] == frame_options,
            "{path}: {csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert!(
            h.get("strict-transport-security").is_none(),
            "{path}: HSTS over http"
        );
        let html = res.text().await.unwrap();
        let bare = scripts_without_nonce(&csp, &html);
        assert!(
            bare.is_empty(),
            "{path}: inline scripts without the nonce: {bare:?}"
        );
        nonces.insert(csp);
    }
    assert_eq!(nonces.len(), 8, "a fresh nonce per response");
    let page = user.get("/dashboard").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("<script") && page.body.contains("nonce=\""),
        "the dashboard hydrates, its inline scripts with the nonce"
    );
}

#[tokio::test]
async fn over_https_browsers_are_told_to_stay_and_cookies_are_host_only() {
    let app = spawn_app_with(&[("SPACEPORT_PUBLIC_URL", "https://spaceport.example")]).await;
    let temporary = app.invite("pilot@example.com", domain::Role::User).await;
    // As a browser behind the https front would send it (same origin, so the origin check
    // passes); the reply is read by hand because a cookie jar keeps Secure cookies for https.
    let sign_in = |password: String| {
        let app_base = app.base.clone();
        async move {
            crate::common::bare_client()
                .post(format!("{app_base}/api/sign_in"))
                .header("origin", "https://spaceport.example")
                .form(&[
                    ("email", "pilot@example.com"),
                    ("password", password.as_str()),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let res = sign_in(temporary).await;
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let set: Vec<_> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let challenge = set
        .iter()
        .find(|c| c.starts_with("__Host-sp_challenge="))
        .unwrap_or_else(|| panic!("{set:?}"));
    assert!(
        challenge.contains("; Path=/;")
            && challenge.contains("; Secure")
            && !challenge.contains("Domain"),
        "{challenge}"
    );
    let value = challenge["__Host-sp_challenge=".len()..]
        .split(';')
        .next()
        .unwrap();
    // The bare name is not read over https: a cookie planted by a sibling subdomain (which
    // cannot use the prefix) is ignored.
    let finish = |cookie: String| {
        let app_base = app.base.clone();
        async move {
            crate::common::bare_client()
                .post(format!("{app_base}/api/complete_first_sign_in"))
                .header("origin", "https://spaceport.example")
                .header("cookie", cookie)
                .form(&[
                    ("password", PASSWORD),
                    ("password_confirm", PASSWORD),
                    ("handle", "pilot"),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let planted = finish(format!("sp_challenge={value}")).await;
    assert!(
        !planted.status().is_redirection() && !planted.status().is_success(),
        "the bare name was read: {}",
        planted.status()
    );
    assert!(planted.headers().get("set-cookie").is_none());
    let done = finish(format!("__Host-sp_challenge={value}")).await;
    let session = done
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("__Host-sp_session="));
    assert!(session.is_some(), "{:?}", done.headers());
}

#[tokio::test]
async fn the_project_pages_viewer_frame_shows_its_errors_too() {
    let app = spawn_app().await;
    let b = app
        .active_user("framed@example.com", "framed", PASSWORD)
        .await;
    let project = b.create_project("No model yet").await;
    // The project page frames /projects/{id}/view; while there is no model (a job running
    // again) its answer must still be allowed in that frame, or the frame stays blank.
    let res = b
        .client
        .get(format!("{}/projects/{project}/view", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.headers()["x-frame-options"], "SAMEORIGIN");
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.ends_with("frame-ancestors 'self'"), "{csp}");
    assert!(res.text().await.unwrap().contains("no model yet"));
}
