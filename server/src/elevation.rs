//! Ground heights for flight plans, behind `domain::ports::Terrain`:
//! - SRTM `.hgt` tiles in `DATA_DIR/dem/` when the operator has put some there (offline);
//! - otherwise a web elevation service when `elevation_url` is configured: any API answering
//!   `GET URL?locations=lat,lon|lat,lon…[&key=KEY]` with `{"results":[{"elevation":m},…]}` in
//!   order (OpenTopoData, Open-Elevation, Google's Elevation API); the key comes from
//!   configuration only and is never logged;
//! - otherwise flat ground.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use domain::ports::Terrain;
use planner::elevation::{Elevation, FlatGround, HgtTile, HgtTiles};

use crate::config::Secret;

/// A local source (flat ground, tiles) answering every point at once.
pub struct LocalTerrain(pub Arc<dyn Elevation>);

#[async_trait]
impl Terrain for LocalTerrain {
    async fn elevations_m(&self, points: &[(f64, f64)]) -> Result<Vec<Option<f64>>, String> {
        Ok(points
            .iter()
            .map(|&(lat, lon)| self.0.elevation_m(lat, lon))
            .collect())
    }
}

/// A web elevation service, asked in batches, with every answer cached (terrain does not move).
pub struct HttpTerrain {
    client: reqwest::Client,
    url: String,
    key: Option<Secret>,
    cache: Mutex<HashMap<(i64, i64), Option<f64>>>,
}

/// Points per request (the common services' limit).
const BATCH: usize = 100;
/// Cached points before the cache is cleared (about 10 MB).
const CACHE_LIMIT: usize = 200_000;

#[allow(clippy::cast_possible_truncation)] // |degrees| ≤ 180
fn key(lat: f64, lon: f64) -> (i64, i64) {
    ((lat * 1e7).round() as i64, (lon * 1e7).round() as i64)
}

#[derive(serde::Deserialize)]
struct Reply {
    results: Option<Vec<ReplyPoint>>,
    status: Option<String>,
    error: Option<String>,
    error_message: Option<String>,
}

#[derive(serde::Deserialize)]
struct ReplyPoint {
    elevation: Option<f64>,
}

impl HttpTerrain {
    pub fn new(url: &str, key: Option<Secret>) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Self {
            client,
            url: url.to_owned(),
            key,
            cache: Mutex::new(HashMap::new()),
        })
    }

    async fn fetch(&self, batch: &[(f64, f64)]) -> Result<Vec<Option<f64>>, String> {
        let locations = batch
            .iter()
            .map(|(lat, lon)| format!("{lat:.7},{lon:.7}"))
            .collect::<Vec<_>>()
            .join("|");
        let mut query = vec![("locations", locations)];
        if let Some(key) = &self.key {
            query.push(("key", key.expose().to_owned()));
        }
        let unavailable = |why: String| {
            // The URL is logged without its query: the key must never reach the logs.
            tracing::warn!(url = %self.url, "elevation service: {why}");
            format!("the elevation service is unavailable ({why}); try again later, or install terrain tiles on the server")
        };
        let res = self
            .client
            .get(&self.url)
            .query(&query)
            .send()
            .await
            .map_err(|e| {
                unavailable(if e.is_timeout() {
                    "timed out".into()
                } else {
                    "no connection".into()
                })
            })?;
        let status = res.status();
        if !status.is_success() {
            return Err(unavailable(format!("HTTP {status}")));
        }
        let reply: Reply = res
            .json()
            .await
            .map_err(|_| unavailable("an unreadable reply".into()))?;
        let results = reply.results.ok_or_else(|| {
            unavailable(
                reply
                    .error_message
                    .or(reply.error)
                    .or(reply.status)
                    .unwrap_or_else(|| "no results".into()),
            )
        })?;
        if results.len() != batch.len() {
            return Err(unavailable(format!(
                "{} heights for {} points",
                results.len(),
                batch.len()
            )));
        }
        Ok(results.into_iter().map(|r| r.elevation).collect())
    }
}

#[async_trait]
impl Terrain for HttpTerrain {
    async fn elevations_m(&self, points: &[(f64, f64)]) -> Result<Vec<Option<f64>>, String> {
        let lookup = |cache: &HashMap<(i64, i64), Option<f64>>| {
            points
                .iter()
                .filter(|&&(lat, lon)| !cache.contains_key(&key(lat, lon)))
                .copied()
                .collect::<Vec<_>>()
        };
        let missing = lookup(
            &self
                .cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for batch in missing.chunks(BATCH) {
            let heights = self.fetch(batch).await?;
            let mut cache = self
                .cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if cache.len() > CACHE_LIMIT {
                cache.clear();
            }
            for (&(lat, lon), h) in batch.iter().zip(heights) {
                cache.insert(key(lat, lon), h);
            }
        }
        let cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(points
            .iter()
            .map(|&(lat, lon)| cache.get(&key(lat, lon)).copied().flatten())
            .collect())
    }
}

/// Chooses the terrain source: tiles, then the configured service, then flat ground.
pub fn load(
    data_dir: &Path,
    url: Option<&str>,
    api_key: Option<Secret>,
) -> anyhow::Result<Arc<dyn Terrain>> {
    let dir = data_dir.join("dem");
    let mut tiles = HgtTiles::default();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries {
            let path = entry?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !name.to_ascii_lowercase().ends_with(".hgt") {
                continue;
            }
            let bytes =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            tiles.insert(
                HgtTile::parse(name, &bytes).with_context(|| format!("{}", path.display()))?,
            );
        }
    }
    if !tiles.is_empty() {
        tracing::info!("terrain for flight plans: SRTM tiles in {}", dir.display());
        return Ok(Arc::new(LocalTerrain(Arc::new(tiles))));
    }
    if let Some(url) = url {
        tracing::info!(url, "terrain for flight plans: web elevation service");
        return Ok(Arc::new(HttpTerrain::new(url, api_key)?));
    }
    tracing::info!(
        "terrain for flight plans: flat ground (put SRTM .hgt tiles in {} or set elevation_url)",
        dir.display()
    );
    Ok(Arc::new(LocalTerrain(Arc::new(FlatGround))))
}
