//! The frame loop: sort (here, in the worker or on the GPU), draw, and count frames.

use super::dom::set_data;
use super::gpu::device_lost;
use super::input::apply_keys;
use super::now_ms;
use super::sort_worker::record_sort;
use super::State;
use gloo_render::request_animation_frame;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::UnwrapThrowExt;

pub(super) fn frame(state: &Rc<RefCell<State>>, time: f64) {
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

pub(super) fn yield_to_browser() -> wasm_bindgen_futures::JsFuture {
    // A resolved promise's continuation runs after the browser has painted pending DOM updates.
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = web_sys::window()
            .expect_throw("window")
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
    });
    wasm_bindgen_futures::JsFuture::from(promise)
}
