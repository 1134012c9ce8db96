#![allow(clippy::unwrap_used)]

//! The browser's files as `scripts/build-site.sh` leaves them: pages name each bundle by its
//! hashed file, the public pages the small bundle and signed-in pages the whole app; hashed files
//! are cached for a year and sent pre-compressed, brotli first.

use reqwest::StatusCode;

use crate::common::{bare_client, spawn_app_with};

const PUBLIC_WASM: &str = "public.0123456789abcdef.wasm";

/// A site root with the layout build-site.sh writes (the bytes stand in for real bundles: what is
/// under test is which file is sent, and how).
fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::create_dir_all(dir.path().join("viewer")).unwrap();
    let files = [
        ("spaceport.js", "spaceport.1111111111111111.js"),
        ("spaceport.wasm", "spaceport.2222222222222222.wasm"),
        ("public.js", "public.3333333333333333.js"),
        ("public.wasm", PUBLIC_WASM),
        ("spaceport.css", "spaceport.4444444444444444.css"),
    ];
    let mut manifest = Vec::new();
    for (plain, hashed) in files {
        std::fs::write(pkg.join(hashed), format!("plain {plain}")).unwrap();
        std::fs::write(pkg.join(format!("{hashed}.gz")), format!("gzip {plain}")).unwrap();
        std::fs::write(pkg.join(format!("{hashed}.br")), format!("brotli {plain}")).unwrap();
        manifest.push(format!("{plain}={hashed}"));
    }
    std::fs::write(pkg.join("assets.txt"), manifest.join("\n")).unwrap();
    std::fs::write(dir.path().join("viewer/viewer_bg.wasm"), "viewer").unwrap();
    dir
}

#[tokio::test]
async fn pages_name_their_bundle_by_its_hash_and_hashed_files_are_cached_for_a_year() {
    let root = site();
    let app = spawn_app_with(&[("SPACEPORT_SITE_ROOT", root.path().to_str().unwrap())]).await;
    let client = bare_client();
    let page = |path: &str| {
        let url = format!("{}{path}", app.base);
        let client = client.clone();
        async move {
            client
                .get(url)
                .header("accept", "text/html")
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let landing = page("/").await;
    assert!(
        landing.contains(&format!("/pkg/{PUBLIC_WASM}")),
        "{landing}"
    );
    assert!(landing.contains("/pkg/public.3333333333333333.js"));
    assert!(landing.contains("/pkg/spaceport.4444444444444444.css"));
    assert!(!landing.contains("spaceport.2222222222222222.wasm"));
    // About needs no script.
    let about = page("/about").await;
    assert!(!about.contains(".wasm"), "{about}");
    assert!(about.contains("About Spaceport"));

    let get = |path: &str, accept: &str| {
        client
            .get(format!("{}{path}", app.base))
            .header("accept-encoding", accept)
            .send()
    };
    let r = get(&format!("/pkg/{PUBLIC_WASM}"), "gzip, deflate, br")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-encoding"], "br");
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(r.text().await.unwrap(), "brotli public.wasm");
    let r = get(&format!("/pkg/{PUBLIC_WASM}"), "gzip").await.unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert_eq!(r.text().await.unwrap(), "gzip public.wasm");
    let r = get(&format!("/pkg/{PUBLIC_WASM}"), "identity")
        .await
        .unwrap();
    assert!(r.headers().get("content-encoding").is_none());
    assert_eq!(r.text().await.unwrap(), "plain public.wasm");
    // Plain names (the viewer's own loader picks them) are revalidated instead.
    let r = get("/viewer/viewer_bg.wasm", "identity").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-cache");
    assert!(r.headers().contains_key("last-modified"));
    let r = get("/pkg/nope.0123456789abcdef.wasm", "br").await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
