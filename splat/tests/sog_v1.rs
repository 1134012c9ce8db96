//! SOG v1 ("SOGS", what the old system and PlayCanvas's Python `sogs` wrote). No v1 file ships in
//! `../shared`, so this test writes one from the format notes (`sog-format.md` §1.4) — square grid,
//! per-channel byte ranges, logit opacity, a scalar-range SH palette, RGB images where the Python
//! writer used them — and checks our decoder against both the cloud it came from (within the
//! format's quantisation) and PlayCanvas's `splat-transform`, an independent v1 reader.

#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]

mod common;

use std::borrow::Cow;
use std::f32::consts::SQRT_2;
use std::path::Path;

use common::{decode_scene, decode_with_splat_transform, max_diff};
use image_webp::{ColorType, WebPEncoder};
use serde_json::json;
use splat::cloud::sh_rest_coeffs;
use splat::{sog, FormatError, GaussianCloud};

fn channels(color: ColorType) -> usize {
    if matches!(color, ColorType::Rgb8) {
        3
    } else {
        4
    }
}

fn webp(dir: &Path, name: &str, pixels: &[u8], width: usize, color: ColorType) {
    let mut out = Vec::new();
    WebPEncoder::new(&mut out)
        .encode(
            pixels,
            width as u32,
            (pixels.len() / channels(color) / width) as u32,
            color,
        )
        .unwrap();
    std::fs::write(dir.join(name), out).unwrap();
}

