//! Just enough ZIP to read and write a `.sog` bundle (and, in the browser, to zip a folder of
//! photos for upload): the end-of-central-directory record, the central directory, and stored
//! (uncompressed) entries. The central directory is the only source of
//! sizes — splat-transform writes data descriptors, so local headers carry zeros. Every offset is
//! checked against the buffer; Zip64, multi-disk and compressed entries are refused by name.

use crate::error::FormatError;

const EOCD_SIG: u32 = 0x0605_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const LOCAL_SIG: u32 = 0x0403_4b50;
/// A SOG bundle holds at most 8 files; anything with far more entries is not one.
const MAX_ENTRIES: usize = 64;

fn bad(msg: impl Into<String>) -> FormatError {
    FormatError::BadZip(msg.into())
}

fn u16_at(b: &[u8], at: usize) -> Result<u16, FormatError> {
    b.get(at..at + 2)
        .and_then(|s| s.try_into().ok())
        .map(u16::from_le_bytes)
        .ok_or_else(|| bad("record cut off"))
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, FormatError> {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or_else(|| bad("record cut off"))
}

fn usize_at(b: &[u8], at: usize) -> Result<usize, FormatError> {
    usize::try_from(u32_at(b, at)?).map_err(|_| bad("offset does not fit"))
}

/// Where a stored entry lies in its archive, as the central directory says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub name: String,
    /// Offset of the entry's local header from the start of the archive.
    pub header: usize,
    pub size: usize,
}

/// The stored entries of a ZIP archive, in central-directory order, borrowing their bytes.
pub fn read_entries(bytes: &[u8]) -> Result<Vec<(String, &[u8])>, FormatError> {
    directory(bytes, 0)?
        .into_iter()
        .map(|entry| {
            let data = entry_data(bytes, &entry)?.ok_or_else(|| {
                bad(format!(
                    "entry '{}' runs past the end of the archive",
                    entry.name
                ))
            })?;
            Ok((entry.name, data))
        })
        .collect()
}

/// The central directory of an archive of which `bytes` are the tail, from offset `base` to the
/// end (`base` 0: the whole archive). A streaming reader fetches the last few KiB first, so it
/// knows where every entry will lie before the entries arrive.
pub fn directory(bytes: &[u8], base: usize) -> Result<Vec<Located>, FormatError> {
    if bytes.len() < 22 {
        return Err(bad("too short to be a ZIP archive"));
    }
    let lowest = bytes.len().saturating_sub(22 + 0xFFFF);
    let eocd = (lowest..=bytes.len() - 22)
        .rev()
        .find(|&i| u32_at(bytes, i).ok() == Some(EOCD_SIG))
        .ok_or_else(|| bad("no end-of-central-directory record (not a ZIP archive?)"))?;
    if u16_at(bytes, eocd + 4)? != 0 || u16_at(bytes, eocd + 6)? != 0 {
        return Err(bad("multi-disk archives are not supported"));
    }
    let count = usize::from(u16_at(bytes, eocd + 10)?);
    let cd_size = usize_at(bytes, eocd + 12)?;
    let cd_offset = usize_at(bytes, eocd + 16)?;
    if count == 0xFFFF || cd_offset == 0xFFFF_FFFF {
        return Err(bad("Zip64 archives are not supported"));
    }
    if count > MAX_ENTRIES {
        return Err(bad(format!("{count} entries; a SOG bundle has a handful")));
    }
    let cd_offset = cd_offset
        .checked_sub(base)
        .ok_or_else(|| bad("the central directory starts before the bytes given"))?;
    let cd_end = cd_offset
        .checked_add(cd_size)
        .filter(|&e| e <= eocd)
        .ok_or_else(|| bad("central directory out of range"))?;
    let mut entries = Vec::with_capacity(count);
    let mut at = cd_offset;
    for _ in 0..count {
        if at + 46 > cd_end || u32_at(bytes, at)? != CENTRAL_SIG {
            return Err(bad("broken central directory entry"));
        }
        let method = u16_at(bytes, at + 10)?;
        let compressed = usize_at(bytes, at + 20)?;
        let size = usize_at(bytes, at + 24)?;
        let name_len = usize::from(u16_at(bytes, at + 28)?);
        let extra_len = usize::from(u16_at(bytes, at + 30)?);
        let comment_len = usize::from(u16_at(bytes, at + 32)?);
        let header = usize_at(bytes, at + 42)?;
        let name_bytes = bytes
            .get(at + 46..at + 46 + name_len)
            .ok_or_else(|| bad("entry name out of range"))?;
        let name = String::from_utf8_lossy(name_bytes).into_owned();
        if method != 0 {
            return Err(bad(format!(
                "entry '{name}' is compressed (method {method}); SOG bundles store their files"
            )));
        }
        if compressed != size {
            return Err(bad(format!("entry '{name}' has inconsistent sizes")));
        }
        entries.push(Located { name, header, size });
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(entries)
}

/// The data of `entry` within `bytes`, the archive from its start — possibly still arriving:
/// `None` until all of the entry is there.
pub fn entry_data<'a>(bytes: &'a [u8], entry: &Located) -> Result<Option<&'a [u8]>, FormatError> {
    let local = entry.header;
    if bytes.len() < local.saturating_add(30) {
        return Ok(None);
    }
    if u32_at(bytes, local)? != LOCAL_SIG {
        return Err(bad(format!(
            "entry '{}' points at no local header",
            entry.name
        )));
    }
    let data_start = local
        + 30
        + usize::from(u16_at(bytes, local + 26)?)
        + usize::from(u16_at(bytes, local + 28)?);
    let end = data_start
        .checked_add(entry.size)
        .ok_or_else(|| bad(format!("entry '{}' is out of range", entry.name)))?;
    Ok(bytes.get(data_start..end))
}

