//! Ground heights for flight plans, behind `domain::ports::Terrain`:
//! - SRTM `.hgt` tiles in `DATA_DIR/dem/` when the operator has put some there (offline);
//! - otherwise a web elevation service when `elevation_url` is configured: any API answering
//!   `GET URL?locations=lat,lon|lat,lon…[&key=KEY]` with `{"results":[{"elevation":m},…]}` in
//!   order (OpenTopoData, Open-Elevation, Google's Elevation API); the key comes from
//!   configuration only and is never logged;
//! - otherwise Terrarium-encoded terrain tiles (`terrain_tiles_url`, by default the public
//!   elevation tiles every OSM-style web map can use, no key), fetched at zoom 12 (about 38 m a
//!   pixel) and cached on disk in `DATA_DIR/terrain/` and in memory;
//! - otherwise (or when the source cannot answer) flat ground, which the flight page then says
//!   in words (`app::api::flight`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use domain::ports::Terrain;
use planner::elevation::{terrarium, Elevation, HgtTile, HgtTiles};

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

/// A client for terrain sources: a request that takes 20 s has failed (the plan then says so).
fn http_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .context("cannot build the HTTP client")
}

impl HttpTerrain {
    pub fn new(url: &str, key: Option<Secret>) -> anyhow::Result<Self> {
        Ok(Self {
            client: http_client()?,
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

/// Terrarium tiles from a URL template (`{z}`, `{x}`, `{y}`), cached on disk and in memory.
pub struct TileTerrain {
    client: reqwest::Client,
    template: String,
    dir: std::path::PathBuf,
    /// `min_free_bytes`: tiles are cached on disk only while this much stays free (a pilot
    /// can ask for any place on Earth, so the cache is bounded by the disk's reserve).
    keep_free: u64,
    tiles: Mutex<HashMap<(u32, u32), Arc<terrarium::Tile>>>,
}

/// Zoom of the tiles fetched: 38 m pixels at the equator, 26 m at 47° — a fraction of the
/// 100 ft clearances the planner keeps — and a 20-minute flight's plan fits a few tiles.
const TILE_ZOOM: u8 = 12;
/// Tiles held decoded in memory (256 KiB each).
const TILES_IN_MEMORY: usize = 64;
/// A tile larger than this is not a terrain tile (they are 100–200 KB).
const MAX_TILE_BYTES: usize = 4 << 20;

impl TileTerrain {
    pub fn new(template: &str, data_dir: &Path, keep_free: u64) -> anyhow::Result<Self> {
        Ok(Self {
            client: http_client()?,
            template: template.to_owned(),
            dir: data_dir.join("terrain").join(TILE_ZOOM.to_string()),
            keep_free,
            tiles: Mutex::new(HashMap::new()),
        })
    }

    fn decode(bytes: &[u8]) -> Result<terrarium::Tile, String> {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder
            .read_info()
            .map_err(|e| format!("not a PNG ({e})"))?;
        let mut buf = vec![0; reader.output_buffer_size().ok_or("a PNG too large")?];
        let info = reader
            .next_frame(&mut buf)
            .map_err(|e| format!("a broken PNG ({e})"))?;
        let pixels = &buf[..info.buffer_size()];
        let rgb: Vec<u8> = match info.color_type {
            png::ColorType::Rgb => pixels.to_vec(),
            png::ColorType::Rgba => pixels
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect(),
            other => return Err(format!("a {other:?} PNG, not RGB")),
        };
        terrarium::Tile::from_rgb(&rgb).ok_or_else(|| {
            format!(
                "a {}×{} tile, not {side}×{side}",
                info.width,
                info.height,
                side = terrarium::SIDE
            )
        })
    }

    /// The tile from memory, the disk cache, or the network (then cached in both).
    async fn tile(&self, x: u32, y: u32) -> Result<Arc<terrarium::Tile>, String> {
        let lock = || {
            self.tiles
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some(t) = lock().get(&(x, y)) {
            return Ok(t.clone());
        }
        let path = self.dir.join(x.to_string()).join(format!("{y}.png"));
        let tile = match tokio::fs::read(&path).await {
            Ok(bytes) => Self::decode(&bytes).ok(),
            Err(_) => None,
        };
        let tile = if let Some(t) = tile {
            t
        } else {
            let bytes = self.fetch(x, y).await?;
            let tile = Self::decode(&bytes)
                .map_err(|why| unavailable(&self.template, &format!("it sent {why}")))?;
            // A cache that cannot be written only costs a fetch next time.
            let room = self
                .dir
                .parent()
                .and_then(Path::parent)
                .is_some_and(|data| {
                    crate::disk::check_room(data, bytes.len() as u64, self.keep_free).is_ok()
                });
            if let Some(parent) = path.parent().filter(|_| room) {
                // Its own temporary name: two requests may fetch the same tile at once.
                static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
                let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let tmp = path.with_extension(format!("{n}.tmp"));
                let written = tokio::fs::create_dir_all(parent).await.is_ok()
                    && tokio::fs::write(&tmp, &bytes).await.is_ok()
                    && tokio::fs::rename(&tmp, &path).await.is_ok();
                if !written {
                    tracing::warn!(path = %path.display(), "cannot cache a terrain tile");
                }
            }
            tile
        };
        let tile = Arc::new(tile);
        let mut tiles = lock();
        if tiles.len() >= TILES_IN_MEMORY {
            tiles.clear();
        }
        tiles.insert((x, y), tile.clone());
        Ok(tile)
    }

    async fn fetch(&self, x: u32, y: u32) -> Result<Vec<u8>, String> {
        let url = self
            .template
            .replace("{z}", &TILE_ZOOM.to_string())
            .replace("{x}", &x.to_string())
            .replace("{y}", &y.to_string());
        let res = self.client.get(&url).send().await.map_err(|e| {
            unavailable(
                &self.template,
                if e.is_timeout() {
                    "it timed out"
                } else {
                    "no connection"
                },
            )
        })?;
        if !res.status().is_success() {
            return Err(unavailable(
                &self.template,
                &format!("HTTP {}", res.status()),
            ));
        }
        if res
            .content_length()
            .is_some_and(|n| n > MAX_TILE_BYTES as u64)
        {
            return Err(unavailable(&self.template, "a tile too large"));
        }
        let bytes = res
            .bytes()
            .await
            .map_err(|_| unavailable(&self.template, "the connection dropped"))?;
        if bytes.len() > MAX_TILE_BYTES {
            return Err(unavailable(&self.template, "a tile too large"));
        }
        Ok(bytes.to_vec())
    }
}

fn unavailable(template: &str, why: &str) -> String {
    tracing::warn!(template, "terrain tiles: {why}");
    format!("the terrain tiles could not be read ({why})")
}

#[async_trait]
impl Terrain for TileTerrain {
    async fn elevations_m(&self, points: &[(f64, f64)]) -> Result<Vec<Option<f64>>, String> {
        let mut out = Vec::with_capacity(points.len());
        for &(lat, lon) in points {
            let (x, y, px, py) = terrarium::locate(lat, lon, TILE_ZOOM);
            out.push(Some(self.tile(x, y).await?.sample(px, py)));
        }
        Ok(out)
    }
}

/// No source at all: every plan is on flat ground, and says why.
pub struct NoTerrain;

#[async_trait]
impl Terrain for NoTerrain {
    async fn elevations_m(&self, points: &[(f64, f64)]) -> Result<Vec<Option<f64>>, String> {
        Ok(vec![Some(0.0); points.len()])
    }

    fn flat_because(&self) -> Option<&str> {
        Some("this server has no terrain source (no SRTM tiles, no elevation service, and terrain tiles turned off)")
    }
}

/// Chooses the terrain source: tiles, then the configured service, then flat ground.
pub fn load(
    data_dir: &Path,
    url: Option<&str>,
    api_key: Option<Secret>,
    tiles_url: Option<&str>,
    keep_free: u64,
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
    if let Some(template) = tiles_url {
        tracing::info!(template, "terrain for flight plans: Terrarium tiles");
        return Ok(Arc::new(TileTerrain::new(template, data_dir, keep_free)?));
    }
    tracing::info!(
        "terrain for flight plans: flat ground (put SRTM .hgt tiles in {}, or set elevation_url or terrain_tiles_url)",
        dir.display()
    );
    Ok(Arc::new(NoTerrain))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::cast_possible_truncation)] // a test's fixtures
mod tests {
    use super::*;

    /// A Terrarium PNG of one height everywhere.
    fn tile_png(metres: f64) -> Vec<u8> {
        #[allow(clippy::cast_sign_loss)]
        let v = ((metres + 32768.0) * 256.0).round() as u32;
        let rgb: Vec<u8> = (0..256 * 256)
            .flat_map(|_| [(v >> 16) as u8, (v >> 8) as u8, v as u8])
            .collect();
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, 256, 256);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().unwrap();
        w.write_image_data(&rgb).unwrap();
        w.finish().unwrap();
        out
    }

    #[tokio::test]
    async fn tiles_on_disk_answer_without_the_network_and_bad_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (lat, lon) = (47.6205, -122.3493);
        let (tile_x, tile_y, _, _) = terrarium::locate(lat, lon, TILE_ZOOM);
        let cached = dir.path().join(format!("terrain/12/{tile_x}"));
        std::fs::create_dir_all(&cached).unwrap();
        std::fs::write(cached.join(format!("{tile_y}.png")), tile_png(1234.5)).unwrap();
        // Port 9 (discard) refuses: only the cache can answer.
        let terrain =
            TileTerrain::new("http://127.0.0.1:9/{z}/{x}/{y}.png", dir.path(), 0).unwrap();
        let heights = terrain.elevations_m(&[(lat, lon)]).await.unwrap();
        assert!((heights[0].unwrap() - 1234.5).abs() < 0.01, "{heights:?}");
        // A point on another tile needs the network, which says what failed.
        let why = terrain.elevations_m(&[(lat + 1.0, lon)]).await.unwrap_err();
        assert!(
            why.contains("terrain tiles could not be read (no connection)"),
            "{why}"
        );
        // Bytes that are not a tile are refused with the reason.
        let Err(why) = TileTerrain::decode(b"<html>rate limited</html>") else {
            panic!("a page of HTML decoded as a tile");
        };
        assert!(why.contains("not a PNG"), "{why}");
    }
}
