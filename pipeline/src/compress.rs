//! The compression stage: a trained model (3DGS PLY, or a SOG to re-encode) to SOG v2 — a `.sog`
//! bundle, or a folder of `meta.json` + WebP — with progress lines like every other stage, and
//! a quality report (the compressed model rendered against the original through the job's own
//! cameras, or from 8 viewpoints around a lone file).
//! Also the loading of any splat file the CLI reads.

use std::borrow::Cow;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context as _};
use domain::job::{DeliveredFile, Stage};
use splat::render::{psnr, render, Camera};
use splat::sog::encode::{encode, STAGES};
use splat::{ply, sog, FormatError, GaussianCloud};

use crate::colmap_model::Reconstruction;
use crate::job::{write_atomic, JobDir};
use crate::progress::{Event, Progress};

/// What a path turned out to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ply,
    SogBundle,
    SogFiles,
}

impl Kind {
    pub const fn describe(self) -> &'static str {
        match self {
            Self::Ply => "PLY (3DGS)",
            Self::SogBundle => "SOG v2 bundle",
            Self::SogFiles => "SOG v2 (meta.json + WebP)",
        }
    }
}

/// A splat file, read.
pub struct Loaded {
    pub cloud: GaussianCloud,
    pub kind: Kind,
    /// Bytes on disk (for a SOG folder: meta.json and every image it names).
    pub bytes: u64,
}

/// Reads a PLY, a `.sog` bundle, or a SOG `meta.json` (or its folder), by content.
pub fn load(path: &Path) -> anyhow::Result<Loaded> {
    let meta_path = if path.is_dir() {
        path.join("meta.json")
    } else {
        path.to_path_buf()
    };
    let data = std::fs::read(&meta_path)
        .with_context(|| format!("cannot read {}", meta_path.display()))?;
    let bytes = data.len() as u64;
    if data.starts_with(b"ply") {
        return Ok(Loaded {
            cloud: ply::read(&data)?,
            kind: Kind::Ply,
            bytes,
        });
    }
    if data.starts_with(b"PK") {
        return Ok(Loaded {
            cloud: sog::decode_bundle(&data)?,
            kind: Kind::SogBundle,
            bytes,
        });
    }
    if data.first() == Some(&b'{') {
        let dir = meta_path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let read_bytes = std::cell::Cell::new(bytes);
        let cloud = sog::decode(&data, |name| {
            let file = dir.join(name);
            let content = std::fs::read(&file)
                .map_err(|e| FormatError::BadSog(format!("cannot read {}: {e}", file.display())))?;
            read_bytes.set(read_bytes.get() + content.len() as u64);
            Ok(Cow::Owned(content))
        })?;
        return Ok(Loaded {
            cloud,
            kind: Kind::SogFiles,
            bytes: read_bytes.get(),
        });
    }
    bail!(
        "{} is not a splat file (expected a PLY, a .sog bundle or a SOG meta.json)",
        path.display()
    )
}

/// What compression produced.
#[derive(Debug, Clone)]
pub struct Compressed {
    pub splats: usize,
    /// Splats left out for their size (`drop_larger_than`).
    pub dropped: usize,
    pub bytes: usize,
    pub seconds: f64,
    /// Render PSNR of the compressed model against the original over the check's views: mean
    /// and worst.
    pub quality: Option<(f64, f64)>,
}

/// Where the compressed model is rendered against the original for the quality report.
#[derive(Debug, Clone)]
pub enum Check {
    None,
    /// 8 viewpoints around the scene ([`ring_psnr`]): for a file on its own.
    Ring,
    /// The photos' cameras: what a job's model is meant to be seen from.
    Cameras(Vec<Camera>),
}

