//! COLMAP's binary sparse model (`cameras.bin`, `images.bin`, `points3D.bin`), parsed strictly:
//! every count is checked against the bytes that remain, so a truncated or hostile file is an
//! error, never a huge allocation or a panic.

use std::collections::BTreeMap;
use std::path::Path;

use nalgebra::{Matrix3, Quaternion, UnitQuaternion, Vector3};

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{file}: {reason}")]
    Malformed { file: &'static str, reason: String },
}

/// COLMAP camera models, by the id the binary format stores, with their parameter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CameraKind {
    SimplePinhole,
    Pinhole,
    SimpleRadial,
    Radial,
    Opencv,
    OpencvFisheye,
    FullOpencv,
    Fov,
    SimpleRadialFisheye,
    RadialFisheye,
    ThinPrismFisheye,
}

impl CameraKind {
    fn from_id(id: i32) -> Option<Self> {
        Some(match id {
            0 => Self::SimplePinhole,
            1 => Self::Pinhole,
            2 => Self::SimpleRadial,
            3 => Self::Radial,
            4 => Self::Opencv,
            5 => Self::OpencvFisheye,
            6 => Self::FullOpencv,
            7 => Self::Fov,
            8 => Self::SimpleRadialFisheye,
            9 => Self::RadialFisheye,
            10 => Self::ThinPrismFisheye,
            _ => return None,
        })
    }

