//! Ground elevation, behind a port: flat ground by default, SRTM `.hgt` tiles when the operator
//! has put some in the data directory (the server reads the files; this crate parses bytes).

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

/// Ground height above sea level, metres; None where unknown (outside the tiles, a void).
pub trait Elevation: Send + Sync {
    fn elevation_m(&self, lat: f64, lon: f64) -> Option<f64>;
}

/// The offline default: the ground is level with the take-off point everywhere.
pub struct FlatGround;

impl Elevation for FlatGround {
    fn elevation_m(&self, _lat: f64, _lon: f64) -> Option<f64> {
        Some(0.0)
    }
}

/// One SRTM tile: 1°×1°, big-endian i16 metres, rows north to south, 1201² (3″) or 3601² (1″).
pub struct HgtTile {
    /// South-west corner (integer degrees).
    lat0: i32,
    lon0: i32,
    side: usize,
    samples: Vec<i16>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HgtError {
    #[error("{0}: not an SRTM tile name (like N46E006.hgt)")]
    BadName(String),
    #[error(
        "{name}: {len} bytes is neither a 3-arc-second (1201²) nor a 1-arc-second (3601²) tile"
    )]
    BadSize { name: String, len: usize },
}

/// "N46E006" (optionally with ".hgt") → (46, 6).
fn parse_tile_name(name: &str) -> Option<(i32, i32)> {
    let stem = name
        .strip_suffix(".hgt")
        .unwrap_or(name)
        .to_ascii_uppercase();
    if stem.len() != 7 {
        return None;
    }
    let (ns, rest) = stem.split_at(1);
    let (lat, rest) = rest.split_at(2);
    let (ew, lon) = rest.split_at(1);
    let lat: i32 = lat.parse().ok()?;
    let lon: i32 = lon.parse().ok()?;
    let lat = match ns {
        "N" => lat,
        "S" => -lat,
        _ => return None,
    };
    let lon = match ew {
        "E" => lon,
        "W" => -lon,
        _ => return None,
    };
    ((-90..90).contains(&lat) && (-180..180).contains(&lon)).then_some((lat, lon))
}

impl HgtTile {
    pub fn parse(name: &str, bytes: &[u8]) -> Result<Self, HgtError> {
        let (lat0, lon0) = parse_tile_name(name).ok_or_else(|| HgtError::BadName(name.into()))?;
        let side = match bytes.len() {
            n if n == 1201 * 1201 * 2 => 1201,
            n if n == 3601 * 3601 * 2 => 3601,
            len => {
                return Err(HgtError::BadSize {
                    name: name.into(),
                    len,
                })
            }
        };
        let samples = bytes
            .chunks_exact(2)
            .map(|c| i16::from_be_bytes([c[0], c[1]]))
            .collect();
        Ok(Self {
            lat0,
            lon0,
            side,
            samples,
        })
    }

    fn sample(&self, row: usize, col: usize) -> Option<f64> {
        let v = self.samples[row * self.side + col];
        (v != i16::MIN).then_some(f64::from(v)) // -32768 marks a void
    }

    /// Bilinear interpolation between the four surrounding samples.
    #[allow(clippy::many_single_char_names)] // rows, columns and fractions of a grid
    fn elevation(&self, lat: f64, lon: f64) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)]
        let n = (self.side - 1) as f64;
        let y = (f64::from(self.lat0) + 1.0 - lat) * n;
        let x = (lon - f64::from(self.lon0)) * n;
        if !(0.0..=n).contains(&y) || !(0.0..=n).contains(&x) {
            return None;
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // in 0..side
        let (r, c) = (
            (y.floor() as usize).min(self.side - 2),
            (x.floor() as usize).min(self.side - 2),
        );
        #[allow(clippy::cast_precision_loss)]
        let (fy, fx) = (y - r as f64, x - c as f64);
        let top = self.sample(r, c)? * (1.0 - fx) + self.sample(r, c + 1)? * fx;
        let bottom = self.sample(r + 1, c)? * (1.0 - fx) + self.sample(r + 1, c + 1)? * fx;
        Some(top * (1.0 - fy) + bottom * fy)
    }
}

/// A set of tiles; a point outside all of them has no elevation.
#[derive(Default)]
pub struct HgtTiles {
    tiles: HashMap<(i32, i32), HgtTile>,
}

impl HgtTiles {
    pub fn insert(&mut self, tile: HgtTile) {
        self.tiles.insert((tile.lat0, tile.lon0), tile);
    }
    pub fn is_empty(&self) -> bool {
        self.tiles.is_empty()
    }
}

impl Elevation for HgtTiles {
    fn elevation_m(&self, lat: f64, lon: f64) -> Option<f64> {
        #[allow(clippy::cast_possible_truncation)] // whole degrees
        let key = (lat.floor() as i32, lon.floor() as i32);
        self.tiles.get(&key)?.elevation(lat, lon)
    }
}

