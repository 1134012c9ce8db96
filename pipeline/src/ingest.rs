//! Ingest: a zip or a folder of photos in; validated originals, downscaled working copies and a
//! manifest out. Every refused file gets a reason a person can act on; a hostile archive (path
//! traversal, a zip bomb, absurd sizes or counts) is contained: nothing is written outside the
//! job directory and nothing is decompressed past the limits. The job directory only changes
//! when ingest succeeds (work happens in a staging folder that replaces the old output at the end).

use std::collections::HashMap;
use std::fs::File;
use std::io::{Cursor, Read};
use std::path::{Component, Path};

use anyhow::{bail, Context as _};
use image::{DynamicImage, ImageReader};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::job::{write_atomic, JobDir};
use domain::job::Stage;
use photo::exif::{self, PhotoExif};
use photo::header::{self, Format, Header};

use crate::progress::{Event, Progress};

#[derive(Debug, Clone)]
pub struct Limits {
    /// Entries in an archive (or files in a folder).
    pub max_files: usize,
    /// One photo, as stored or as it would decompress.
    pub max_file_bytes: u64,
    /// Everything accepted, decompressed.
    pub max_total_bytes: u64,
    /// How many times its packed size one entry may expand to. Photos barely compress (a JPEG
    /// or a PNG ~1×, an uncompressed TIFF a few times); anything past this is a bomb, stopped
    /// after reading that much rather than at `max_file_bytes`.
    pub max_ratio: u64,
    /// Width × height of one photo (a 100-megapixel PNG header is a decompression bomb).
    pub max_pixels: u64,
    /// Shortest side, below which SIFT finds too little.
    pub min_side: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_files: 5_000,
            max_file_bytes: 200 << 20,
            max_total_bytes: 100 << 30,
            max_ratio: 100,
            max_pixels: 200_000_000,
            min_side: 128,
        }
    }
}

#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// The working copies' longest side, in pixels (originals are kept as they are).
    pub working_max_size: u32,
    pub limits: Limits,
    /// Fewer distinct photos than this cannot make a model.
    pub min_photos: usize,
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            working_max_size: 1600,
            limits: Limits::default(),
            min_photos: 3,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    pub source: String,
    pub working_max_size: u32,
    pub photos: Vec<Photo>,
    pub rejected: Vec<Rejected>,
}

impl Manifest {
    pub fn read(job: &JobDir) -> anyhow::Result<Self> {
        let path = job.manifest();
        let bytes = std::fs::read(&path).with_context(|| {
            format!(
                "cannot read {} (run `spaceport ingest` first)",
                path.display()
            )
        })?;
        serde_json::from_slice(&bytes).with_context(|| format!("{} is corrupt", path.display()))
    }

