//! The browser's files under `pkg/` (the app's bundles and stylesheet) and `viewer/` (the
//! viewer's wasm), as `scripts/build-site.sh` writes them: each with `.br` and `.gz` beside it,
//! served instead when the browser accepts them (no compression work per request, and brotli's
//! best level, which is too slow to run per request); and names with their content's hash
//! (`pkg/assets.txt`, read into [`app::Assets`]), cached for a year. Unhashed files (the viewer's,
//! which its own loader names) are revalidated on each use instead (`Last-Modified`).
//! Everything else under the site root goes through Leptos's file handler as before.

use std::path::Path;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use http::header::CACHE_CONTROL;
use http::{HeaderValue, StatusCode};
use tower_http::services::ServeDir;

/// The hashed names the build gave the bundles (empty without a manifest: a development build).
pub fn load(site_root: &Path) -> app::Assets {
    let manifest = site_root.join("pkg").join("assets.txt");
    match std::fs::read_to_string(&manifest) {
        Ok(text) => app::Assets::parse(&text),
        Err(e) => {
            tracing::info!(file = %manifest.display(), error = %e, "no asset manifest: the bundles are served under their plain names");
            app::Assets::default()
        }
    }
}

pub fn routes(site_root: &Path) -> Router {
    let dir = |sub: &str| {
        ServeDir::new(site_root.join(sub))
            .precompressed_br()
            .precompressed_gzip()
    };
    Router::new()
        .nest_service("/pkg", dir("pkg"))
        .nest_service("/viewer", dir("viewer"))
        .layer(axum::middleware::from_fn(cache_rule))
}

/// A year for names with a hash in them, revalidation for the rest.
async fn cache_rule(req: Request, next: Next) -> Response {
    let hashed = is_hashed(req.uri().path());
    let mut res = next.run(req).await;
    if res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED {
        res.headers_mut().insert(
            CACHE_CONTROL,
            HeaderValue::from_static(if hashed {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            }),
        );
    }
    res
}

/// Whether a path's file name carries a content hash: `name.<16 hex digits>.ext`.
fn is_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() >= 3
        && parts[1..parts.len() - 1]
            .iter()
            .any(|p| p.len() == 16 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::is_hashed;

    #[test]
    fn only_names_with_a_content_hash_are_cached_for_long() {
        assert!(is_hashed("/pkg/public.0123456789abcdef.wasm"));
        assert!(is_hashed("/pkg/spaceport.fedcba9876543210.css"));
        for plain in [
            "/pkg/public.wasm",
            "/viewer/viewer_bg.wasm",
            "/pkg/assets.txt",
            "/pkg/x.0123.wasm",
            "/pkg/0123456789abcdef",
        ] {
            assert!(!is_hashed(plain), "{plain}");
        }
    }
}