/// Compresses `input` into `output` (`.sog`: a bundle; anything else: a folder of files), with
/// the quality report `check` asks for; `drop_larger_than` leaves out the splats larger than
/// that many scene units (see [`splat::GaussianCloud::drop_larger_than`]).
pub fn compress(
    input: &Path,
    output: &Path,
    check: &Check,
    drop_larger_than: Option<f32>,
    progress: &mut dyn Progress,
) -> anyhow::Result<Compressed> {
    let mut cloud = load(input)?.cloud;
    let dropped = drop_larger_than.map_or(0, |size| cloud.drop_larger_than(size));
    let started = Instant::now();
    let encoded = encode(&cloud, |stage| {
        #[allow(clippy::cast_precision_loss)]
        let fraction = stage as f64 / STAGES.len() as f64;
        progress.report(Event::new(
            Stage::Compress,
            STAGES[stage],
            Some(fraction),
            format!("[{}/{}] {}", stage + 1, STAGES.len(), STAGES[stage]),
        ));
    })?;
    let bundled = output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("sog"));
    let write = |path: &Path, bytes: &[u8]| {
        write_atomic(path, bytes).with_context(|| format!("cannot write {}", path.display()))
    };
    let bytes = if bundled {
        let bundle = encoded.bundle()?;
        write(output, &bundle)?;
        bundle.len()
    } else {
        std::fs::create_dir_all(output)
            .with_context(|| format!("cannot create {}", output.display()))?;
        for (name, data) in &encoded.files {
            write(&output.join(name), data)?;
        }
        encoded.total_bytes()
    };
    let seconds = started.elapsed().as_secs_f64();
    let quality = if matches!(check, Check::None) {
        None
    } else {
        progress.report(Event::new(
            Stage::Compress,
            "quality",
            Some(1.0),
            "rendering the compressed model against the original",
        ));
        // Decode exactly the files written, through the same path a reader takes.
        let (_, meta) = encoded.files.last().context("the encoder wrote no files")?;
        let decoded = sog::decode(meta, |name| {
            encoded
                .files
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, d)| Cow::Borrowed(d.as_slice()))
                .ok_or_else(|| FormatError::BadSog(format!("the encoder wrote no {name}")))
        })?;
        Some(match check {
            Check::Cameras(cameras) => psnr_through(&cloud, &decoded, cameras),
            _ => ring_psnr(&cloud, &decoded),
        })
    };
    #[allow(clippy::cast_precision_loss)]
    let per_splat = bytes as f64 / cloud.len().max(1) as f64;
    progress.report(Event::new(
        Stage::Compress,
        "done",
        Some(1.0),
        format!(
            "{} splats in {bytes} bytes ({per_splat:.2} per splat){}",
            cloud.len(),
            quality.map_or_else(String::new, |(mean, _)| format!(
                ", render PSNR {mean:.1} dB"
            ))
        ),
    ));
    Ok(Compressed {
        splats: cloud.len(),
        dropped,
        bytes,
        seconds,
        quality,
    })
}

/// The compression stage of a job: the trained PLY to `model.sog`, checked through 8 of the
/// photos' cameras (or around the scene when the job has no reconstruction to read).
pub fn run(job: &JobDir, progress: &mut dyn Progress) -> anyhow::Result<Compressed> {
    let ply = job.delivered(DeliveredFile::Ply);
    if !ply.exists() {
        bail!("there is no trained model to compress: run the train stage first");
    }
    let check = Reconstruction::read(&job.undistorted().join("sparse")).map_or(Check::Ring, |r| {
        let n = r.images.len();
        Check::Cameras(
            (0..n.min(8))
                .map(|k| small(r.render_camera(&r.images[k * n / n.min(8)]), 256))
                .collect(),
        )
    });
    compress(
        &ply,
        &job.delivered(DeliveredFile::Sog),
        &check,
        None,
        progress,
    )
}

/// `camera` with its long side shrunk to `long` pixels (intrinsics scaled to match).
fn small(camera: Camera, long: u32) -> Camera {
    let (w, h) = camera.fit_within(long);
    camera.resized(w, h)
}

/// Mean and worst PSNR of `b` rendered against `a` through `cameras` (over black).
fn psnr_through(a: &GaussianCloud, b: &GaussianCloud, cameras: &[Camera]) -> (f64, f64) {
    let scores: Vec<f64> = cameras
        .iter()
        .map(|cam| psnr(&render(a, cam, [0.0; 3]), &render(b, cam, [0.0; 3])))
        .collect();
    if scores.is_empty() {
        return (f64::INFINITY, f64::INFINITY);
    }
    #[allow(clippy::cast_precision_loss)]
    let mean = scores.iter().sum::<f64>() / scores.len() as f64;
    (mean, scores.iter().copied().fold(f64::INFINITY, f64::min))
}

