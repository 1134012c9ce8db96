//! Place search for the flight page's map, behind `domain::ports::Places`: a
//! Nominatim-compatible service (`geocoder_url`; by default OpenStreetMap's public Nominatim),
//! asked by the server so the browser talks only to this origin and a key (`geocoder_key`, sent
//! as `key=`) stays on the server, never logged. Public Nominatim allows one request a second
//! from an application and no search-as-you-type: the page searches when the pilot presses
//! Enter, answers are cached, and requests leave here at most once per interval (a queue longer
//! than a few seconds is refused with a sentence, not left hanging).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use domain::ports::{Place, Places};
use tokio::time::Instant;

use crate::config::Secret;

/// The public service's rule: one request a second.
const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// The longest a search may wait its turn before it is refused as busy.
const MAX_QUEUE: Duration = Duration::from_secs(5);
/// Places asked for (Nominatim's `limit`).
const LIMIT: usize = 5;
/// Searches remembered before the cache is cleared.
const CACHE_LIMIT: usize = 1_000;
/// What a query may be: a place name or an address, not a document.
const MAX_QUERY_CHARS: usize = 200;

/// Placed searches, with what the pilot can do when it cannot answer.
pub struct Nominatim {
    client: reqwest::Client,
    url: String,
    key: Option<Secret>,
    min_interval: Duration,
    /// When the next request may leave.
    next_slot: Mutex<Instant>,
    cache: Mutex<HashMap<String, Vec<Place>>>,
}

/// A search service's reply: Nominatim writes coordinates as strings, others as numbers.
#[derive(serde::Deserialize)]
struct Hit {
    lat: serde_json::Value,
    lon: serde_json::Value,
    display_name: Option<String>,
    name: Option<String>,
}

fn number(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|x: &f64| x.is_finite())
}

const INSTEAD: &str = "type the centre as latitude, longitude, or click the map";

