//! The viewer's DOM: the overlay (progress bar, messages), the toolbar, and the container's
//! `data-*` attributes that pages and tests read.

use wasm_bindgen::prelude::UnwrapThrowExt;
use wasm_bindgen::JsCast;
use web_sys::Document;
use web_sys::HtmlElement;

/// A pixel count as a float (viewports are far below f32's exact-integer range).
#[allow(clippy::cast_precision_loss)]
pub(super) fn px(v: impl Into<f64>) -> f32 {
    #[allow(clippy::cast_possible_truncation)]
    let f = v.into() as f32;
    f
}

pub(super) fn document() -> Document {
    web_sys::window()
        .and_then(|w| w.document())
        .expect_throw("no document")
}

pub(super) fn element(tag: &str, class: &str, parent: &web_sys::Element) -> HtmlElement {
    let e: HtmlElement = document()
        .create_element(tag)
        .expect_throw("create element")
        .unchecked_into();
    e.set_class_name(class);
    parent.append_child(&e).expect_throw("append");
    e
}

/// Shows `message` over the canvas (an empty message hides it).
pub(super) fn show_message(container: &HtmlElement, message: &str, is_error: bool) {
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

pub(super) fn set_data(container: &HtmlElement, key: &str, value: &str) {
    let _ = container.set_attribute(&format!("data-{key}"), value);
}

pub(super) fn set_progress(container: &HtmlElement, fraction: f64, label: &str) {
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

#[allow(clippy::cast_precision_loss)]
pub(super) fn mib(b: usize) -> f64 {
    b as f64 / 1_048_576.0
}

pub(super) fn toggle_fullscreen(container: &HtmlElement) {
    let doc = document();
    if doc.fullscreen_element().is_some() {
        doc.exit_fullscreen();
    } else {
        let _ = container.request_fullscreen();
    }
}

pub(super) fn button(parent: &web_sys::Element, label: &str, title: &str) -> HtmlElement {
    let b = element("button", "spv-button", parent);
    b.set_text_content(Some(label));
    let _ = b.set_attribute("title", title);
    let _ = b.set_attribute("type", "button");
    b
}
