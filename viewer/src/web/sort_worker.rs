//! The depth sort's module worker (`/viewer-sort-worker.js`), as the main thread sees it.

use super::dom::set_data;
use super::State;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::Closure;
use wasm_bindgen::JsCast;

/// Keeps the last 240 sort times (ms).
pub(super) fn record_sort(times: &mut Vec<f64>, ms: f64) {
    if times.len() >= 240 {
        times.remove(0);
    }
    times.push(ms);
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum WorkerStatus {
    Starting,
    Ready,
    /// It could not start or broke: the main thread sorts.
    Failed,
}

/// The depth sort's worker, as the main thread sees it.
pub(super) struct SortWorker {
    pub(super) worker: web_sys::Worker,
    pub(super) status: WorkerStatus,
    /// A sort is on its way back.
    pub(super) in_flight: bool,
    /// The view changed since the last request.
    pub(super) wanted: bool,
    pub(super) next_id: u32,
    /// Replies to requests up to this id sort splats of an earlier scene: ignore them.
    pub(super) stale_through: u32,
    pub(super) _on_message: Closure<dyn FnMut(web_sys::MessageEvent)>,
    pub(super) _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl SortWorker {
    pub(super) fn usable(&self) -> bool {
        self.status == WorkerStatus::Ready
    }

    pub(super) fn request(&mut self, camera: &splat::render::Camera) {
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

    pub(super) fn send_positions(&mut self, positions: &[[f32; 3]]) {
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
pub(super) fn start_sort_worker(state: &Rc<RefCell<State>>) -> Option<SortWorker> {
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
