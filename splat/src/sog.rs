//! SOG decoding, v2 and the older v1 "SOGS" (PlayCanvas's compressed splat format): `meta.json` plus lossless WebP images,
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
pub mod stream;

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
struct MetaV2 {
    count: Option<usize>,
    means: Means,
    scales: Codebooked,
    quats: Files,
    sh0: Codebooked,
    #[serde(rename = "shN")]
    sh_n: Option<ShN>,
}

/// v1 ("SOGS", PlayCanvas's Python `sogs` and splat-transform before v2): per-channel ranges
/// instead of codebooks, the count in `means.shape`.
#[derive(Deserialize)]
struct MetaV1 {
    means: MeansV1,
    scales: Ranged,
    quats: Files,
    sh0: Ranged,
    #[serde(rename = "shN")]
    sh_n: Option<ShNV1>,
}

#[derive(Deserialize)]
struct MeansV1 {
    shape: Vec<usize>,
    mins: [f32; 3],
    maxs: [f32; 3],
    files: Vec<String>,
}

/// Bytes map linearly onto `[mins[c], maxs[c]]`, channel by channel.
#[derive(Deserialize)]
struct Ranged {
    mins: Vec<f32>,
    maxs: Vec<f32>,
    files: Vec<String>,
}

impl Ranged {
    /// Refuses ranges with fewer than `channels` entries, so that `value` cannot index past them.
    fn check(&self, what: &str, channels: usize) -> Result<(), FormatError> {
        if self.mins.len() < channels || self.maxs.len() < channels {
            return Err(bad(format!(
                "v1 {what}.mins and .maxs need {channels} entries each"
            )));
        }
        Ok(())
    }

    fn value(&self, channel: usize, byte: u8) -> f32 {
        lerp(self.mins[channel], self.maxs[channel], byte)
    }
}

/// v1's SH palette: one scalar range for every coefficient.
#[derive(Deserialize)]
struct ShNV1 {
    mins: f32,
    maxs: f32,
    files: Vec<String>,
}

fn lerp(min: f32, max: f32, byte: u8) -> f32 {
    min + (max - min) * (f32::from(byte) / 255.0)
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

/// One of the files a `meta.json` names, as [`decode_with`] is given it: the WebP bytes, or
/// pixels something else (a browser's own decoder) already decoded.
pub enum Source<'a> {
    WebP(Cow<'a, [u8]>),
    /// RGBA8, row by row, `width × height × 4` bytes, not premultiplied.
    Rgba {
        width: u32,
        height: u32,
        rgba: Vec<u8>,
    },
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
    check_size(width, height, max_pixels).map_err(err)?;
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

/// Whether a `width × height` image can be a SOG image of at most `max_pixels`.
fn check_size(width: u32, height: u32, max_pixels: usize) -> Result<(), String> {
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(format!("{width}×{height} is not a valid SOG image size"));
    }
    if (width as usize) * (height as usize) > max_pixels {
        return Err(format!(
            "{width}×{height} is far larger than the splat count needs"
        ));
    }
    Ok(())
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

/// Decodes a SOG (v2, or v1 "SOGS") from its `meta.json` and a way to fetch the files it names.
pub fn decode<'a>(
    meta_json: &[u8],
    file: impl Fn(&str) -> Result<Cow<'a, [u8]>, FormatError>,
) -> Result<GaussianCloud, FormatError> {
    decode_with(meta_json, |name| file(name).map(Source::WebP))
}

/// As [`decode`], with each file given as WebP or as decoded pixels (held to the same size
/// checks as pixels this crate decodes).
pub fn decode_with<'a>(
    meta_json: &[u8],
    file: impl Fn(&str) -> Result<Source<'a>, FormatError>,
) -> Result<GaussianCloud, FormatError> {
    let meta: serde_json::Value = serde_json::from_slice(meta_json)
        .map_err(|e| FormatError::NotSog(format!("meta.json: {e}")))?;
    let parse_err = |e: serde_json::Error| FormatError::NotSog(format!("meta.json: {e}"));
    match meta.get("version") {
        None => {
            let meta: MetaV1 = serde_json::from_value(meta).map_err(parse_err)?;
            decode_v1(&meta, &file)
        }
        Some(v) if v.as_u64() == Some(2) => {
            let meta: MetaV2 = serde_json::from_value(meta).map_err(parse_err)?;
            decode_v2(&meta, &file)
        }
        Some(v) => Err(FormatError::NotSog(format!(
            "SOG version {v} is not supported"
        ))),
    }
}

