//! Downloading the model: whole files with progress, a bundle's tail first by a range request
//! (so its base colours can be drawn before the SH palette arrives), unbundled SOG file sets.

use super::dom::mib;
use super::dom::set_progress;
use super::frame::yield_to_browser;
use super::webp::decode_sog;
use splat::sog::stream::files as sog_files;
use splat::sog::stream::BundlePlan;
use wasm_bindgen::JsCast;
use web_sys::HtmlElement;

/// Largest model the viewer downloads; a SOG of several million splats is well below.
pub(super) const MAX_DOWNLOAD_BYTES: usize = 1 << 30;

/// Reads `url` to the end, reporting (bytes so far, total if known); refuses anything larger
/// than the limit.
pub(super) async fn download(
    url: &str,
    progress: &dyn Fn(&[u8], Option<usize>),
) -> Result<Vec<u8>, String> {
    let window = web_sys::window().ok_or("no window")?;
    let response: web_sys::Response =
        wasm_bindgen_futures::JsFuture::from(window.fetch_with_str(url))
            .await
            .map_err(|_| "the network failed while fetching the model".to_string())?
            .unchecked_into();
    if !response.ok() {
        return Err(match response.status() {
            401 | 403 => "you are not allowed to open this model (sign in again?)".into(),
            404 => "the model was not found (was it deleted?)".into(),
            s => format!("the server answered {s} while fetching the model"),
        });
    }
    let total: Option<usize> = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse().ok());
    if total.is_some_and(|t| t > MAX_DOWNLOAD_BYTES) {
        return Err("the model is larger than this viewer opens (1 GiB)".into());
    }
    let body = response.body().ok_or("the response has no body")?;
    let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut bytes = Vec::with_capacity(total.unwrap_or(0));
    loop {
        let chunk = wasm_bindgen_futures::JsFuture::from(reader.read())
            .await
            .map_err(|_| "the connection dropped while downloading the model".to_string())?;
        let done = js_sys::Reflect::get(&chunk, &"done".into())
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(true);
        if done {
            break;
        }
        let value = js_sys::Reflect::get(&chunk, &"value".into()).map_err(|_| "bad chunk")?;
        let array: js_sys::Uint8Array = value.unchecked_into();
        let start = bytes.len();
        bytes.resize(start + array.length() as usize, 0);
        array.copy_to(&mut bytes[start..]);
        if bytes.len() > MAX_DOWNLOAD_BYTES {
            return Err("the model is larger than this viewer opens (1 GiB)".into());
        }
        progress(&bytes, total);
    }
    Ok(bytes)
}

/// How much of a `.sog` bundle's end is fetched first: `meta.json` (about 15 KB) and the
/// central directory sit there, as the format puts `meta.json` last.
pub(super) const TAIL_BYTES: usize = 64 * 1024;

/// The last bytes of `url` by a range request: (bytes, their offset, the file's size). `None`
/// when the server does not answer with a range.
pub(super) async fn fetch_tail(url: &str) -> Option<(Vec<u8>, usize, usize)> {
    let window = web_sys::window()?;
    let headers = web_sys::Headers::new().ok()?;
    headers.set("Range", &format!("bytes=-{TAIL_BYTES}")).ok()?;
    let init = web_sys::RequestInit::new();
    init.set_headers(&headers);
    let response: web_sys::Response =
        wasm_bindgen_futures::JsFuture::from(window.fetch_with_str_and_init(url, &init))
            .await
            .ok()?
            .unchecked_into();
    if response.status() != 206 {
        if let Some(body) = response.body() {
            let _ = body.cancel();
        }
        return None;
    }
    // "bytes FIRST-LAST/SIZE"
    let range = response.headers().get("content-range").ok()??;
    let (span, size) = range.strip_prefix("bytes ")?.split_once('/')?;
    let first: usize = span.split_once('-')?.0.parse().ok()?;
    let size: usize = size.parse().ok()?;
    // A server sending far more than was asked for gets a plain download instead.
    if size.saturating_sub(first) > 2 * TAIL_BYTES {
        if let Some(body) = response.body() {
            let _ = body.cancel();
        }
        return None;
    }
    let buffer = wasm_bindgen_futures::JsFuture::from(response.array_buffer().ok()?)
        .await
        .ok()?;
    let tail = js_sys::Uint8Array::new(&buffer).to_vec();
    (first + tail.len() == size).then_some((tail, first, size))
}