/// Renders both clouds from 8 viewpoints around the scene and compares them: the mean and worst
/// PSNR of `b` against `a`. The viewpoints sit on the corners of a cube around the middle 96% of
/// `a`'s splats (per axis), so the check frames the scene itself rather than its stray splats,
/// and looks at it from above and below whichever axis is up (COLMAP's −y, a georegistered z).
pub fn ring_psnr(a: &GaussianCloud, b: &GaussianCloud) -> (f64, f64) {
    let Some((lo, hi)) = robust_bounds(a) else {
        return (f64::INFINITY, f64::INFINITY);
    };
    let centre: [f32; 3] = std::array::from_fn(|i| f32::midpoint(lo[i], hi[i]));
    // Far enough for the middle of the scene to fill most of the 0.9 rad field of view.
    let distance = (0..3)
        .map(|i| hi[i] - lo[i])
        .fold(0.0f32, f32::max)
        .max(1e-3)
        * 1.2;
    let cameras: Vec<Camera> = (0..8u8)
        .map(|k| {
            let corner = [k & 1, k & 2, k & 4].map(|bit| if bit == 0 { -1.0 } else { 1.0 });
            let eye: [f32; 3] =
                std::array::from_fn(|i| centre[i] + distance * corner[i] / 3f32.sqrt());
            // A diagonal view is never parallel to either candidate up axis.
            Camera::look_at(eye, centre, [0.0, -1.0, 0.0], 0.9, 256, 256)
        })
        .collect();
    psnr_through(a, b, &cameras)
}

/// The box holding the middle 96% of the splats' centres along each axis (None when empty):
/// a few stray splats far out do not shrink the scene to a dot.
fn robust_bounds(cloud: &GaussianCloud) -> Option<([f32; 3], [f32; 3])> {
    if cloud.positions.is_empty() {
        return None;
    }
    let n = cloud.positions.len();
    let (low, high) = (n / 50, n - 1 - n / 50);
    let mut lo = [0.0; 3];
    let mut hi = [0.0; 3];
    for axis in 0..3 {
        let mut v: Vec<f32> = cloud.positions.iter().map(|p| p[axis]).collect();
        lo[axis] = *v.select_nth_unstable_by(low, f32::total_cmp).1;
        hi[axis] = *v.select_nth_unstable_by(high, f32::total_cmp).1;
    }
    Some((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` grey splats 0.3 wide on a 1-unit grid in the x-y plane around the origin.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )] // a few splats
    fn patch(n: usize) -> GaussianCloud {
        let side = (n as f32).sqrt().ceil() as usize;
        let positions: Vec<[f32; 3]> = (0..n)
            .map(|i| [(i % side) as f32 - 5.0, (i / side) as f32 - 5.0, 0.0])
            .collect();
        GaussianCloud {
            log_scales: vec![[0.3f32.ln(); 3]; n],
            rotations: vec![[1.0, 0.0, 0.0, 0.0]; n],
            opacity_logits: vec![3.0; n],
            sh_dc: vec![[0.5; 3]; n],
            sh_degree: 0,
            sh_rest: Vec::new(),
            positions,
        }
    }

    #[test]
    fn the_ring_frames_the_scene_not_its_stray_splats() {
        let mut a = patch(100);
        // One splat a kilometre away: framing the full bounds would shrink the patch to a dot.
        a.positions[99] = [1000.0, 0.0, 0.0];
        let mut b = a.clone();
        b.sh_dc[55] = [-1.5; 3]; // one splat in the middle of the patch turns black
        let (mean, worst) = ring_psnr(&a, &b);
        assert!(
            mean < 40.0 && worst < mean + 1e-9,
            "mean {mean}, worst {worst}"
        );
        let (same, _) = ring_psnr(&a, &a);
        assert!(same > 90.0, "{same}");
    }

    #[test]
    fn the_check_through_cameras_sees_only_what_they_see() {
        let a = patch(100);
        let front = small(
            Camera::look_at(
                [0.0, 0.0, -12.0],
                [0.0; 3],
                [0.0, -1.0, 0.0],
                0.9,
                1024,
                512,
            ),
            256,
        );
        assert_eq!((front.width, front.height), (256, 128));
        // A change the camera cannot see (behind it) scores as identical; one it can does not.
        let mut hidden = a.clone();
        hidden.positions[0] = [0.0, 0.0, -30.0];
        hidden.sh_dc[0] = [-1.5; 3];
        let mut seen = a.clone();
        seen.sh_dc[55] = [-1.5; 3];
        let cams = [front];
        let original = {
            let mut o = a.clone();
            o.positions[0] = [0.0, 0.0, -30.0];
            o
        };
        assert!(psnr_through(&original, &hidden, &cams).0 > 90.0);
        let (mean, worst) = psnr_through(&a, &seen, &cams);
        assert!(mean < 40.0 && (worst - mean).abs() < 1e-9, "{mean} {worst}");
    }
}
