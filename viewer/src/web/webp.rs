//! WebP decoding: by the browser's `ImageDecoder` where it decodes exactly (checked on a probe
//! image), else by the format core's decoder.

use super::dom::set_data;
use super::now_ms;
use splat::sog::stream::files as sog_files;
use wasm_bindgen::prelude::JsValue;
use wasm_bindgen::JsCast;
use web_sys::HtmlElement;

/// Decodes a SOG from its files, its WebP images by the browser's own decoder where it has one
/// (the `WebCodecs` `ImageDecoder`, which decodes them all at once on the browser's threads) and
/// it decodes exactly — checked on a probe image whose colours sit under every kind of alpha, as
/// `sh0`'s do (opacity), which a premultiplying decoder would change — and by the format core's
/// decoder otherwise. `data-webp` says which.
pub(super) async fn decode_sog(
    meta: &[u8],
    files: &[(String, &[u8])],
    container: &HtmlElement,
) -> Result<splat::GaussianCloud, String> {
    let file = |name: &str| files.iter().find(|(n, _)| n == name).map(|(_, d)| *d);
    let missing = |name: &str| splat::FormatError::BadSog(format!("{name} was not downloaded"));
    let started = now_ms();
    let names = sog_files(meta).map_err(|e| e.to_string())?;
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
pub(super) const MAX_IMAGE_BYTES: f64 = 256.0 * 1024.0 * 1024.0;

/// Width, height and RGBA8 rows of a decoded image.
pub(super) type Pixels = (u32, u32, Vec<u8>);

/// A 16×16 lossless WebP and its pixels: colours under alpha 0, 1, 7, 128, 254 and 255.
pub(super) fn decoder_probe() -> (Vec<u8>, Vec<u8>) {
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
pub(super) async fn browser_webp_all(images: &[&[u8]]) -> Option<Vec<Pixels>> {
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
pub(super) fn rgba_of(
    frame: &JsValue,
    buffer: &js_sys::Uint8Array,
    layout: &JsValue,
) -> Option<Pixels> {
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
