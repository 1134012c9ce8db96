//! Request-level protections that apply to every route: cross-site request refusal for
//! state-changing methods, and security headers (a Content-Security-Policy with a per-response
//! nonce among them) on every response.

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

/// How the app is served, for [`security_headers`].
#[derive(Clone)]
pub struct HeaderPolicy {
    /// Served over https (the public URL's scheme): browsers are told to keep to it (HSTS).
    pub https: bool,
    /// Origins the browser may fetch from besides this one (cloud mode: S3, where photo parts
    /// go and models come from), space-separated.
    pub connect_also: String,
    /// Origins images may come from besides this one (the flight page's map tiles).
    pub img_also: String,
}

/// This response's nonce for the page's own inline scripts (Leptos's hydration script and the
/// data of resources rendered on the server), in the request's extensions for the renderer.
#[derive(Clone)]
pub struct CspNonce(pub String);

/// Gives the page renderer this request's nonce (call from the Leptos context function), so
/// every inline script Leptos writes carries it.
pub fn provide_nonce() {
    use leptos::prelude::{provide_context, use_context};
    if let Some(nonce) = use_context::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<CspNonce>().map(|n| n.0.clone()))
    {
        provide_context(leptos::nonce::Nonce::from_value(nonce));
    }
}

/// The Content-Security-Policy of every response. Scripts only from this origin or with this
/// response's nonce (an injected `<script>` or `onclick=` does not run), WebAssembly allowed
/// (the app and the viewer are wasm), and nothing loaded or sent elsewhere but the
/// origins the policy names (S3 in cloud mode, the map's tile server for images); style attributes
/// stay allowed (progress bars set their width), style sheets only from this origin.
fn content_security_policy(nonce: &str, policy: &HeaderPolicy, frame_ancestors: &str) -> String {
    let also = |origins: &str| {
        if origins.is_empty() {
            String::new()
        } else {
            format!(" {origins}")
        }
    };
    let (connect, img) = (also(&policy.connect_also), also(&policy.img_also));
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' 'nonce-{nonce}'; \
         style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data: blob:{img}; \
         connect-src 'self'{connect}; worker-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors {frame_ancestors}"
    )
}

/// Headers every response carries: the CSP (with a fresh nonce), HSTS over https, framing,
/// sniffing, referrer and opener rules.
pub async fn security_headers(
    State(policy): State<HeaderPolicy>,
    mut req: Request,
    next: Next,
) -> Response {
    let nonce = ids::new_token();
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    // A page may say who may frame it: a share link's embed page (`frame-ancestors *` in its
    // own CSP) or the owner's viewer (X-Frame-Options: SAMEORIGIN); everything else, nobody.
    let chosen = h
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(';')
                .find_map(|d| d.trim().strip_prefix("frame-ancestors "))
        })
        .map(str::to_owned);
    let same_origin = h
        .get("x-frame-options")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"sameorigin"));
    let frame_ancestors = match (&chosen, same_origin) {
        (Some(chosen), _) => chosen.as_str(),
        (None, true) => "'self'",
        (None, false) => {
            h.insert(
                HeaderName::from_static("x-frame-options"),
                HeaderValue::from_static("DENY"),
            );
            "'none'"
        }
    };
    let csp = content_security_policy(&nonce, &policy, frame_ancestors);
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        h.insert(HeaderName::from_static("content-security-policy"), csp);
    }
    if policy.https {
        h.insert(
            HeaderName::from_static("strict-transport-security"),
            HeaderValue::from_static("max-age=31536000"),
        );
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
