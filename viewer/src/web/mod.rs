//! The browser viewer: `mount(container, url, options)` builds a canvas and its overlay inside
//! `container`, picks WebGPU (or WebGL2 when there is no WebGPU adapter, or when asked), streams
//! the model with a progress bar, and draws it with the shared renderer. Orbit, pan and zoom
//! with mouse, touch and keyboard; fly mode with WASD; double-click sets the orbit target.
//!
//! The container carries the state for pages and tests: `data-state` (`loading`, `ready`,
//! `error`), `data-backend` (`webgpu`, `webgl2`), `data-progress` (0–100), `data-frames`,
//! `data-sort` (`gpu`, `worker`, `main`), `data-webp` (`browser`, `wasm`: whose WebP decoder),
//! `data-decode-ms`, and `data-preview` (splats drawn before the model had fully arrived).
//!
//! Split by concern: this module mounts the viewer and holds its state and page API (`Viewer`),
//! and loads a model into it; [`dom`] the overlay, [`gpu`] the device and its loss, [`fetch`]
//! the downloads, [`webp`] image decoding, [`sort_worker`] the depth sort's worker, [`input`]
//! mouse, touch and keys, [`frame`] the frame loop. What a SOG's file set means is format
//! knowledge, in `splat::sog::stream`.

mod dom;
mod fetch;
mod frame;
mod gpu;
mod input;
mod sort_worker;
mod webp;

use crate::camera::OrbitCamera;
use crate::camera::UpAxis;
use crate::gpu_sort;
use crate::gpu_sort::GpuSorter;
use crate::scene;
use crate::sort::DepthSorter;
use dom::button;
use dom::document;
use dom::element;
use dom::px;
use dom::set_data;
use dom::set_progress;
use dom::show_message;
use dom::toggle_fullscreen;
use fetch::fetch_model;
use frame::frame;
use frame::yield_to_browser;
use gloo_events::EventListener;
use gloo_render::AnimationFrame;
use gpu::create_gpu;
use gpu::Gpu;
use input::listeners;
use input::Input;
use sort_worker::start_sort_worker;
use sort_worker::SortWorker;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::prelude::JsValue;
use wasm_bindgen::JsCast;
use web_sys::HtmlCanvasElement;
use web_sys::HtmlElement;

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
