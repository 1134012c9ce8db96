//! SOG v2 decoding (PlayCanvas's compressed splat format): `meta.json` plus lossless WebP images,
//! either as separate files or in a `.sog` ZIP bundle. Field-by-field facts are in
//! `../shared/docs/sog-format.md`; every image's size is checked against the splat count before
//! it is read.

use std::borrow::Cow;
use std::f32::consts::SQRT_2;

use serde::Deserialize;

use crate::cloud::{sh_rest_coeffs, GaussianCloud};
use crate::error::FormatError;
use crate::zip;

pub mod encode;
pub mod quantize;

/// The WebP limit, and so the largest image a SOG can hold.
const MAX_SIDE: u32 = 16_383;

#[derive(Deserialize)]
struct Files {
    files: Vec<String>,
}

#[derive(Deserialize)]
struct Means {
    mins: [f32; 3],
    maxs: [f32; 3],
    files: Vec<String>,
}

#[derive(Deserialize)]
struct Codebooked {
    codebook: Vec<Option<f32>>,
    files: Vec<String>,
}

#[derive(Deserialize)]
struct ShN {
    bands: u8,
    codebook: Vec<Option<f32>>,
    files: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetaV2 {
    version: Option<u32>,
    count: Option<usize>,
    means: Means,
    scales: Codebooked,
    quats: Files,
    sh0: Codebooked,
    #[serde(rename = "shN")]
    sh_n: Option<ShN>,
}

fn bad(msg: impl Into<String>) -> FormatError {
    FormatError::BadSog(msg.into())
}

/// An RGBA8 image.
struct Image {
    width: u32,
    height: u32,
    rgba: Vec<u8>,
}

impl Image {
    fn texel(&self, i: usize) -> [u8; 4] {
        let at = i * 4;
        [
            self.rgba[at],
            self.rgba[at + 1],
            self.rgba[at + 2],
            self.rgba[at + 3],
        ]
    }
}

/// Decodes a lossless WebP to RGBA8, refusing (before allocating) images of more than
/// `max_pixels`: a few bytes of WebP can claim a gigapixel.
fn decode_webp(name: &str, bytes: &[u8], max_pixels: usize) -> Result<Image, FormatError> {
    let err = |message: String| FormatError::BadImage {
        name: name.to_owned(),
        message,
    };
    let mut decoder = image_webp::WebPDecoder::new(std::io::Cursor::new(bytes))
        .map_err(|e| err(e.to_string()))?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(err(format!(
            "{width}×{height} is not a valid SOG image size"
        )));
    }
    if (width as usize) * (height as usize) > max_pixels {
        return Err(err(format!(
            "{width}×{height} is far larger than the splat count needs"
        )));
    }
    if decoder.is_lossy() {
        return Err(err(
            "lossy WebP corrupts SOG data; images must be lossless".into()
        ));
    }
    let size = decoder
        .output_buffer_size()
        .ok_or_else(|| err("image too large".into()))?;
    let mut buf = vec![0u8; size];
    decoder
        .read_image(&mut buf)
        .map_err(|e| err(e.to_string()))?;
    let rgba = if decoder.has_alpha() {
        buf
    } else {
        buf.chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect()
    };
    Ok(Image {
        width,
        height,
        rgba,
    })
}

/// 256 codebook entries; a `null` first entry (older writers) is patched as the engine does.
fn codebook(name: &str, raw: &[Option<f32>]) -> Result<[f32; 256], FormatError> {
    if raw.len() != 256 {
        return Err(bad(format!(
            "{name} codebook has {} entries, not 256",
            raw.len()
        )));
    }
    let mut out = [0f32; 256];
    for (i, v) in raw.iter().enumerate().skip(1) {
        out[i] = v.ok_or_else(|| bad(format!("{name} codebook entry {i} is null")))?;
    }
    out[0] = raw[0].unwrap_or(out[1] + (out[1] - out[255]) / 255.0);
    Ok(out)
}

/// Decodes a `.sog` bundle.
pub fn decode_bundle(bytes: &[u8]) -> Result<GaussianCloud, FormatError> {
    let entries = zip::read_entries(bytes)?;
    let meta = entries
        .iter()
        .find(|(n, _)| n == "meta.json")
        .map(|(_, d)| *d)
        .ok_or_else(|| FormatError::NotSog("the archive has no meta.json".into()))?;
    decode(meta, |name| {
        entries
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| Cow::Borrowed(*d))
            .ok_or_else(|| bad(format!("the bundle lacks {name}")))
    })
}