impl Nominatim {
    /// `user_agent` names this installation (Nominatim's policy asks every application to).
    pub fn new(url: &str, key: Option<Secret>, user_agent: &str) -> anyhow::Result<Self> {
        Ok(Self {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .user_agent(user_agent)
                .build()
                .context("cannot build the HTTP client")?,
            url: url.to_owned(),
            key,
            min_interval: MIN_INTERVAL,
            next_slot: Mutex::new(Instant::now()),
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// Waits for this request's turn, or says the queue is too long.
    async fn take_turn(&self) -> Result<(), String> {
        let slot = {
            let mut next = self
                .next_slot
                .lock()
                .map_err(|_| format!("place search is unavailable; {INSTEAD}"))?;
            let now = Instant::now();
            let slot = (*next).max(now);
            if slot.duration_since(now) > MAX_QUEUE {
                return Err(format!(
                    "place search is busy; try again in a few seconds, or {INSTEAD}"
                ));
            }
            *next = slot + self.min_interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
        Ok(())
    }

    async fn fetch(&self, query: &str) -> Result<Vec<Place>, String> {
        self.take_turn().await?;
        let unavailable = |why: &str| {
            // The URL is logged without its query (the key, and what the pilot typed).
            tracing::warn!(url = %self.url, "place search: {why}");
            format!("place search is unavailable ({why}); {INSTEAD}")
        };
        let limit = LIMIT.to_string();
        let mut params = vec![("q", query), ("format", "jsonv2"), ("limit", &limit)];
        if let Some(key) = &self.key {
            params.push(("key", key.expose()));
        }
        let res = self
            .client
            .get(&self.url)
            .query(&params)
            .send()
            .await
            .map_err(|e| {
                unavailable(if e.is_timeout() {
                    "timed out"
                } else {
                    "no connection"
                })
            })?;
        let status = res.status();
        if !status.is_success() {
            return Err(unavailable(&format!("HTTP {status}")));
        }
        let hits: Vec<Hit> = res
            .json()
            .await
            .map_err(|_| unavailable("an unreadable reply"))?;
        Ok(hits
            .into_iter()
            .filter_map(|h| {
                let (lat, lon) = (number(&h.lat)?, number(&h.lon)?);
                ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then(|| Place {
                    name: h
                        .display_name
                        .or(h.name)
                        .unwrap_or_else(|| format!("{lat:.5}, {lon:.5}")),
                    lat,
                    lon,
                })
            })
            .take(LIMIT)
            .collect())
    }
}

#[async_trait]
impl Places for Nominatim {
    async fn search(&self, query: &str) -> Result<Vec<Place>, String> {
        let query = query.split_whitespace().collect::<Vec<_>>().join(" ");
        if query.chars().count() < 2 {
            return Err("type a place or an address to search for".into());
        }
        if query.chars().count() > MAX_QUERY_CHARS {
            return Err(format!(
                "that is too long to search for (at most {MAX_QUERY_CHARS} characters)"
            ));
        }
        let key = query.to_lowercase();
        if let Some(hit) = self.cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return Ok(hit);
        }
        let places = self.fetch(&query).await?;
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(key, places.clone());
        }
        Ok(places)
    }
}

/// No search service (`geocoder_url = "off"`): the page shows no search box; a request that
/// comes anyway is told what to do.
pub struct NoPlaces;

#[async_trait]
impl Places for NoPlaces {
    async fn search(&self, _query: &str) -> Result<Vec<Place>, String> {
        Err(format!("place search is off on this server; {INSTEAD}"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test's fixtures
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use axum::extract::{Query, State};
    use axum::routing::get;

    use super::*;

    #[derive(Default)]
    struct Seen {
        requests: AtomicUsize,
        times: Mutex<Vec<Instant>>,
        queries: Mutex<Vec<HashMap<String, String>>>,
    }

    /// A search service on a local port: Nominatim's reply for "needle", HTTP 503 for "down".
    async fn service() -> (String, Arc<Seen>) {
        let seen = Arc::new(Seen::default());
        let app = axum::Router::new()
            .route(
                "/search",
                get(
                    |State(seen): State<Arc<Seen>>,
                     Query(q): Query<HashMap<String, String>>| async move {
                        seen.requests.fetch_add(1, Ordering::SeqCst);
                        seen.times.lock().unwrap().push(Instant::now());
                        seen.queries.lock().unwrap().push(q.clone());
                        match q.get("q").map(String::as_str) {
                            Some("down") => (axum::http::StatusCode::SERVICE_UNAVAILABLE, String::new()),
                            _ => (
                                axum::http::StatusCode::OK,
                                r#"[{"place_id":1,"lat":"47.6205063","lon":"-122.3492774","display_name":"Space Needle, Seattle"},
                                    {"lat":47.1,"lon":-122.2,"name":"Numbers too"},
                                    {"lat":"91","lon":"0","display_name":"Off the globe"}]"#
                                    .to_owned(),
                            ),
                        }
                    },
                ),
            )
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/search", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, seen)
    }

    #[tokio::test]
    async fn places_are_read_from_either_spelling_and_bad_ones_dropped() {
        let (url, seen) = service().await;
        let places = Nominatim::new(&url, Some(Secret::new("k3y".to_owned())), "test")
            .unwrap()
            .search("  space   needle ")
            .await
            .unwrap();
        assert_eq!(places.len(), 2, "{places:?}");
        assert_eq!(places[0].name, "Space Needle, Seattle");
        assert!((places[0].lat - 47.620_506_3).abs() < 1e-9);
        assert_eq!(places[1].name, "Numbers too");
        let q = seen.queries.lock().unwrap()[0].clone();
        assert_eq!(q.get("q").map(String::as_str), Some("space needle"));
        assert_eq!(q.get("format").map(String::as_str), Some("jsonv2"));
        assert_eq!(q.get("key").map(String::as_str), Some("k3y"));
    }

    #[tokio::test]
    async fn answers_are_cached_and_requests_keep_their_distance() {
        let (url, seen) = service().await;
        let mut places = Nominatim::new(&url, None, "test").unwrap();
        places.min_interval = Duration::from_millis(300);
        let places = Arc::new(places);
        let (a, b, c) = tokio::join!(
            places.search("needle"),
            places.search("tower"),
            places.search("NEEDLE")
        );
        assert!(a.is_ok() && b.is_ok() && c.is_ok());
        // "NEEDLE" is "needle" again, unless it was asked before the first answer came.
        let sent = seen.requests.load(Ordering::SeqCst);
        assert!((2..=3).contains(&sent), "{sent}");
        places.search("Needle").await.unwrap();
        assert_eq!(
            seen.requests.load(Ordering::SeqCst),
            sent,
            "a cached search went out"
        );
        let times = seen.times.lock().unwrap().clone();
        for pair in times.windows(2) {
            let gap = pair[1].duration_since(pair[0]);
            assert!(
                gap >= Duration::from_millis(290),
                "{gap:?} between requests"
            );
        }
    }

    #[tokio::test]
    async fn failures_and_nonsense_get_a_sentence_with_what_to_do() {
        let (url, _) = service().await;
        let places = Nominatim::new(&url, None, "test").unwrap();
        let down = places.search("down").await.unwrap_err();
        assert!(
            down.contains("unavailable")
                && down.contains("503")
                && down.contains("latitude, longitude"),
            "{down}"
        );
        assert!(places
            .search(" x ")
            .await
            .unwrap_err()
            .contains("type a place"));
        assert!(places
            .search(&"a".repeat(201))
            .await
            .unwrap_err()
            .contains("too long"));
        // Nothing listens on port 9: no connection, said as much.
        let gone = Nominatim::new("http://127.0.0.1:9/search", None, "test").unwrap();
        assert!(gone
            .search("needle")
            .await
            .unwrap_err()
            .contains("no connection"));
        assert!(NoPlaces
            .search("needle")
            .await
            .unwrap_err()
            .contains("off on this server"));
    }

    #[tokio::test]
    async fn a_long_queue_is_refused_not_left_hanging() {
        let (url, seen) = service().await;
        let places = Nominatim::new(&url, None, "test").unwrap();
        // Searches already queued for the next six seconds: this one would wait past five.
        *places.next_slot.lock().unwrap() = Instant::now() + Duration::from_secs(6);
        let busy = places.search("needle").await.unwrap_err();
        assert!(
            busy.contains("busy") && busy.contains("latitude, longitude"),
            "{busy}"
        );
        assert_eq!(seen.requests.load(Ordering::SeqCst), 0);
    }
}
