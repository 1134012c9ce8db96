//! A synthetic drone orbit for tests: a textured ground with a few textured blocks, ray-cast
//! from cameras circling at altitude, written as JPEGs with GPS EXIF, with the exact cameras
//! beside them (Strecha `.camera` files in the local east-north-up frame, and `truth.json` with
//! each camera's geographic position).

use std::path::Path;

use anyhow::Context as _;
use nalgebra::{Matrix3, Vector3};
use serde::{Deserialize, Serialize};

use crate::exif::{insert_into_jpeg, PhotoExif};
use crate::geo::{EnuFrame, GeoPoint};

#[derive(Debug, Clone)]
pub struct OrbitOptions {
    pub images: usize,
    pub radius_m: f64,
    pub altitude_m: f64,
    pub width: u32,
    pub height: u32,
    /// 35 mm-equivalent focal length (mm), as drones report it.
    pub focal_35mm: f64,
    /// Where the orbit's centre is on Earth (ground level).
    pub origin: GeoPoint,
    /// Standard deviation of the noise added to the EXIF GPS positions (metres).
    pub gps_noise_m: f64,
    pub seed: u64,
}

impl Default for OrbitOptions {
    fn default() -> Self {
        Self {
            images: 24,
            radius_m: 40.0,
            altitude_m: 30.0,
            width: 800,
            height: 600,
            focal_35mm: 24.0,
            origin: GeoPoint {
                lat: 46.519_1,
                lon: 6.566_8,
                alt: 372.0,
            },
            gps_noise_m: 0.0,
            seed: 7,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrueView {
    pub name: String,
    /// Camera centre in the orbit's east-north-up frame (metres).
    pub centre_enu: [f64; 3],
    /// The exact geographic position (before any GPS noise).
    pub position: GeoPoint,
    /// The position written to EXIF.
    pub exif_gps: GeoPoint,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Truth {
    pub origin: GeoPoint,
    pub focal_px: f64,
    pub views: Vec<TrueView>,
}

/// Deterministic hashing for the procedural textures and noise (SplitMix64).
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[allow(clippy::cast_precision_loss)]
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

fn lattice(seed: u64, x: i64, y: i64) -> f64 {
    unit(mix(seed ^ mix(x.cast_unsigned() ^ mix(y.cast_unsigned()))))
}

/// Smooth value noise in [0, 1].
#[allow(clippy::cast_possible_truncation, clippy::many_single_char_names)]
fn value_noise(seed: u64, x: f64, y: f64) -> f64 {
    let (xf, yf) = (x.floor(), y.floor());
    let (xi, yi) = (xf as i64, yf as i64);
    let (tx, ty) = (x - xf, y - yf);
    let (sx, sy) = (tx * tx * (3.0 - 2.0 * tx), ty * ty * (3.0 - 2.0 * ty));
    let a = lattice(seed, xi, yi);
    let b = lattice(seed, xi + 1, yi);
    let c = lattice(seed, xi, yi + 1);
    let d = lattice(seed, xi + 1, yi + 1);
    (a + (b - a) * sx) * (1.0 - sy) + (c + (d - c) * sx) * sy
}

/// A colourful multi-scale texture: blobs from ~8 m down to ~0.25 m, which SIFT finds at
/// every distance the orbit sees them from.
fn texture(seed: u64, u: f64, v: f64) -> [f64; 3] {
    let mut rgb = [0.0; 3];
    for (c, out) in rgb.iter_mut().enumerate() {
        let mut amp = 0.5;
        let mut freq = 1.0 / 8.0;
        let mut sum = 0.0;
        for octave in 0..6u64 {
            sum += amp * value_noise(seed ^ mix(c as u64 * 131 + octave), u * freq, v * freq);
            amp *= 0.62;
            freq *= 2.0;
        }
        // Stretch the contrast: sums of noise bunch around the middle.
        *out = ((sum - 0.62) * 2.6 + 0.5).clamp(0.0, 1.0);
    }
    rgb
}

/// An axis-aligned block standing on the ground.
struct Block {
    min: Vector3<f64>,
    max: Vector3<f64>,
    seed: u64,
}

struct Scene {
    blocks: Vec<Block>,
    seed: u64,
}

impl Scene {
    fn new(seed: u64) -> Self {
        let blocks = (0..7u64)
            .map(|i| {
                let h = |k: u64| unit(mix(seed ^ (i * 16 + k)));
                let centre = Vector3::new(h(1) * 36.0 - 18.0, h(2) * 36.0 - 18.0, 0.0);
                let half = Vector3::new(2.0 + h(3) * 4.0, 2.0 + h(4) * 4.0, 0.0);
                let height = 3.0 + h(5) * 9.0;
                Block {
                    min: centre - half,
                    max: centre + half + Vector3::new(0.0, 0.0, height),
                    seed: mix(seed + 1000 + i),
                }
            })
            .collect();
        Self { blocks, seed }
    }

    /// The colour seen along a ray.
    fn shade(&self, origin: &Vector3<f64>, dir: &Vector3<f64>) -> [f64; 3] {
        let sun = Vector3::new(0.4, -0.3, 0.87).normalize();
        let mut best = f64::INFINITY;
        let mut colour = [0.55, 0.7, 0.9]; // sky
        if dir.z < -1e-9 {
            let t = -origin.z / dir.z;
            let p = origin + dir * t;
            best = t;
            let tex = texture(self.seed, p.x, p.y);
            colour = tex.map(|c| c * 0.85 + 0.1);
        }
        for block in &self.blocks {
            let Some((t, axis, sign)) = slab(origin, dir, block) else {
                continue;
            };
            if t >= best {
                continue;
            }
            best = t;
            let p = origin + dir * t;
            let (u, v) = match axis {
                0 => (p.y, p.z),
                1 => (p.x, p.z),
                _ => (p.x, p.y),
            };
            let mut normal = Vector3::zeros();
            normal[axis] = sign;
            let light = 0.45 + 0.55 * normal.dot(&sun).max(0.0);
            let tex = texture(block.seed ^ (axis as u64), u * 1.7, v * 1.7);
            colour = tex.map(|c| (c * 0.9 + 0.05) * light);
        }
        colour
    }
}

/// Ray–box intersection: (distance, axis of the face hit, outward normal sign).
fn slab(origin: &Vector3<f64>, dir: &Vector3<f64>, b: &Block) -> Option<(f64, usize, f64)> {
    let (mut t0, mut t1, mut axis, mut sign) = (0.0f64, f64::INFINITY, 0, 1.0);
    for k in 0..3 {
        if dir[k].abs() < 1e-12 {
            if origin[k] < b.min[k] || origin[k] > b.max[k] {
                return None;
            }
            continue;
        }
        let (mut a, mut c) = (
            (b.min[k] - origin[k]) / dir[k],
            (b.max[k] - origin[k]) / dir[k],
        );
        let mut s = -1.0;
        if a > c {
            std::mem::swap(&mut a, &mut c);
            s = 1.0;
        }
        if a > t0 {
            t0 = a;
            axis = k;
            sign = s;
        }
        t1 = t1.min(c);
        if t0 > t1 {
            return None;
        }
    }
    (t0 > 0.0).then_some((t0, axis, sign))
}

/// World → camera rotation (rows: right, down, forward — the OpenCV/COLMAP convention) of a
/// camera at `eye` looking at `target` with z up.
pub fn look_at(eye: &Vector3<f64>, target: &Vector3<f64>) -> Matrix3<f64> {
    let forward = (target - eye).normalize();
    let right = forward.cross(&Vector3::z()).normalize();
    let down = forward.cross(&right);
    Matrix3::from_rows(&[right.transpose(), down.transpose(), forward.transpose()])
}

#[allow(clippy::many_single_char_names)]
/// Renders one view with 2×2 supersampling, on all cores.
fn render(
    scene: &Scene,
    eye: &Vector3<f64>,
    r_w2c: &Matrix3<f64>,
    f: f64,
    w: u32,
    h: u32,
) -> image::RgbImage {
    let c2w = r_w2c.transpose();
    let (cx, cy) = (f64::from(w) / 2.0, f64::from(h) / 2.0);
    let mut img = image::RgbImage::new(w, h);
    let threads = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let rows_per = (h as usize).div_ceil(threads);
    let width = w as usize;
    std::thread::scope(|s| {
        for (chunk_index, chunk) in img.chunks_mut(rows_per * width * 3).enumerate() {
            s.spawn(move || {
                for (i, px) in chunk.chunks_mut(3).enumerate() {
                    let idx = chunk_index * rows_per * width + i;
                    #[allow(clippy::cast_precision_loss)]
                    let (x, y) = ((idx % width) as f64, (idx / width) as f64);
                    let mut acc = [0.0; 3];
                    for (sx, sy) in [(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)] {
                        let d = c2w * Vector3::new((x + sx - cx) / f, (y + sy - cy) / f, 1.0);
                        let c = scene.shade(eye, &d.normalize());
                        for k in 0..3 {
                            acc[k] += c[k] / 4.0;
                        }
                    }
                    for k in 0..3 {
                        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                        {
                            px[k] = (acc[k].clamp(0.0, 1.0).powf(1.0 / 2.2) * 255.0).round() as u8;
                        }
                    }
                }
            });
        }
    });
    img
}

/// Gaussian noise by Box–Muller from the deterministic hash.
fn gaussian(seed: u64) -> f64 {
    let (u1, u2) = (unit(mix(seed)).max(1e-12), unit(mix(seed ^ 0xABCD)));
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Writes `images/frame_NNNN.jpg` (with GPS EXIF), `cameras/frame_NNNN.jpg.camera` and
/// `truth.json` into `out`.
pub fn write_orbit(out: &Path, opts: &OrbitOptions) -> anyhow::Result<Truth> {
    let images = out.join("images");
    let cameras = out.join("cameras");
    std::fs::create_dir_all(&images)
        .with_context(|| format!("cannot create {}", images.display()))?;
    std::fs::create_dir_all(&cameras)?;
    let scene = Scene::new(opts.seed);
    let frame = EnuFrame::new(opts.origin);
    let longest = f64::from(opts.width.max(opts.height));
    let f = opts.focal_35mm / 36.0 * longest;
    let mut views = Vec::new();
    for i in 0..opts.images {
        #[allow(clippy::cast_precision_loss)]
        let angle = std::f64::consts::TAU * i as f64 / opts.images as f64;
        // A gentle bounce in altitude and radius, as a spiral mission flies.
        let (radius, altitude) = (
            opts.radius_m * (1.0 + 0.08 * (3.0 * angle).sin()),
            opts.altitude_m * (1.0 + 0.1 * (2.0 * angle).cos()),
        );
        let eye = Vector3::new(radius * angle.cos(), radius * angle.sin(), altitude);
        let r = look_at(&eye, &Vector3::new(0.0, 0.0, 2.0));
        let img = render(&scene, &eye, &r, f, opts.width, opts.height);
        let name = format!("frame_{:04}.jpg", i + 1);
        let position = frame.to_geo([eye.x, eye.y, eye.z]);
        let noise = |k: u64| opts.gps_noise_m * gaussian(mix(opts.seed ^ (i as u64 * 8 + k)));
        let exif_gps = frame.to_geo([eye.x + noise(1), eye.y + noise(2), eye.z + noise(3)]);
        let exif = PhotoExif {
            make: Some("Spaceport".into()),
            model: Some("Synthetic orbit".into()),
            focal_35mm: Some(opts.focal_35mm),
            gps: Some(exif_gps),
            captured_at: Some(format!("2026:11:27 10:{:02}:{:02}", i * 3 / 60, i * 3 % 60)),
            ..PhotoExif::default()
        };
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 92).encode_image(&img)?;
        std::fs::write(images.join(&name), insert_into_jpeg(&jpeg, &exif))?;
        let c2w = r.transpose();
        let (cx, cy) = (f64::from(opts.width) / 2.0, f64::from(opts.height) / 2.0);
        let camera_file =
            format!(
            "{f} 0 {cx}\n0 {f} {cy}\n0 0 1\n0 0 0\n{} {} {}\n{} {} {}\n{} {} {}\n{} {} {}\n{} {}\n",
            c2w[(0, 0)], c2w[(0, 1)], c2w[(0, 2)],
            c2w[(1, 0)], c2w[(1, 1)], c2w[(1, 2)],
            c2w[(2, 0)], c2w[(2, 1)], c2w[(2, 2)],
            eye.x, eye.y, eye.z, opts.width, opts.height
        );
        std::fs::write(cameras.join(format!("{name}.camera")), camera_file)?;
        views.push(TrueView {
            name,
            centre_enu: [eye.x, eye.y, eye.z],
            position,
            exif_gps,
        });
    }
    let truth = Truth {
        origin: opts.origin,
        focal_px: f,
        views,
    };
    std::fs::write(out.join("truth.json"), serde_json::to_vec_pretty(&truth)?)?;
    Ok(truth)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    #[test]
    fn look_at_points_the_optical_axis_at_the_target() {
        let eye = Vector3::new(30.0, -10.0, 25.0);
        let target = Vector3::new(1.0, 2.0, 0.0);
        let r = look_at(&eye, &target);
        let in_camera = r * (target - eye);
        assert!(in_camera.x.abs() < 1e-9 && in_camera.y.abs() < 1e-9 && in_camera.z > 0.0);
        assert!((r.determinant() - 1.0).abs() < 1e-9);
        // Image "down" points down the world.
        assert!(r.row(1)[2] < 0.0);
    }

    #[test]
    fn the_texture_is_deterministic_and_varied() {
        let a = texture(3, 1.5, 2.5);
        assert!(a
            .iter()
            .zip(texture(3, 1.5, 2.5))
            .all(|(x, y)| x.to_bits() == y.to_bits()));
        let spread: f64 = (0..200)
            .map(|i| texture(3, f64::from(i) * 0.37, 0.0)[0])
            .fold((1.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)))
            .1;
        assert!(spread > 0.8, "texture too flat: max {spread}");
    }
}
