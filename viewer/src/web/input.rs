//! Input: mouse, touch and keyboard listeners, and held keys applied every frame.

use super::dom::px;
use super::dom::toggle_fullscreen;
use super::State;
use crate::camera::pick;
use gloo_events::EventListener;
use gloo_events::EventListenerOptions;
use std::cell::RefCell;
use std::collections::HashMap;
use std::collections::HashSet;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::HtmlCanvasElement;

#[derive(Default)]
pub(super) struct Input {
    pub(super) pointers: HashMap<i32, (f32, f32)>,
    /// Distance and midpoint of the last two-finger position, for pinch and two-finger pan.
    pub(super) pinch: Option<(f32, (f32, f32))>,
    /// A right-button or shift drag pans instead of orbiting.
    pub(super) panning: bool,
    pub(super) keys: HashSet<String>,
}

/// Held keys move the camera every frame, scaled by the frame time so speed is steady.
pub(super) fn apply_keys(s: &mut State, dt: f64) {
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

pub(super) fn pointer_xy(e: &web_sys::PointerEvent, canvas: &HtmlCanvasElement) -> (f32, f32) {
    let rect = canvas.get_bounding_client_rect();
    #[allow(clippy::cast_possible_truncation)]
    (
        (f64::from(e.client_x()) - rect.left()) as f32,
        (f64::from(e.client_y()) - rect.top()) as f32,
    )
}

pub(super) fn two_finger(pointers: &HashMap<i32, (f32, f32)>) -> Option<(f32, (f32, f32))> {
    let mut it = pointers.values();
    let (a, b) = (it.next()?, it.next()?);
    Some((
        (a.0 - b.0).hypot(a.1 - b.1),
        (f32::midpoint(a.0, b.0), f32::midpoint(a.1, b.1)),
    ))
}

pub(super) fn listeners(state: &Rc<RefCell<State>>) -> Vec<EventListener> {
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