/// Writes a stored ZIP (no compression: WebP is already compressed, and stored entries can be
/// range-requested). Entries are written in the given order; `meta.json` should come last.
pub fn write_stored(entries: &[(&str, &[u8])]) -> Result<Vec<u8>, FormatError> {
    let infos: Vec<StoredEntry<'_>> = entries
        .iter()
        .map(|(name, data)| {
            let mut crc = Crc32::new();
            crc.update(data);
            StoredEntry {
                name,
                crc: crc.finish(),
                size: data.len() as u64,
            }
        })
        .collect();
    let layout = stored_layout(&infos)?;
    let mut out = Vec::with_capacity(usize::try_from(layout.total_size).unwrap_or(0));
    for (header, (_, data)) in layout.headers.iter().zip(entries) {
        out.extend_from_slice(header);
        out.extend_from_slice(data);
    }
    out.extend_from_slice(&layout.trailer);
    Ok(out)
}

/// One entry of a stored ZIP, described rather than held: what its headers need.
#[derive(Debug, Clone, Copy)]
pub struct StoredEntry<'a> {
    pub name: &'a str,
    pub crc: u32,
    pub size: u64,
}

/// The bytes of a stored ZIP other than the entries' contents: the archive is `headers[0]`,
/// entry 0's bytes, `headers[1]`, entry 1's bytes, …, then `trailer` (central directory and
/// end record). The browser uses this to zip a folder of photos without copying them: the
/// archive is a `Blob` of these headers and the photos' own `File`s.
#[derive(Debug, Clone)]
pub struct StoredLayout {
    pub headers: Vec<Vec<u8>>,
    pub trailer: Vec<u8>,
    pub total_size: u64,
}

/// The headers and trailer for stored entries (UTF-8 names, no timestamps, no Zip64: entries,
/// offsets and the archive must stay under 4 GiB, and there may be at most 65,535 entries).
pub fn stored_layout(entries: &[StoredEntry<'_>]) -> Result<StoredLayout, FormatError> {
    let too_big = || {
        FormatError::TooLarge(
            "a ZIP entry or the archive exceeds 4 GiB, or it has over 65,535 entries (Zip64 is not written)".into(),
        )
    };
    let mut headers = Vec::with_capacity(entries.len());
    let mut central = Vec::new();
    let mut at = 0u64;
    for entry in entries {
        let size = u32::try_from(entry.size).map_err(|_| too_big())?;
        let offset = u32::try_from(at).map_err(|_| too_big())?;
        let name_len = u16::try_from(entry.name.len()).map_err(|_| too_big())?;
        // Local header: version 20, flags bit 11 (UTF-8 names), method 0, no time, crc, sizes.
        let mut local = Vec::with_capacity(30 + entry.name.len());
        local.extend_from_slice(&LOCAL_SIG.to_le_bytes());
        for v in [20u16, 0x0800, 0, 0, 0x21] {
            local.extend_from_slice(&v.to_le_bytes());
        }
        for v in [entry.crc, size, size] {
            local.extend_from_slice(&v.to_le_bytes());
        }
        local.extend_from_slice(&name_len.to_le_bytes());
        local.extend_from_slice(&0u16.to_le_bytes());
        local.extend_from_slice(entry.name.as_bytes());
        at += local.len() as u64 + entry.size;
        headers.push(local);

        central.extend_from_slice(&CENTRAL_SIG.to_le_bytes());
        for v in [20u16, 20, 0x0800, 0, 0, 0x21] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        for v in [entry.crc, size, size] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        for v in [name_len, 0, 0, 0, 0] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        central.extend_from_slice(&0u32.to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(entry.name.as_bytes());
    }
    let cd_offset = u32::try_from(at).map_err(|_| too_big())?;
    let cd_size = u32::try_from(central.len()).map_err(|_| too_big())?;
    let count = u16::try_from(entries.len()).map_err(|_| too_big())?;
    let mut trailer = central;
    trailer.extend_from_slice(&EOCD_SIG.to_le_bytes());
    for v in [0u16, 0, count, count] {
        trailer.extend_from_slice(&v.to_le_bytes());
    }
    trailer.extend_from_slice(&cd_size.to_le_bytes());
    trailer.extend_from_slice(&cd_offset.to_le_bytes());
    trailer.extend_from_slice(&0u16.to_le_bytes());
    let total_size = at + trailer.len() as u64;
    u32::try_from(total_size).map_err(|_| too_big())?;
    Ok(StoredLayout {
        headers,
        trailer,
        total_size,
    })
}

/// CRC-32 (IEEE), fed in pieces: the browser hashes photos a slice at a time.
#[derive(Debug, Clone, Copy)]
pub struct Crc32(u32);

/// The byte-at-a-time table, built at compile time.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0u32;
    while i < 256 {
        let mut crc = i;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i as usize] = crc;
        i += 1;
    }
    table
};

