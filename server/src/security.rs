//! Request-level protections that apply to every route: cross-site request refusal for
//! state-changing methods, and security headers on every response.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{HeaderName, HeaderValue, HOST, ORIGIN};
use http::{Method, StatusCode};

/// The origin (`scheme://host[:port]`) the app is served from, from `public_url`.
#[derive(Clone)]
pub struct AllowedOrigin(pub String);

/// Refuses state-changing requests that a browser marks as coming from another site.
///
/// Browsers send `Origin` on every cross-origin POST (and `Sec-Fetch-Site` on all requests), so a
/// forged form or `fetch` from another site is caught here; clients that are not browsers send
/// neither and are not a CSRF vector. The origin may match the configured public URL or the
/// request's own `Host` (the app reached directly, e.g. on a LAN address).
pub async fn check_origin(
    State(allowed): State<AllowedOrigin>,
    req: Request,
    next: Next,
) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let headers = req.headers();
    let origin = headers.get(ORIGIN).and_then(|v| v.to_str().ok());
    let ok = match origin {
        Some("null") => false,
        Some(origin) => {
            origin == allowed.0
                || headers
                    .get(HOST)
                    .and_then(|h| h.to_str().ok())
                    .is_some_and(|host| {
                        origin
                            .split_once("://")
                            .is_some_and(|(_, rest)| rest == host)
                    })
        }
        None => headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) != Some("cross-site"),
    };
    if ok {
        next.run(req).await
    } else {
        tracing::warn!(origin = origin.unwrap_or("-"), path = %req.uri().path(), "refused a cross-site request");
        (
            StatusCode::FORBIDDEN,
            "Cross-site request refused. Use Spaceport from its own address.",
        )
            .into_response()
    }
}

/// Headers every response carries.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    // A page that states who may frame it (a share link's embed page) keeps its own rule.
    if !h
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("frame-ancestors"))
    {
        h.entry(HeaderName::from_static("x-frame-options"))
            .or_insert(HeaderValue::from_static("DENY"));
    }
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
        ("cross-origin-opener-policy", "same-origin"),
    ] {
        h.entry(HeaderName::from_static(name))
            .or_insert(HeaderValue::from_static(value));
    }
    res
}

/// Origin part of a URL: `https://x.example/app` → `https://x.example`.
pub fn origin_of(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}", rest.split('/').next().unwrap_or(rest)),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::origin_of;

    #[test]
    fn origins() {
        assert_eq!(origin_of("https://x.example/app/"), "https://x.example");
        assert_eq!(origin_of("http://127.0.0.1:3000"), "http://127.0.0.1:3000");
    }
}
