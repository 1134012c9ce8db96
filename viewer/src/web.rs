//! The browser viewer: `mount(container, url, options)` builds a canvas and its overlay inside
//! `container`, picks WebGPU (or WebGL2 when there is no WebGPU adapter, or when asked), streams
//! the model with a progress bar, and draws it with the shared renderer. Orbit, pan and zoom
//! with mouse, touch and keyboard; fly mode with WASD; double-click sets the orbit target.
//!
//! The container carries the state for pages and tests: `data-state` (`loading`, `ready`,
//! `error`), `data-backend` (`webgpu`, `webgl2`), `data-progress` (0–100), `data-frames`,
//! `data-sort` (`gpu`, `worker`, `main`), `data-webp` (`browser`, `wasm`: whose WebP decoder),
//! `data-decode-ms`, and `data-preview` (splats drawn before the model had fully arrived).

use crate::camera::{pick, OrbitCamera, UpAxis};
use crate::gpu_sort::{self, GpuSorter};
use crate::renderer::Renderer;
use crate::scene;
use crate::sort::DepthSorter;
use gloo_events::{EventListener, EventListenerOptions};
use gloo_render::{request_animation_frame, AnimationFrame};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Document, HtmlCanvasElement, HtmlElement};

/// Largest model the viewer downloads; a SOG of several million splats is well below.
const MAX_DOWNLOAD_BYTES: usize = 1 << 30;

struct Gpu {
    /// Kept for the viewer's lifetime: the browser loses the device once its instance is gone.
    _instance: wgpu::Instance,
    adapter: wgpu::Adapter,
    /// None when rendering offscreen only (`renderer=webgpu-offscreen`, for headless tests).
    surface: Option<wgpu::Surface<'static>>,
    /// Set when the browser takes the device away (driver reset, GPU process crash).
    lost: std::sync::Arc<std::sync::atomic::AtomicBool>,
    backend: &'static str,
    device: wgpu::Device,
    queue: wgpu::Queue,
    config: wgpu::SurfaceConfiguration,
    renderer: Renderer,
    max_dimension: u32,
}

#[derive(Default)]
struct Input {
    pointers: HashMap<i32, (f32, f32)>,
    /// Distance and midpoint of the last two-finger position, for pinch and two-finger pan.
    pinch: Option<(f32, (f32, f32))>,
    /// A right-button or shift drag pans instead of orbiting.
    panning: bool,
    keys: HashSet<String>,
}

struct State {
    container: HtmlElement,
    canvas: HtmlCanvasElement,
    gpu: Gpu,
    orbit: OrbitCamera,
    start: OrbitCamera,
    positions: Vec<[f32; 3]>,
    opacities: Vec<f32>,
    sorter: DepthSorter,
    order: Vec<u32>,
    /// `gpu`, `cpu`, or empty: the GPU on hardware WebGPU, else the CPU (the worker).
    sort_preference: String,
    /// Set when the depth sort runs in compute shaders; then no worker runs.
    gpu_sorter: Option<GpuSorter>,
    /// The view changed: sort (here or in the worker) and draw.
    dirty: bool,
    /// A new order arrived from the worker: draw.
    redraw: bool,
    worker: Option<SortWorker>,
    input: Input,
    frames: u32,
    last_time: f64,
    loaded: bool,
    frame: Option<AnimationFrame>,
    /// Milliseconds from navigation start to the first frame with the model in it.
    first_frame_ms: Option<f64>,
    /// The last sort times (ms), for `stats`.
    sort_ms: Vec<f64>,
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// The handle a page keeps; dropping it stops the viewer.
#[wasm_bindgen]
pub struct Viewer {
    state: Rc<RefCell<State>>,
    _listeners: Vec<EventListener>,
}

#[wasm_bindgen]
impl Viewer {
    /// Back to the start view.
    pub fn reset(&self) {
        let mut s = self.state.borrow_mut();
        s.orbit = s.start;
        s.dirty = true;
    }

    /// Orbits by a drag of (dx, dy) pixels — what a mouse drag does; for scripts and tests.
    pub fn orbit(&self, dx: f32, dy: f32) {
        let mut s = self.state.borrow_mut();
        let h = px(s.gpu.config.height);
        s.orbit.orbit(dx, dy, h);
        s.dirty = true;
    }

    /// Zooms by `factor` (> 1 closer).
    pub fn zoom(&self, factor: f32) {
        let mut s = self.state.borrow_mut();
        s.orbit.zoom(factor);
        s.dirty = true;
    }

    /// Timings for benchmarks, as JSON: milliseconds from navigation start to the first frame
    /// with the model, and the median CPU depth-sort time per frame.
    pub fn stats(&self) -> String {
        let s = self.state.borrow();
        let mut sorts = s.sort_ms.clone();
        sorts.sort_by(f64::total_cmp);
        let median = sorts.get(sorts.len() / 2).copied();
        format!(
            r#"{{"first_frame_ms":{},"sort_ms_median":{},"sort_samples":{},"splats":{}}}"#,
            s.first_frame_ms
                .map_or("null".into(), |v| format!("{v:.1}")),
            median.map_or("null".into(), |v| format!("{v:.2}")),
            sorts.len(),
            s.positions.len()
        )
    }

