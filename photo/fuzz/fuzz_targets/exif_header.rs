//! Any bytes as an uploaded photo: the header gives a size or a reason, EXIF gives facts or the
//! empty default, never a panic or a runaway allocation. The facts read, written into a working
//! copy's JPEG, make one well-formed APP1 segment (its declared length is what was written) and
//! read back as the same facts, as far as the writer keeps them (printable ASCII text up to
//! `MAX_TEXT` bytes; positions to the micro-second of arc; focal lengths to the micrometre).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use photo::exif::{self, PhotoExif, MAX_TEXT};
use photo::header;

/// A small real JPEG (made once) that the facts are written into.
fn base() -> &'static [u8] {
    static JPEG: OnceLock<Vec<u8>> = OnceLock::new();
    JPEG.get_or_init(|| {
        let img = image::RgbImage::from_fn(8, 8, |x, y| image::Rgb([x as u8 * 30, y as u8 * 30, 9]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
            .encode_image(&img)
            .expect("an 8×8 JPEG encodes");
        out
    })
}

/// What the writer keeps of a text field, as the reader gives it back.
fn kept(text: &Option<String>) -> Option<String> {
    let t: String = text
        .as_deref()?
        .chars()
        .filter(|c| c.is_ascii() && *c != '\0')
        .take(MAX_TEXT)
        .collect();
    Some(t.trim().to_string()).filter(|t| !t.is_empty())
}

fn close(a: Option<f64>, b: Option<f64>, tolerance: f64) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= tolerance,
        (None, None) => true,
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = header::read(data) {
        assert!(h.width > 0 && h.height > 0, "{h:?}");
    }
    let _ = header::is_truncated_jpeg(data);
    let facts = exif::read(data);

    let jpeg = exif::insert_into_jpeg(base(), &facts);
    assert_eq!(&jpeg[..4], &[0xFF, 0xD8, 0xFF, 0xE1], "an APP1 segment right after SOI");
    let declared = usize::from(u16::from_be_bytes([jpeg[4], jpeg[5]]));
    assert_eq!(jpeg.len(), 4 + declared + base().len() - 2, "the segment is as long as it says");
    assert_eq!(&jpeg[4 + declared..], &base()[2..], "the image follows the segment untouched");

    let back = exif::read(&jpeg);
    assert_eq!(back.make, kept(&facts.make));
    assert_eq!(back.model, kept(&facts.model));
    assert_eq!(back.captured_at, kept(&facts.captured_at));
    assert_eq!(back.orientation, None, "working copies are upright");
    // Numbers come back to the precision of the writer's fixed denominators.
    assert!(close(back.focal_mm, facts.focal_mm, 1e-3), "{back:?} {facts:?}");
    assert_eq!(back.focal_35mm, facts.focal_35mm);
    match (facts.gps, back.gps) {
        (Some(a), Some(b)) => {
            assert!((a.lat - b.lat).abs() < 1e-6 && (a.lon - b.lon).abs() < 1e-6, "{a:?} {b:?}");
            assert!((a.alt - b.alt).abs() < 1e-3, "{a:?} {b:?}");
        }
        (None, None) => {}
        (a, b) => panic!("GPS {a:?} came back as {b:?}"),
    }
    let _: PhotoExif = back;
});