    /// Photos with a GPS position.
    pub fn with_gps(&self) -> usize {
        self.photos.iter().filter(|p| p.exif.gps.is_some()).count()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Photo {
    /// File name of the working copy in `images/` (what COLMAP calls the image).
    pub name: String,
    /// File name of the untouched original in `originals/`.
    pub original: String,
    /// Where it came from inside the archive or folder.
    pub source: String,
    pub bytes: u64,
    pub sha256: String,
    pub width: u32,
    pub height: u32,
    pub working_width: u32,
    pub working_height: u32,
    pub exif: PhotoExif,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rejected {
    pub file: String,
    pub reason: String,
}

/// Files every OS sprinkles into folders and archives; refused quietly as what they are.
fn is_system_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    path.starts_with("__MACOSX/")
        || path.contains("/__MACOSX/")
        || name.starts_with("._")
        || name.eq_ignore_ascii_case(".DS_Store")
        || name.eq_ignore_ascii_case("Thumbs.db")
        || name.eq_ignore_ascii_case("desktop.ini")
}

/// What processing one accepted photo produces.
struct Processed {
    width: u32,
    height: u32,
    working: Vec<u8>,
    working_width: u32,
    working_height: u32,
    exif: PhotoExif,
}

/// Decodes, checks and downscales one photo. `Err` is the reason it is refused.
fn process(bytes: &[u8], opts: &IngestOptions) -> Result<Processed, String> {
    let Header {
        format,
        width: w,
        height: h,
    } = header::read(bytes)?;
    let name = format.name();
    let pixels = u64::from(w) * u64::from(h);
    if pixels > opts.limits.max_pixels {
        return Err(format!(
            "{w}×{h} is {} megapixels; the limit is {}",
            pixels / 1_000_000,
            opts.limits.max_pixels / 1_000_000
        ));
    }
    if w.min(h) < opts.limits.min_side {
        return Err(format!(
            "{w}×{h} is too small to reconstruct from (at least {} pixels on the short side)",
            opts.limits.min_side
        ));
    }
    if format == Format::Jpeg && header::is_truncated_jpeg(bytes) {
        return Err(
            "truncated JPEG: the file ends before the image does (an interrupted copy or upload?)"
                .into(),
        );
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("unreadable {name}: {e}"))?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(pixels * 4 + (64 << 20));
    reader.limits(limits);
    let mut img = reader
        .decode()
        .map_err(|e| format!("corrupt {name}: {e}"))?;
    let exif = exif::read(bytes);
    if let Some(o) = exif
        .orientation
        .and_then(image::metadata::Orientation::from_exif)
    {
        img.apply_orientation(o);
    }
    let (width, height) = (img.width(), img.height());
    let working = if width.max(height) > opts.working_max_size {
        img.resize(
            opts.working_max_size,
            opts.working_max_size,
            image::imageops::FilterType::Lanczos3,
        )
    } else {
        img
    };
    let rgb = DynamicImage::ImageRgb8(working.to_rgb8());
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95)
        .encode_image(&rgb)
        .map_err(|e| format!("cannot encode the working copy: {e}"))?;
    // The working copy carries the facts COLMAP reads from EXIF (focal length prior, GPS for
    // spatial matching); its pixels are already upright, so no orientation tag.
    let working_exif = PhotoExif {
        orientation: None,
        ..exif.clone()
    };
    Ok(Processed {
        width,
        height,
        working: exif::insert_into_jpeg(&jpeg, &working_exif),
        working_width: rgb.width(),
        working_height: rgb.height(),
        exif,
    })
}

/// A candidate file: its display path and either its bytes or why it was refused unread.
type Candidate = (String, Result<Vec<u8>, String>);

/// Reads candidates from a zip archive, never trusting its declared sizes or names.
fn zip_candidates(
    path: &Path,
    limits: &Limits,
    mut each: impl FnMut(Candidate) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut archive = zip::ZipArchive::new(file)
        .with_context(|| format!("{} is not a readable zip archive", path.display()))?;
    if archive.len() > limits.max_files {
        bail!(
            "the archive holds {} entries; the limit is {} photos per job",
            archive.len(),
            limits.max_files
        );
    }
    let mut total = 0u64;
    for i in 0..archive.len() {
        let mut entry = match archive.by_index(i) {
            Ok(e) => e,
            Err(e) => {
                each((format!("entry #{}", i + 1), Err(format!("unreadable: {e}"))))?;
                continue;
            }
        };
        let name = entry.name().to_string();
        if entry.is_dir() {
            continue;
        }
        let refuse = |reason: String| Ok::<_, anyhow::Error>((name.clone(), Err(reason)));
        let candidate = if entry.enclosed_name().is_none() || name.contains('\\') {
            refuse("unsafe path (it points outside the archive); skipped".into())?
        } else if entry.is_symlink() {
            refuse("a symbolic link; skipped".into())?
        } else if entry.encrypted() {
            refuse("encrypted; upload it without a password".into())?
        } else if entry.size() > limits.max_file_bytes {
            refuse(format!(
                "{} MiB uncompressed; the limit is {} MiB per photo",
                entry.size() >> 20,
                limits.max_file_bytes >> 20
            ))?
        } else {
            // The declared sizes may lie: read at most one byte past either limit (the
            // packed size bounds what is read of the entry's compressed data).
            let packed = entry.compressed_size().max(1);
            let by_ratio = packed.saturating_mul(limits.max_ratio).max(64 << 10);
            let mut bytes = Vec::new();
            let read = (&mut entry)
                .take(limits.max_file_bytes.min(by_ratio) + 1)
                .read_to_end(&mut bytes);
            match read {
                Err(e) => refuse(format!("corrupt archive entry: {e}"))?,
                Ok(_) if bytes.len() as u64 > limits.max_file_bytes => refuse(format!(
                    "expands past {} MiB (a zip bomb?); skipped",
                    limits.max_file_bytes >> 20
                ))?,
                Ok(_) if bytes.len() as u64 > by_ratio => refuse(format!(
                    "expands more than {} times its packed size, which no photo does (a zip \
                     bomb?); skipped",
                    limits.max_ratio
                ))?,
                Ok(n) => {
                    total += n as u64;
                    if total > limits.max_total_bytes {
                        bail!(
                            "the archive expands past {} GiB; split the photos into smaller uploads",
                            limits.max_total_bytes >> 30
                        );
                    }
                    (name.clone(), Ok(bytes))
                }
            }
        };
        each(candidate)?;
    }
    Ok(())
}

/// Lists a folder's files (recursively, sorted, symbolic links not followed).
fn folder_candidates(
    root: &Path,
    limits: &Limits,
    mut each: impl FnMut(Candidate) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut files = Vec::new();
    let mut stack = vec![(root.to_path_buf(), 0)];
    while let Some((dir, depth)) = stack.pop() {
        let entries =
            std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?;
        for entry in entries {
            let entry = entry?;
            let kind = entry.file_type()?;
            let rel = entry
                .path()
                .strip_prefix(root)
                .map_or_else(|_| entry.path(), Path::to_path_buf);
            if kind.is_dir() && depth < 16 {
                stack.push((entry.path(), depth + 1));
            } else if kind.is_file() || kind.is_symlink() {
                files.push((rel, kind.is_symlink()));
            }
        }
        if files.len() > limits.max_files {
            bail!(
                "the folder holds more than {} files; the limit is {} photos per job",
                limits.max_files,
                limits.max_files
            );
        }
    }
    files.sort();
    let mut total = 0u64;
    for (rel, symlink) in files {
        let name = rel.to_string_lossy().replace('\\', "/");
        let path = root.join(&rel);
        let candidate = if symlink {
            (name, Err("a symbolic link; not followed".to_string()))
        } else {
            let size = std::fs::metadata(&path).map_or(0, |m| m.len());
            if size > limits.max_file_bytes {
                (
                    name,
                    Err(format!(
                        "{} MiB; the limit is {} MiB per photo",
                        size >> 20,
                        limits.max_file_bytes >> 20
                    )),
                )
            } else {
                total += size;
                if total > limits.max_total_bytes {
                    bail!(
                        "the folder holds more than {} GiB of photos; split them into smaller jobs",
                        limits.max_total_bytes >> 30
                    );
                }
                match std::fs::read(&path) {
                    Ok(bytes) => (name, Ok(bytes)),
                    Err(e) => (name, Err(format!("cannot read: {e}"))),
                }
            }
        };
        each(candidate)?;
    }
    Ok(())
}

/// A file name safe on every file system, unique among those already taken.
fn unique_name(source: &str, extension: &str, taken: &mut HashMap<String, usize>) -> String {
    let file = Path::new(source)
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy()),
            _ => None,
        })
        .next_back()
        .map_or_else(|| "photo".to_string(), |s| s.to_string());
    let stem = Path::new(&file)
        .file_stem()
        .map_or_else(|| "photo".into(), |s| s.to_string_lossy().to_string());
    let clean: String = stem
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let clean = if clean.is_empty() || clean.starts_with('.') {
        format!("photo{clean}")
    } else {
        clean
    };
    // `taken` holds every name given so far (lower case: file systems that ignore case), each
    // with the last suffix tried from it as a base. A suffixed name may itself be an entry's own
    // name ("a.jpg", "a.jpg", "a-2.jpg"), so every candidate is checked against all given.
    let base = format!("{clean}.{extension}");
    let mut n = taken.get(&base.to_lowercase()).copied().unwrap_or(0);
    let name = loop {
        n += 1;
        let candidate = if n == 1 {
            base.clone()
        } else {
            format!("{clean}-{n}.{extension}")
        };
        if !taken.contains_key(&candidate.to_lowercase()) {
            break candidate;
        }
    };
    taken.insert(base.to_lowercase(), n);
    taken.entry(name.to_lowercase()).or_insert(0);
    name
}