/// Elevations fetched ahead of planning, for sources that cannot answer one point at a time
/// (a web service). Planning asks for points it does not know yet; they are recorded (and
/// answered with a placeholder meanwhile), fetched in one batch, and the plan is made
/// again — until a pass asks for nothing new. Same inputs, same points: a pass is deterministic.
#[derive(Default)]
pub struct Prefetched {
    known: HashMap<(i64, i64), Option<f64>>,
    missing: Mutex<BTreeSet<(i64, i64)>>,
}

/// Coordinates to 1e-7 degrees (about a centimetre) as a map key.
#[allow(clippy::cast_possible_truncation)] // |degrees| ≤ 180 → |key| ≤ 1.8e9
fn key(lat: f64, lon: f64) -> (i64, i64) {
    ((lat * 1e7).round() as i64, (lon * 1e7).round() as i64)
}

impl Prefetched {
    /// The points asked for but not known, emptied.
    pub fn take_missing(&self) -> Vec<(f64, f64)> {
        let mut missing = self
            .missing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        #[allow(clippy::cast_precision_loss)]
        let points = missing
            .iter()
            .map(|&(a, b)| (a as f64 / 1e7, b as f64 / 1e7))
            .collect();
        missing.clear();
        points
    }

    pub fn insert(&mut self, lat: f64, lon: f64, metres: Option<f64>) {
        self.known.insert(key(lat, lon), metres);
    }
}

impl Elevation for Prefetched {
    fn elevation_m(&self, lat: f64, lon: f64) -> Option<f64> {
        let k = key(lat, lon);
        if let Some(v) = self.known.get(&k) {
            return *v;
        }
        self.missing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(k);
        Some(0.0) // a placeholder: this pass's plan is discarded
    }
}

/// Terrarium-encoded terrain tiles (the public "elevation tiles" of OSM-style web maps):
/// 256×256 PNG tiles in Web Mercator, each pixel's height `R·256 + G + B/256 − 32768` metres.
/// The server fetches and caches them; this is the arithmetic.
pub mod terrarium {
    /// Tile side, pixels.
    pub const SIDE: usize = 256;

