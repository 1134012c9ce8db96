//! SOG v2 encoding, following splat-transform's writer: Morton order, 16-bit log-space means in
//! two images, "smallest three" quaternions, 256-entry codebooks for scales, colours and SH, an SH
//! palette with per-splat labels, every image lossless WebP, and `meta.json`.

// Quantising floats to bytes — rounded to the nearest level — is this module's job; every such
// cast is clamped to the target range first.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]

use std::f32::consts::SQRT_2;

use super::quantize::{codebook_1d, nearest, palette};
use crate::cloud::{sh_rest_coeffs, GaussianCloud};
use crate::error::FormatError;
use crate::zip;

/// The encoded files, `meta.json` last (the order a `.sog` bundle stores them in).
#[derive(Debug, Clone)]
pub struct EncodedSog {
    pub files: Vec<(String, Vec<u8>)>,
    /// `order[t]` is the input index of the splat stored at texel `t` (Morton order).
    pub order: Vec<usize>,
}

impl EncodedSog {
    /// The stored-ZIP `.sog` bundle.
    pub fn bundle(&self) -> Result<Vec<u8>, FormatError> {
        let entries: Vec<(&str, &[u8])> = self
            .files
            .iter()
            .map(|(n, d)| (n.as_str(), d.as_slice()))
            .collect();
        zip::write_stored(&entries)
    }

    pub fn total_bytes(&self) -> usize {
        self.files.iter().map(|(_, d)| d.len()).sum()
    }
}

/// Stages of the encoder, for progress reports.
pub const STAGES: [&str; 6] = [
    "ordering",
    "means",
    "quaternions",
    "scales and colours",
    "SH palette",
    "images",
];

/// Encodes `cloud` as SOG v2, calling `progress(stage_index)` as each stage starts.
pub fn encode(
    cloud: &GaussianCloud,
    mut progress: impl FnMut(usize),
) -> Result<EncodedSog, FormatError> {
    if !cloud.is_consistent() {
        return Err(FormatError::BadSog(
            "the cloud's arrays disagree in length".into(),
        ));
    }
    let n = cloud.len();
    if n == 0 {
        return Err(FormatError::BadSog("there are no splats to encode".into()));
    }
    let width = (((n as f64).sqrt() / 4.0).ceil() as usize * 4).max(4);
    let height = (n.div_ceil(width).div_ceil(4) * 4).max(4);
    if width > 16_383 || height > 16_383 {
        return Err(FormatError::TooLarge(format!(
            "{n} splats exceed one SOG's 16383×16383 images; split the scene"
        )));
    }
    progress(0);
    let order = morton_order(&cloud.positions);

    progress(1);
    let log_pos: Vec<[f32; 3]> = cloud
        .positions
        .iter()
        .map(|p| p.map(|v| v.signum() * v.abs().ln_1p()))
        .collect();
    let mut mins = [f32::INFINITY; 3];
    let mut maxs = [f32::NEG_INFINITY; 3];
    for p in &log_pos {
        for a in 0..3 {
            mins[a] = mins[a].min(p[a]);
            maxs[a] = maxs[a].max(p[a]);
        }
    }
    let texels = width * height;
    let mut means_l = rgba_blank(texels);
    let mut means_u = rgba_blank(texels);
    for (t, &i) in order.iter().enumerate() {
        for a in 0..3 {
            let range = if maxs[a] - mins[a] == 0.0 {
                1.0
            } else {
                maxs[a] - mins[a]
            };
            // Rounded to the nearest level (splat-transform truncates: twice the worst error,
            // and every value biased half a level low; decoders cannot tell the difference).
            let q = (65535.0 * (log_pos[i][a] - mins[a]) / range)
                .round()
                .clamp(0.0, 65535.0) as u16;
            means_l[t * 4 + a] = (q & 0xff) as u8;
            means_u[t * 4 + a] = (q >> 8) as u8;
        }
    }

    progress(2);
    let mut quats = rgba_blank(texels);
    for (t, &i) in order.iter().enumerate() {
        quats[t * 4..t * 4 + 4].copy_from_slice(&pack_quat(cloud.rotations[i]));
    }

    progress(3);
    let scale_values: Vec<f32> = cloud.log_scales.iter().flatten().copied().collect();
    let scale_book = codebook_1d(&scale_values);
    let dc_values: Vec<f32> = cloud.sh_dc.iter().flatten().copied().collect();
    let dc_book = codebook_1d(&dc_values);
    let mut scales = rgba_blank(texels);
    let mut sh0 = rgba_blank(texels);
    for (t, &i) in order.iter().enumerate() {
        for a in 0..3 {
            scales[t * 4 + a] = nearest(&scale_book, cloud.log_scales[i][a]);
            sh0[t * 4 + a] = nearest(&dc_book, cloud.sh_dc[i][a]);
        }
        let alpha = 1.0 / (1.0 + (-cloud.opacity_logits[i]).exp());
        sh0[t * 4 + 3] = (alpha * 255.0).round().clamp(0.0, 255.0) as u8;
    }

    progress(4);
    let sh_part = if cloud.sh_degree > 0 {
        Some(encode_sh(cloud, &order, texels))
    } else {
        None
    };

    progress(5);
    let (w, h) = (
        u32::try_from(width).unwrap_or(0),
        u32::try_from(height).unwrap_or(0),
    );
    let mut files = vec![
        ("means_l.webp".to_owned(), webp(&means_l, w, h)?),
        ("means_u.webp".to_owned(), webp(&means_u, w, h)?),
        ("quats.webp".to_owned(), webp(&quats, w, h)?),
        ("scales.webp".to_owned(), webp(&scales, w, h)?),
        ("sh0.webp".to_owned(), webp(&sh0, w, h)?),
    ];
    let mut meta = serde_json::json!({
        "version": 2,
        "asset": {"generator": concat!("spaceport ", env!("CARGO_PKG_VERSION"))},
        "count": n,
        "means": {"mins": mins, "maxs": maxs, "files": ["means_l.webp", "means_u.webp"]},
        "scales": {"codebook": scale_book.to_vec(), "files": ["scales.webp"]},
        "quats": {"files": ["quats.webp"]},
        "sh0": {"codebook": dc_book.to_vec(), "files": ["sh0.webp"]},
    });
    if let Some(sh) = sh_part {
        files.push((
            "shN_centroids.webp".to_owned(),
            webp(&sh.centroids, sh.centroids_width, sh.centroids_height)?,
        ));
        files.push(("shN_labels.webp".to_owned(), webp(&sh.labels, w, h)?));
        meta["shN"] = serde_json::json!({
            "count": sh.palette_size,
            "bands": cloud.sh_degree,
            "codebook": sh.codebook.to_vec(),
            "files": ["shN_centroids.webp", "shN_labels.webp"],
        });
    }
    files.push(("meta.json".to_owned(), meta.to_string().into_bytes()));
    Ok(EncodedSog { files, order })
}

