//! The EXIF facts the pipeline uses — GPS, altitude, focal length, camera, capture time,
//! orientation — read from JPEG or PNG bytes, and a minimal EXIF writer so working copies (and
//! synthetic test photos) carry the same facts for COLMAP to read.

use exif::{In, Tag, Value};
use serde::{Deserialize, Serialize};

use crate::geo::GeoPoint;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PhotoExif {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub make: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub focal_mm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub focal_35mm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gps: Option<GeoPoint>,
    /// `YYYY:MM:DD HH:MM:SS`, as EXIF writes it (no time zone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub captured_at: Option<String>,
    /// EXIF orientation 1–8 (1: as stored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orientation: Option<u8>,
}

/// Focal lengths a lens can have, in millimetres (a phone's is about 2, a long telephoto's
/// a few hundred): anything else is a broken tag, and a prior that would mislead SfM.
const FOCAL_MM: std::ops::RangeInclusive<f64> = 0.5..=5000.0;

/// Reads what EXIF there is; a photo without EXIF (or with unreadable EXIF) yields the empty
/// default — EXIF is a hint, never a reason to refuse a photo.
pub fn read(bytes: &[u8]) -> PhotoExif {
    let Ok(exif) = exif::Reader::new().read_from_container(&mut std::io::Cursor::new(bytes)) else {
        return PhotoExif::default();
    };
    let field = |tag| exif.get_field(tag, In::PRIMARY).map(|f| &f.value);
    let text = |tag| match field(tag) {
        Some(Value::Ascii(parts)) => parts
            .first()
            .map(|p| {
                String::from_utf8_lossy(p)
                    .trim()
                    .trim_end_matches('\0')
                    .to_string()
            })
            .filter(|s| !s.is_empty()),
        _ => None,
    };
    let rational = |tag, i: usize| match field(tag) {
        Some(Value::Rational(v)) => v
            .get(i)
            .map(exif::Rational::to_f64)
            .filter(|x| x.is_finite()),
        _ => None,
    };
    let uint = |tag| field(tag).and_then(|v| v.get_uint(0));
    let dms = |tag| Some(rational(tag, 0)? + rational(tag, 1)? / 60.0 + rational(tag, 2)? / 3600.0);
    let gps = (|| {
        let mut lat = dms(Tag::GPSLatitude)?;
        let mut lon = dms(Tag::GPSLongitude)?;
        if text(Tag::GPSLatitudeRef).as_deref() == Some("S") {
            lat = -lat;
        }
        if text(Tag::GPSLongitudeRef).as_deref() == Some("W") {
            lon = -lon;
        }
        let mut alt = rational(Tag::GPSAltitude, 0).unwrap_or(0.0);
        if uint(Tag::GPSAltitudeRef) == Some(1) {
            alt = -alt;
        }
        Some(GeoPoint { lat, lon, alt }).filter(GeoPoint::is_valid)
    })();
    PhotoExif {
        make: text(Tag::Make),
        model: text(Tag::Model),
        focal_mm: rational(Tag::FocalLength, 0).filter(|f| FOCAL_MM.contains(f)),
        focal_35mm: uint(Tag::FocalLengthIn35mmFilm)
            .map(f64::from)
            .filter(|f| FOCAL_MM.contains(f)),
        gps,
        captured_at: text(Tag::DateTimeOriginal).or_else(|| text(Tag::DateTime)),
        orientation: uint(Tag::Orientation)
            .and_then(|o| u8::try_from(o).ok())
            .filter(|o| (1..=8).contains(o)),
    }
}

// TIFF field types.
const BYTE: u16 = 1;
const ASCII: u16 = 2;
const SHORT: u16 = 3;
const LONG: u16 = 4;
const RATIONAL: u16 = 5;

struct Entry {
    tag: u16,
    kind: u16,
    count: u32,
    data: Vec<u8>,
}

/// The longest text field written back, in bytes: a camera's make or model is a few dozen; a
/// photo that claims kilobytes must not push the EXIF segment past JPEG's 64 KiB limit.
pub const MAX_TEXT: usize = 255;

fn ascii(tag: u16, s: &str) -> Entry {
    let mut data: Vec<u8> = s
        .bytes()
        .filter(|b| b.is_ascii() && *b != 0)
        .take(MAX_TEXT)
        .collect();
    data.push(0);
    Entry {
        tag,
        kind: ASCII,
        count: u32::try_from(data.len()).unwrap_or(u32::MAX),
        data,
    }
}

fn rationals(tag: u16, values: &[(u32, u32)]) -> Entry {
    Entry {
        tag,
        kind: RATIONAL,
        count: u32::try_from(values.len()).unwrap_or(u32::MAX),
        data: values
            .iter()
            .flat_map(|(n, d)| n.to_le_bytes().into_iter().chain(d.to_le_bytes()))
            .collect(),
    }
}