/// Decodes a SOG from its `meta.json` and a way to fetch the files it names.
pub fn decode<'a>(
    meta_json: &[u8],
    file: impl Fn(&str) -> Result<Cow<'a, [u8]>, FormatError>,
) -> Result<GaussianCloud, FormatError> {
    let meta: MetaV2 = serde_json::from_slice(meta_json)
        .map_err(|e| FormatError::NotSog(format!("meta.json: {e}")))?;
    match meta.version {
        Some(2) => {}
        None => {
            return Err(FormatError::NotSog(
                "this is SOG v1 (\"SOGS\"), which is not supported yet".into(),
            ))
        }
        Some(v) => {
            return Err(FormatError::NotSog(format!(
                "SOG version {v} is not supported"
            )))
        }
    }
    let count = meta.count.ok_or_else(|| bad("meta.json has no count"))?;
    let side = MAX_SIDE as usize;
    if count > side * side {
        return Err(bad(format!("count {count} exceeds what one SOG can hold")));
    }
    // Images hold `count` texels padded to multiples of 4; the SH palette is at most 65,536
    // entries of 15 texels. Nothing legitimate is bigger than this.
    let max_pixels = count.saturating_mul(2).max(1 << 20);
    let load = |list: &[String], index: usize, what: &str| -> Result<Image, FormatError> {
        let name = list
            .get(index)
            .ok_or_else(|| bad(format!("{what} lists too few files")))?;
        if name.contains('/') || name.contains('\\') || name.contains("..") {
            return Err(bad(format!("file name '{name}' must be a plain name")));
        }
        decode_webp(name, &file(name)?, max_pixels)
    };
    let means_l = load(&meta.means.files, 0, "means")?;
    let (width, height) = (means_l.width, means_l.height);
    let texels = (width as usize) * (height as usize);
    if count > texels {
        return Err(bad(format!(
            "count {count} exceeds the {width}×{height} images"
        )));
    }
    let same_size = |img: Image, what: &str| -> Result<Image, FormatError> {
        if (img.width, img.height) == (width, height) {
            Ok(img)
        } else {
            Err(bad(format!(
                "{what} is {}×{}, expected {width}×{height}",
                img.width, img.height
            )))
        }
    };
    let means_u = same_size(load(&meta.means.files, 1, "means")?, "means_u")?;
    let quats = same_size(load(&meta.quats.files, 0, "quats")?, "quats")?;
    let scales = same_size(load(&meta.scales.files, 0, "scales")?, "scales")?;
    let sh0 = same_size(load(&meta.sh0.files, 0, "sh0")?, "sh0")?;
    let scale_cb = codebook("scales", &meta.scales.codebook)?;
    let sh0_cb = codebook("sh0", &meta.sh0.codebook)?;

    let mut cloud = GaussianCloud {
        sh_degree: 0,
        ..GaussianCloud::default()
    };
    let (mins, maxs) = (meta.means.mins, meta.means.maxs);
    for i in 0..count {
        let (l, u) = (means_l.texel(i), means_u.texel(i));
        cloud.positions.push(std::array::from_fn(|a| {
            let n = f32::from(u16::from(l[a]) | (u16::from(u[a]) << 8)) / 65535.0;
            let range = if maxs[a] - mins[a] == 0.0 {
                1.0
            } else {
                maxs[a] - mins[a]
            };
            let v = mins[a] + range * n;
            v.signum() * (v.abs().exp() - 1.0)
        }));
        cloud.rotations.push(unpack_quat(quats.texel(i)));
        let s = scales.texel(i);
        cloud.log_scales.push([
            scale_cb[usize::from(s[0])],
            scale_cb[usize::from(s[1])],
            scale_cb[usize::from(s[2])],
        ]);
        let c = sh0.texel(i);
        cloud.sh_dc.push([
            sh0_cb[usize::from(c[0])],
            sh0_cb[usize::from(c[1])],
            sh0_cb[usize::from(c[2])],
        ]);
        cloud.opacity_logits.push(logit(f32::from(c[3]) / 255.0));
    }
    if let Some(sh) = &meta.sh_n {
        decode_sh_n(sh, &load, count, (width, height), &mut cloud)?;
    }
    Ok(cloud)
}

/// Fetches and decodes image `index` of a file list (`what` names the list in errors).
type LoadImage<'a> = dyn Fn(&[String], usize, &str) -> Result<Image, FormatError> + 'a;

fn decode_sh_n(
    sh: &ShN,
    load: &LoadImage<'_>,
    count: usize,
    size: (u32, u32),
    cloud: &mut GaussianCloud,
) -> Result<(), FormatError> {
    if !(1..=3).contains(&sh.bands) {
        return Err(bad(format!("shN.bands is {}, expected 1–3", sh.bands)));
    }
    let coeffs = sh_rest_coeffs(sh.bands);
    let cb = codebook("shN", &sh.codebook)?;
    let centroids = load(&sh.files, 0, "shN")?;
    let labels = load(&sh.files, 1, "shN")?;
    if (labels.width, labels.height) != size {
        return Err(bad("shN_labels does not match the other images"));
    }
    if centroids.width as usize != 64 * coeffs {
        return Err(bad(format!(
            "shN_centroids is {} wide, expected {} for {} bands",
            centroids.width,
            64 * coeffs,
            sh.bands
        )));
    }
    let palette = 64 * centroids.height as usize;
    cloud.sh_degree = sh.bands;
    cloud.sh_rest.reserve(count * 3 * coeffs);
    for i in 0..count {
        let t = labels.texel(i);
        let label = usize::from(t[0]) | (usize::from(t[1]) << 8);
        if label >= palette {
            return Err(bad(format!(
                "splat {i} uses palette entry {label} of {palette}"
            )));
        }
        let row = label / 64;
        let col0 = (label % 64) * coeffs;
        let at = |j: usize| centroids.texel(row * centroids.width as usize + col0 + j);
        for channel in 0..3 {
            cloud
                .sh_rest
                .extend((0..coeffs).map(|j| cb[usize::from(at(j)[channel])]));
        }
    }
    Ok(())
}