/// Fetches a file a `meta.json` names.
type FetchFile<'f, 'a> = dyn Fn(&str) -> Result<Source<'a>, FormatError> + 'f;

/// Fetches and decodes image `index` of a file list (`what` names the list in errors).
type LoadImage<'a> = dyn Fn(&[String], usize, &str) -> Result<Image, FormatError> + 'a;

/// The image loader for a SOG of `count` splats: plain file names only, and no image larger than
/// that count can justify (nothing legitimate is bigger: images hold `count` texels padded to
/// multiples of 4, the SH palette at most 65,536 entries of 15 texels).
fn image_loader<'f, 'a: 'f>(
    count: usize,
    file: &'f FetchFile<'f, 'a>,
) -> Result<Box<LoadImage<'f>>, FormatError> {
    let side = MAX_SIDE as usize;
    if count > side * side {
        return Err(bad(format!("count {count} exceeds what one SOG can hold")));
    }
    let max_pixels = count.saturating_mul(2).max(1 << 20);
    Ok(Box::new(
        move |list: &[String], index: usize, what: &str| {
            let name = list
                .get(index)
                .ok_or_else(|| bad(format!("{what} lists too few files")))?;
            if name.contains('/') || name.contains('\\') || name.contains("..") {
                return Err(bad(format!("file name '{name}' must be a plain name")));
            }
            match file(name)? {
                Source::WebP(bytes) => decode_webp(name, &bytes, max_pixels),
                Source::Rgba {
                    width,
                    height,
                    rgba,
                } => {
                    let err = |message: String| FormatError::BadImage {
                        name: name.clone(),
                        message,
                    };
                    check_size(width, height, max_pixels).map_err(err)?;
                    if rgba.len() != width as usize * height as usize * 4 {
                        return Err(err(format!(
                            "{} bytes of pixels for a {width}×{height} image",
                            rgba.len()
                        )));
                    }
                    Ok(Image {
                        width,
                        height,
                        rgba,
                    })
                }
            }
        },
    ))
}

/// The five per-splat images every version has, all the same size and large enough for `count`.
struct SplatImages {
    means_l: Image,
    means_u: Image,
    quats: Image,
    scales: Image,
    sh0: Image,
}

impl SplatImages {
    fn load(
        load: &LoadImage<'_>,
        count: usize,
        lists: [&[String]; 4],
    ) -> Result<Self, FormatError> {
        let [means, quats, scales, sh0] = lists;
        let means_l = load(means, 0, "means")?;
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
        Ok(Self {
            means_u: same_size(load(means, 1, "means")?, "means_u")?,
            quats: same_size(load(quats, 0, "quats")?, "quats")?,
            scales: same_size(load(scales, 0, "scales")?, "scales")?,
            sh0: same_size(load(sh0, 0, "sh0")?, "sh0")?,
            means_l,
        })
    }

    /// The splats' base fields (no higher SH bands), each version saying what a scale, colour
    /// or opacity byte means (`channel`, `byte` → value).
    fn cloud(
        &self,
        count: usize,
        (mins, maxs): ([f32; 3], [f32; 3]),
        scale: impl Fn(usize, u8) -> f32,
        colour: impl Fn(usize, u8) -> f32,
        opacity: impl Fn(u8) -> f32,
    ) -> GaussianCloud {
        let mut cloud = GaussianCloud {
            sh_degree: 0,
            ..GaussianCloud::default()
        };
        for i in 0..count {
            cloud.positions.push(self.position(i, mins, maxs));
            cloud.rotations.push(unpack_quat(self.quats.texel(i)));
            let s = self.scales.texel(i);
            cloud
                .log_scales
                .push(std::array::from_fn(|a| scale(a, s[a])));
            let c = self.sh0.texel(i);
            cloud.sh_dc.push(std::array::from_fn(|a| colour(a, c[a])));
            cloud.opacity_logits.push(opacity(c[3]));
        }
        cloud
    }