/// A `.sog` bundle's plan, from its tail fetched first (`None`: draw when all has arrived).
pub(super) async fn bundle_plan(url: &str) -> Option<BundlePlan> {
    let (tail, base, _) = fetch_tail(url).await?;
    BundlePlan::from_tail(&tail, base)
}

/// Downloads the model at `url`: a `.sog` bundle or PLY in one file, or an unbundled SOG
/// (`…/meta.json`, then every image it names from the same folder).
///
/// A `.sog` bundle with higher SH bands is drawn early: its central directory comes first (a
/// range request for its last bytes), and once the images of positions, shapes and base colours
/// have arrived, `preview` gets the model without its view-dependent colour while the rest
/// streams in.
pub(super) async fn fetch_model(
    url: &str,
    container: &HtmlElement,
    preview: &dyn Fn(splat::GaussianCloud),
) -> Result<splat::GaussianCloud, String> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    if !path.ends_with("meta.json") {
        let plan = if std::path::Path::new(path)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("sog"))
        {
            bundle_plan(url).await
        } else {
            None
        };
        let previewed = std::cell::Cell::new(false);
        let bytes = download(url, &|bytes, total| {
            let loaded = bytes.len();
            if let Some(plan) = plan.as_ref().filter(|_| !previewed.get()) {
                // One try: a core that does not decode is not decoded again for every chunk.
                if plan.core_arrived(bytes) {
                    previewed.set(true);
                    if let Some(core) = plan.decode_core(bytes) {
                        preview(core);
                    }
                }
            }
            let label = match total {
                Some(t) => format!("Loading model… {:.1} of {:.1} MB", mib(loaded), mib(t)),
                None => format!("Loading model… {:.1} MB", mib(loaded)),
            };
            #[allow(clippy::cast_precision_loss)]
            let fraction = total.map_or(0.5, |t| 0.9 * loaded as f64 / t.max(1) as f64);
            set_progress(container, fraction, &label);
        })
        .await?;
        set_progress(container, 0.92, "Decoding…");
        let _ = yield_to_browser().await;
        if bytes.starts_with(b"PK") {
            let entries = splat::zip::read_entries(&bytes)
                .map_err(|e| format!("the model could not be read: {e}"))?;
            let meta = entries
                .iter()
                .find(|(n, _)| n == "meta.json")
                .map(|(_, d)| *d)
                .ok_or("the model could not be read: the archive has no meta.json")?;
            return decode_sog(meta, &entries, container).await;
        }
        return decode(&bytes);
    }
    let base = &path[..path.len() - "meta.json".len()];
    let meta = download(url, &|_, _| {}).await?;
    let names = sog_files(&meta).map_err(|e| e.to_string())?;
    let mut files = Vec::with_capacity(names.len());
    let done_bytes = std::cell::Cell::new(0usize);
    for (i, name) in names.iter().enumerate() {
        let n = names.len();
        let bytes = download(&format!("{base}{name}"), &|bytes, total| {
            let loaded = bytes.len();
            #[allow(clippy::cast_precision_loss)]
            let within = total.map_or(0.5, |t| loaded as f64 / t.max(1) as f64);
            #[allow(clippy::cast_precision_loss)]
            let fraction = 0.9 * (i as f64 + within) / n as f64;
            let label = format!(
                "Loading model… file {} of {n}, {:.1} MB",
                i + 1,
                mib(done_bytes.get() + loaded)
            );
            set_progress(container, fraction, &label);
        })
        .await?;
        done_bytes.set(done_bytes.get() + bytes.len());
        files.push((name.clone(), bytes));
    }
    set_progress(container, 0.92, "Decoding…");
    let _ = yield_to_browser().await;
    let files: Vec<(String, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.clone(), b.as_slice()))
        .collect();
    decode_sog(&meta, &files, container).await
}

pub(super) fn decode(bytes: &[u8]) -> Result<splat::GaussianCloud, String> {
    let result = if bytes.starts_with(b"PK") {
        splat::sog::decode_bundle(bytes)
    } else if bytes.starts_with(b"ply") {
        splat::ply::read(bytes)
    } else {
        return Err(
            "this file is not a splat model (expected a .sog bundle or a 3DGS .ply)".into(),
        );
    };
    result.map_err(|e| format!("the model could not be read: {e}"))
}
