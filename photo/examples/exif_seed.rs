//! Writes a small JPEG carrying every EXIF fact ingest reads (the fuzzer's seed):
//! `cargo run -p photo --example exif_seed OUT.jpg`.

use photo::exif::{insert_into_jpeg, PhotoExif};
use photo::geo::GeoPoint;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args().nth(1).ok_or("usage: exif_seed OUT.jpg")?;
    let img = image::RgbImage::from_fn(32, 24, |x, y| {
        image::Rgb([
            u8::try_from(x * 7).unwrap_or(0),
            u8::try_from(y * 9).unwrap_or(0),
            60,
        ])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85).encode_image(&img)?;
    let facts = PhotoExif {
        make: Some("Canon".into()),
        model: Some("Canon PowerShot SX260 HS".into()),
        focal_mm: Some(4.5),
        focal_35mm: Some(25.0),
        gps: Some(GeoPoint {
            lat: -33.856_784,
            lon: 151.215_297,
            alt: 87.25,
        }),
        captured_at: Some("2026:11:27 10:15:00".into()),
        orientation: None,
    };
    std::fs::write(out, insert_into_jpeg(&jpeg, &facts))?;
    Ok(())
}
