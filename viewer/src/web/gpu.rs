//! The GPU: WebGPU (or WebGL2) adapter, device and canvas surface, and what happens when the
//! browser takes the device away.

use super::dom::show_message;
use super::State;
use crate::renderer::Renderer;
use wasm_bindgen::prelude::UnwrapThrowExt;
use web_sys::HtmlCanvasElement;

pub(super) struct Gpu {
    /// Kept for the viewer's lifetime: the browser loses the device once its instance is gone.
    pub(super) _instance: wgpu::Instance,
    pub(super) adapter: wgpu::Adapter,
    /// None when rendering offscreen only (`renderer=webgpu-offscreen`, for headless tests).
    pub(super) surface: Option<wgpu::Surface<'static>>,
    /// Set when the browser takes the device away (driver reset, GPU process crash).
    pub(super) lost: std::sync::Arc<std::sync::atomic::AtomicBool>,
    pub(super) backend: &'static str,
    pub(super) device: wgpu::Device,
    pub(super) queue: wgpu::Queue,
    pub(super) config: wgpu::SurfaceConfiguration,
    pub(super) renderer: Renderer,
    pub(super) max_dimension: u32,
}

pub(super) async fn create_gpu(
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

/// The browser took the GPU away. On WebGPU, WebGL2 often still works: reload on it; otherwise
/// say what happened and stop drawing.
pub(super) fn device_lost(s: &mut State) {
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
