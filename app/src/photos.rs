//! Photos chosen one by one, as a folder, or dropped, made into one upload: a stored ZIP that the
//! browser assembles as a `File` from small headers and the photos' own `File`s, so nothing is
//! copied in memory. Each photo is read once, in slices, for its CRC-32 (the ZIP needs it up
//! front); the archive's bytes are the same every time for the same photos, so an interrupted
//! upload resumes.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Promise, Uint8Array};
use splat::zip::{stored_layout, Crc32, StoredEntry};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    DataTransfer, File, FilePropertyBag, FileSystemDirectoryEntry, FileSystemDirectoryReader,
    FileSystemEntry, FileSystemFileEntry,
};

/// Bytes hashed per read: large enough to be fast, small enough not to hold much memory.
const SLICE: f64 = 8.0 * 1024.0 * 1024.0;

/// Photos made into one archive, and what was left out.
pub struct Bundle {
    pub file: File,
    pub photos: usize,
    /// Names of the chosen files that are not JPEG or PNG photos.
    pub skipped: Vec<String>,
}

fn js(e: JsValue) -> String {
    e.as_string()
        .or_else(|| js_sys::JSON::stringify(&e).ok().and_then(|s| s.as_string()))
        .unwrap_or_else(|| "the browser could not read a file".into())
}