/// A non-negative value as a rational with a fixed denominator (clamped to what fits).
fn to_rational(v: f64, denom: u32) -> (u32, u32) {
    let scaled = (v.abs() * f64::from(denom))
        .round()
        .min(f64::from(u32::MAX));
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // clamped above
    (scaled as u32, denom)
}

fn dms(deg: f64) -> [(u32, u32); 3] {
    let deg = deg.abs();
    let d = deg.floor();
    let m = ((deg - d) * 60.0).floor();
    let s = (deg - d - m / 60.0) * 3600.0;
    [
        to_rational(d, 1),
        to_rational(m, 1),
        to_rational(s, 1_000_000),
    ]
}

/// Serialises one IFD at `offset` (from the TIFF header); values over 4 bytes follow it.
fn ifd(mut entries: Vec<Entry>, offset: u32) -> Vec<u8> {
    entries.sort_by_key(|e| e.tag);
    let n = u32::try_from(entries.len()).unwrap_or(0);
    let mut data_offset = offset + 2 + 12 * n + 4;
    let mut head = u16::try_from(n).unwrap_or(0).to_le_bytes().to_vec();
    let mut tail = Vec::new();
    for e in &entries {
        head.extend(e.tag.to_le_bytes());
        head.extend(e.kind.to_le_bytes());
        head.extend(e.count.to_le_bytes());
        if e.data.len() <= 4 {
            let mut inline = e.data.clone();
            inline.resize(4, 0);
            head.extend(inline);
        } else {
            head.extend(data_offset.to_le_bytes());
            tail.extend(&e.data);
            if tail.len() % 2 == 1 {
                tail.push(0); // values start on word boundaries
            }
            data_offset = offset + 2 + 12 * n + 4 + u32::try_from(tail.len()).unwrap_or(0);
        }
    }
    head.extend(0u32.to_le_bytes()); // no next IFD
    head.extend(tail);
    head
}

/// The EXIF (TIFF) payload for these facts: IFD0, an Exif IFD and, with a position, a GPS IFD.
pub fn tiff(info: &PhotoExif) -> Vec<u8> {
    let pointer = |tag, value: u32| Entry {
        tag,
        kind: LONG,
        count: 1,
        data: value.to_le_bytes().to_vec(),
    };
    let mut exif_entries = Vec::new();
    if let Some(f) = info.focal_mm {
        exif_entries.push(rationals(0x920A, &[to_rational(f, 1000)]));
    }
    if let Some(f) = info.focal_35mm {
        let f = f.round().clamp(1.0, f64::from(u16::MAX));
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // clamped above
        let f = f as u16;
        exif_entries.push(Entry {
            tag: 0xA405,
            kind: SHORT,
            count: 1,
            data: f.to_le_bytes().to_vec(),
        });
    }
    if let Some(t) = &info.captured_at {
        exif_entries.push(ascii(0x9003, t));
    }
    let gps_entries = info.gps.map(|g| {
        vec![
            Entry {
                tag: 0x0000,
                kind: BYTE,
                count: 4,
                data: vec![2, 3, 0, 0],
            },
            ascii(0x0001, if g.lat < 0.0 { "S" } else { "N" }),
            rationals(0x0002, &dms(g.lat)),
            ascii(0x0003, if g.lon < 0.0 { "W" } else { "E" }),
            rationals(0x0004, &dms(g.lon)),
            Entry {
                tag: 0x0005,
                kind: BYTE,
                count: 1,
                data: vec![u8::from(g.alt < 0.0)],
            },
            rationals(0x0006, &[to_rational(g.alt, 1000)]),
        ]
    });
    let ifd0_entries = |exif_at: u32, gps_at: u32| {
        let mut e = Vec::new();
        if let Some(m) = &info.make {
            e.push(ascii(0x010F, m));
        }
        if let Some(m) = &info.model {
            e.push(ascii(0x0110, m));
        }
        e.push(pointer(0x8769, exif_at));
        if gps_entries.is_some() {
            e.push(pointer(0x8825, gps_at));
        }
        e
    };
    // IFD0's size does not depend on the pointer values, so lay it out once to learn it.
    let ifd0_len = u32::try_from(ifd(ifd0_entries(0, 0), 8).len()).unwrap_or(0);
    let exif_at = 8 + ifd0_len;
    let exif_ifd = ifd(exif_entries, exif_at);
    let gps_at = exif_at + u32::try_from(exif_ifd.len()).unwrap_or(0);
    let mut out = b"II*\0".to_vec();
    out.extend(8u32.to_le_bytes());
    out.extend(ifd(ifd0_entries(exif_at, gps_at), 8));
    out.extend(exif_ifd);
    if let Some(gps) = gps_entries {
        out.extend(ifd(gps, gps_at));
    }
    out
}

