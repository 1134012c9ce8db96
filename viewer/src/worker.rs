//! The depth sort off the main thread. The page starts this same wasm in a module worker
//! (`public/viewer-sort-worker.js`) and calls [`sort_worker`]; the viewer then sends the splat
//! centres once and, whenever the view changes, the camera's viewing axis, and gets back the
//! back-to-front order (transferred, not copied) with the time the sort took. The main thread
//! keeps drawing with the last order it has while the next one is made, so a 2M-splat sort
//! (≈30 ms) never holds up a frame.
//!
//! Messages in: `{positions: Float32Array}` (x, y, z per splat), `{id, axis: Float32Array}`
//! (row x, y, z and t). Out: `"ready"`, then `{id, order: Uint32Array, ms}` per sort.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Float32Array, Object, Reflect, Uint32Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::sort::DepthSorter;

#[derive(Default)]
struct Sorting {
    positions: Vec<[f32; 3]>,
    sorter: DepthSorter,
    order: Vec<u32>,
}

fn field(data: &JsValue, name: &str) -> Option<JsValue> {
    Reflect::get(data, &JsValue::from_str(name))
        .ok()
        .filter(|v| !v.is_undefined())
}

/// Runs in the worker: answers sort requests until the worker is terminated.
#[wasm_bindgen]
pub fn sort_worker() -> Result<(), JsValue> {
    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().dyn_into()?;
    let state = Rc::new(RefCell::new(Sorting::default()));
    let reply_to = scope.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let data = event.data();
        let mut sorting = state.borrow_mut();
        if let Some(positions) = field(&data, "positions") {
            let flat = positions.unchecked_into::<Float32Array>().to_vec();
            sorting.positions = flat.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
            return;
        }
        let (Some(id), Some(axis)) = (field(&data, "id"), field(&data, "axis")) else {
            return;
        };
        let axis = axis.unchecked_into::<Float32Array>().to_vec();
        let [row_x, row_y, row_z, offset] = axis[..] else {
            return;
        };
        let clock = reply_to.performance();
        let now = || {
            clock
                .as_ref()
                .map_or_else(js_sys::Date::now, web_sys::Performance::now)
        };
        let started = now();
        let Sorting {
            positions,
            sorter,
            order,
        } = &mut *sorting;
        sorter.sort_along(positions, [row_x, row_y, row_z], offset, order);
        let ms = now() - started;
        let out = Uint32Array::from(order.as_slice());
        let reply = Object::new();
        let _ = Reflect::set(&reply, &JsValue::from_str("id"), &id);
        let _ = Reflect::set(&reply, &JsValue::from_str("ms"), &JsValue::from_f64(ms));
        let _ = Reflect::set(&reply, &JsValue::from_str("order"), &out);
        let _ = reply_to.post_message_with_transfer(&reply, &js_sys::Array::of1(&out.buffer()));
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The worker lives as long as the page's viewer; so does its handler.
    on_message.forget();
    scope.post_message(&JsValue::from_str("ready"))
}