    /// The tile (x, y) at `zoom` holding (lat, lon), and the point's position in it in pixels
    /// (0 ≤ px, py < 256).
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )] // tile indices are small and non-negative after the clamp
    pub fn locate(lat: f64, lon: f64, zoom: u8) -> (u32, u32, f64, f64) {
        let n = f64::from(1u32 << zoom);
        let lat = lat.clamp(-85.051_128, 85.051_128).to_radians();
        let fx = ((lon + 180.0) / 360.0 * n).clamp(0.0, n - 1e-9);
        let fy = ((1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n)
            .clamp(0.0, n - 1e-9);
        let (x, y) = (fx.floor(), fy.floor());
        let side = SIDE as f64;
        (x as u32, y as u32, (fx - x) * side, (fy - y) * side)
    }

    /// Metres from a pixel's colour.
    pub fn height(r: u8, g: u8, b: u8) -> f64 {
        f64::from(r) * 256.0 + f64::from(g) + f64::from(b) / 256.0 - 32768.0
    }

    /// One decoded tile: heights row by row.
    pub struct Tile {
        heights: Vec<f32>,
    }

    impl Tile {
        /// From the tile's RGB pixels (256×256×3 bytes); None for any other size.
        #[allow(clippy::cast_possible_truncation)] // metres fit an f32 to a millimetre
        pub fn from_rgb(rgb: &[u8]) -> Option<Self> {
            (rgb.len() == SIDE * SIDE * 3).then(|| Self {
                heights: rgb
                    .chunks_exact(3)
                    .map(|p| height(p[0], p[1], p[2]) as f32)
                    .collect(),
            })
        }

        /// The height at pixel position (px, py), bilinear between pixel centres (clamped at
        /// the tile's edge: a few metres at most, at zoom 12's 38 m pixels).
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        pub fn sample(&self, px: f64, py: f64) -> f64 {
            let last = (SIDE - 1) as f64;
            let (x, y) = ((px - 0.5).clamp(0.0, last), (py - 0.5).clamp(0.0, last));
            let (x0, y0) = (x.floor() as usize, y.floor() as usize);
            let (x1, y1) = ((x0 + 1).min(SIDE - 1), (y0 + 1).min(SIDE - 1));
            let (tx, ty) = (x - x0 as f64, y - y0 as f64);
            let h = |x: usize, y: usize| f64::from(self.heights[y * SIDE + x]);
            let top = h(x0, y0) * (1.0 - tx) + h(x1, y0) * tx;
            let bottom = h(x0, y1) * (1.0 - tx) + h(x1, y1) * tx;
            top * (1.0 - ty) + bottom * ty
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::cast_possible_truncation)] // bytes of a 24-bit value, by design
    fn terrarium_tiles_are_located_and_decoded() {
        // The Space Needle at zoom 12: x = (lon + 180) / 360 · 4096 = 655.94, y from Mercator.
        let (x, y, px, py) = terrarium::locate(47.6205, -122.3493, 12);
        assert_eq!((x, y), (655, 1430));
        assert!((0.0..256.0).contains(&px) && (0.0..256.0).contains(&py));
        // Sea level is (128, 0, 0); a pixel's blue is 1/256 m.
        assert!((terrarium::height(128, 0, 0)).abs() < 1e-9);
        assert!((terrarium::height(129, 44, 128) - 300.5).abs() < 1e-9);
        assert!((terrarium::height(0, 0, 0) + 32768.0).abs() < 1e-9);
        // A tile that rises 1 m per pixel eastward samples to the same slope between centres.
        let mut rgb = Vec::new();
        for _y in 0..256 {
            for x in 0..256u16 {
                let metres = 32768 + u32::from(x);
                rgb.extend([(metres >> 8) as u8, (metres & 255) as u8, 0]);
            }
        }
        let tile = terrarium::Tile::from_rgb(&rgb).unwrap();
        assert!((tile.sample(10.5, 3.0) - 10.0).abs() < 1e-6);
        assert!((tile.sample(11.0, 200.0) - 10.5).abs() < 1e-6);
        assert!(
            (tile.sample(300.0, 0.0) - 255.0).abs() < 1e-6,
            "clamped at the edge"
        );
        assert!(terrarium::Tile::from_rgb(&rgb[3..]).is_none());
    }

    fn tile(f: impl Fn(usize, usize) -> i16) -> Vec<u8> {
        let mut out = Vec::with_capacity(1201 * 1201 * 2);
        for r in 0..1201 {
            for c in 0..1201 {
                out.extend(f(r, c).to_be_bytes());
            }
        }
        out
    }

    #[test]
    fn names_parse_in_every_hemisphere() {
        assert_eq!(parse_tile_name("N46E006.hgt"), Some((46, 6)));
        assert_eq!(parse_tile_name("s34w071"), Some((-34, -71)));
        assert_eq!(parse_tile_name("X46E006"), None);
        assert_eq!(parse_tile_name("N46E06"), None);
    }

    #[test]
    fn interpolates_and_knows_its_bounds() {
        // Height = column index: rises 1 m per sample eastwards.
        let bytes = tile(|_, c| i16::try_from(c).unwrap());
        let mut tiles = HgtTiles::default();
        tiles.insert(HgtTile::parse("N46E006.hgt", &bytes).unwrap());
        let h = tiles.elevation_m(46.5, 6.5).unwrap();
        assert!((h - 600.0).abs() < 1e-6, "{h}");
        let h = tiles.elevation_m(46.5, 6.5 + 0.5 / 1200.0).unwrap();
        assert!((h - 600.5).abs() < 1e-6, "{h}");
        assert_eq!(tiles.elevation_m(47.5, 6.5), None);
    }

    #[test]
    fn voids_and_bad_files_are_refused() {
        let bytes = tile(|_, _| i16::MIN);
        let t = HgtTile::parse("N00E000", &bytes).unwrap();
        assert_eq!(t.elevation(0.5, 0.5), None);
        assert!(matches!(
            HgtTile::parse("N00E000", &[0; 10]),
            Err(HgtError::BadSize { .. })
        ));
    }

    #[test]
    fn prefetching_converges_to_the_direct_plan() {
        use crate::plan::{plan, Inputs};
        struct Slope;
        impl Elevation for Slope {
            fn elevation_m(&self, lat: f64, lon: f64) -> Option<f64> {
                Some(400.0 + (lat - 46.0) * 20_000.0 + (lon - 7.0) * 9_000.0)
            }
        }
        let inputs = Inputs {
            center_lat: 46.0,
            center_lon: 7.0,
            battery_minutes: 15.0,
            batteries: 2,
            min_height_ft: 100.0,
            max_height_ft: 300.0,
        };
        let direct = plan(&inputs, &Slope).unwrap();
        let mut cache = Prefetched::default();
        let mut passes = 0;
        let fetched = loop {
            passes += 1;
            let p = plan(&inputs, &cache).unwrap();
            let missing = cache.take_missing();
            if missing.is_empty() {
                break p;
            }
            for (lat, lon) in missing {
                cache.insert(lat, lon, Slope.elevation_m(lat, lon));
            }
            assert!(passes < 6, "no convergence");
        };
        assert!(passes >= 2);
        assert_eq!(fetched.batteries.len(), direct.batteries.len());
        for (a, b) in fetched.batteries.iter().zip(&direct.batteries) {
            assert_eq!(a.waypoints.len(), b.waypoints.len());
            for (x, y) in a.waypoints.iter().zip(&b.waypoints) {
                assert!(
                    (x.altitude_ft - y.altitude_ft).abs() < 0.01,
                    "{x:?} vs {y:?}"
                );
            }
        }
    }
}