    /// Renders the current view offscreen and returns its RGBA pixels (canvas size, top row
    /// first). For tests and "save picture": it reads the renderer's own output, whatever the
    /// browser does when it composites the canvas.
    pub async fn capture(&self) -> Result<js_sys::Uint8Array, JsValue> {
        let (buffer, row, width, height, bgra, _texture, scope) = {
            let mut guard = self.state.borrow_mut();
            let s = &mut *guard;
            let (width, height) = (s.gpu.config.width, s.gpu.config.height);
            let camera = s.orbit.camera(width, height);
            // Sort for exactly this camera: the last frame's order may predate the latest input.
            if s.loaded && s.gpu_sorter.is_none() {
                s.sorter.sort(&s.positions, &camera, &mut s.order);
                s.gpu.renderer.set_order(&s.gpu.queue, &s.order);
            }
            let gpu = &s.gpu;
            let scope = gpu.device.push_error_scope(wgpu::ErrorFilter::Validation);
            let texture = gpu.device.create_texture(&wgpu::TextureDescriptor {
                label: Some("capture"),
                size: wgpu::Extent3d {
                    width,
                    height,
                    depth_or_array_layers: 1,
                },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: gpu.config.format,
                usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
                view_formats: &[],
            });
            let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
            let row = (width * 4).next_multiple_of(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT);
            let buffer = gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("capture"),
                size: u64::from(row) * u64::from(height),
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let mut encoder = gpu
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
            if let Some(sorter) = &s.gpu_sorter {
                sorter.encode(&gpu.queue, &mut encoder, &camera);
            }
            gpu.renderer
                .draw(&gpu.queue, &mut encoder, &view, &camera, [0.0; 3]);
            encoder.copy_texture_to_buffer(
                texture.as_image_copy(),
                wgpu::TexelCopyBufferInfo {
                    buffer: &buffer,
                    layout: wgpu::TexelCopyBufferLayout {
                        offset: 0,
                        bytes_per_row: Some(row),
                        rows_per_image: Some(height),
                    },
                },
                wgpu::Extent3d {
                    width,
                    height,
                    depth_or_array_layers: 1,
                },
            );
            gpu.queue.submit([encoder.finish()]);
            let bgra = matches!(gpu.config.format, wgpu::TextureFormat::Bgra8Unorm);
            // The texture must outlive the copy: on WebGPU, dropping it destroys it at once.
            (buffer, row, width, height, bgra, texture, scope)
        };
        if let Some(e) = scope.pop().await {
            return Err(JsValue::from_str(&format!("capture failed: {e}")));
        }
        let mapped: Rc<RefCell<Option<Result<(), wgpu::BufferAsyncError>>>> = Rc::default();
        let flag = Rc::clone(&mapped);
        buffer.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            *flag.borrow_mut() = Some(r);
        });
        // The map completes on a later turn of the browser's event loop.
        for _ in 0..3000 {
            let _ = self.state.borrow().gpu.device.poll(wgpu::PollType::Poll);
            if mapped.borrow().is_some() {
                break;
            }
            let _ = yield_to_browser().await;
        }
        match mapped.borrow_mut().take() {
            Some(Ok(())) => {}
            Some(Err(e)) => return Err(JsValue::from_str(&format!("capture failed: {e}"))),
            None => return Err(JsValue::from_str("capture timed out")),
        }
        let data = buffer
            .slice(..)
            .get_mapped_range()
            .map_err(|e| JsValue::from_str(&format!("capture failed: {e}")))?;
        let mut out = Vec::with_capacity((width * height * 4) as usize);
        for y in 0..height as usize {
            let line = &data[y * row as usize..][..width as usize * 4];
            for px in line.chunks_exact(4) {
                if bgra {
                    out.extend_from_slice(&[px[2], px[1], px[0], px[3]]);
                } else {
                    out.extend_from_slice(px);
                }
            }
        }
        Ok(js_sys::Uint8Array::from(out.as_slice()))
    }
}

/// A pixel count as a float (viewports are far below f32's exact-integer range).
#[allow(clippy::cast_precision_loss)]
fn px(v: impl Into<f64>) -> f32 {
    #[allow(clippy::cast_possible_truncation)]
    let f = v.into() as f32;
    f
}

fn document() -> Document {
    web_sys::window()
        .and_then(|w| w.document())
        .expect_throw("no document")
}

fn element(tag: &str, class: &str, parent: &web_sys::Element) -> HtmlElement {
    let e: HtmlElement = document()
        .create_element(tag)
        .expect_throw("create element")
        .unchecked_into();
    e.set_class_name(class);
    parent.append_child(&e).expect_throw("append");
    e
}

/// Shows `message` over the canvas (an empty message hides it).
fn show_message(container: &HtmlElement, message: &str, is_error: bool) {
    if let Ok(Some(box_)) = container.query_selector(".spv-message") {
        box_.set_text_content(Some(message));
        let _ = box_.set_attribute("data-error", if is_error { "true" } else { "false" });
        let _ = box_
            .unchecked_ref::<HtmlElement>()
            .style()
            .set_property("display", if message.is_empty() { "none" } else { "block" });
    }
    if is_error {
        set_data(container, "state", "error");
    }
}

fn set_data(container: &HtmlElement, key: &str, value: &str) {
    let _ = container.set_attribute(&format!("data-{key}"), value);
}

fn set_progress(container: &HtmlElement, fraction: f64, label: &str) {
    let pct = (fraction.clamp(0.0, 1.0) * 100.0).round();
    set_data(container, "progress", &format!("{pct}"));
    if let Ok(Some(bar)) = container.query_selector(".spv-progress-bar") {
        let _ = bar
            .unchecked_ref::<HtmlElement>()
            .style()
            .set_property("width", &format!("{pct}%"));
    }
    if let Ok(Some(text)) = container.query_selector(".spv-progress-label") {
        text.set_text_content(Some(label));
    }
    if let Ok(Some(wrap)) = container.query_selector(".spv-progress") {
        let _ = wrap
            .unchecked_ref::<HtmlElement>()
            .style()
            .set_property("display", if label.is_empty() { "none" } else { "block" });
    }
}