struct ShImages {
    centroids: Vec<u8>,
    centroids_width: u32,
    centroids_height: u32,
    labels: Vec<u8>,
    palette_size: usize,
    codebook: [f32; 256],
}

fn encode_sh(cloud: &GaussianCloud, order: &[usize], texels: usize) -> ShImages {
    let n = cloud.len();
    let coeffs = sh_rest_coeffs(cloud.sh_degree);
    let dim = 3 * coeffs;
    // Palette size as splat-transform chooses it: 1,024 × a power of two up to 64, by count.
    #[allow(clippy::cast_precision_loss)]
    let steps = ((n as f64) / 1024.0).log2().floor();
    let k = ((2f64.powf(steps).min(64.0) * 1024.0) as usize).clamp(1, n);
    // Vectors in Morton order, so the k-means seeds spread over the scene.
    let ordered: Vec<f32> = order
        .iter()
        .flat_map(|&i| cloud.sh_rest[i * dim..(i + 1) * dim].iter().copied())
        .collect();
    let importance: Vec<f32> = order.iter().map(|&i| importance(cloud, i)).collect();
    let (centres, ordered_labels) = palette(&ordered, &importance, dim, k);
    let (centres, ordered_labels) = by_first_use(&centres, &ordered_labels, dim);
    let palette_size = centres.len() / dim;
    let codebook = codebook_1d(&centres);
    let rows = palette_size.div_ceil(64);
    let cw = 64 * coeffs;
    let mut centroids = rgba_blank(cw * rows);
    for c in 0..palette_size {
        for j in 0..coeffs {
            let at = ((c / 64) * cw + (c % 64) * coeffs + j) * 4;
            for channel in 0..3 {
                centroids[at + channel] =
                    nearest(&codebook, centres[c * dim + channel * coeffs + j]);
            }
        }
    }
    let mut labels = rgba_blank(texels);
    for (t, &label) in ordered_labels.iter().enumerate() {
        labels[t * 4] = (label & 0xff) as u8;
        labels[t * 4 + 1] = (label >> 8) as u8;
    }
    ShImages {
        centroids,
        centroids_width: u32::try_from(cw).unwrap_or(0),
        centroids_height: u32::try_from(rows).unwrap_or(0),
        labels,
        palette_size,
        codebook,
    }
}

/// The palette renumbered in order of first use along the Morton curve, so neighbouring splats
/// tend to carry nearby labels (a smaller labels image). Unused entries are dropped.
fn by_first_use(centres: &[f32], labels: &[u32], dim: usize) -> (Vec<f32>, Vec<u32>) {
    let mut renumber = vec![u32::MAX; centres.len() / dim];
    let mut reordered = Vec::with_capacity(centres.len());
    let mut next = 0u32;
    let labels = labels
        .iter()
        .map(|&l| {
            let slot = &mut renumber[l as usize];
            if *slot == u32::MAX {
                *slot = next;
                next += 1;
                reordered.extend_from_slice(&centres[l as usize * dim..(l as usize + 1) * dim]);
            }
            *slot
        })
        .collect();
    (reordered, labels)
}

