//! WGS84 geodesy: latitude/longitude/height ↔ Earth-centred (ECEF) ↔ a local east-north-up
//! frame in metres, the frame a georegistered model is expressed in.

use serde::{Deserialize, Serialize};

const A: f64 = 6_378_137.0;
const F: f64 = 1.0 / 298.257_223_563;
const E2: f64 = F * (2.0 - F);

/// A position on the WGS84 ellipsoid: degrees, degrees, metres above the ellipsoid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
    pub alt: f64,
}

impl GeoPoint {
    pub fn is_valid(&self) -> bool {
        self.lat.is_finite()
            && self.lon.is_finite()
            && self.alt.is_finite()
            && self.lat.abs() <= 90.0
            && self.lon.abs() <= 180.0
            && self.alt.abs() < 100_000.0
    }

    pub fn to_ecef(&self) -> [f64; 3] {
        let (lat, lon) = (self.lat.to_radians(), self.lon.to_radians());
        let n = A / (1.0 - E2 * lat.sin().powi(2)).sqrt();
        [
            (n + self.alt) * lat.cos() * lon.cos(),
            (n + self.alt) * lat.cos() * lon.sin(),
            (n * (1.0 - E2) + self.alt) * lat.sin(),
        ]
    }

    #[allow(clippy::many_single_char_names)] // the textbook formula's names
    pub fn from_ecef(p: [f64; 3]) -> Self {
        let [x, y, z] = p;
        let lon = y.atan2(x);
        let r = x.hypot(y);
        // Fixed-point iteration on latitude; converges to < 1e-12 rad in a handful of steps
        // for any point near the surface.
        let mut lat = z.atan2(r * (1.0 - E2));
        let mut alt = 0.0;
        for _ in 0..8 {
            let n = A / (1.0 - E2 * lat.sin().powi(2)).sqrt();
            alt = r / lat.cos() - n;
            lat = z.atan2(r * (1.0 - E2 * n / (n + alt)));
        }
        Self {
            lat: lat.to_degrees(),
            lon: lon.to_degrees(),
            alt,
        }
    }
}

/// A local tangent frame: x east, y north, z up, in metres, centred on `origin`.
#[derive(Debug, Clone, Copy)]
pub struct EnuFrame {
    pub origin: GeoPoint,
    origin_ecef: [f64; 3],
    /// Rows: the east, north and up unit vectors in ECEF.
    axes: [[f64; 3]; 3],
}

impl EnuFrame {
    pub fn new(origin: GeoPoint) -> Self {
        let (lat, lon) = (origin.lat.to_radians(), origin.lon.to_radians());
        let (sl, cl, so, co) = (lat.sin(), lat.cos(), lon.sin(), lon.cos());
        Self {
            origin,
            origin_ecef: origin.to_ecef(),
            axes: [
                [-so, co, 0.0],
                [-sl * co, -sl * so, cl],
                [cl * co, cl * so, sl],
            ],
        }
    }

    pub fn to_local(&self, p: &GeoPoint) -> [f64; 3] {
        let e = p.to_ecef();
        let d = [
            e[0] - self.origin_ecef[0],
            e[1] - self.origin_ecef[1],
            e[2] - self.origin_ecef[2],
        ];
        self.axes
            .map(|axis| axis[0] * d[0] + axis[1] * d[1] + axis[2] * d[2])
    }

    pub fn to_geo(&self, local: [f64; 3]) -> GeoPoint {
        let mut e = self.origin_ecef;
        for (axis, v) in self.axes.iter().zip(local) {
            for k in 0..3 {
                e[k] += axis[k] * v;
            }
        }
        GeoPoint::from_ecef(e)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    #[test]
    fn enu_round_trips_to_the_millimetre() {
        let frame = EnuFrame::new(GeoPoint {
            lat: 46.5191,
            lon: 6.5668,
            alt: 372.0,
        });
        for local in [
            [0.0, 0.0, 0.0],
            [120.0, -35.5, 60.0],
            [-2000.0, 1500.0, -30.0],
        ] {
            let back = frame.to_local(&frame.to_geo(local));
            for k in 0..3 {
                assert!((back[k] - local[k]).abs() < 1e-3, "{local:?} → {back:?}");
            }
        }
    }

    #[test]
    fn north_is_north_and_up_is_up() {
        let origin = GeoPoint {
            lat: -33.86,
            lon: 151.2,
            alt: 10.0,
        };
        let frame = EnuFrame::new(origin);
        let north = frame.to_local(&GeoPoint {
            lat: origin.lat + 0.001,
            ..origin
        });
        assert!(
            north[1] > 110.0 && north[1] < 112.0 && north[0].abs() < 1e-6,
            "{north:?}"
        );
        let east = frame.to_local(&GeoPoint {
            lon: origin.lon + 0.001,
            ..origin
        });
        assert!(east[0] > 90.0 && east[0] < 94.0, "{east:?}");
        let up = frame.to_local(&GeoPoint {
            alt: origin.alt + 50.0,
            ..origin
        });
        assert!((up[2] - 50.0).abs() < 1e-6);
    }
}