/// Runs ingest: reads `src` (a zip or a folder), writes `originals/`, `images/` and
/// `manifest.json` into the job directory. Fails, leaving any earlier output in place, when
/// fewer than `min_photos` distinct photos are usable.
pub fn ingest(
    src: &Path,
    job: &JobDir,
    opts: &IngestOptions,
    progress: &mut dyn Progress,
) -> anyhow::Result<Manifest> {
    let meta = std::fs::metadata(src).with_context(|| format!("cannot read {}", src.display()))?;
    std::fs::create_dir_all(job.root())
        .with_context(|| format!("cannot create {}", job.root().display()))?;
    let staging = job.root().join(".ingest-staging");
    if staging.exists() {
        std::fs::remove_dir_all(&staging)?; // left by an interrupted run
    }
    let (stage_originals, stage_images) = (staging.join("originals"), staging.join("images"));
    std::fs::create_dir_all(&stage_originals)?;
    std::fs::create_dir_all(&stage_images)?;

    let mut photos: Vec<Photo> = Vec::new();
    let mut rejected = Vec::new();
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut taken_originals = HashMap::new();
    let mut taken_images = HashMap::new();
    let mut handle = |(source, content): Candidate| -> anyhow::Result<()> {
        let mut refuse = |reason: String| {
            progress.report(Event::new(
                Stage::Ingest,
                "refused",
                None,
                format!("{source}: {reason}"),
            ));
            rejected.push(Rejected {
                file: source.clone(),
                reason,
            });
        };
        if is_system_file(&source) {
            refuse("system file, not a photo".into());
            return Ok(());
        }
        let bytes = match content {
            Ok(b) => b,
            Err(reason) => {
                refuse(reason);
                return Ok(());
            }
        };
        let sha = format!("{:x}", Sha256::digest(&bytes));
        if let Some(first) = seen.get(&sha) {
            refuse(format!("identical to {first}"));
            return Ok(());
        }
        let processed = match process(&bytes, opts) {
            Ok(p) => p,
            Err(reason) => {
                refuse(reason);
                return Ok(());
            }
        };
        seen.insert(sha.clone(), source.clone());
        let ext = Path::new(&source)
            .extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .filter(|e| matches!(e.as_str(), "jpg" | "jpeg" | "png"))
            .unwrap_or_else(|| "jpg".into());
        let original = unique_name(&source, &ext, &mut taken_originals);
        let name = unique_name(&source, "jpg", &mut taken_images);
        std::fs::write(stage_originals.join(&original), &bytes)?;
        std::fs::write(stage_images.join(&name), &processed.working)?;
        progress.report(Event::new(
            Stage::Ingest,
            "photo",
            None,
            format!(
                "{source}: {}×{} → {}×{}{}",
                processed.width,
                processed.height,
                processed.working_width,
                processed.working_height,
                if processed.exif.gps.is_some() {
                    ", GPS"
                } else {
                    ""
                }
            ),
        ));
        photos.push(Photo {
            name,
            original,
            source: source.clone(),
            bytes: bytes.len() as u64,
            sha256: sha,
            width: processed.width,
            height: processed.height,
            working_width: processed.working_width,
            working_height: processed.working_height,
            exif: processed.exif,
        });
        Ok(())
    };
    let read = if meta.is_dir() {
        folder_candidates(src, &opts.limits, &mut handle)
    } else {
        zip_candidates(src, &opts.limits, &mut handle)
    };
    if let Err(e) = read {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }

    if photos.len() < opts.min_photos {
        let _ = std::fs::remove_dir_all(&staging);
        let duplicates = rejected
            .iter()
            .filter(|r| r.reason.starts_with("identical to"))
            .count();
        if photos.len() == 1 && duplicates > 0 {
            bail!(
                "all {} photos are the same picture; take photos from different positions around the subject",
                duplicates + 1
            );
        }
        let detail = if rejected.is_empty() {
            String::new()
        } else {
            let first: Vec<_> = rejected
                .iter()
                .take(3)
                .map(|r| format!("{}: {}", r.file, r.reason))
                .collect();
            format!(
                "; {} file(s) refused ({}{})",
                rejected.len(),
                first.join("; "),
                if rejected.len() > 3 { "; …" } else { "" }
            )
        };
        bail!(
            "{} usable photo(s); at least {} distinct photos of the subject are needed (a good model takes dozens){detail}",
            photos.len(),
            opts.min_photos
        );
    }

    let manifest = Manifest {
        version: 1,
        source: src.display().to_string(),
        working_max_size: opts.working_max_size,
        photos,
        rejected,
    };
    for (from, to) in [
        (stage_originals, job.originals()),
        (stage_images, job.images()),
    ] {
        if to.exists() {
            std::fs::remove_dir_all(&to)?;
        }
        std::fs::rename(from, to)?;
    }
    std::fs::remove_dir_all(&staging)?;
    write_atomic(&job.manifest(), &serde_json::to_vec_pretty(&manifest)?)?;
    progress.report(Event::new(
        Stage::Ingest,
        "done",
        Some(1.0),
        format!(
            "{} photos accepted ({} with GPS), {} refused",
            manifest.photos.len(),
            manifest.with_gps(),
            manifest.rejected.len()
        ),
    ));
    Ok(manifest)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    #[test]
    fn names_are_flattened_sanitised_and_unique() {
        let mut taken = HashMap::new();
        assert_eq!(unique_name("a/b/IMG 1.JPG", "jpg", &mut taken), "IMG_1.jpg");
        assert_eq!(unique_name("c/IMG 1.jpg", "jpg", &mut taken), "IMG_1-2.jpg");
        assert_eq!(
            unique_name("../../etc/passwd", "jpg", &mut taken),
            "passwd.jpg"
        );
        assert_eq!(
            unique_name(".hidden", "jpg", &mut taken),
            "photo.hidden.jpg"
        );
    }

    #[test]
    fn a_name_that_looks_suffixed_never_lands_on_a_given_one() {
        let mut taken = HashMap::new();
        let names: Vec<String> = ["a.jpg", "A.JPG", "a-2.jpg", "a.jpg", "a-2.jpg", "a-3.jpg"]
            .iter()
            .map(|source| unique_name(source, "jpg", &mut taken))
            .collect();
        assert_eq!(
            names,
            [
                "a.jpg",
                "A-2.jpg",
                "a-2-2.jpg",
                "a-3.jpg",
                "a-2-3.jpg",
                "a-3-2.jpg"
            ]
        );
        let distinct: std::collections::HashSet<String> =
            names.iter().map(|n| n.to_lowercase()).collect();
        assert_eq!(distinct.len(), names.len());
    }

    #[test]
    fn system_files_are_recognised() {
        assert!(is_system_file("__MACOSX/._a.jpg"));
        assert!(is_system_file("x/.DS_Store"));
        assert!(!is_system_file("x/a.jpg"));
    }
}
