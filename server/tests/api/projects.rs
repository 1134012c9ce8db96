#![allow(clippy::unwrap_used)]

use reqwest::StatusCode;

use crate::common::spawn_app;

const PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn owners_create_rename_plan_and_delete_projects() {
    let app = spawn_app().await;
    let b = app
        .active_user("owner@example.com", "owner", PASSWORD)
        .await;
    let created = b
        .call("create_project", &[("title", "  Hillside barn  ")])
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let p = created.json();
    assert_eq!(p["title"], "Hillside barn");
    assert_eq!(p["status"], "Draft");
    let id = p["id"].as_str().unwrap().to_owned();

    let empty = b.call("create_project", &[("title", "   ")]).await;
    assert_eq!(empty.json()["Invalid"]["field"], "title");

    let renamed = b
        .call("rename_project", &[("id", &id), ("title", "North barn")])
        .await
        .json();
    assert_eq!(renamed["title"], "North barn");
    let flight = b
        .call(
            "save_flight_inputs",
            &[
                ("id", &id),
                ("center", "47.6205, -122.3493"),
                ("battery_minutes", "20"),
                ("batteries", "3"),
                ("min_height_ft", "120"),
                ("max_height_ft", "300"),
            ],
        )
        .await
        .json();
    assert_eq!(flight["flight"]["batteries"], 3);
    let bad_flight = b
        .call(
            "save_flight_inputs",
            &[
                ("id", &id),
                ("center", "north"),
                ("battery_minutes", "20"),
                ("batteries", "3"),
                ("min_height_ft", "120"),
                ("max_height_ft", "300"),
            ],
        )
        .await;
    assert_eq!(bad_flight.json()["Invalid"]["field"], "center");

    let list = b.call("list_projects", &[]).await.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(
        list[0]["flight"]["center_lon"], -122.3493,
        "listings carry the flight inputs"
    );
    assert_eq!(list[0]["title"], "North barn");

    // Most recently touched first.
    let other = b
        .call("create_project", &[("title", "Second")])
        .await
        .json();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    b.call("rename_project", &[("id", &id), ("title", "North barn")])
        .await;
    let titles: Vec<String> = b
        .call("list_projects", &[])
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(titles, ["North barn", "Second"]);
    b.call("delete_project", &[("id", other["id"].as_str().unwrap())])
        .await;
    let page = b.get(&format!("/projects/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("North barn"));

    let deleted = b.call("delete_project", &[("id", &id)]).await;
    assert_eq!(deleted.redirect.as_deref(), Some("/dashboard"));
    assert_eq!(
        b.call("get_project", &[("id", &id)]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        b.call("list_projects", &[]).await.json(),
        serde_json::json!([])
    );
}

#[tokio::test]
async fn another_users_project_is_invisible_and_unmodifiable() {
    let app = spawn_app().await;
    let alice = app
        .active_user("alice@example.com", "alice", PASSWORD)
        .await;
    let mallory = app
        .active_user("mallory@example.com", "mallory", PASSWORD)
        .await;
    let id = alice.create_project("Alice's farm").await;

    let attempts: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("get_project", vec![("id", &id)]),
        ("rename_project", vec![("id", &id), ("title", "pwned")]),
        (
            "save_flight_inputs",
            vec![
                ("id", &id),
                ("center", "0, 0"),
                ("battery_minutes", "20"),
                ("batteries", "3"),
                ("min_height_ft", "120"),
                ("max_height_ft", "300"),
            ],
        ),
        ("delete_project", vec![("id", &id)]),
    ];
    for (endpoint, form) in &attempts {
        let r = mallory.call(endpoint, form).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{endpoint}: {}", r.body);
        assert_eq!(r.json(), serde_json::json!("NotFound"), "{endpoint}");
        // Same answer as for a project that does not exist at all.
        let missing: Vec<(&str, &str)> = form
            .iter()
            .map(|(k, v)| {
                if *k == "id" {
                    (*k, "0123456789abcdef0123456789abcdef")
                } else {
                    (*k, *v)
                }
            })
            .collect();
        assert_eq!(
            mallory.call(endpoint, &missing).await.body,
            r.body,
            "{endpoint}"
        );
        // Visitors are told to sign in instead.
        assert_eq!(
            app.browser().call(endpoint, form).await.status,
            StatusCode::UNAUTHORIZED,
            "{endpoint}"
        );
    }
    assert_eq!(
        mallory.call("list_projects", &[]).await.json(),
        serde_json::json!([])
    );
    let page = mallory.get(&format!("/projects/{id}")).await;
    assert_eq!(
        page.status,
        StatusCode::NOT_FOUND,
        "the page is a real 404 too"
    );
    assert!(!page.body.contains("Alice's farm"));

    let still = alice.call("get_project", &[("id", &id)]).await.json();
    assert_eq!(still["title"], "Alice's farm", "untouched");
    assert!(still["flight"].is_null());
}

#[tokio::test]
async fn mission_files_download_for_the_owner_and_mark_the_plan_downloaded() {
    let app = spawn_app().await;
    let alice = app
        .active_user("pilot@example.com", "pilot", PASSWORD)
        .await;
    let mallory = app
        .active_user("other@example.com", "other", PASSWORD)
        .await;
    let id = alice.create_project("Ridge farm").await;
    let q = "center=47.6205%2C%20-122.3493&battery_minutes=20&batteries=3&min_height_ft=120&max_height_ft=400";
    let url = |file: &str| format!("/api/projects/{id}/flight/{file}?{q}");

    // A link on another site cannot download (and so change the status) on the user's behalf.
    let cross = alice
        .client
        .get(format!("{}{}", alice.base, url("battery-1.csv")))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);

    // Nobody else gets it, and nothing changes for them.
    assert_eq!(
        mallory.get(&url("battery-2.csv")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.browser().get(&url("battery-2.csv")).await.status,
        StatusCode::UNAUTHORIZED
    );
    let status = alice.call("get_project", &[("id", &id)]).await.json()["status"].clone();
    assert_eq!(status, "Draft");

    let csv = alice.get(&url("battery-2.csv")).await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    let lines: Vec<&str> = csv.body.lines().collect();
    assert!(lines[0].starts_with("latitude,longitude,altitude(ft),heading(deg),curvesize(ft)"));
    assert_eq!(
        lines.len(),
        1 + 4 * 9 + 3,
        "header + 4N+3 waypoints for 20 min × 3"
    );
    let kmz = alice.get(&url("battery-3.kmz")).await;
    assert_eq!(kmz.status, StatusCode::OK);
    let project = alice.call("get_project", &[("id", &id)]).await.json();
    assert_eq!(project["status"], "PathDownloaded");
    // A download keeps the inputs it was planned from, saved or not.
    assert_eq!(project["flight"]["max_height_ft"], 400.0, "{project}");
    assert_eq!(project["flight"]["batteries"], 3, "{project}");

    // Bad requests say what is wrong.
    let r = alice.get(&url("battery-4.csv")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("there is no battery 4"), "{}", r.body);
    let r = alice
        .get(&format!("{}&aircraft=phantom-2", url("battery-1.kmz")))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body.contains("no aircraft is called \"phantom-2\"") && r.body.contains("mavic-3e"),
        "{}",
        r.body
    );
    assert_eq!(
        alice.get(&url("battery-1.exe")).await.status,
        StatusCode::NOT_FOUND
    );
    let r = alice
        .get(&format!("/api/projects/{id}/flight/battery-1.csv?center=nowhere&battery_minutes=20&batteries=3&min_height_ft=120&max_height_ft=400"))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.starts_with("center:"), "{}", r.body);
    let r = alice
        .get(&format!("/api/projects/{id}/flight/battery-1.csv?center=1%2C2&battery_minutes=1&batteries=3&min_height_ft=120&max_height_ft=400"))
        .await;
    assert!(r.body.contains("too short"), "{}", r.body);
}