/// Whether a name is a photo the pipeline takes.
fn is_photo(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".jpg", ".jpeg", ".png"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// A file's path inside what the user chose: the folder-relative path for a folder pick (less
/// the chosen folder's own name), else its name.
fn path_of(file: &File) -> String {
    let relative = js_sys::Reflect::get(file, &JsValue::from_str("webkitRelativePath"))
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default();
    match relative.split_once('/') {
        Some((_, rest)) if !rest.is_empty() => rest.to_owned(),
        _ => file.name(),
    }
}

/// Zips `files` (pairs of path in the archive and file) for upload, calling `on_progress(done,
/// total)` in bytes as photos are read.
pub async fn bundle(
    files: Vec<(String, File)>,
    on_progress: impl Fn(f64, f64),
) -> Result<Bundle, String> {
    let mut photos: Vec<(String, File)> = Vec::new();
    let mut skipped = Vec::new();
    for (path, file) in files {
        if is_photo(&path) {
            photos.push((path, file));
        } else {
            skipped.push(path);
        }
    }
    photos.sort_by(|a, b| a.0.cmp(&b.0));
    photos.dedup_by(|a, b| a.0 == b.0);
    if photos.is_empty() {
        return Err("none of the chosen files is a JPEG or PNG photo".into());
    }
    let total: f64 = photos.iter().map(|(_, f)| f.size()).sum();
    // The archive this builds has no Zip64 records; tell the user before reading anything.
    if total > 4.0 * 1024.0 * 1024.0 * 1024.0 - 64.0 * 1024.0 * 1024.0 || photos.len() > 65_000 {
        return Err(format!(
            "these {} photos add up to {:.1} GB, more than a browser-made archive holds (4 GB): \
             zip them on your computer and upload the .zip, or upload fewer",
            photos.len(),
            total / 1e9
        ));
    }
    let mut crcs = Vec::with_capacity(photos.len());
    let mut done = 0.0;
    on_progress(0.0, total);
    for (_, file) in &photos {
        let mut crc = Crc32::new();
        let mut at = 0.0;
        while at < file.size() {
            let end = (at + SLICE).min(file.size());
            let slice = file.slice_with_f64_and_f64(at, end).map_err(js)?;
            let buffer = JsFuture::from(slice.array_buffer()).await.map_err(js)?;
            crc.update(&Uint8Array::new(&buffer).to_vec());
            done += end - at;
            at = end;
            on_progress(done, total);
        }
        crcs.push(crc.finish());
    }
    let entries: Vec<StoredEntry<'_>> = photos
        .iter()
        .zip(&crcs)
        .map(|((path, file), &crc)| StoredEntry {
            name: path,
            crc,
            // Whole numbers held in a double.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            size: file.size() as u64,
        })
        .collect();
    let layout = stored_layout(&entries).map_err(|e| e.to_string())?;
    let parts = Array::new();
    for (header, (_, file)) in layout.headers.iter().zip(&photos) {
        parts.push(&Uint8Array::from(header.as_slice()));
        parts.push(file);
    }
    parts.push(&Uint8Array::from(layout.trailer.as_slice()));
    let options = FilePropertyBag::new();
    options.set_type("application/zip");
    // The newest photo's time: the same photos give the same name, size and time, which is
    // what the upload's resume key is made of.
    let newest = photos
        .iter()
        .map(|(_, f)| f.last_modified())
        .fold(0.0, f64::max);
    options.set_last_modified(newest);
    let file =
        File::new_with_blob_sequence_and_options(&parts, "photos.zip", &options).map_err(js)?;
    Ok(Bundle {
        file,
        photos: photos.len(),
        skipped,
    })
}

/// The files of an `<input type="file">`, with their paths.
pub fn from_list(list: &web_sys::FileList) -> Vec<(String, File)> {
    (0..list.length())
        .filter_map(|i| list.item(i))
        .map(|f| (path_of(&f), f))
        .collect()
}

/// The entries of a drop, taken while the event lasts (the browser empties them afterwards).
pub fn dropped_entries(data: &DataTransfer) -> Vec<FileSystemEntry> {
    let items = data.items();
    (0..items.length())
        .filter_map(|i| items.get(i))
        .filter_map(|item| item.webkit_get_as_entry().ok().flatten())
        .collect()
}

/// Every file under the dropped entries, folders walked (to a sane depth), with their paths.
pub async fn files_of(entries: Vec<FileSystemEntry>) -> Result<Vec<(String, File)>, String> {
    let mut out = Vec::new();
    let mut stack: Vec<(FileSystemEntry, String, u32)> =
        entries.into_iter().map(|e| (e, String::new(), 0)).collect();
    while let Some((entry, prefix, depth)) = stack.pop() {
        if entry.is_file() {
            let file_entry: FileSystemFileEntry = entry.unchecked_into();
            let file = file_of(&file_entry).await?;
            out.push((format!("{prefix}{}", file.name()), file));
        } else if entry.is_directory() && depth < 8 {
            let dir: FileSystemDirectoryEntry = entry.unchecked_into();
            // A dropped folder's own name is left out, as for a folder chosen with the picker.
            let inner = if depth == 0 {
                String::new()
            } else {
                format!("{prefix}{}/", dir.name())
            };
            let reader = dir.create_reader();
            loop {
                let batch = read_batch(&reader).await?;
                if batch.is_empty() {
                    break;
                }
                stack.extend(batch.into_iter().map(|e| (e, inner.clone(), depth + 1)));
            }
        }
    }
    Ok(out)
}

/// Turns a callback-style call into a future: `call(resolve, reject)` with the Promise's own
/// resolve and reject functions, so no Rust closure has to outlive the call.
async fn callback_future(
    call: impl FnOnce(&js_sys::Function, &js_sys::Function),
) -> Result<JsValue, String> {
    let call = Rc::new(RefCell::new(Some(call)));
    let promise = Promise::new(&mut |resolve, reject| {
        if let Some(call) = call.borrow_mut().take() {
            call(&resolve, &reject);
        }
    });
    JsFuture::from(promise).await.map_err(js)
}

async fn file_of(entry: &FileSystemFileEntry) -> Result<File, String> {
    let value = callback_future(|resolve, reject| {
        entry.file_with_callback_and_callback(resolve, reject);
    })
    .await?;
    value.dyn_into().map_err(js)
}

/// One batch of a folder's entries (an empty batch means the end).
async fn read_batch(reader: &FileSystemDirectoryReader) -> Result<Vec<FileSystemEntry>, String> {
    let value = callback_future(|resolve, reject| {
        let _ = reader.read_entries_with_callback_and_callback(resolve, reject);
    })
    .await?;
    Ok(Array::from(&value)
        .iter()
        .filter_map(|v| v.dyn_into().ok())
        .collect())
}