    fn size(&self) -> (u32, u32) {
        (self.means_l.width, self.means_l.height)
    }

    /// Splat `i`'s position: 16 bits per axis over the log-transformed range.
    fn position(&self, splat: usize, mins: [f32; 3], maxs: [f32; 3]) -> [f32; 3] {
        let (low, high) = (self.means_l.texel(splat), self.means_u.texel(splat));
        std::array::from_fn(|a| {
            let n = f32::from(u16::from(low[a]) | (u16::from(high[a]) << 8)) / 65535.0;
            let range = if maxs[a] - mins[a] == 0.0 {
                1.0
            } else {
                maxs[a] - mins[a]
            };
            let v = mins[a] + range * n;
            v.signum() * (v.abs().exp() - 1.0)
        })
    }
}

fn decode_v2(meta: &MetaV2, file: &FetchFile<'_, '_>) -> Result<GaussianCloud, FormatError> {
    let count = meta.count.ok_or_else(|| bad("meta.json has no count"))?;
    let load = image_loader(count, file)?;
    let images = SplatImages::load(
        &load,
        count,
        [
            &meta.means.files,
            &meta.quats.files,
            &meta.scales.files,
            &meta.sh0.files,
        ],
    )?;
    let scale_cb = codebook("scales", &meta.scales.codebook)?;
    let sh0_cb = codebook("sh0", &meta.sh0.codebook)?;

    let mut cloud = images.cloud(
        count,
        (meta.means.mins, meta.means.maxs),
        |_, byte| scale_cb[usize::from(byte)],
        |_, byte| sh0_cb[usize::from(byte)],
        // v2 stores linear alpha.
        |byte| logit(f32::from(byte) / 255.0),
    );
    if let Some(sh) = &meta.sh_n {
        if !(1..=3).contains(&sh.bands) {
            return Err(bad(format!("shN.bands is {}, expected 1–3", sh.bands)));
        }
        let cb = codebook("shN", &sh.codebook)?;
        decode_sh_n(
            &load(&sh.files, 0, "shN")?,
            &load(&sh.files, 1, "shN")?,
            sh.bands,
            |byte| cb[usize::from(byte)],
            images.size(),
            count,
            &mut cloud,
        )?;
    }
    Ok(cloud)
}

fn decode_v1(meta: &MetaV1, file: &FetchFile<'_, '_>) -> Result<GaussianCloud, FormatError> {
    let count = *meta
        .means
        .shape
        .first()
        .ok_or_else(|| bad("v1 meta.json: means.shape is empty"))?;
    meta.scales.check("scales", 3)?;
    meta.sh0.check("sh0", 4)?;
    let load = image_loader(count, file)?;
    let images = SplatImages::load(
        &load,
        count,
        [
            &meta.means.files,
            &meta.quats.files,
            &meta.scales.files,
            &meta.sh0.files,
        ],
    )?;
    let mut cloud = images.cloud(
        count,
        (meta.means.mins, meta.means.maxs),
        |channel, byte| meta.scales.value(channel, byte),
        |channel, byte| meta.sh0.value(channel, byte),
        // v1 stores the opacity logit itself, not alpha.
        |byte| meta.sh0.value(3, byte),
    );
    if let Some(sh) = &meta.sh_n {
        let centroids = load(&sh.files, 0, "shN")?;
        // v1 names no band count: the palette's width says it (64 entries of 3, 8 or 15 texels).
        let bands = match centroids.width {
            192 => 1,
            512 => 2,
            960 => 3,
            w => {
                return Err(bad(format!(
                    "shN_centroids is {w} wide; a v1 palette is 192, 512 or 960 wide"
                )))
            }
        };
        decode_sh_n(
            &centroids,
            &load(&sh.files, 1, "shN")?,
            bands,
            |byte| lerp(sh.mins, sh.maxs, byte),
            images.size(),
            count,
            &mut cloud,
        )?;
    }
    Ok(cloud)
}

