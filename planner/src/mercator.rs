//! Web Mercator, as every OSM-style raster map tiles the world: at zoom `z` the world is a square
//! of `256 · 2^z` pixels, x growing east from the antimeridian and y growing south from
//! 85.05° N, cut into 256-pixel tiles named `{z}/{x}/{y}`. The project page's map draws tiles,
//! the plan and the marker with these (and nothing else), so the arithmetic is tested here.

use std::f64::consts::PI;

/// Pixels on a tile's side.
pub const TILE_PX: f64 = 256.0;
/// The most north (and south) a Web Mercator map reaches: the world is square there.
pub const MAX_LAT: f64 = 85.051_128_779_806_6;
/// Zoom levels OSM-style tile servers offer.
pub const MIN_ZOOM: u8 = 1;
pub const MAX_ZOOM: u8 = 19;

/// The world's side in pixels at a zoom.
pub fn world_px(zoom: u8) -> f64 {
    TILE_PX * f64::from(1u32 << zoom.min(30))
}

/// A point's position in the world's pixels at a zoom (latitude clamped to the map).
pub fn to_px(lat: f64, lon: f64, zoom: u8) -> (f64, f64) {
    let size = world_px(zoom);
    let phi = lat.clamp(-MAX_LAT, MAX_LAT).to_radians();
    let x = (lon + 180.0) / 360.0 * size;
    let y = (1.0 - (phi.tan() + 1.0 / phi.cos()).ln() / PI) / 2.0 * size;
    (x, y)
}

/// The point at a world pixel (inverse of [`to_px`]); longitude wrapped into −180..180.
pub fn to_lat_lon(x: f64, y: f64, zoom: u8) -> (f64, f64) {
    let size = world_px(zoom);
    let lon = (x / size).rem_euclid(1.0) * 360.0 - 180.0;
    let n = PI * (1.0 - 2.0 * (y / size).clamp(0.0, 1.0));
    let lat = n.sinh().atan().to_degrees();
    (lat, lon)
}

/// Metres on the ground one pixel spans at a latitude and zoom (WGS84 equator).
pub fn metres_per_px(lat: f64, zoom: u8) -> f64 {
    40_075_016.686 * lat.to_radians().cos() / world_px(zoom)
}

/// One tile to draw: its name (x wrapped around the world) and where its top-left corner goes,
/// in pixels from the view's top-left.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TileSpot {
    pub z: u8,
    /// The column before wrapping: what tells two copies of one tile apart in a wide view.
    pub column: i64,
    pub x: u32,
    pub y: u32,
    pub left: f64,
    pub top: f64,
}

/// The tiles that cover a `width` × `height` view centred on world pixel `center` at `zoom`:
/// rows outside the world (above the north edge, below the south) are left out, columns wrap.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)] // tile indices are far below 2^31
pub fn tiles_covering(center: (f64, f64), zoom: u8, width: f64, height: f64) -> Vec<TileSpot> {
    let n = 1i64 << zoom.min(30);
    let (left, top) = (center.0 - width / 2.0, center.1 - height / 2.0);
    let col = |px: f64| (px / TILE_PX).floor() as i64;
    let mut out = Vec::new();
    for ty in col(top).max(0)..=col(top + height).min(n - 1) {
        for tx in col(left)..=col(left + width) {
            out.push(TileSpot {
                z: zoom,
                column: tx,
                x: tx.rem_euclid(n) as u32,
                y: ty as u32,
                left: tx as f64 * TILE_PX - left,
                top: ty as f64 * TILE_PX - top,
            });
        }
    }
    out
}

/// A tile's address from an OSM-style template (`https://tiles.example/{z}/{x}/{y}.png`).
pub fn tile_url(template: &str, z: u8, x: u32, y: u32) -> String {
    template
        .replace("{z}", &z.to_string())
        .replace("{x}", &x.to_string())
        .replace("{y}", &y.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // tile numbers
    fn known_points_land_where_every_map_puts_them() {
        // Null Island is the middle of the world; the corners are the map's edges.
        assert_eq!(to_px(0.0, 0.0, 0), (128.0, 128.0));
        let (x, y) = to_px(MAX_LAT, -180.0, 3);
        assert!(close(x, 0.0, 1e-9) && close(y, 0.0, 1e-6), "{x} {y}");
        // The Space Needle is in tile 16/10494/22884 (OSM wiki's slippy-map formula, by hand).
        let (x, y) = to_px(47.6205, -122.3493, 16);
        assert_eq!(
            ((x / TILE_PX) as u32, (y / TILE_PX) as u32),
            (10_494, 22_884)
        );
    }

    #[test]
    fn pixels_and_degrees_round_trip() {
        for &(lat, lon) in &[
            (47.6205, -122.3493),
            (-33.8568, 151.2153),
            (0.0, 0.0),
            (60.1, 24.9),
        ] {
            for zoom in [1, 8, 16, 19] {
                let (x, y) = to_px(lat, lon, zoom);
                let (la, lo) = to_lat_lon(x, y, zoom);
                assert!(
                    close(la, lat, 1e-9) && close(lo, lon, 1e-9),
                    "{lat},{lon}@{zoom}: {la},{lo}"
                );
            }
        }
        // Past the antimeridian, longitudes wrap.
        let (_, lon) = to_lat_lon(world_px(4) + 10.0, 100.0, 4);
        assert!(close(lon, to_lat_lon(10.0, 100.0, 4).1, 1e-9));
    }

    #[test]
    fn a_pixel_spans_what_osm_says_it_does() {
        // OSM's wiki: 156,543 m a pixel at zoom 0 on the equator, halving each level.
        assert!(close(metres_per_px(0.0, 0), 156_543.03, 0.01));
        assert!(close(
            metres_per_px(60.0, 10),
            156_543.03 / 1024.0 / 2.0,
            0.01
        ));
    }

    #[test]
    fn the_tiles_cover_the_view_and_nothing_off_the_world() {
        let view = (600.0, 320.0);
        let center = to_px(47.6205, -122.3493, 16);
        let tiles = tiles_covering(center, 16, view.0, view.1);
        // Every pixel of the view is inside exactly one tile.
        for px in [(0.0, 0.0), (599.0, 319.0), (300.0, 160.0), (0.0, 319.0)] {
            let holding = tiles
                .iter()
                .filter(|t| {
                    (t.left..t.left + TILE_PX).contains(&px.0)
                        && (t.top..t.top + TILE_PX).contains(&px.1)
                })
                .count();
            assert_eq!(holding, 1, "{px:?}");
        }
        assert!(tiles.len() <= 4 * 3, "{}", tiles.len());
        // At zoom 1 the world is 512 px: a wide view repeats columns, never rows.
        let tiles = tiles_covering((256.0, 256.0), 1, 1200.0, 900.0);
        assert!(tiles.iter().all(|t| t.y < 2 && t.x < 2));
        assert_eq!(tiles.iter().filter(|t| t.y == 0).count(), tiles.len() / 2);
        assert_eq!(
            tile_url("https://t.example/{z}/{x}/{y}.png?k=1", 3, 4, 5),
            "https://t.example/3/4/5.png?k=1"
        );
    }
}
