//! The signed-in user of a plain axum route, through `app::services`' one session resolver,
//! and the replies plain routes share (errors as text, file downloads).

use app::error::AppError;
use app::services::Services;
use axum::response::{IntoResponse, Response};
use domain::ports::SessionToken;
use domain::User;
use http::HeaderMap;

pub fn token(svc: &Services, headers: &HeaderMap) -> Option<SessionToken> {
    app::services::session_token_in(headers, svc.secure_cookies)
}

/// The signed-in user of a plain route (the same resolver as server functions').
pub async fn user(svc: &Services, headers: &HeaderMap) -> Result<User, AppError> {
    svc.require_signed_in(token(svc, headers).as_ref()).await
}

/// An error as a plain-text reply with its status: "field: message" for field errors.
pub fn error_response(e: &AppError) -> Response {
    let message = match e {
        AppError::Invalid { field, message } => format!("{field}: {message}"),
        other => other.to_string(),
    };
    (e.status(), message).into_response()
}

/// A file download: the bytes with their type, a caching rule and the name to save them as.
pub fn attachment(
    bytes: Vec<u8>,
    content_type: &'static str,
    cache: &'static str,
    file_name: &str,
) -> Response {
    use http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
    use http::HeaderValue;
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        h.insert(CONTENT_DISPOSITION, v);
    }
    res
}

/// For a page request (a GET that accepts HTML), who is signed in, put in the request's
/// extensions for the top bar to show (`app::components::nav::Visitor`). Other requests pass
/// untouched: static files and API calls need no session lookup.
pub async fn visitor(
    axum::extract::State(svc): axum::extract::State<Services>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let page = req.method() == http::Method::GET
        && req
            .headers()
            .get(http::header::ACCEPT)
            .and_then(|a| a.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
    if page {
        if let Some(t) = token(&svc, req.headers()) {
            // A failed lookup shows the page as to a visitor; the page's own checks still run.
            if let Ok(Some(user)) = svc.signed_in(&t).await {
                req.extensions_mut()
                    .insert(app::components::nav::Visitor::of(&user));
            }
        }
    }
    next.run(req).await
}