/// Higher SH bands through the palette: each splat's label (R + 256·G) picks a centroid whose
/// texels hold the coefficients, `value` turning each byte back into a float.
fn decode_sh_n(
    centroids: &Image,
    labels: &Image,
    bands: u8,
    value: impl Fn(u8) -> f32,
    size: (u32, u32),
    count: usize,
    cloud: &mut GaussianCloud,
) -> Result<(), FormatError> {
    let coeffs = sh_rest_coeffs(bands);
    if (labels.width, labels.height) != size {
        return Err(bad("shN_labels does not match the other images"));
    }
    if centroids.width as usize != 64 * coeffs {
        return Err(bad(format!(
            "shN_centroids is {} wide, expected {} for {bands} bands",
            centroids.width,
            64 * coeffs,
        )));
    }
    let palette = 64 * centroids.height as usize;
    cloud.sh_degree = bands;
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
                .extend((0..coeffs).map(|j| value(at(j)[channel])));
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
    fn pixels_decoded_elsewhere_give_the_same_cloud_and_are_size_checked() {
        let n = 300;
        #[allow(clippy::cast_precision_loss)]
        let cloud = GaussianCloud {
            positions: (0..n).map(|i| [i as f32 * 0.01, 0.5, -1.0]).collect(),
            log_scales: vec![[-2.0, -3.0, -4.0]; n],
            rotations: vec![[1.0, 0.0, 0.0, 0.0]; n],
            opacity_logits: (0..n).map(|i| i as f32 / 50.0 - 3.0).collect(),
            sh_dc: vec![[0.2, -0.1, 0.4]; n],
            sh_degree: 1,
            sh_rest: (0..n * 9).map(|i| (i % 17) as f32 / 20.0 - 0.4).collect(),
        };
        let sog = encode::encode(&cloud, |_| {}).expect("encodes");
        let file = |name: &str| {
            sog.files
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, d)| d.as_slice())
                .ok_or_else(|| bad(name))
        };
        let meta = file("meta.json").expect("meta");
        let by_crate = decode(meta, |name| file(name).map(Cow::Borrowed)).expect("decodes");
        let as_pixels = |name: &str| {
            let image = decode_webp(name, file(name)?, 1 << 20)?;
            Ok(Source::Rgba {
                width: image.width,
                height: image.height,
                rgba: image.rgba,
            })
        };
        assert_eq!(decode_with(meta, as_pixels).expect("decodes"), by_crate);
        // Pixels that do not fill their image, or an image far larger than the splats need.
        let short = decode_with(meta, |name| {
            let Source::Rgba {
                width,
                height,
                mut rgba,
            } = as_pixels(name)?
            else {
                unreachable!()
            };
            rgba.pop();
            Ok(Source::Rgba {
                width,
                height,
                rgba,
            })
        });
        assert!(short.is_err());
        let huge = decode_with(meta, |_| {
            Ok(Source::Rgba {
                width: 4000,
                height: 4000,
                rgba: Vec::new(),
            })
        });
        assert!(format!("{:?}", huge.expect_err("refused")).contains("far larger"));
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
        // v1 without its `shape` (the only place v1 keeps the count).
        let v1 = br#"{"means":{"mins":[0,0,0],"maxs":[1,1,1],"files":[]},"scales":{"mins":[0,0,0],"maxs":[1,1,1],"files":[]},"quats":{"files":[]},"sh0":{"mins":[0,0,0,0],"maxs":[1,1,1,1],"files":[]}}"#;
        assert!(matches!(decode(v1, none), Err(FormatError::NotSog(m)) if m.contains("shape")));
        let v3 = br#"{"version":3}"#;
        assert!(matches!(decode(v3, none), Err(FormatError::NotSog(m)) if m.contains("version 3")));
        let traversal = br#"{"version":2,"count":1,"means":{"mins":[0,0,0],"maxs":[1,1,1],"files":["../../etc/passwd","b"]},"scales":{"codebook":[],"files":[]},"quats":{"files":[]},"sh0":{"codebook":[],"files":[]}}"#;
        assert!(
            matches!(decode(traversal, none), Err(FormatError::BadSog(m)) if m.contains("plain name"))
        );
    }
}