    pub fn param_count(self) -> usize {
        match self {
            Self::SimplePinhole => 3,
            Self::Pinhole | Self::SimpleRadial | Self::SimpleRadialFisheye => 4,
            Self::Radial | Self::Fov | Self::RadialFisheye => 5,
            Self::Opencv | Self::OpencvFisheye => 8,
            Self::FullOpencv | Self::ThinPrismFisheye => 12,
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CameraModel {
    pub id: u32,
    pub kind: CameraKind,
    pub width: u32,
    pub height: u32,
    pub params: Vec<f64>,
}

impl CameraModel {
    /// (fx, fy, cx, cy), whatever the model (distortion terms are not part of it).
    pub fn intrinsics(&self) -> (f64, f64, f64, f64) {
        let p = &self.params;
        match self.kind {
            CameraKind::SimplePinhole
            | CameraKind::SimpleRadial
            | CameraKind::Radial
            | CameraKind::SimpleRadialFisheye
            | CameraKind::RadialFisheye => (p[0], p[0], p[1], p[2]),
            _ => (p[0], p[1], p[2], p[3]),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RegisteredImage {
    pub id: u32,
    pub camera_id: u32,
    pub name: String,
    /// World → camera rotation as a quaternion (w, x, y, z), COLMAP's convention.
    pub qvec: [f64; 4],
    /// World → camera translation.
    pub tvec: [f64; 3],
    /// 2-D keypoints that are part of a 3-D point's track.
    pub observations: usize,
}

impl RegisteredImage {
    /// Rotation world → camera.
    pub fn rotation(&self) -> Matrix3<f64> {
        let [w, x, y, z] = self.qvec;
        UnitQuaternion::from_quaternion(Quaternion::new(w, x, y, z))
            .to_rotation_matrix()
            .into_inner()
    }

    /// The camera centre in world coordinates: −Rᵀt.
    pub fn centre(&self) -> Vector3<f64> {
        -(self.rotation().transpose() * Vector3::from(self.tvec))
    }
}

#[derive(Debug, Clone)]
pub struct Point3D {
    pub xyz: [f64; 3],
    pub rgb: [u8; 3],
    pub error: f64,
    pub track_len: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Reconstruction {
    pub cameras: BTreeMap<u32, CameraModel>,
    /// Sorted by name.
    pub images: Vec<RegisteredImage>,
    pub points: Vec<Point3D>,
}

impl Reconstruction {
    /// Reads `cameras.bin`, `images.bin` and `points3D.bin` from a sparse model folder.
    pub fn read(dir: &Path) -> Result<Self, ModelError> {
        let load = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|source| ModelError::Io {
                path: path.display().to_string(),
                source,
            })
        };
        let cameras = parse_cameras(&load("cameras.bin")?)?;
        let mut images = parse_images(&load("images.bin")?)?;
        let points = parse_points(&load("points3D.bin")?)?;
        for image in &images {
            if !cameras.contains_key(&image.camera_id) {
                return Err(ModelError::Malformed {
                    file: "images.bin",
                    reason: format!(
                        "image {} names unknown camera {}",
                        image.name, image.camera_id
                    ),
                });
            }
        }
        images.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Self {
            cameras,
            images,
            points,
        })
    }

    /// The image's camera as the format core's pinhole camera (distortion, if any, ignored: call
    /// this on an undistorted model).
    pub fn render_camera(&self, image: &RegisteredImage) -> splat::render::Camera {
        let camera = &self.cameras[&image.camera_id];
        let (fx, fy, cx, cy) = camera.intrinsics();
        let r = image.rotation();
        #[allow(clippy::cast_possible_truncation)] // f64 → f32 is the renderer's precision
        splat::render::Camera {
            width: camera.width,
            height: camera.height,
            fx: fx as f32,
            fy: fy as f32,
            cx: cx as f32,
            cy: cy as f32,
            rotation: std::array::from_fn(|i| std::array::from_fn(|j| r[(i, j)] as f32)),
            translation: image.tvec.map(|v| v as f32),
        }
    }
}

/// A bounds-checked little-endian reader.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    file: &'static str,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8], file: &'static str) -> Self {
        Self { data, pos: 0, file }
    }

    fn err(&self, reason: impl Into<String>) -> ModelError {
        ModelError::Malformed {
            file: self.file,
            reason: reason.into(),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ModelError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| self.err(format!("truncated at byte {}", self.pos)))?;
        let bytes = &self.data[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ModelError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, ModelError> {
        Ok(self.take(1)?[0])
    }
    fn i32(&mut self) -> Result<i32, ModelError> {
        Ok(i32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, ModelError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn f64(&mut self) -> Result<f64, ModelError> {
        Ok(f64::from_le_bytes(self.array()?))
    }

    fn id(&mut self, what: &str) -> Result<u32, ModelError> {
        let v = self.i32()?;
        u32::try_from(v).map_err(|_| self.err(format!("negative {what} id {v}")))
    }

    /// A count of records at least `min_record` bytes each: more than the remaining bytes could
    /// hold is refused before anything is allocated.
    fn count(&mut self, min_record: usize) -> Result<usize, ModelError> {
        let n = self.u64()?;
        let remaining = self.data.len() - self.pos;
        usize::try_from(n)
            .ok()
            .filter(|&n| n.saturating_mul(min_record) <= remaining)
            .ok_or_else(|| {
                self.err(format!(
                    "claims {n} records but only {remaining} bytes follow"
                ))
            })
    }

    fn finish(&self) -> Result<(), ModelError> {
        if self.pos == self.data.len() {
            Ok(())
        } else {
            Err(self.err(format!(
                "{} unexpected bytes after the last record",
                self.data.len() - self.pos
            )))
        }
    }
}

fn finite(r: &Reader<'_>, values: &[f64], what: &str) -> Result<(), ModelError> {
    if values.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(r.err(format!("non-finite {what}")))
    }
}

fn parse_cameras(data: &[u8]) -> Result<BTreeMap<u32, CameraModel>, ModelError> {
    let mut r = Reader::new(data, "cameras.bin");
    let n = r.count(24)?;
    let mut cameras = BTreeMap::new();
    for _ in 0..n {
        let id = r.id("camera")?;
        let model_id = r.i32()?;
        let kind = CameraKind::from_id(model_id)
            .ok_or_else(|| r.err(format!("unknown camera model id {model_id}")))?;
        let width = r.u64()?;
        let height = r.u64()?;
        let (Ok(width), Ok(height)) = (u32::try_from(width), u32::try_from(height)) else {
            return Err(r.err(format!("absurd image size {width}×{height}")));
        };
        let params = (0..kind.param_count())
            .map(|_| r.f64())
            .collect::<Result<Vec<_>, _>>()?;
        finite(&r, &params, "camera parameter")?;
        if cameras
            .insert(
                id,
                CameraModel {
                    id,
                    kind,
                    width,
                    height,
                    params,
                },
            )
            .is_some()
        {
            return Err(r.err(format!("camera {id} appears twice")));
        }
    }
    r.finish()?;
    Ok(cameras)
}

fn parse_images(data: &[u8]) -> Result<Vec<RegisteredImage>, ModelError> {
    let mut r = Reader::new(data, "images.bin");
    // id + 7 doubles + camera id + at least a NUL name + the point count.
    let n = r.count(4 + 56 + 4 + 1 + 8)?;
    let mut images = Vec::with_capacity(n);
    for _ in 0..n {
        let id = r.id("image")?;
        let q = [r.f64()?, r.f64()?, r.f64()?, r.f64()?];
        let t = [r.f64()?, r.f64()?, r.f64()?];
        finite(&r, &q, "rotation")?;
        finite(&r, &t, "translation")?;
        let norm = q.iter().map(|v| v * v).sum::<f64>().sqrt();
        if (norm - 1.0).abs() > 1e-3 {
            return Err(r.err(format!("image {id}: rotation is not a unit quaternion")));
        }
        let camera_id = r.id("camera")?;
        let name_start = r.pos;
        let len = r.data[name_start..]
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| r.err("image name is not terminated"))?;
        let name = String::from_utf8(r.take(len)?.to_vec())
            .map_err(|_| r.err("image name is not UTF-8"))?;
        r.take(1)?;
        let points = r.count(24)?;
        let mut observations = 0;
        for _ in 0..points {
            r.take(16)?;
            if r.u64()? != u64::MAX {
                observations += 1;
            }
        }
        images.push(RegisteredImage {
            id,
            camera_id,
            name,
            qvec: q,
            tvec: t,
            observations,
        });
    }
    r.finish()?;
    Ok(images)
}

fn parse_points(data: &[u8]) -> Result<Vec<Point3D>, ModelError> {
    let mut r = Reader::new(data, "points3D.bin");
    let n = r.count(8 + 24 + 3 + 8 + 8)?;
    let mut points = Vec::with_capacity(n);
    for _ in 0..n {
        r.u64()?;
        let xyz = [r.f64()?, r.f64()?, r.f64()?];
        finite(&r, &xyz, "point position")?;
        let rgb = [r.u8()?, r.u8()?, r.u8()?];
        let error = r.f64()?;
        let track_len = r.count(8)?;
        r.take(track_len * 8)?;
        points.push(Point3D {
            xyz,
            rgb,
            error,
            track_len,
        });
    }
    r.finish()?;
    Ok(points)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    fn camera_bytes() -> Vec<u8> {
        let mut b = 1u64.to_le_bytes().to_vec();
        b.extend(7i32.to_le_bytes());
        b.extend(1i32.to_le_bytes()); // PINHOLE
        b.extend(640u64.to_le_bytes());
        b.extend(480u64.to_le_bytes());
        for p in [500.0f64, 501.0, 320.0, 240.0] {
            b.extend(p.to_le_bytes());
        }
        b
    }

    #[test]
    fn parses_a_pinhole_camera() {
        let cams = parse_cameras(&camera_bytes()).unwrap();
        let cam = &cams[&7];
        assert_eq!(cam.kind, CameraKind::Pinhole);
        assert_eq!((cam.width, cam.height), (640, 480));
        assert_eq!(cam.intrinsics(), (500.0, 501.0, 320.0, 240.0));
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = camera_bytes();
        for len in 0..bytes.len() {
            assert!(parse_cameras(&bytes[..len]).is_err(), "length {len}");
        }
    }

    #[test]
    fn absurd_counts_allocate_nothing() {
        let mut b = u64::MAX.to_le_bytes().to_vec();
        b.extend([0; 64]);
        let e = parse_points(&b).unwrap_err().to_string();
        assert!(e.contains("claims"), "{e}");
        assert!(parse_images(&b).is_err());
    }

    #[test]
    fn image_centre_is_minus_r_transpose_t() {
        // 90° about z: camera x = world y.
        let h = std::f64::consts::FRAC_1_SQRT_2;
        let image = RegisteredImage {
            id: 1,
            camera_id: 1,
            name: "a".into(),
            qvec: [h, 0.0, 0.0, h],
            tvec: [1.0, 2.0, 3.0],
            observations: 0,
        };
        let c = image.centre();
        let back = image.rotation() * c + Vector3::from(image.tvec);
        assert!(back.norm() < 1e-12);
    }
}