/// How much a splat's SH error shows in a picture, for weighting the palette's k-means: its
/// opacity times its linear size (the geometric mean of its two largest axes). Chosen by render
/// PSNR over unweighted (0.2 dB lower on six pieces of a real scene), opacity alone, and opacity ×
/// area (which over-weights a few huge splats).
fn importance(cloud: &GaussianCloud, i: usize) -> f32 {
    let alpha = 1.0 / (1.0 + (-cloud.opacity_logits[i]).exp());
    let mut s = cloud.log_scales[i];
    s.sort_by(f32::total_cmp);
    alpha * ((s[1] + s[2]) * 0.5).exp()
}

/// RGBA zeros with alpha 255 (what unused texels hold).
fn rgba_blank(texels: usize) -> Vec<u8> {
    let mut v = vec![0u8; texels * 4];
    v.iter_mut().skip(3).step_by(4).for_each(|a| *a = 255);
    v
}

/// Lossless WebP of an RGBA image. `exact` keeps the RGB of fully transparent texels: in `sh0` the
/// alpha is opacity and a splat with alpha 0 still has its colour, which libwebp's simple API would
/// zero.
#[cfg(not(target_arch = "wasm32"))]
fn webp(rgba: &[u8], width: u32, height: u32) -> Result<Vec<u8>, FormatError> {
    let fail = |message: String| FormatError::BadImage {
        name: "output".into(),
        message,
    };
    let mut config = webp::WebPConfig::new().map_err(|()| fail("libwebp config".into()))?;
    config.lossless = 1;
    config.exact = 1;
    config.quality = WEBP_QUALITY;
    config.method = WEBP_METHOD;
    let encoded = webp::Encoder::from_rgba(rgba, width, height)
        .encode_advanced(&config)
        .map_err(|e| fail(format!("libwebp: {e:?}")))?;
    Ok(encoded.to_vec())
}

/// libwebp's effort settings for lossless images: quality 70 is what its simple lossless API uses
/// (and so splat-transform); method 4 is its default speed/size trade.
#[cfg(not(target_arch = "wasm32"))]
const WEBP_QUALITY: f32 = 70.0;
#[cfg(not(target_arch = "wasm32"))]
const WEBP_METHOD: i32 = 4;

#[cfg(target_arch = "wasm32")]
fn webp(rgba: &[u8], width: u32, height: u32) -> Result<Vec<u8>, FormatError> {
    let mut out = Vec::new();
    image_webp::WebPEncoder::new(&mut out)
        .encode(rgba, width, height, image_webp::ColorType::Rgba8)
        .map_err(|e| FormatError::BadImage {
            name: "output".into(),
            message: e.to_string(),
        })?;
    Ok(out)
}

/// "Smallest three": drop the largest component (its index goes in alpha), scale the rest by √2.
fn pack_quat(q: [f32; 4]) -> [u8; 4] {
    let norm = q.iter().map(|c| c * c).sum::<f32>().sqrt();
    let q = if norm > 0.0 && norm.is_finite() {
        q.map(|c| c / norm)
    } else {
        [1.0, 0.0, 0.0, 0.0]
    };
    let largest = (0..4).fold(
        0,
        |best, i| if q[i].abs() > q[best].abs() { i } else { best },
    );
    let sign = if q[largest] < 0.0 { -SQRT_2 } else { SQRT_2 };
    let mut out = [0u8; 4];
    let mut slot = 0;
    for (i, c) in q.iter().enumerate() {
        if i != largest {
            out[slot] = (255.0 * (c * sign * 0.5 + 0.5)).round().clamp(0.0, 255.0) as u8;
            slot += 1;
        }
    }
    out[3] = 252 + u8::try_from(largest).unwrap_or(0);
    out
}

/// Splat indices sorted along a 30-bit Morton curve over the bounding box.
fn morton_order(positions: &[[f32; 3]]) -> Vec<usize> {
    let mut lo = [f32::INFINITY; 3];
    let mut hi = [f32::NEG_INFINITY; 3];
    for p in positions.iter().filter(|p| p.iter().all(|v| v.is_finite())) {
        for a in 0..3 {
            lo[a] = lo[a].min(p[a]);
            hi[a] = hi[a].max(p[a]);
        }
    }
    let spread = |v: u32| {
        let mut x = v & 0x3ff;
        x = (x | (x << 16)) & 0x0300_00ff;
        x = (x | (x << 8)) & 0x0300_f00f;
        x = (x | (x << 4)) & 0x030c_30c3;
        (x | (x << 2)) & 0x0924_9249
    };
    let code = |p: &[f32; 3]| -> u32 {
        (0..3).fold(0, |acc, a| {
            let range = if hi[a] > lo[a] { hi[a] - lo[a] } else { 1.0 };
            let q = if p[a].is_finite() {
                ((p[a] - lo[a]) / range * 1023.0).clamp(0.0, 1023.0) as u32
            } else {
                0
            };
            acc | (spread(q) << (2 - a))
        })
    };
    let codes: Vec<u32> = positions.iter().map(code).collect();
    let mut order: Vec<usize> = (0..positions.len()).collect();
    order.sort_by_key(|&i| codes[i]);
    order
}
