//! The compression stage: a trained model (3DGS PLY, or a SOG to re-encode) to SOG v2 — a `.sog`
//! bundle, or a folder of `meta.json` + WebP — with progress lines like every other stage, and
//! a quality report (the compressed model rendered against the original from 8 viewpoints).
//! Also the loading of any splat file the CLI reads.

use std::borrow::Cow;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context as _};
use domain::job::{DeliveredFile, Stage};
use splat::render::{psnr, render, Camera};
use splat::sog::encode::{encode, STAGES};
use splat::{ply, sog, FormatError, GaussianCloud};

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
    pub bytes: usize,
    pub seconds: f64,
    /// Render PSNR of the compressed model against the original over 8 views: mean and worst.
    pub quality: Option<(f64, f64)>,
}

/// Compresses `input` into `output` (`.sog`: a bundle; anything else: a folder of files), with
/// the quality report unless `report` is false.
pub fn compress(
    input: &Path,
    output: &Path,
    report: bool,
    progress: &mut dyn Progress,
) -> anyhow::Result<Compressed> {
    let cloud = load(input)?.cloud;
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
    let quality = if report {
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
        Some(ring_psnr(&cloud, &decoded))
    } else {
        None
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
        bytes,
        seconds,
        quality,
    })
}

/// The compression stage of a job: the trained PLY to `model.sog`.
pub fn run(job: &JobDir, progress: &mut dyn Progress) -> anyhow::Result<Compressed> {
    let ply = job.delivered(DeliveredFile::Ply);
    if !ply.exists() {
        bail!("there is no trained model to compress: run the train stage first");
    }
    compress(&ply, &job.delivered(DeliveredFile::Sog), true, progress)
}

/// Renders both clouds from 8 viewpoints on a ring around the scene and compares them: the
/// mean and worst PSNR of `b` against `a`.
pub fn ring_psnr(a: &GaussianCloud, b: &GaussianCloud) -> (f64, f64) {
    let Some((lo, hi)) = a.bounds() else {
        return (f64::INFINITY, f64::INFINITY);
    };
    let centre: [f32; 3] = std::array::from_fn(|i| f32::midpoint(lo[i], hi[i]));
    let radius = (0..3).map(|i| hi[i] - lo[i]).fold(0.0f32, f32::max) * 1.2;
    let scores: Vec<f64> = (0..8u8)
        .map(|k| {
            let angle = f32::from(k) * std::f32::consts::TAU / 8.0;
            let eye = [
                centre[0] + radius * angle.cos(),
                centre[1],
                centre[2] + radius * angle.sin(),
            ];
            let cam = Camera::look_at(eye, centre, [0.0, -1.0, 0.0], 0.9, 256, 256);
            psnr(&render(a, &cam, [0.0; 3]), &render(b, &cam, [0.0; 3]))
        })
        .collect();
    #[allow(clippy::cast_precision_loss)]
    let mean = scores.iter().sum::<f64>() / scores.len() as f64;
    (mean, scores.iter().copied().fold(f64::INFINITY, f64::min))
}