async fn create_gpu(
    canvas: &HtmlCanvasElement,
    webgpu: bool,
    present: bool,
) -> Result<Gpu, String> {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = if webgpu {
        wgpu::Backends::BROWSER_WEBGPU
    } else {
        wgpu::Backends::GL
    };
    if webgpu && !wgpu::util::is_browser_webgpu_supported().await {
        return Err("this browser offers no WebGPU adapter".into());
    }
    let instance = wgpu::Instance::new(desc);
    let surface = instance
        .create_surface(wgpu::SurfaceTarget::Canvas(canvas.clone()))
        .map_err(|e| format!("cannot draw into the page: {e}"))?;
    let adapter = instance
        .request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            compatible_surface: Some(&surface),
            ..wgpu::RequestAdapterOptions::default()
        })
        .await
        .map_err(|e| format!("no graphics adapter: {e}"))?;
    let limits = adapter.limits();
    let (device, queue) = adapter
        .request_device(&wgpu::DeviceDescriptor {
            label: Some("spaceport viewer"),
            // WebGPU: compute shaders for the depth sort, with buffers as large as the adapter's.
            required_limits: if webgpu {
                wgpu::Limits {
                    max_texture_dimension_2d: limits.max_texture_dimension_2d,
                    max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
                    max_buffer_size: limits.max_buffer_size,
                    max_compute_workgroups_per_dimension: limits
                        .max_compute_workgroups_per_dimension,
                    ..wgpu::Limits::downlevel_defaults()
                }
            } else {
                wgpu::Limits {
                    max_texture_dimension_2d: limits.max_texture_dimension_2d,
                    ..wgpu::Limits::downlevel_webgl2_defaults()
                }
            },
            ..wgpu::DeviceDescriptor::default()
        })
        .await
        .map_err(|e| format!("the graphics adapter refused a device: {e}"))?;
    // Errors the GPU reports outside any scope go to the console, where a bug report can quote them.
    device.on_uncaptured_error(std::sync::Arc::new(|e: wgpu::Error| {
        web_sys::console::error_1(&format!("spaceport viewer: GPU error: {e}").into());
    }));
    let lost = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = std::sync::Arc::clone(&lost);
    device.set_device_lost_callback(move |reason, message| {
        web_sys::console::error_1(
            &format!("spaceport viewer: GPU device lost ({reason:?}): {message}").into(),
        );
        flag.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    let caps = surface.get_capabilities(&adapter);
    // Splat colours are display values, as the reference renderer writes them: no sRGB encode.
    let format = caps
        .formats
        .iter()
        .copied()
        .find(|f| !f.is_srgb())
        .or_else(|| caps.formats.first().copied())
        .ok_or("the canvas offers no pixel format")?;
    let mut config = surface
        .get_default_config(&adapter, canvas.width().max(1), canvas.height().max(1))
        .ok_or("the canvas cannot be drawn by this adapter")?;
    config.format = format;
    config.present_mode = wgpu::PresentMode::Fifo;
    if present {
        surface.configure(&device, &config);
    }
    let renderer = Renderer::new(&device, format);
    Ok(Gpu {
        _instance: instance,
        adapter,
        surface: present.then_some(surface),
        lost,
        backend: if webgpu { "webgpu" } else { "webgl2" },
        device,
        queue,
        config,
        renderer,
        max_dimension: limits.max_texture_dimension_2d,
    })
}

/// Reads `url` to the end, reporting (bytes so far, total if known); refuses anything larger
/// than the limit.
async fn download(url: &str, progress: &dyn Fn(&[u8], Option<usize>)) -> Result<Vec<u8>, String> {
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
const TAIL_BYTES: usize = 64 * 1024;

/// The last bytes of `url` by a range request: (bytes, their offset, the file's size). `None`
/// when the server does not answer with a range.
async fn fetch_tail(url: &str) -> Option<(Vec<u8>, usize, usize)> {
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

/// What a bundle's tail says before its body arrives: where each entry will lie, and the
/// `meta.json` of the model without its higher SH bands, which can be drawn as soon as the
/// images it names are in.
struct BundlePlan {
    entries: Vec<splat::zip::Located>,
    core_meta: Vec<u8>,
    core_files: Vec<String>,
}

async fn bundle_plan(url: &str) -> Option<BundlePlan> {
    let (tail, base, _) = fetch_tail(url).await?;
    let entries = splat::zip::directory(&tail, base).ok()?;
    let meta = entries.iter().find(|e| e.name == "meta.json")?;
    let in_tail = splat::zip::Located {
        header: meta.header.checked_sub(base)?,
        ..meta.clone()
    };
    let meta = splat::zip::entry_data(&tail, &in_tail).ok()??;
    let mut meta: serde_json::Value = serde_json::from_slice(meta).ok()?;
    // Without higher bands there is nothing to draw early: the core is the whole model.
    meta.as_object_mut()?.remove("shN")?;
    let core_meta = meta.to_string().into_bytes();
    let core_files = sog_files(&core_meta).ok()?;
    Some(BundlePlan {
        entries,
        core_meta,
        core_files,
    })
}

/// An entry of the bundle, once all of it is in `bytes`.
fn arrived<'b>(plan: &BundlePlan, bytes: &'b [u8], name: &str) -> Option<&'b [u8]> {
    let entry = plan.entries.iter().find(|e| e.name == name)?;
    splat::zip::entry_data(bytes, entry).ok()?
}

/// Whether every image the model without its higher SH bands needs is in `bytes`.
fn core_arrived(plan: &BundlePlan, bytes: &[u8]) -> bool {
    plan.core_files
        .iter()
        .all(|f| arrived(plan, bytes, f).is_some())
}

/// The model without its higher SH bands (`None` if those images do not decode: the whole
/// model's decode will say why).
fn decode_core(plan: &BundlePlan, bytes: &[u8]) -> Option<splat::GaussianCloud> {
    let data = |name: &str| arrived(plan, bytes, name);
    splat::sog::decode(&plan.core_meta, |name| {
        data(name)
            .map(std::borrow::Cow::Borrowed)
            .ok_or_else(|| splat::FormatError::BadSog(format!("{name} has not arrived")))
    })
    .ok()
}

#[allow(clippy::cast_precision_loss)]
fn mib(b: usize) -> f64 {
    b as f64 / 1_048_576.0
}

/// The image files an unbundled SOG's `meta.json` names, each checked to be a plain file name.
fn sog_files(meta: &[u8]) -> Result<Vec<String>, String> {
    let value: serde_json::Value =
        serde_json::from_slice(meta).map_err(|e| format!("meta.json is not valid JSON: {e}"))?;
    let mut names = Vec::new();
    if let Some(sections) = value.as_object() {
        for section in sections.values() {
            if let Some(files) = section.get("files").and_then(|f| f.as_array()) {
                for f in files {
                    let name = f
                        .as_str()
                        .ok_or("meta.json lists a file name that is not text")?;
                    if name.is_empty()
                        || name.contains('/')
                        || name.contains('\\')
                        || name.contains("..")
                    {
                        return Err(format!(
                            "meta.json names '{name}', which is not a plain file name"
                        ));
                    }
                    if !names.iter().any(|n| n == name) {
                        names.push(name.to_owned());
                    }
                }
            }
        }
    }
    if names.is_empty() {
        return Err("meta.json names no image files: is this a SOG?".into());
    }
    Ok(names)
}

/// Downloads the model at `url`: a `.sog` bundle or PLY in one file, or an unbundled SOG
/// (`…/meta.json`, then every image it names from the same folder).
///
/// A `.sog` bundle with higher SH bands is drawn early: its central directory comes first (a
/// range request for its last bytes), and once the images of positions, shapes and base colours
/// have arrived, `preview` gets the model without its view-dependent colour while the rest
/// streams in.
async fn fetch_model(
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
                if core_arrived(plan, bytes) {
                    previewed.set(true);
                    if let Some(core) = decode_core(plan, bytes) {
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
    let names = sog_files(&meta)?;
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

/// Decodes a SOG from its files, its WebP images by the browser's own decoder where it has one
/// (the `WebCodecs` `ImageDecoder`, which decodes them all at once on the browser's threads) and
/// it decodes exactly — checked on a probe image whose colours sit under every kind of alpha, as
/// `sh0`'s do (opacity), which a premultiplying decoder would change — and by the format core's
/// decoder otherwise. `data-webp` says which.
async fn decode_sog(
    meta: &[u8],
    files: &[(String, &[u8])],
    container: &HtmlElement,
) -> Result<splat::GaussianCloud, String> {
    let file = |name: &str| files.iter().find(|(n, _)| n == name).map(|(_, d)| *d);
    let missing = |name: &str| splat::FormatError::BadSog(format!("{name} was not downloaded"));
    let started = now_ms();
    let names = sog_files(meta)?;
    // `?webp=wasm` on the page skips the browser's decoder (for comparing the two).
    let wasm_only = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .is_some_and(|q| q.contains("webp=wasm"));
    let images: Option<Vec<&[u8]>> = names.iter().map(|n| file(n)).collect();
    let (probe, probe_pixels) = decoder_probe();
    let mut decoded = match images {
        Some(mut images) if !wasm_only => {
            images.insert(0, &probe);
            browser_webp_all(&images).await.unwrap_or_default()
        }
        _ => Vec::new(),
    };
    // The probe first: the browser's decoder is trusted if it returns exactly its pixels.
    let trusted = decoded.len() == names.len() + 1
        && decoded
            .first()
            .is_some_and(|(w, h, px)| (*w, *h) == (16, 16) && *px == probe_pixels);
    let decoded: Vec<(String, Pixels)> = if trusted {
        names.iter().cloned().zip(decoded.drain(1..)).collect()
    } else {
        Vec::new()
    };
    set_data(container, "webp", if trusted { "browser" } else { "wasm" });
    let result = if trusted {
        let decoded = std::cell::RefCell::new(decoded);
        splat::sog::decode_with(meta, |name| {
            let mut list = decoded.borrow_mut();
            let at = list
                .iter()
                .position(|(n, _)| n == name)
                .ok_or_else(|| missing(name))?;
            let (_, (width, height, rgba)) = list.swap_remove(at);
            Ok(splat::sog::Source::Rgba {
                width,
                height,
                rgba,
            })
        })
    } else {
        splat::sog::decode(meta, |name| {
            file(name)
                .map(std::borrow::Cow::Borrowed)
                .ok_or_else(|| missing(name))
        })
    };
    set_data(
        container,
        "decode-ms",
        &format!("{:.0}", now_ms() - started),
    );
    result.map_err(|e| format!("the model could not be read: {e}"))
}

/// The largest decoded image taken from the browser: 256 MiB, 64 M texels (a SOG of 16 M
/// splats); past it the format core decodes, and refuses what no splat count justifies.
const MAX_IMAGE_BYTES: f64 = 256.0 * 1024.0 * 1024.0;

/// Width, height and RGBA8 rows of a decoded image.
type Pixels = (u32, u32, Vec<u8>);

/// A 16×16 lossless WebP and its pixels: colours under alpha 0, 1, 7, 128, 254 and 255.
fn decoder_probe() -> (Vec<u8>, Vec<u8>) {
    let pixels: Vec<u8> = (0..256u32)
        .flat_map(|i| {
            let byte = |k: u32| u8::try_from((i * k + 11) % 256).unwrap_or(0);
            [
                byte(37),
                byte(91),
                byte(13),
                [0, 1, 7, 128, 254, 255][i as usize % 6],
            ]
        })
        .collect();
    let mut webp = Vec::new();
    let encoded = image_webp::WebPEncoder::new(&mut webp).encode(
        &pixels,
        16,
        16,
        image_webp::ColorType::Rgba8,
    );
    // An encoder failure leaves no probe, and the format core decodes.
    if encoded.is_err() {
        webp.clear();
    }
    (webp, pixels)
}

/// The RGBA pixels of WebP images (not premultiplied, no colour conversion) by the browser's
/// `ImageDecoder`, all decoded at once on the browser's own threads; `None` where the browser has
/// no such decoder or any image fails.
async fn browser_webp_all(images: &[&[u8]]) -> Option<Vec<Pixels>> {
    use js_sys::{Array, Object, Promise, Reflect};
    let set = |o: &Object, k: &str, v: &JsValue| Reflect::set(o, &k.into(), v).ok();
    let call = |o: &JsValue, method: &str, args: &Array| -> Option<JsValue> {
        let f: js_sys::Function = Reflect::get(o, &method.into()).ok()?.dyn_into().ok()?;
        f.apply(o, args).ok()
    };
    let all = |promises: Array| async move {
        wasm_bindgen_futures::JsFuture::from(Promise::all(&promises))
            .await
            .ok()
            .and_then(|v| v.dyn_into::<Array>().ok())
    };
    let constructor: js_sys::Function = Reflect::get(&js_sys::global(), &"ImageDecoder".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let mut decoders = Vec::with_capacity(images.len());
    for bytes in images {
        let init = Object::new();
        set(&init, "type", &"image/webp".into())?;
        set(&init, "data", &js_sys::Uint8Array::from(*bytes).into())?;
        set(&init, "premultiplyAlpha", &"none".into())?;
        set(&init, "colorSpaceConversion", &"none".into())?;
        decoders.push(Reflect::construct(&constructor, &Array::of1(&init)).ok()?);
    }
    let pending: Option<Array> = decoders
        .iter()
        .map(|d| call(d, "decode", &Array::new()))
        .collect();
    let results = all(pending?).await;
    for d in &decoders {
        let _ = call(d, "close", &Array::new());
    }
    let frames: Vec<JsValue> = results?
        .iter()
        .filter_map(|r| Reflect::get(&r, &"image".into()).ok())
        .collect();
    let pixels = async {
        if frames.len() != images.len() {
            return None;
        }
        let mut buffers = Vec::with_capacity(frames.len());
        let copies = Array::new();
        for frame in &frames {
            // A hostile file can claim any size; the format core's decoder refuses it by name.
            let size = call(frame, "allocationSize", &Array::new())?
                .as_f64()
                .filter(|s| (1.0..=MAX_IMAGE_BYTES).contains(s))?;
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let buffer = js_sys::Uint8Array::new_with_length(size as u32);
            copies.push(&call(frame, "copyTo", &Array::of1(&buffer))?);
            buffers.push(buffer);
        }
        let layouts = all(copies).await?;
        frames
            .iter()
            .zip(buffers)
            .zip(layouts.iter())
            .map(|((frame, buffer), layout)| rgba_of(frame, &buffer, &layout))
            .collect::<Option<Vec<_>>>()
    }
    .await;
    for frame in &frames {
        let _ = call(frame, "close", &Array::new());
    }
    pixels
}

/// A decoded frame's pixels as RGBA rows, from its own layout: asking `copyTo` for `RGBA` goes
/// through colour maths that changes values by one or more.
fn rgba_of(frame: &JsValue, buffer: &js_sys::Uint8Array, layout: &JsValue) -> Option<Pixels> {
    use js_sys::Reflect;
    let number = |o: &JsValue, k: &str| Reflect::get(o, &k.into()).ok()?.as_f64();
    let side = |k: &str| {
        number(frame, k)
            .filter(|v| v.fract() == 0.0 && (1.0..=16_383.0).contains(v))
            .map(|v| {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let whole = v as u32;
                whole
            })
    };
    let (width, height) = (side("codedWidth")?, side("codedHeight")?);
    let format = Reflect::get(frame, &"format".into()).ok()?.as_string()?;
    let swap = match format.as_str() {
        "RGBA" | "RGBX" => false,
        "BGRA" | "BGRX" => true,
        _ => return None,
    };
    let opaque = format.ends_with('X');
    let plane = Reflect::get(layout, &0.into()).ok()?;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let (offset, stride) = (
        number(&plane, "offset")? as usize,
        number(&plane, "stride")? as usize,
    );
    let raw = buffer.to_vec();
    let row = width as usize * 4;
    let mut rgba = Vec::with_capacity(row * height as usize);
    for y in 0..height as usize {
        let line = raw.get(offset + y * stride..offset + y * stride + row)?;
        for px in line.chunks_exact(4) {
            let (r, b) = if swap { (px[2], px[0]) } else { (px[0], px[2]) };
            rgba.extend_from_slice(&[r, px[1], b, if opaque { 255 } else { px[3] }]);
        }
    }
    Some((width, height, rgba))
}

fn decode(bytes: &[u8]) -> Result<splat::GaussianCloud, String> {
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

fn yield_to_browser() -> wasm_bindgen_futures::JsFuture {
    // A resolved promise's continuation runs after the browser has painted pending DOM updates.
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = web_sys::window()
            .expect_throw("window")
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
    });
    wasm_bindgen_futures::JsFuture::from(promise)
}

/// Downloads, decodes and uploads the model; on failure shows why, with a retry button for
/// network errors.
async fn load(state: Rc<RefCell<State>>, url: String) {
    let container = state.borrow().container.clone();
    set_data(&container, "state", "loading");
    show_message(&container, "", false);
    set_progress(&container, 0.0, "Loading model…");
    let previewed = std::cell::Cell::new(false);
    let preview = |cloud: splat::GaussianCloud| {
        // A preview that cannot be shown is no loss: the whole model follows.
        if install(&mut state.borrow_mut(), &cloud, true).is_ok() {
            previewed.set(true);
            set_data(&container, "preview", &cloud.len().to_string());
        }
    };
    let cloud = match fetch_model(&url, &container, &preview).await {
        Ok(c) => c,
        Err(e) => {
            set_progress(&container, 0.0, "");
            show_message(&container, &e, true);
            // Network trouble is worth another try; a file that is not a model is not.
            if ["the network", "the connection", "the server answered"]
                .iter()
                .any(|p| e.starts_with(p))
            {
                add_retry(state, url);
            }
            return;
        }
    };
    // After a preview the user may already be looking around: keep their view.
    if let Err(e) = install(&mut state.borrow_mut(), &cloud, !previewed.get()) {
        set_progress(&container, 0.0, "");
        show_message(&container, &e, true);
        return;
    }
    set_data(&container, "splats", &cloud.len().to_string());
    set_progress(&container, 1.0, "");
    set_data(&container, "state", "ready");
}

/// Puts `cloud` on the GPU as the scene to draw (from the start view if `reframe`), with its depth
/// sort on the GPU or the CPU.
fn install(s: &mut State, cloud: &splat::GaussianCloud, reframe: bool) -> Result<(), String> {
    let packed = scene::pack(cloud, s.gpu.max_dimension).map_err(|e| format!("{e}"))?;
    let gpu = &mut s.gpu;
    gpu.renderer.set_scene(&gpu.device, &gpu.queue, &packed);
    if reframe {
        let up = s.orbit.up;
        s.orbit = OrbitCamera::framing(&packed.positions, up);
        s.start = s.orbit;
    }
    s.opacities = cloud
        .opacity_logits
        .iter()
        .map(|l| 1.0 / (1.0 + (-l).exp()))
        .collect();
    let gpu = &s.gpu;
    let on_gpu = match s.sort_preference.as_str() {
        "cpu" => false,
        "gpu" => true,
        _ => !gpu_sort::is_software(&gpu.adapter.get_info()),
    } && gpu.backend == "webgpu"
        && GpuSorter::supported(&gpu.adapter, packed.positions.len());
    s.gpu_sorter = on_gpu.then(|| GpuSorter::new(&gpu.device, &gpu.queue, &packed.positions));
    s.positions = packed.positions;
    if let Some(sorter) = &s.gpu_sorter {
        s.gpu
            .renderer
            .set_sorted_pairs(sorter.sorted(), sorter.count());
        // The GPU sorts every frame: the worker has nothing to do.
        if let Some(w) = s.worker.take() {
            w.worker.terminate();
        }
        set_data(&s.container, "sort", "gpu");
    } else if let Some(w) = s.worker.as_mut().filter(|w| w.usable()) {
        w.send_positions(&s.positions);
    }
    s.loaded = true;
    s.dirty = true;
    Ok(())
}

fn add_retry(state: Rc<RefCell<State>>, url: String) {
    let container = state.borrow().container.clone();
    let Ok(Some(message)) = container.query_selector(".spv-message") else {
        return;
    };
    let button = element("button", "spv-retry", &message);
    button.set_text_content(Some("Retry"));
    let listener = EventListener::once(&button, "click", move |_| {
        wasm_bindgen_futures::spawn_local(load(state, url));
    });
    listener.forget();
}

/// Keeps the last 240 sort times (ms).
fn record_sort(times: &mut Vec<f64>, ms: f64) {
    if times.len() >= 240 {
        times.remove(0);
    }
    times.push(ms);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum WorkerStatus {
    Starting,
    Ready,
    /// It could not start or broke: the main thread sorts.
    Failed,
}

/// The depth sort's worker, as the main thread sees it.
struct SortWorker {
    worker: web_sys::Worker,
    status: WorkerStatus,
    /// A sort is on its way back.
    in_flight: bool,
    /// The view changed since the last request.
    wanted: bool,
    next_id: u32,
    /// Replies to requests up to this id sort splats of an earlier scene: ignore them.
    stale_through: u32,
    _on_message: Closure<dyn FnMut(web_sys::MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl SortWorker {
    fn usable(&self) -> bool {
        self.status == WorkerStatus::Ready
    }

    fn request(&mut self, camera: &splat::render::Camera) {
        let [x, y, z] = camera.rotation[2];
        let axis = js_sys::Float32Array::from(&[x, y, z, camera.translation[2]][..]);
        let message = js_sys::Object::new();
        self.next_id = self.next_id.wrapping_add(1);
        let _ = js_sys::Reflect::set(&message, &"id".into(), &self.next_id.into());
        let _ = js_sys::Reflect::set(&message, &"axis".into(), &axis);
        if self.worker.post_message(&message).is_ok() {
            self.in_flight = true;
            self.wanted = false;
        } else {
            self.status = WorkerStatus::Failed;
        }
    }

    fn send_positions(&mut self, positions: &[[f32; 3]]) {
        self.stale_through = self.next_id;
        let flat: Vec<f32> = positions.iter().flatten().copied().collect();
        let array = js_sys::Float32Array::from(&flat[..]);
        let message = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&message, &"positions".into(), &array);
        let _ = self
            .worker
            .post_message_with_transfer(&message, &js_sys::Array::of1(&array.buffer()));
    }
}

/// Starts the sort worker (`/viewer-sort-worker.js`, this wasm again). Until it says it is
/// ready — or for good, if it cannot start — the main thread sorts.
fn start_sort_worker(state: &Rc<RefCell<State>>) -> Option<SortWorker> {
    let options = web_sys::WorkerOptions::new();
    options.set_type(web_sys::WorkerType::Module);
    let worker = web_sys::Worker::new_with_options("/viewer-sort-worker.js", &options).ok()?;
    let weak = Rc::downgrade(state);
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let Some(state) = weak.upgrade() else {
                return;
            };
            let mut guard = state.borrow_mut();
            let s = &mut *guard;
            let data = event.data();
            if data.as_string().as_deref() == Some("ready") {
                if let Some(w) = s
                    .worker
                    .as_mut()
                    .filter(|w| w.status == WorkerStatus::Starting)
                {
                    w.status = WorkerStatus::Ready;
                    set_data(&s.container, "sort", "worker");
                    if s.loaded {
                        w.send_positions(&s.positions);
                    }
                }
                return;
            }
            let Ok(order) = js_sys::Reflect::get(&data, &"order".into()) else {
                return;
            };
            let Some(w) = s.worker.as_mut() else {
                return;
            };
            w.in_flight = false;
            let id = js_sys::Reflect::get(&data, &"id".into())
                .ok()
                .and_then(|v| v.as_f64())
                .unwrap_or(0.0);
            if order.is_undefined() || id <= f64::from(w.stale_through) {
                return;
            }
            s.order = order.unchecked_into::<js_sys::Uint32Array>().to_vec();
            s.gpu.renderer.set_order(&s.gpu.queue, &s.order);
            if let Some(ms) = js_sys::Reflect::get(&data, &"ms".into())
                .ok()
                .and_then(|v| v.as_f64())
            {
                record_sort(&mut s.sort_ms, ms);
            }
            s.redraw = true;
        });
    let weak = Rc::downgrade(state);
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
        if let Some(state) = weak.upgrade() {
            let mut guard = state.borrow_mut();
            let s = &mut *guard;
            if let Some(w) = s.worker.as_mut() {
                w.status = WorkerStatus::Failed;
                // Nothing comes back from a broken worker: sort here from now on.
                w.in_flight = false;
                set_data(&s.container, "sort", "main");
                s.dirty = true;
            }
        }
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    Some(SortWorker {
        worker,
        status: WorkerStatus::Starting,
        in_flight: false,
        wanted: false,
        next_id: 0,
        stale_through: 0,
        _on_message: on_message,
        _on_error: on_error,
    })
}

fn frame(state: &Rc<RefCell<State>>, time: f64) {
    let mut guard = state.borrow_mut();
    let s = &mut *guard;
    let dt = if s.last_time > 0.0 {
        ((time - s.last_time) / 1000.0).min(0.1)
    } else {
        0.0
    };
    s.last_time = time;
    if s.gpu.lost.load(std::sync::atomic::Ordering::Relaxed) {
        device_lost(s);
        return;
    }
    apply_keys(s, dt);
    // Follow the canvas's size on screen (CSS pixels × device pixel ratio).
    let dpr = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let (w, h) = (
        ((f64::from(s.canvas.client_width()) * dpr).round() as u32).clamp(1, 8192),
        ((f64::from(s.canvas.client_height()) * dpr).round() as u32).clamp(1, 8192),
    );
    if w != s.gpu.config.width || h != s.gpu.config.height {
        s.canvas.set_width(w);
        s.canvas.set_height(h);
        s.gpu.config.width = w;
        s.gpu.config.height = h;
        if let Some(surface) = &s.gpu.surface {
            surface.configure(&s.gpu.device, &s.gpu.config);
        }
        s.dirty = true;
    }
    let moved = std::mem::take(&mut s.dirty);
    let camera = s.orbit.camera(w, h);
    if moved && s.loaded && s.gpu_sorter.is_none() {
        let worker = s.worker.as_mut().filter(|w| w.usable());
        match worker {
            // The worker sorts; this frame draws with the order it has.
            Some(worker) if s.first_frame_ms.is_some() => worker.wanted = true,
            // The first frame (and every frame without a worker) sorts here.
            _ => {
                let t0 = now_ms();
                s.sorter.sort(&s.positions, &camera, &mut s.order);
                let took = now_ms() - t0;
                record_sort(&mut s.sort_ms, took);
                s.gpu.renderer.set_order(&s.gpu.queue, &s.order);
            }
        }
    }
    if let Some(worker) = s.worker.as_mut().filter(|w| w.usable()) {
        if worker.wanted && !worker.in_flight {
            worker.request(&camera);
        }
    }
    if moved || std::mem::take(&mut s.redraw) {
        if s.loaded && s.first_frame_ms.is_none() {
            let t = now_ms();
            s.first_frame_ms = Some(t);
            set_data(&s.container, "first-frame-ms", &format!("{t:.0}"));
        }
        let current = s
            .gpu
            .surface
            .as_ref()
            .map(wgpu::Surface::get_current_texture);
        if s.gpu.surface.is_none() {
            // Offscreen only: `capture` draws on demand.
            s.frames += 1;
            set_data(&s.container, "frames", &s.frames.to_string());
        } else if let Some(
            wgpu::CurrentSurfaceTexture::Success(texture)
            | wgpu::CurrentSurfaceTexture::Suboptimal(texture),
        ) = current
        {
            let view = texture
                .texture
                .create_view(&wgpu::TextureViewDescriptor::default());
            let mut encoder = s
                .gpu
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
            if let Some(sorter) = &s.gpu_sorter {
                sorter.encode(&s.gpu.queue, &mut encoder, &camera);
            }
            s.gpu
                .renderer
                .draw(&s.gpu.queue, &mut encoder, &view, &camera, [0.0; 3]);
            s.gpu.queue.submit([encoder.finish()]);
            s.gpu.queue.present(texture);
            s.frames += 1;
            set_data(&s.container, "frames", &s.frames.to_string());
        } else {
            s.dirty = true;
        }
    }
    let next = Rc::clone(state);
    s.frame = Some(request_animation_frame(move |t| frame(&next, t)));
}

/// The browser took the GPU away. On WebGPU, WebGL2 often still works: reload on it; otherwise
/// say what happened and stop drawing.
fn device_lost(s: &mut State) {
    let window = web_sys::window().expect_throw("window");
    if s.gpu.backend == "webgpu" && s.gpu.surface.is_some() {
        show_message(
            &s.container,
            "The graphics device was lost; reopening with WebGL2…",
            false,
        );
        let search = window.location().search().unwrap_or_default();
        let sep = if search.is_empty() { "?" } else { "&" };
        let _ = window
            .location()
            .set_search(&format!("{search}{sep}renderer=webgl2"));
    } else {
        show_message(
            &s.container,
            "The graphics device was lost (the GPU driver may have reset). Reload the page to see the model again.",
            true,
        );
    }
}

/// Held keys move the camera every frame, scaled by the frame time so speed is steady.
fn apply_keys(s: &mut State, dt: f64) {
    if s.input.keys.is_empty() || dt <= 0.0 {
        return;
    }
    #[allow(clippy::cast_possible_truncation)]
    let dt = dt as f32;
    let speed = s.orbit.distance * 0.8 * dt;
    let turn = 1.2 * dt * px(s.gpu.config.height) / std::f32::consts::PI;
    let held = |k: &str| s.input.keys.contains(k);
    let (mut forward, mut right, mut yaw, mut pitch, mut zoom) = (0.0, 0.0, 0.0, 0.0, 1.0);
    if held("w") {
        forward += speed;
    }
    if held("s") {
        forward -= speed;
    }
    if held("d") {
        right += speed;
    }
    if held("a") {
        right -= speed;
    }
    if held("arrowleft") {
        yaw -= turn;
    }
    if held("arrowright") {
        yaw += turn;
    }
    if held("arrowup") {
        pitch -= turn;
    }
    if held("arrowdown") {
        pitch += turn;
    }
    if held("+") || held("=") {
        zoom *= 1.0 + 1.5 * dt;
    }
    if held("-") {
        zoom /= 1.0 + 1.5 * dt;
    }
    let h = px(s.gpu.config.height);
    s.orbit.fly(forward, right);
    s.orbit.orbit(yaw, pitch, h);
    s.orbit.zoom(zoom);
    s.dirty = true;
}

fn pointer_xy(e: &web_sys::PointerEvent, canvas: &HtmlCanvasElement) -> (f32, f32) {
    let rect = canvas.get_bounding_client_rect();
    #[allow(clippy::cast_possible_truncation)]
    (
        (f64::from(e.client_x()) - rect.left()) as f32,
        (f64::from(e.client_y()) - rect.top()) as f32,
    )
}

fn two_finger(pointers: &HashMap<i32, (f32, f32)>) -> Option<(f32, (f32, f32))> {
    let mut it = pointers.values();
    let (a, b) = (it.next()?, it.next()?);
    Some((
        (a.0 - b.0).hypot(a.1 - b.1),
        (f32::midpoint(a.0, b.0), f32::midpoint(a.1, b.1)),
    ))
}

fn listeners(state: &Rc<RefCell<State>>) -> Vec<EventListener> {
    let canvas = state.borrow().canvas.clone();
    let mut out = Vec::new();
    let active = EventListenerOptions::enable_prevent_default();
    let s = Rc::clone(state);
    out.push(EventListener::new_with_options(
        &canvas,
        "pointerdown",
        active,
        move |e| {
            let e: &web_sys::PointerEvent = e.unchecked_ref();
            e.prevent_default();
            let mut st = s.borrow_mut();
            let _ = st.canvas.set_pointer_capture(e.pointer_id());
            let _ = st.canvas.focus();
            let xy = pointer_xy(e, &st.canvas);
            st.input.pointers.insert(e.pointer_id(), xy);
            st.input.panning = e.button() == 2 || e.shift_key() || e.ctrl_key();
            st.input.pinch = two_finger(&st.input.pointers);
        },
    ));
    let s = Rc::clone(state);
    out.push(EventListener::new_with_options(
        &canvas,
        "pointermove",
        active,
        move |e| {
            let e: &web_sys::PointerEvent = e.unchecked_ref();
            let mut guard = s.borrow_mut();
            let st = &mut *guard;
            let Some(&old) = st.input.pointers.get(&e.pointer_id()) else {
                return;
            };
            e.prevent_default();
            let xy = pointer_xy(e, &st.canvas);
            st.input.pointers.insert(e.pointer_id(), xy);
            let h = px(st.canvas.client_height());
            if st.input.pointers.len() >= 2 {
                if let (Some((d0, m0)), Some((d1, m1))) =
                    (st.input.pinch, two_finger(&st.input.pointers))
                {
                    if d0 > 1.0 {
                        st.orbit.zoom(d1 / d0);
                    }
                    st.orbit.pan(m1.0 - m0.0, m1.1 - m0.1, h);
                    st.input.pinch = Some((d1, m1));
                }
            } else if st.input.panning {
                st.orbit.pan(xy.0 - old.0, xy.1 - old.1, h);
            } else {
                st.orbit.orbit(xy.0 - old.0, xy.1 - old.1, h);
            }
            st.dirty = true;
        },
    ));
    for kind in ["pointerup", "pointercancel"] {
        let s = Rc::clone(state);
        out.push(EventListener::new(&canvas, kind, move |e| {
            let e: &web_sys::PointerEvent = e.unchecked_ref();
            let mut st = s.borrow_mut();
            st.input.pointers.remove(&e.pointer_id());
            st.input.pinch = two_finger(&st.input.pointers);
        }));
    }
    let s = Rc::clone(state);
    out.push(EventListener::new_with_options(
        &canvas,
        "wheel",
        active,
        move |e| {
            let e: &web_sys::WheelEvent = e.unchecked_ref();
            e.prevent_default();
            let mut st = s.borrow_mut();
            // Lines (Firefox) and pixels both become a gentle, continuous factor.
            let delta = if e.delta_mode() == 1 {
                e.delta_y() * 16.0
            } else {
                e.delta_y()
            };
            #[allow(clippy::cast_possible_truncation)]
            st.orbit.zoom((-delta * 0.0015).exp() as f32);
            st.dirty = true;
        },
    ));
    let s = Rc::clone(state);
    out.push(EventListener::new(&canvas, "dblclick", move |e| {
        let e: &web_sys::MouseEvent = e.unchecked_ref();
        let mut guard = s.borrow_mut();
        let st = &mut *guard;
        let rect = st.canvas.get_bounding_client_rect();
        let dpr = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
        #[allow(clippy::cast_possible_truncation)]
        let (x, y) = (
            ((f64::from(e.client_x()) - rect.left()) * dpr) as f32,
            ((f64::from(e.client_y()) - rect.top()) * dpr) as f32,
        );
        let camera = st.orbit.camera(st.gpu.config.width, st.gpu.config.height);
        let opacities = &st.opacities;
        #[allow(clippy::cast_possible_truncation)]
        let radius = (12.0 * dpr) as f32;
        if let Some(p) = pick(&st.positions, |i| opacities[i], &camera, (x, y), radius) {
            st.orbit.set_target(p);
            st.dirty = true;
        }
    }));
    out.push(EventListener::new_with_options(
        &canvas,
        "contextmenu",
        active,
        |e| {
            e.prevent_default();
        },
    ));
    let s = Rc::clone(state);
    out.push(EventListener::new(&canvas, "keydown", move |e| {
        let e: &web_sys::KeyboardEvent = e.unchecked_ref();
        if e.ctrl_key() || e.meta_key() || e.alt_key() {
            return;
        }
        let key = e.key().to_ascii_lowercase();
        let mut st = s.borrow_mut();
        match key.as_str() {
            "r" | "home" => {
                st.orbit = st.start;
                st.dirty = true;
            }
            "f" => {
                drop(st);
                toggle_fullscreen(&s.borrow().container);
            }
            "w" | "a" | "s" | "d" | "arrowleft" | "arrowright" | "arrowup" | "arrowdown" | "+"
            | "=" | "-" => {
                e.prevent_default();
                st.input.keys.insert(key);
            }
            _ => {}
        }
    }));
    let s = Rc::clone(state);
    out.push(EventListener::new(&canvas, "keyup", move |e| {
        let e: &web_sys::KeyboardEvent = e.unchecked_ref();
        s.borrow_mut()
            .input
            .keys
            .remove(&e.key().to_ascii_lowercase());
    }));
    let s = Rc::clone(state);
    out.push(EventListener::new(&canvas, "blur", move |_| {
        s.borrow_mut().input.keys.clear();
    }));
    out
}

fn toggle_fullscreen(container: &HtmlElement) {
    let doc = document();
    if doc.fullscreen_element().is_some() {
        doc.exit_fullscreen();
    } else {
        let _ = container.request_fullscreen();
    }
}

fn button(parent: &web_sys::Element, label: &str, title: &str) -> HtmlElement {
    let b = element("button", "spv-button", parent);
    b.set_text_content(Some(label));
    let _ = b.set_attribute("title", title);
    let _ = b.set_attribute("type", "button");
    b
}

/// Builds the viewer inside `container` and starts loading `url`.
///
/// `up`: the scene's up axis (`-y`, `y`, `z`). `renderer`: empty for WebGPU with WebGL2 as the
/// fallback, `webgl2` to force the fallback, `webgpu-offscreen` to draw with WebGPU without
/// presenting to the canvas (headless Chromium loses a SwiftShader device that presents a WebGPU
/// canvas; tests read pictures back with `capture` instead). `sort`: empty to sort on the GPU
/// where WebGPU runs on hardware and on the CPU (in a worker) elsewhere, `gpu` or `cpu` to choose.
#[wasm_bindgen]
pub async fn mount(
    container: HtmlElement,
    url: String,
    up: String,
    renderer: String,
    sort: String,
) -> Result<Viewer, JsValue> {
    console_error_panic_hook::set_once();
    container.set_inner_html("");
    let _ = container.class_list().add_1("spv");
    let mut canvas: HtmlCanvasElement =
        element("canvas", "spv-canvas", &container).unchecked_into();
    let _ = canvas.set_attribute("tabindex", "0");
    let _ = canvas.set_attribute("aria-label", "3D model viewer: drag to orbit, right-drag or shift-drag to pan, wheel or pinch to zoom, WASD to fly, R to reset, F for full screen");
    let overlay = element("div", "spv-overlay", &container);
    let progress = element("div", "spv-progress", &overlay);
    element("div", "spv-progress-bar", &progress);
    element("div", "spv-progress-label", &progress);
    let message = element("div", "spv-message", &overlay);
    let _ = message.set_attribute("role", "alert");
    let toolbar = element("div", "spv-toolbar", &container);
    let reset = button(&toolbar, "Reset view", "Back to the start view (R)");
    let full = button(&toolbar, "Full screen", "Full screen (F)");
    element("div", "spv-help", &toolbar).set_text_content(Some(
        "Drag: orbit · Right-drag: pan · Wheel/pinch: zoom · WASD: fly · Double-click: focus",
    ));

    // WebGPU unless asked otherwise; a canvas that gave out a WebGPU context cannot give a
    // WebGL2 one, so the fallback gets a fresh canvas.
    let mut gpu = None;
    let mut reasons = Vec::new();
    if renderer != "webgl2" {
        match create_gpu(&canvas, true, renderer != "webgpu-offscreen").await {
            Ok(g) => {
                set_data(&container, "backend", "webgpu");
                gpu = Some(g);
            }
            Err(e) => reasons.push(format!("WebGPU: {e}")),
        }
    }
    if gpu.is_none() {
        let fresh: HtmlCanvasElement = document()
            .create_element("canvas")
            .map_err(|_| JsValue::from_str("create canvas"))?
            .unchecked_into();
        fresh.set_class_name("spv-canvas");
        let _ = fresh.set_attribute("tabindex", "0");
        let _ = container.replace_child(&fresh, &canvas);
        canvas = fresh;
        match create_gpu(&canvas, false, true).await {
            Ok(g) => {
                set_data(&container, "backend", "webgl2");
                gpu = Some(g);
            }
            Err(e) => reasons.push(format!("WebGL2: {e}")),
        }
    }
    let Some(gpu) = gpu else {
        let msg = format!(
            "This browser can draw neither WebGPU nor WebGL2 graphics, which the 3D viewer needs. \
             Try an up-to-date Chrome, Edge, Firefox or Safari, and check that hardware \
             acceleration is on. ({})",
            reasons.join("; ")
        );
        show_message(&container, &msg, true);
        return Err(JsValue::from_str(&msg));
    };
    let up = UpAxis::parse(&up).unwrap_or_default();
    let orbit = OrbitCamera::framing(&[], up);
    let state = Rc::new(RefCell::new(State {
        container: container.clone(),
        canvas,
        gpu,
        orbit,
        start: orbit,
        positions: Vec::new(),
        opacities: Vec::new(),
        sorter: DepthSorter::default(),
        order: Vec::new(),
        sort_preference: sort,
        gpu_sorter: None,
        dirty: true,
        redraw: false,
        worker: None,
        input: Input::default(),
        frames: 0,
        last_time: 0.0,
        loaded: false,
        frame: None,
        first_frame_ms: None,
        sort_ms: Vec::new(),
    }));
    let mut all = listeners(&state);
    let s = Rc::clone(&state);
    all.push(EventListener::new(&reset, "click", move |_| {
        let mut st = s.borrow_mut();
        st.orbit = st.start;
        st.dirty = true;
    }));
    let c = container.clone();
    all.push(EventListener::new(&full, "click", move |_| {
        toggle_fullscreen(&c);
    }));
    let worker = start_sort_worker(&state);
    state.borrow_mut().worker = worker;
    frame(&state, 0.0);
    wasm_bindgen_futures::spawn_local(load(Rc::clone(&state), url));
    Ok(Viewer {
        state,
        _listeners: all,
    })
}
