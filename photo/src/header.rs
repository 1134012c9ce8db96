//! A photo's format and size from its first bytes and its header, before any pixel is decoded:
//! ingest refuses what is not a JPEG or PNG, or too large to decode, without allocating for it.

use std::io::Cursor;

use image::ImageReader;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
}

impl Format {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Jpeg => "JPEG",
            Self::Png => "PNG",
        }
    }
}

/// What the header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub format: Format,
    pub width: u32,
    pub height: u32,
}

/// The format from the file's signature (not its name, which an upload may get wrong).
#[must_use]
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Format::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Format::Png)
    } else {
        None
    }
}

/// Format and size, or why the bytes are not a photo ingest can read (a sentence for the user).
pub fn read(bytes: &[u8]) -> Result<Header, String> {
    let format = sniff(bytes)
        .ok_or_else(|| format!("not a JPEG or PNG photo: {}", describe_content(bytes)))?;
    let name = format.name();
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("unreadable {name}: {e}"))?;
    let (width, height) = reader
        .into_dimensions()
        .map_err(|e| format!("corrupt {name}: {e}"))?;
    Ok(Header {
        format,
        width,
        height,
    })
}

/// True when a JPEG ends before its image does. A truncated JPEG still decodes (the decoder
/// pads it with grey); its missing end-of-image marker gives it away. Some cameras write a few
/// bytes after the marker, so the last 4 KiB are searched.
#[must_use]
pub fn is_truncated_jpeg(bytes: &[u8]) -> bool {
    if bytes.ends_with(&[0xFF, 0xD9]) {
        return false;
    }
    let tail = &bytes[bytes.len().saturating_sub(4096)..];
    !tail.windows(2).any(|w| w == [0xFF, 0xD9])
}

/// A short, printable description of what a non-image file starts with.
#[must_use]
pub fn describe_content(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(64)];
    if bytes.is_empty() {
        "it is empty".into()
    } else if bytes.starts_with(b"PK\x03\x04") {
        "it is a zip archive (archives inside archives are not opened)".into()
    } else if head
        .iter()
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
    {
        let text = String::from_utf8_lossy(&head[..head.len().min(24)]);
        format!("it is text (\"{}…\")", text.trim().escape_default())
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        "it is a TIFF/RAW file; export JPEGs from it".into()
    } else if bytes.len() > 12 && &bytes[4..8] == b"ftyp" {
        "it is HEIC or a video; export JPEGs from it".into()
    } else {
        "its content is not a known image format".into()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_header_gives_format_and_size_without_decoding() {
        let img = image::RgbImage::new(40, 30);
        let mut png = Vec::new();
        img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        assert_eq!(
            read(&png).unwrap(),
            Header {
                format: Format::Png,
                width: 40,
                height: 30
            }
        );
        // A JPEG signature over nothing: corrupt, said so.
        let e = read(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 2]).unwrap_err();
        assert!(e.starts_with("corrupt JPEG"), "{e}");
        let e = read(b"ftypheic").unwrap_err();
        assert!(e.contains("text"), "{e}");
        let e = read(b"\0\0\0\x18ftypheic\0\0\0\0").unwrap_err();
        assert!(e.contains("HEIC"), "{e}");
    }

    #[test]
    fn content_not_extension_decides() {
        assert!(sniff(b"hello").is_none());
        assert!(describe_content(b"hello world, not a photo").contains("text"));
        assert!(describe_content(b"").contains("empty"));
        assert!(describe_content(b"PK\x03\x04rest").contains("zip"));
    }

    #[test]
    fn a_jpeg_without_its_end_marker_is_truncated() {
        assert!(is_truncated_jpeg(&[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]));
        assert!(!is_truncated_jpeg(&[0xFF, 0xD8, 1, 0xFF, 0xD9]));
        assert!(!is_truncated_jpeg(&[0xFF, 0xD8, 1, 0xFF, 0xD9, 0, 0]));
        assert!(is_truncated_jpeg(&[]));
    }
}
