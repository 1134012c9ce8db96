//! Room on the data directory's disk. Work that would fill it is refused up front with a clear
//! message instead of failing half-way: a full disk would also stop SQLite from recording
//! anything, the failure included.

use std::path::Path;

use domain::StoreError;

/// Bytes available to this process on `path`'s file system.
pub fn free_bytes(path: &Path) -> Option<u64> {
    rustix::fs::statvfs(path)
        .ok()
        .map(|s| s.f_bavail.saturating_mul(s.f_frsize))
}

/// `Ok` when `need` more bytes fit on `path`'s disk and leave `keep_free` (`min_free_bytes`)
/// for everything else; an unknown amount of room is not a reason to refuse.
pub fn check_room(path: &Path, need: u64, keep_free: u64) -> Result<(), StoreError> {
    match free_bytes(path) {
        Some(free) if free < need.saturating_add(keep_free) => {
            Err(StoreError::LimitReached(format!(
                "the server is short of disk space ({} free, {} needed and {} kept free): \
                 try again later, and tell the operator if it lasts",
                size_text(free),
                size_text(need),
                size_text(keep_free)
            )))
        }
        _ => Ok(()),
    }
}

/// A size as the messages say it: "12.5 GiB", or "20 MiB" under a GiB.
pub fn size_text(bytes: u64) -> String {
    if bytes < 1 << 30 {
        return format!("{} MiB", bytes >> 20);
    }
    // Display only: the precision lost in the conversion is far below the decimal shown.
    #[allow(clippy::cast_precision_loss)]
    let g = bytes as f64 / f64::from(1u32 << 30);
    format!("{g:.1} GiB")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(size_text(20 << 20), "20 MiB");
        assert_eq!(size_text(100 << 30), "100.0 GiB");
        assert_eq!(size_text((5 << 30) / 2), "2.5 GiB");
    }

    #[test]
    fn room_is_measured_and_a_shortfall_says_what_to_do() {
        let here = std::env::temp_dir();
        let free = free_bytes(&here).expect("statvfs works here");
        assert!(free > 0);
        assert_eq!(check_room(&here, 1, 0), Ok(()));
        match check_room(&here, free, 1 << 30) {
            Err(StoreError::LimitReached(m)) => {
                assert!(
                    m.contains("short of disk space") && m.contains("try again later"),
                    "{m}"
                );
            }
            other => panic!("a disk that cannot hold it should refuse: {other:?}"),
        }
    }
}