/// "Smallest three" quaternion with the largest component's index in alpha (252 + index).
fn unpack_quat(texel: [u8; 4]) -> [f32; 4] {
    let Some(largest) = texel[3]
        .checked_sub(252)
        .map(usize::from)
        .filter(|&i| i < 4)
    else {
        return [1.0, 0.0, 0.0, 0.0];
    };
    let unpack = |byte: u8| (f32::from(byte) / 255.0 - 0.5) * SQRT_2;
    let small = [unpack(texel[0]), unpack(texel[1]), unpack(texel[2])];
    let restored = (1.0 - small.iter().map(|v| v * v).sum::<f32>())
        .max(0.0)
        .sqrt();
    let mut stored = small.into_iter();
    std::array::from_fn(|i| {
        if i == largest {
            restored
        } else {
            stored.next().unwrap_or(0.0)
        }
    })
}

/// Inverse sigmoid, kept finite: 0 and 255 alpha would otherwise give ±∞.
fn logit(p: f32) -> f32 {
    let p = p.clamp(0.5 / 255.0, 1.0 - 0.5 / 255.0);
    (p / (1.0 - p)).ln()
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact values: the identity fallback is a constant
mod tests {
    use super::*;

    #[test]
    fn quaternions_unpack_per_the_mode_byte() {
        // Identity: w is largest (m = 0), the others are zero → bytes 127.5 ≈ 128.
        let q = unpack_quat([128, 128, 128, 252]);
        assert!((q[0] - 1.0).abs() < 1e-3 && q[1].abs() < 0.01, "{q:?}");
        // Largest is z (m = 3): stored are w, x, y.
        let q = unpack_quat([128, 128, 128, 255]);
        assert!((q[3] - 1.0).abs() < 1e-3, "{q:?}");
        assert_eq!(
            unpack_quat([1, 2, 3, 7]),
            [1.0, 0.0, 0.0, 0.0],
            "unknown mode → identity"
        );
    }

    #[test]
    fn null_first_codebook_entry_is_patched() {
        let mut raw: Vec<Option<f32>> = (0..256u16).map(|i| Some(f32::from(i))).collect();
        raw[0] = None;
        let cb = codebook("t", &raw).expect("patched");
        assert!((cb[0] - (1.0 + (1.0 - 255.0) / 255.0)).abs() < 1e-6);
        assert!(codebook("t", &raw[..255]).is_err());
    }

    #[test]
    fn a_tiny_webp_claiming_a_gigapixel_is_refused_before_allocating() {
        // A lossless (VP8L) header declaring 16383×16383, and nothing behind it.
        let bits: u32 = 0x3ffe | (0x3ffe << 14); // width − 1 and height − 1, 14 bits each
        let mut webp = b"RIFF\x15\0\0\0WEBPVP8L\x09\0\0\0\x2f".to_vec();
        webp.extend_from_slice(&bits.to_le_bytes());
        webp.extend_from_slice(&[0, 0, 0, 0]);
        let err = decode_webp("means_l.webp", &webp, 1 << 20)
            .map(|_| ())
            .expect_err("refused");
        assert!(
            matches!(&err, FormatError::BadImage { message, .. } if message.contains("far larger")),
            "{err}"
        );
    }

    #[test]
    fn malformed_meta_is_refused() {
        let none = |_: &str| -> Result<Cow<'static, [u8]>, FormatError> { Err(bad("no files")) };
        assert!(matches!(
            decode(b"not json", none),
            Err(FormatError::NotSog(_))
        ));
        let v1 = br#"{"means":{"mins":[0,0,0],"maxs":[1,1,1],"files":[]},"scales":{"codebook":[],"files":[]},"quats":{"files":[]},"sh0":{"codebook":[],"files":[]}}"#;
        assert!(matches!(decode(v1, none), Err(FormatError::NotSog(m)) if m.contains("v1")));
        let traversal = br#"{"version":2,"count":1,"means":{"mins":[0,0,0],"maxs":[1,1,1],"files":["../../etc/passwd","b"]},"scales":{"codebook":[],"files":[]},"quats":{"files":[]},"sh0":{"codebook":[],"files":[]}}"#;
        assert!(
            matches!(decode(traversal, none), Err(FormatError::BadSog(m)) if m.contains("plain name"))
        );
    }
}