impl Default for Crc32 {
    fn default() -> Self {
        Self::new()
    }
}

impl Crc32 {
    pub fn new() -> Self {
        Self(!0)
    }

    pub fn update(&mut self, data: &[u8]) {
        let mut crc = self.0;
        for &b in data {
            crc = CRC_TABLE[usize::from(crc.to_le_bytes()[0] ^ b)] ^ (crc >> 8);
        }
        self.0 = crc;
    }

    pub fn finish(self) -> u32 {
        !self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tail_locates_every_entry_before_the_entries_arrive() {
        let big = vec![7u8; 5000];
        let zip = write_stored(&[("a.webp", &big), ("b.webp", b"xyz"), ("meta.json", b"{}")])
            .expect("writes");
        // The last 200 bytes hold meta.json and the central directory.
        let base = zip.len() - 200;
        let entries = directory(&zip[base..], base).expect("directory from the tail");
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a.webp", "b.webp", "meta.json"]);
        // While the archive streams in, an entry is there only once all of it is.
        assert_eq!(entry_data(&zip[..100], &entries[0]).expect("ok"), None);
        assert_eq!(entry_data(&zip[..5035], &entries[0]).expect("ok"), None);
        let first = entry_data(&zip[..5036], &entries[0]).expect("ok");
        assert_eq!(first, Some(&big[..]));
        assert_eq!(entry_data(&zip[..5036], &entries[1]).expect("ok"), None);
        // A tail that starts inside the central directory cannot be read as one.
        let late = zip.len() - 40;
        assert!(directory(&zip[late..], late).is_err());
        // An entry pointing at something that is not a local header is refused.
        let wrong = Located {
            name: "x".into(),
            header: 3,
            size: 1,
        };
        assert!(entry_data(&zip, &wrong).is_err());
    }

    #[test]
    fn round_trip_and_crc() {
        let mut crc = Crc32::new();
        crc.update(b"1234");
        crc.update(b"56789");
        assert_eq!(crc.finish(), 0xCBF4_3926);
        let zip = write_stored(&[("a.webp", b"hello"), ("meta.json", b"{}")]).expect("writes");
        let entries = read_entries(&zip).expect("reads");
        assert_eq!(
            entries,
            vec![
                ("a.webp".to_owned(), &b"hello"[..]),
                ("meta.json".to_owned(), &b"{}"[..])
            ]
        );
    }

    #[test]
    fn layouts_past_the_classic_zip_limits_are_refused() {
        let many: Vec<StoredEntry<'_>> = (0..65_536)
            .map(|_| StoredEntry {
                name: "a.jpg",
                crc: 0,
                size: 0,
            })
            .collect();
        assert!(matches!(
            stored_layout(&many),
            Err(FormatError::TooLarge(_))
        ));
        let huge = [
            StoredEntry {
                name: "a.jpg",
                crc: 0,
                size: 3 << 30,
            },
            StoredEntry {
                name: "b.jpg",
                crc: 0,
                size: 2 << 30,
            },
        ];
        assert!(matches!(
            stored_layout(&huge),
            Err(FormatError::TooLarge(_))
        ));
    }

    #[test]
    fn hostile_archives_are_refused() {
        let zip = write_stored(&[("a.webp", b"hello world")]).expect("writes");
        assert!(read_entries(b"PK").is_err());
        assert!(read_entries(&[0u8; 100]).is_err());
        // An entry size pointing past the end.
        let mut lying = zip.clone();
        let cd = lying.len() - 22 - (46 + 6);
        lying[cd + 20..cd + 28].copy_from_slice(&[0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f]);
        assert!(
            matches!(read_entries(&lying), Err(FormatError::BadZip(m)) if m.contains("past the end"))
        );
        // A central directory offset out of range.
        let mut far = zip.clone();
        let n = far.len();
        far[n - 6..n - 2].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
        assert!(read_entries(&far).is_err());
        // Compressed entries are named, not misread.
        let mut deflated = zip;
        let cd = deflated.len() - 22 - (46 + 6);
        deflated[cd + 10] = 8;
        assert!(
            matches!(read_entries(&deflated), Err(FormatError::BadZip(m)) if m.contains("compressed"))
        );
    }
}