/// A stand-in web elevation service: a 150 m ridge running north–south 600 ft east of the
/// centre; it insists on its API key.
async fn spawn_elevation_service(
    seen_keys: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) -> String {
    use axum::extract::Query;
    use std::collections::HashMap;
    let app = axum::Router::new().route(
        "/v1/test",
        axum::routing::get(move |Query(q): Query<HashMap<String, String>>| {
            let seen = seen_keys.clone();
            async move {
                let key = q.get("key").cloned().unwrap_or_default();
                seen.lock().unwrap().push(key.clone());
                if key != "k-123" {
                    return (
                        StatusCode::FORBIDDEN,
                        axum::Json(serde_json::json!({"status": "REQUEST_DENIED"})),
                    );
                }
                let results: Vec<_> = q["locations"]
                    .split('|')
                    .map(|p| {
                        let (_, lon) = p.split_once(',').unwrap();
                        let lon: f64 = lon.parse().unwrap();
                        let x_ft =
                            (lon + 122.3493) * 111_320.0 * 47.6205f64.to_radians().cos() / 0.3048;
                        let h = 100.0 + 150.0 * (-((x_ft - 600.0) / 80.0).powi(2)).exp();
                        serde_json::json!({ "elevation": h })
                    })
                    .collect();
                (
                    StatusCode::OK,
                    axum::Json(serde_json::json!({ "results": results })),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/v1/test")
}

#[tokio::test]
async fn mission_files_follow_terrain_from_a_web_elevation_service() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let url = spawn_elevation_service(seen.clone()).await;
    let q = "center=47.6205%2C%20-122.3493&battery_minutes=20&batteries=4&min_height_ft=120&max_height_ft=400";

    let app = crate::common::spawn_app_with(&[
        ("SPACEPORT_ELEVATION_URL", &url),
        ("SPACEPORT_ELEVATION_KEY", "k-123"),
    ])
    .await;
    let b = app
        .active_user("hills@example.com", "hills", PASSWORD)
        .await;
    let id = b.create_project("Ridge").await;
    let mut ridge_rows = 0;
    for n in 1..=4 {
        let csv = b
            .get(&format!("/api/projects/{id}/flight/battery-{n}.csv?{q}"))
            .await;
        assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
        // Flat ground would give 4N+3 rows; legs over the ridge gain clearance waypoints.
        ridge_rows += csv.body.lines().count() - 1 - (4 * 9 + 3);
    }
    assert!(ridge_rows > 0, "the ridge was not cleared");
    assert!(seen.lock().unwrap().iter().all(|k| k == "k-123"));

    // A refused key or a service that is down: a clear message, never the key.
    let wrong = crate::common::spawn_app_with(&[
        ("SPACEPORT_ELEVATION_URL", &url),
        ("SPACEPORT_ELEVATION_KEY", "wrong-secret"),
    ])
    .await;
    let w = wrong.active_user("w@example.com", "wuser", PASSWORD).await;
    let id = w.create_project("W").await;
    let r = w
        .get(&format!("/api/projects/{id}/flight/battery-1.csv?{q}"))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body
            .contains("elevation service is unavailable (HTTP 403"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("wrong-secret"));
    let status = w.call("get_project", &[("id", &id)]).await.json()["status"].clone();
    assert_eq!(status, "Draft", "a failed download changes nothing");
}

/// A stand-in for the public Terrarium tiles at zoom 12: ground 100 m above sea level with a
/// 150 m ridge running north–south 600 ft east of the centre, each tile drawn as it is asked for
/// (a real PNG, Terrarium-encoded). `fail` makes it answer 500; `asked` counts the tiles sent.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // bytes of the encoding
async fn spawn_tile_server(
    fail: std::sync::Arc<std::sync::atomic::AtomicBool>,
    asked: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> String {
    use axum::extract::Path;
    use std::sync::atomic::Ordering;
    let app = axum::Router::new().route(
        "/tiles/{z}/{x}/{file}",
        // The ridge runs north–south: a tile's row ({y}, in `file`) does not change it.
        axum::routing::get(move |Path((z, x, _file)): Path<(u32, u32, String)>| {
            let (fail, asked) = (fail.clone(), asked.clone());
            async move {
                if fail.load(Ordering::SeqCst) {
                    return (StatusCode::INTERNAL_SERVER_ERROR, Vec::new());
                }
                asked.fetch_add(1, Ordering::SeqCst);
                let n = f64::from(1u32 << z);
                let mut rgb = Vec::with_capacity(256 * 256 * 3);
                for _row in 0..256 {
                    for col in 0..256 {
                        let lon =
                            (f64::from(x) + (f64::from(col) + 0.5) / 256.0) / n * 360.0 - 180.0;
                        let x_ft =
                            (lon + 122.3493) * 111_320.0 * 47.6205f64.to_radians().cos() / 0.3048;
                        let h = 100.0 + 150.0 * (-((x_ft - 600.0) / 250.0).powi(2)).exp();
                        let v = ((h + 32768.0) * 256.0).round() as u32;
                        rgb.extend([(v >> 16) as u8, (v >> 8) as u8, v as u8]);
                    }
                }
                let mut png_bytes = Vec::new();
                {
                    let mut enc = png::Encoder::new(&mut png_bytes, 256, 256);
                    enc.set_color(png::ColorType::Rgb);
                    enc.set_depth(png::BitDepth::Eight);
                    let mut w = enc.write_header().unwrap();
                    w.write_image_data(&rgb).unwrap();
                }
                (StatusCode::OK, png_bytes)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/tiles/{{z}}/{{x}}/{{y}}.png")
}

#[tokio::test]
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
async fn terrain_tiles_are_the_default_ground_cached_and_a_failure_is_said() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    let fail = Arc::new(AtomicBool::new(false));
    let asked = Arc::new(AtomicUsize::new(0));
    let tiles = spawn_tile_server(fail.clone(), asked.clone()).await;
    let fields = [
        ("center", "47.6205, -122.3493"),
        ("battery_minutes", "20"),
        ("batteries", "4"),
        ("min_height_ft", "120"),
        ("max_height_ft", "400"),
    ];
    let query = "center=47.6205%2C%20-122.3493&battery_minutes=20&batteries=4&min_height_ft=120&max_height_ft=400";

    let app = crate::common::spawn_app_with(&[("SPACEPORT_TERRAIN_TILES_URL", &tiles)]).await;
    let pilot = app
        .active_user("tiles@example.com", "tiles", PASSWORD)
        .await;
    let id = pilot.create_project("Ridge").await;

    // The page's ground: real heights, not flat.
    let ground = pilot.call("flight_ground", &fields).await;
    assert_eq!(ground.status, StatusCode::OK, "{}", ground.body);
    let ground = ground.json();
    assert!(ground["flat"].is_null(), "{ground}");
    let heights = ground["heights"].as_array().unwrap();
    assert!(heights.len() > 100, "{} points", heights.len());
    assert!(heights
        .iter()
        .all(|h| (99.0..=251.0).contains(&h[2].as_f64().unwrap())));

    // The downloads fly over the ridge with clearance waypoints, as the page showed.
    let mut ridge_rows = 0;
    for n in 1..=4 {
        let csv = pilot
            .get(&format!(
                "/api/projects/{id}/flight/battery-{n}.csv?{query}"
            ))
            .await;
        assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
        ridge_rows += csv.body.lines().count() - 1 - (4 * 9 + 3);
    }
    assert!(ridge_rows > 0, "the ridge was not cleared");

    // Tiles are cached (on disk, for the next start, and in memory): the same plan again asks
    // the tile server for nothing.
    let cached = std::fs::read_dir(app.data_dir().join("terrain/12"))
        .unwrap()
        .count();
    assert!(cached > 0);
    let before = asked.load(Ordering::SeqCst);
    assert_eq!(
        pilot
            .get(&format!("/api/projects/{id}/flight/battery-1.csv?{query}"))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        asked.load(Ordering::SeqCst),
        before,
        "a tile was fetched twice"
    );

    // A source that fails: the page plans on flat ground and says why; a download is refused
    // (a file planned on flat ground by accident is a danger), and changes nothing.
    fail.store(true, Ordering::SeqCst);
    let down = crate::common::spawn_app_with(&[("SPACEPORT_TERRAIN_TILES_URL", &tiles)]).await;
    let dave = down.active_user("down@example.com", "down", PASSWORD).await;
    let id = dave.create_project("Down").await;
    let ground = dave.call("flight_ground", &fields).await.json();
    let why = ground["flat"].as_str().unwrap_or_default();
    assert!(
        why.contains("terrain tiles could not be read (HTTP 500"),
        "{ground}"
    );
    let r = dave
        .get(&format!("/api/projects/{id}/flight/battery-1.csv?{query}"))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body.contains("terrain tiles could not be read"),
        "{}",
        r.body
    );
    let status = dave.call("get_project", &[("id", &id)]).await.json()["status"].clone();
    assert_eq!(status, "Draft");

    // Turned off: flat ground, said so, and the files download.
    let off = crate::common::spawn_app().await;
    let olga = off
        .active_user("off@example.com", "offuser", PASSWORD)
        .await;
    let id = olga.create_project("Off").await;
    let ground = olga.call("flight_ground", &fields).await.json();
    assert!(
        ground["flat"]
            .as_str()
            .unwrap_or_default()
            .contains("no terrain source"),
        "{ground}"
    );
    assert_eq!(
        olga.get(&format!("/api/projects/{id}/flight/battery-1.csv?{query}"))
            .await
            .status,
        StatusCode::OK
    );
    // A disk short of its reserve: the plan still follows the tiles, but none is kept.
    fail.store(false, Ordering::SeqCst);
    let full = crate::common::spawn_app_with(&[
        ("SPACEPORT_TERRAIN_TILES_URL", &tiles),
        ("SPACEPORT_MIN_FREE_BYTES", "1125899906842624"),
    ])
    .await;
    let fay = full.active_user("full@example.com", "fay", PASSWORD).await;
    let ground = fay.call("flight_ground", &fields).await.json();
    assert!(ground["flat"].is_null(), "{ground}");
    assert!(
        !full.data_dir().join("terrain").exists(),
        "a tile was cached past the disk's reserve"
    );

    // Signed out, nobody learns the ground.
    assert_eq!(
        off.browser().call("flight_ground", &fields).await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// The Content-Security-Policy a signed-in page is served with.
async fn csp_of(b: &crate::common::Browser, base: &str) -> String {
    let page = b
        .client
        .get(format!("{base}/dashboard"))
        .send()
        .await
        .unwrap();
    page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// A Nominatim-compatible search that finds the Space Needle for anything, counting requests.
async fn spawn_search_service(asked: std::sync::Arc<std::sync::atomic::AtomicUsize>) -> String {
    let app = axum::Router::new().route(
        "/search",
        axum::routing::get(move || {
            let asked = asked.clone();
            async move {
                asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                r#"[{"lat":"47.6205063","lon":"-122.3492774","display_name":"Space Needle, Seattle"}]"#
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/search", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn the_map_s_sources_and_place_search_are_for_signed_in_pilots_and_its_tiles_pass_the_csp() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let asked = std::sync::Arc::new(AtomicUsize::new(0));
    let search = spawn_search_service(asked.clone()).await;
    let app = crate::common::spawn_app_with(&[
        ("SPACEPORT_GEOCODER_URL", &search),
        (
            "SPACEPORT_MAP_TILES_URL",
            "https://maps.example:8443/t/{z}/{x}/{y}.png",
        ),
        ("SPACEPORT_MAP_ATTRIBUTION", "© Example Maps"),
    ])
    .await;

    // Nobody signed in: no sources, no searches (the service is not asked).
    let stranger = app.browser();
    assert_eq!(
        stranger.call("get_map_sources", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    let refused = stranger.call("search_places", &[("query", "needle")]).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(asked.load(Ordering::SeqCst), 0);

    let pilot = app.active_user("map@example.com", "mapper", PASSWORD).await;
    let sources = pilot.call("get_map_sources", &[]).await.json();
    assert_eq!(
        sources["tiles"],
        "https://maps.example:8443/t/{z}/{x}/{y}.png"
    );
    assert_eq!(sources["attribution"], "© Example Maps");
    assert_eq!(sources["search"], true);
    let found = pilot
        .call("search_places", &[("query", "space needle")])
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    let found = found.json();
    assert_eq!(found[0]["name"], "Space Needle, Seattle");
    assert!((found[0]["lat"].as_f64().unwrap() - 47.620_506_3).abs() < 1e-9);
    // Nonsense gets a sentence beside the search box, not a request to the service.
    let empty = pilot.call("search_places", &[("query", " ")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.body.contains("type a place"), "{}", empty.body);
    assert_eq!(asked.load(Ordering::SeqCst), 1);

    // The page may show the tile server's images, and only its: scripts and connections stay
    // on this origin.
    let csp = csp_of(&pilot, &app.base).await;
    assert!(
        csp.contains("img-src 'self' data: blob: https://maps.example:8443;"),
        "{csp}"
    );
    assert!(csp.contains("connect-src 'self';"), "{csp}");

    // Search off: the page is told, and a search that comes anyway says what to do.
    let off = crate::common::spawn_app_with(&[
        ("SPACEPORT_GEOCODER_URL", "off"),
        ("SPACEPORT_MAP_TILES_URL", "off"),
    ])
    .await;
    let pilot = off
        .active_user("nomap@example.com", "nomap", PASSWORD)
        .await;
    let sources = pilot.call("get_map_sources", &[]).await.json();
    assert!(
        sources["tiles"].is_null() && sources["search"] == false,
        "{sources}"
    );
    let refused = pilot.call("search_places", &[("query", "needle")]).await;
    assert!(
        refused.body.contains("off on this server"),
        "{}",
        refused.body
    );
    let csp = csp_of(&pilot, &off.base).await;
    assert!(csp.contains("img-src 'self' data: blob:;"), "{csp}");
}
