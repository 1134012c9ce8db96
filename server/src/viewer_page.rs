//! The model viewer's pages. They are plain HTML that loads the viewer's own wasm
//! (`/viewer/viewer.js`, built by scripts/build-site.sh) — never the app's bundle, and the app's
//! pages never load the viewer's — so only someone opening a model pays for wgpu.
//!
//! `GET /projects/{id}/view`: the owner's delivered model, full window; the project page embeds it
//! in an iframe (same origin only). `GET /s/{token}`: a shared model, which any site may embed.

use app::services::Services;
use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};
use domain::ProjectId;
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::session::{error_response, user};

/// Minimal HTML escaping for text and attribute values.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Who may put the page in a frame.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Only Spaceport's own pages (the project page's embedded view).
    SameOrigin,
    /// Any site (a public share link's embed page).
    Anywhere,
}

/// The viewer page for the model at `model_url`.
pub fn page(title: &str, model_url: &str, up: &str, framing: Framing) -> Response {
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — Spaceport</title>
<link rel="icon" href="/favicon.svg">
<link rel="stylesheet" href="/viewer.css">
</head>
<body class="viewer-page">
<div id="viewer" data-url="{url}" data-up="{up}" data-state="loading"><noscript>The 3D viewer needs JavaScript.</noscript></div>
<script type="module" src="/viewer-boot.js"></script>
</body>
</html>
"#,
        title = escape(title),
        url = escape(model_url),
        up = escape(up),
    );
    let mut res = (
        [(http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    let h = res.headers_mut();
    h.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    match framing {
        Framing::SameOrigin => {
            h.insert("x-frame-options", HeaderValue::from_static("SAMEORIGIN"));
        }
        Framing::Anywhere => {
            // `security_headers` adds X-Frame-Options: DENY unless the page chose its framing.
            h.insert(
                "content-security-policy",
                HeaderValue::from_static("frame-ancestors *"),
            );
        }
    }
    res
}

/// The scene's up axis: Spaceport's georegistered models are east-north-up (+Z); without GPS the
/// model keeps COLMAP's frame, whose first camera looks along +Z with −Y up.
async fn up_axis(svc: &Services, job: &domain::job::Job) -> &'static str {
    match svc.delivered.georegistered(job).await {
        Ok(true) => "z",
        Ok(false) => "-y",
        Err(e) => {
            tracing::warn!(error = %e, "could not tell whether the model is georegistered");
            "-y"
        }
    }
}

pub async fn owner_view(svc: Services, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let mut res = owner_view_inner(svc, id, headers).await;
    // The project page frames this route: its answers, errors included ("no model yet" while
    // a job runs again), may be framed by Spaceport's own pages, so they show in the frame
    // rather than being blocked by the default `frame-ancestors 'none'`.
    res.headers_mut()
        .insert("x-frame-options", HeaderValue::from_static("SAMEORIGIN"));
    res
}

async fn owner_view_inner(svc: Services, id: String, headers: HeaderMap) -> Response {
    let Ok(u) = user(&svc, &headers).await else {
        return Redirect::to("/signin").into_response();
    };
    let Ok(project_id) = ProjectId::parse(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let project = match svc.projects.get(&u.id, &project_id).await {
        Ok(p) => p,
        Err(e) => return error_response(&e.into()),
    };
    let job = match crate::delivered::delivered_job(&svc, &u.id, &project_id).await {
        Ok(Some(job)) => job,
        Ok(None) => {
            return (StatusCode::NOT_FOUND, "This project has no model yet.").into_response()
        }
        Err(e) => return error_response(&e.into()),
    };
    let up = up_axis(&svc, &job).await;
    page(
        project.title.as_str(),
        &format!("/api/projects/{id}/files/model.sog"),
        up,
        Framing::SameOrigin,
    )
}

/// `GET /s/{token}`: a shared model, full window, for anyone with the link; other sites may
/// embed it in a frame.
pub async fn shared_view(svc: Services, Path(token): Path<String>) -> Response {
    let gone = || {
        (
            StatusCode::NOT_FOUND,
            "This share link does not exist or was revoked. Ask its owner for a new one.",
        )
            .into_response()
    };
    let (owner, project_id) = match svc.shares.resolve(&token).await {
        Ok(Some(found)) => found,
        Ok(None) => return gone(),
        Err(e) => return error_response(&e.into()),
    };
    let (project, job) = match (
        svc.projects.get(&owner, &project_id).await,
        crate::delivered::delivered_job(&svc, &owner, &project_id).await,
    ) {
        (Ok(p), Ok(Some(job))) => (p, job),
        (Err(domain::StoreError::NotFound), _) | (_, Ok(None)) => return gone(),
        (Err(e), _) | (_, Err(e)) => return error_response(&e.into()),
    };
    let up = up_axis(&svc, &job).await;
    page(
        project.title.as_str(),
        &format!("/s/{token}/model.sog"),
        up,
        Framing::Anywhere,
    )
}

#[derive(serde::Deserialize)]
pub struct ViewQuery {
    url: Option<String>,
    up: Option<String>,
}

/// A model given as a path on this site (`/view?url=/…/model.sog&up=z`). Only same-site paths:
/// the page must not become a way to show other sites' files under Spaceport's name. Browsers
/// drop tabs and newlines anywhere in a URL and read `\` as `/`, so `/\t/evil.example/m.sog`
/// (sent as `/%09/…`) is `//evil.example/m.sog` to them: only printable ASCII is accepted, and a
/// path that, so read, starts with one `/` stays on this origin.
pub fn is_same_site_path(url: &str) -> bool {
    url.bytes().all(|b| b.is_ascii_graphic())
        && url.starts_with('/')
        && !url.starts_with("//")
        && !url.contains('\\')
        && !url.contains(':')
}

/// `GET /view?url=PATH&up=AXIS`: the viewer for any model this site serves (the sample scenes,
/// a model file the signed-in user may read). Access to the model is the model URL's business.
pub async fn path_view(axum::extract::Query(q): axum::extract::Query<ViewQuery>) -> Response {
    let Some(url) = q.url.filter(|u| is_same_site_path(u)) else {
        return (
            StatusCode::BAD_REQUEST,
            "Give the model as a path on this site: /view?url=/path/to/model.sog",
        )
            .into_response();
    };
    let up = match q.up.as_deref() {
        Some(u @ ("-y" | "y" | "z")) => u.to_owned(),
        _ => "-y".to_owned(),
    };
    page("3D model", &url, &up, Framing::SameOrigin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_and_urls_are_escaped() {
        assert_eq!(
            escape(r#"<script>"x" & 'y'"#),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;"
        );
    }

    #[test]
    fn only_same_site_paths_are_viewed() {
        assert!(is_same_site_path("/api/projects/x/files/model.sog"));
        for bad in [
            "//evil.example/m.sog",
            "https://evil.example/m.sog",
            "javascript:alert(1)",
            "m.sog",
            "/\\evil",
            "/\t/evil.example/m.sog",
            "/\n/evil.example/m.sog",
            "/\r\n/evil.example/m.sog",
            " //evil.example/m.sog",
            "/ /evil.example/m.sog",
            "/\u{0}/evil.example/m.sog",
            "/model\u{a0}.sog",
        ] {
            assert!(!is_same_site_path(bad), "{bad}");
        }
    }
}