fn min_max(values: impl Iterator<Item = f32>) -> (f32, f32) {
    values.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

/// The Python writer rounds to the nearest byte over `[min, max]`.
fn byte(v: f32, min: f32, max: f32) -> u8 {
    if max > min {
        (255.0 * (v - min) / (max - min)).round().clamp(0.0, 255.0) as u8
    } else {
        0
    }
}

fn pack_quat(q: [f32; 4]) -> [u8; 4] {
    let norm = q.iter().map(|c| c * c).sum::<f32>().sqrt();
    let q = q.map(|c| c / norm);
    let m = (0..4).fold(0, |b, i| if q[i].abs() > q[b].abs() { i } else { b });
    let s = q[m].signum() * SQRT_2;
    let mut out = [0, 0, 0, 252 + m as u8];
    for (slot, i) in (0..4).filter(|&i| i != m).enumerate() {
        out[slot] = (255.0 * (q[i] * s * 0.5 + 0.5)).round().clamp(0.0, 255.0) as u8;
    }
    out
}

/// Writes `cloud` (whose length must be a square, with SH degree ≥ 1 and at most 65,536 splats so
/// every splat gets its own palette entry) as an unbundled v1 SOG in `dir`.
fn write_v1(cloud: &GaussianCloud, dir: &Path) {
    let n = cloud.len();
    let side = (n as f64).sqrt() as usize;
    assert_eq!(side * side, n, "v1 grids are square");
    let coeffs = sh_rest_coeffs(cloud.sh_degree);

    let log = |v: f32| v.signum() * v.abs().ln_1p();
    let axis = |a: usize| min_max(cloud.positions.iter().map(|p| log(p[a])));
    let (pmins, pmaxs): (Vec<f32>, Vec<f32>) = (0..3).map(axis).unzip();
    let (mut lo, mut hi) = (Vec::new(), Vec::new());
    for p in &cloud.positions {
        for a in 0..3 {
            let q = (65535.0 * (log(p[a]) - pmins[a]) / (pmaxs[a] - pmins[a]))
                .round()
                .clamp(0.0, 65535.0) as u16;
            lo.push((q & 0xff) as u8);
            hi.push((q >> 8) as u8);
        }
    }
    webp(dir, "means_l.webp", &lo, side, ColorType::Rgb8);
    webp(dir, "means_u.webp", &hi, side, ColorType::Rgb8);

    let (smins, smaxs): (Vec<f32>, Vec<f32>) = (0..3)
        .map(|a| min_max(cloud.log_scales.iter().map(|s| s[a])))
        .unzip();
    let scales: Vec<u8> = cloud
        .log_scales
        .iter()
        .flat_map(|s| {
            (0..3)
                .map(|a| byte(s[a], smins[a], smaxs[a]))
                .collect::<Vec<_>>()
        })
        .collect();
    webp(dir, "scales.webp", &scales, side, ColorType::Rgb8);

    let quats: Vec<u8> = cloud.rotations.iter().flat_map(|&q| pack_quat(q)).collect();
    webp(dir, "quats.webp", &quats, side, ColorType::Rgba8);

    // sh0: colour clamped to [-3, 3] and the opacity logit, each channel over its own range.
    let sh0_value = |i: usize, c: usize| {
        if c < 3 {
            cloud.sh_dc[i][c].clamp(-3.0, 3.0)
        } else {
            cloud.opacity_logits[i]
        }
    };
    let (cmins, cmaxs): (Vec<f32>, Vec<f32>) = (0..4)
        .map(|c| min_max((0..n).map(|i| sh0_value(i, c))))
        .unzip();
    let sh0: Vec<u8> = (0..n)
        .flat_map(|i| (0..4).map(move |c| (i, c)))
        .map(|(i, c)| byte(sh0_value(i, c), cmins[c], cmaxs[c]))
        .collect();
    webp(dir, "sh0.webp", &sh0, side, ColorType::Rgba8);

    // shN: one palette entry per splat (label = index), clamped to [-6, 6], one scalar range.
    let rest = |i: usize| &cloud.sh_rest[i * 3 * coeffs..(i + 1) * 3 * coeffs];
    let (shmin, shmax) = min_max(cloud.sh_rest.iter().map(|v| v.clamp(-6.0, 6.0)));
    let rows = n.div_ceil(64);
    let mut centroids = vec![0u8; 64 * coeffs * rows * 4];
    for i in 0..n {
        for j in 0..coeffs {
            let texel = (i / 64) * 64 * coeffs + (i % 64) * coeffs + j;
            for channel in 0..3 {
                let v = rest(i)[channel * coeffs + j].clamp(-6.0, 6.0);
                centroids[texel * 4 + channel] = byte(v, shmin, shmax);
            }
            centroids[texel * 4 + 3] = 255;
        }
    }
    webp(
        dir,
        "shN_centroids.webp",
        &centroids,
        64 * coeffs,
        ColorType::Rgba8,
    );
    let labels: Vec<u8> = (0..n)
        .flat_map(|i| [(i & 0xff) as u8, (i >> 8) as u8, 0])
        .collect();
    webp(dir, "shN_labels.webp", &labels, side, ColorType::Rgb8);

    let meta = json!({
        "means": {"shape": [n, 3], "dtype": "float32", "mins": pmins, "maxs": pmaxs,
                  "files": ["means_l.webp", "means_u.webp"]},
        "scales": {"shape": [n, 3], "dtype": "float32", "mins": smins, "maxs": smaxs,
                   "files": ["scales.webp"]},
        "quats": {"shape": [n, 4], "dtype": "uint8", "encoding": "quaternion_packed",
                  "files": ["quats.webp"]},
        "sh0": {"shape": [n, 1, 4], "dtype": "float32", "mins": cmins, "maxs": cmaxs,
                "files": ["sh0.webp"]},
        "shN": {"shape": [n, coeffs * 3], "dtype": "float32", "mins": shmin, "maxs": shmax,
                "quantization": 8, "files": ["shN_centroids.webp", "shN_labels.webp"]},
    });
    std::fs::write(dir.join("meta.json"), meta.to_string()).unwrap();
}

fn decode_dir(dir: &Path) -> Result<GaussianCloud, FormatError> {
    let meta = std::fs::read(dir.join("meta.json")).unwrap();
    sog::decode(&meta, |f| {
        std::fs::read(dir.join(f))
            .map(Cow::Owned)
            .map_err(|e| FormatError::BadSog(e.to_string()))
    })
}

/// The first 100² splats of a real scene (Morton order: one coherent patch of it).
fn square_patch() -> GaussianCloud {
    let full = decode_scene("playbot-lod2-125k");
    let n = 100 * 100;
    let coeffs = sh_rest_coeffs(full.sh_degree);
    GaussianCloud {
        sh_degree: full.sh_degree,
        positions: full.positions[..n].to_vec(),
        log_scales: full.log_scales[..n].to_vec(),
        rotations: full.rotations[..n].to_vec(),
        opacity_logits: full.opacity_logits[..n].to_vec(),
        sh_dc: full.sh_dc[..n].to_vec(),
        sh_rest: full.sh_rest[..n * 3 * coeffs].to_vec(),
    }
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("spaceport-v1-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn v1_decodes_within_its_quantisation_and_like_splat_transform() {
    let original = square_patch();
    let dir = temp_dir("roundtrip");
    write_v1(&original, &dir);
    let ours = decode_dir(&dir).unwrap();
    assert_eq!(
        (ours.len(), ours.sh_degree),
        (original.len(), original.sh_degree)
    );

    // Against the source: half a byte step of each channel's range (a 16-bit step for means).
    let range = |v: &[f32]| {
        let (lo, hi) = min_max(v.iter().copied());
        hi - lo
    };
    let log = |v: f32| v.signum() * v.abs().ln_1p();
    for a in 0..3 {
        let logs: Vec<f32> = original.positions.iter().map(|p| log(p[a])).collect();
        let step = range(&logs) / 65535.0;
        let err = max_diff(
            ours.positions.iter().map(|p| log(p[a])),
            logs.iter().copied(),
        );
        assert!(err <= step * 0.51 + 1e-6, "axis {a}: {err} vs step {step}");
        let scales: Vec<f32> = original.log_scales.iter().map(|s| s[a]).collect();
        let err = max_diff(ours.log_scales.iter().map(|s| s[a]), scales.iter().copied());
        assert!(
            err <= range(&scales) / 255.0 * 0.51 + 1e-5,
            "scale {a}: {err}"
        );
        let dc: Vec<f32> = original
            .sh_dc
            .iter()
            .map(|c| c[a].clamp(-3.0, 3.0))
            .collect();
        let err = max_diff(ours.sh_dc.iter().map(|c| c[a]), dc.iter().copied());
        assert!(err <= range(&dc) / 255.0 * 0.51 + 1e-5, "dc {a}: {err}");
    }
    let err = max_diff(
        ours.opacity_logits.iter().copied(),
        original.opacity_logits.iter().copied(),
    );
    assert!(
        err <= range(&original.opacity_logits) / 255.0 * 0.51 + 1e-5,
        "opacity logit: {err}"
    );
    let clamped: Vec<f32> = original
        .sh_rest
        .iter()
        .map(|v| v.clamp(-6.0, 6.0))
        .collect();
    let err = max_diff(ours.sh_rest.iter().copied(), clamped.iter().copied());
    assert!(
        err <= range(&clamped) / 255.0 * 0.51 + 1e-5,
        "SH rest: {err}"
    );
    for (a, b) in ours.rotations.iter().zip(&original.rotations) {
        let norm = b.iter().map(|c| c * c).sum::<f32>().sqrt();
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y / norm).sum();
        assert!(dot.abs() > 0.999, "{a:?} vs {b:?}");
    }

    // Against PlayCanvas's own v1 reader: the same bytes, the same floats.
    let theirs = decode_with_splat_transform(&dir.join("meta.json"));
    assert_eq!(
        (theirs.len(), theirs.sh_degree),
        (ours.len(), ours.sh_degree)
    );
    for (what, a, b) in [
        (
            "positions",
            ours.positions.concat(),
            theirs.positions.concat(),
        ),
        (
            "rotations",
            ours.rotations.concat(),
            theirs.rotations.concat(),
        ),
        (
            "scales",
            ours.log_scales.concat(),
            theirs.log_scales.concat(),
        ),
        ("colours", ours.sh_dc.concat(), theirs.sh_dc.concat()),
        (
            "opacity",
            ours.opacity_logits.clone(),
            theirs.opacity_logits.clone(),
        ),
        ("SH", ours.sh_rest.clone(), theirs.sh_rest.clone()),
    ] {
        let err = max_diff(a, b);
        assert!(err < 1e-4, "{what} differ by {err}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn broken_v1_files_are_refused_with_reasons() {
    let dir = temp_dir("broken");
    write_v1(&square_patch(), &dir);
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("meta.json")).unwrap()).unwrap();
    let with = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut m = meta.clone();
        edit(&mut m);
        std::fs::write(dir.join("meta.json"), m.to_string()).unwrap();
        decode_dir(&dir).map(|_| ()).unwrap_err().to_string()
    };
    // A count the images cannot hold.
    let e = with(&|m| m["means"]["shape"][0] = json!(100 * 100 + 1));
    assert!(e.contains("exceeds"), "{e}");
    // Too few ranges for the channels.
    let e = with(&|m| m["sh0"]["mins"] = json!([0.0, 0.0]));
    assert!(e.contains("sh0"), "{e}");
    // A palette whose width is no v1 band count.
    let e = with(&|m| m["shN"]["files"][0] = json!("sh0.webp"));
    assert!(e.contains("shN_centroids") && e.contains("wide"), "{e}");
    // An image of the wrong size.
    let e = with(&|m| m["quats"]["files"][0] = json!("shN_centroids.webp"));
    assert!(e.contains("quats is"), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}