/// Inserts an EXIF APP1 segment right after a JPEG's start-of-image marker. A segment's length
/// is 16 bits: a payload that would not fit (it cannot, with text fields bounded) is left out
/// rather than written past its declared length, which would corrupt the image. Bytes that
/// are not a JPEG come back unchanged.
pub fn insert_into_jpeg(jpeg: &[u8], info: &PhotoExif) -> Vec<u8> {
    if !jpeg.starts_with(&[0xFF, 0xD8]) {
        return jpeg.to_vec(); // not a JPEG: nowhere to put a segment
    }
    let payload = tiff(info);
    let Ok(len) = u16::try_from(payload.len() + 8) else {
        return jpeg.to_vec();
    };
    let mut out = Vec::with_capacity(jpeg.len() + payload.len() + 10);
    out.extend(&jpeg[..2]);
    out.extend([0xFF, 0xE1]);
    out.extend(len.to_be_bytes());
    out.extend(b"Exif\0\0");
    out.extend(payload);
    out.extend(&jpeg[2..]);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    fn tiny_jpeg() -> Vec<u8> {
        let img =
            image::RgbImage::from_fn(16, 8, |x, y| image::Rgb([(x * 9) as u8, (y * 20) as u8, 7]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
            .encode_image(&img)
            .unwrap();
        out
    }

    #[test]
    fn written_exif_reads_back() {
        let info = PhotoExif {
            make: Some("DJI".into()),
            model: Some("FC3582".into()),
            focal_mm: Some(6.72),
            focal_35mm: Some(24.0),
            gps: Some(GeoPoint {
                lat: -33.856_784_1,
                lon: 151.215_297_2,
                alt: 87.25,
            }),
            captured_at: Some("2026:11:27 10:15:00".into()),
            orientation: None,
        };
        let jpeg = insert_into_jpeg(&tiny_jpeg(), &info);
        let back = read(&jpeg);
        let (g, want) = (back.gps.unwrap(), info.gps.unwrap());
        assert!((g.lat - want.lat).abs() < 1e-8 && (g.lon - want.lon).abs() < 1e-8);
        assert!((g.alt - want.alt).abs() < 1e-3);
        assert_eq!(back.make, info.make);
        assert_eq!(back.model, info.model);
        assert_eq!(back.focal_35mm, Some(24.0));
        assert!((back.focal_mm.unwrap() - 6.72).abs() < 1e-9);
        assert_eq!(back.captured_at, info.captured_at);
        // Still a JPEG the decoder accepts.
        assert_eq!(image::load_from_memory(&jpeg).unwrap().width(), 16);
    }

    #[test]
    fn a_huge_make_is_cut_short_and_the_jpeg_stays_whole() {
        let info = PhotoExif {
            make: Some("M".repeat(70_000)),
            model: Some("m".repeat(70_000)),
            captured_at: Some("2".repeat(70_000)),
            ..PhotoExif::default()
        };
        let jpeg = insert_into_jpeg(&tiny_jpeg(), &info);
        // The APP1 segment's declared length covers exactly what was written before the
        // original JPEG's own segments resume.
        let declared = usize::from(u16::from_be_bytes([jpeg[4], jpeg[5]]));
        assert_eq!(jpeg.len(), 2 + 2 + declared + tiny_jpeg().len() - 2);
        assert_eq!(image::load_from_memory(&jpeg).unwrap().width(), 16);
        let back = read(&jpeg);
        assert_eq!(back.make.as_deref(), Some("M".repeat(MAX_TEXT).as_str()));
        assert_eq!(back.model.as_deref(), Some("m".repeat(MAX_TEXT).as_str()));
    }

    #[test]
    fn a_focal_length_no_lens_has_is_ignored() {
        let info = PhotoExif {
            focal_mm: Some(9000.0),
            focal_35mm: Some(20_000.0),
            ..PhotoExif::default()
        };
        let back = read(&insert_into_jpeg(&tiny_jpeg(), &info));
        assert_eq!((back.focal_mm, back.focal_35mm), (None, None));
    }

    #[test]
    fn no_exif_is_the_empty_default() {
        assert_eq!(read(&tiny_jpeg()), PhotoExif::default());
        assert_eq!(read(b"not an image"), PhotoExif::default());
    }

    #[test]
    fn western_and_below_sea_level_positions_keep_their_sign() {
        let info = PhotoExif {
            gps: Some(GeoPoint {
                lat: 31.5,
                lon: -35.25,
                alt: -12.5,
            }),
            ..PhotoExif::default()
        };
        let g = read(&insert_into_jpeg(&tiny_jpeg(), &info)).gps.unwrap();
        assert!((g.lon + 35.25).abs() < 1e-9 && (g.alt + 12.5).abs() < 1e-9);
    }
}
