//! The browser side of the resumable upload protocol (`server/src/uploads.rs`): create a
//! session (or pick up the one a reload or a dropped connection left), send the missing parts
//! three at a time with retries, report bytes, speed and time left, then complete.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{File, Request, RequestInit, Response};

/// Parts in flight at once.
const PARALLEL: usize = 3;
/// Tries per part before the upload stops (it can be resumed later).
const ATTEMPTS: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct UploadProgress {
    pub sent: f64,
    pub total: f64,
    pub bytes_per_second: f64,
    pub seconds_left: f64,
}

#[derive(serde::Deserialize)]
struct Session {
    id: String,
    size: f64,
    part_size: f64,
    parts: u32,
    received: Vec<u32>,
    completed: bool,
}

fn js(e: JsValue) -> String {
    e.as_string()
        .or_else(|| js_sys::JSON::stringify(&e).ok().and_then(|s| s.as_string()))
        .unwrap_or_else(|| "the browser refused the request".into())
}

async fn fetch(
    method: &str,
    url: &str,
    body: Option<&JsValue>,
    json: bool,
) -> Result<Response, String> {
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(b) = body {
        init.set_body(b);
    }
    let req = Request::new_with_str_and_init(url, &init).map_err(js)?;
    if json {
        req.headers()
            .set("content-type", "application/json")
            .map_err(js)?;
    }
    let window = web_sys::window().ok_or("no window")?;
    let res: Response = JsFuture::from(window.fetch_with_request(&req))
        .await
        .map_err(|_| "the connection dropped".to_owned())?
        .dyn_into()
        .map_err(js)?;
    Ok(res)
}

/// Sends part `n`: straight to storage when the server hands out a URL for it (S3 in the cloud;
/// the ETag storage answers with is then reported to the server), else to the server itself.
async fn send_part(id: &str, n: u32, blob: &web_sys::Blob) -> Result<Response, String> {
    #[derive(serde::Deserialize)]
    struct Target {
        url: Option<String>,
    }
    let res = fetch(
        "GET",
        &format!("/api/uploads/{id}/parts/{n}/url"),
        None,
        false,
    )
    .await?;
    if !res.ok() {
        return Ok(res);
    }
    let target: Target = serde_json::from_str(&text(&res).await).map_err(|e| e.to_string())?;
    let Some(url) = target.url else {
        return fetch(
            "PUT",
            &format!("/api/uploads/{id}/parts/{n}"),
            Some(&blob.clone().into()),
            false,
        )
        .await;
    };
    let stored = fetch("PUT", &url, Some(&blob.clone().into()), false).await?;
    if !stored.ok() {
        return Ok(stored);
    }
    let etag = stored.headers().get("etag").map_err(js)?.ok_or(
        "storage did not say how it stored the part (no ETag): its CORS rule must expose ETag",
    )?;
    let body = serde_json::json!({ "etag": etag }).to_string();
    fetch(
        "POST",
        &format!("/api/uploads/{id}/parts/{n}/etag"),
        Some(&JsValue::from_str(&body)),
        true,
    )
    .await
}

async fn text(res: &Response) -> String {
    match res.text() {
        Ok(p) => JsFuture::from(p)
            .await
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    }
}

async fn session(res: Response) -> Result<Session, String> {
    let body = text(&res).await;
    if !res.ok() {
        return Err(body);
    }
    serde_json::from_str(&body).map_err(|e| e.to_string())
}

async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(promise).await;
}

fn now() -> f64 {
    js_sys::Date::now() / 1000.0
}

/// Uploads `file` into `project`; `on_progress` is called as parts land.
pub async fn upload(
    project: &str,
    file: &File,
    on_progress: impl Fn(UploadProgress) + 'static,
) -> Result<(), String> {
    let storage = web_sys::window().and_then(|w| w.local_storage().ok().flatten());
    let key = format!(
        "spaceport-upload:{project}:{}:{}:{}",
        file.name(),
        file.size(),
        file.last_modified()
    );
    // Resume the session a reload or a dropped connection left behind, if the server has it.
    let mut resumed = None;
    if let Some(id) = storage
        .as_ref()
        .and_then(|s| s.get_item(&key).ok().flatten())
    {
        if let Ok(res) = fetch("GET", &format!("/api/uploads/{id}"), None, false).await {
            if res.ok() {
                resumed = session(res).await.ok().filter(|s| !s.completed);
            }
        }
    }
    let s = if let Some(s) = resumed {
        s
    } else {
        // JavaScript sizes are doubles holding whole numbers; the server wants an integer.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let size = file.size() as u64;
        let body = serde_json::json!({ "file_name": file.name(), "size": size }).to_string();
        let res = fetch(
            "POST",
            &format!("/api/projects/{project}/uploads"),
            Some(&JsValue::from_str(&body)),
            true,
        )
        .await?;
        let s = session(res).await?;
        if let Some(st) = &storage {
            let _ = st.set_item(&key, &s.id);
        }
        s
    };
    let part_len = |n: u32| {
        if n == s.parts {
            s.size - f64::from(n - 1) * s.part_size
        } else {
            s.part_size
        }
    };
    let todo: Vec<u32> = (1..=s.parts).filter(|n| !s.received.contains(n)).collect();
    let already: f64 = s.received.iter().map(|&n| part_len(n)).sum();
    let queue = Rc::new(RefCell::new(todo.into_iter().rev().collect::<Vec<u32>>()));
    let sent = Rc::new(RefCell::new(already));
    let started = now();
    let on_progress = Rc::new(on_progress);
    on_progress(UploadProgress {
        sent: already,
        total: s.size,
        ..UploadProgress::default()
    });
    let worker = |queue: Rc<RefCell<Vec<u32>>>,
                  sent: Rc<RefCell<f64>>,
                  on_progress: Rc<dyn Fn(UploadProgress)>| {
        let (id, file) = (s.id.clone(), file.clone());
        async move {
            loop {
                let Some(n) = queue.borrow_mut().pop() else {
                    return Ok::<(), String>(());
                };
                let start = f64::from(n - 1) * s.part_size;
                let blob = file
                    .slice_with_f64_and_f64(start, start + part_len(n))
                    .map_err(js)?;
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    let res = send_part(&id, n, &blob).await;
                    match res {
                        Ok(r) if r.ok() => break,
                        Ok(r) if r.status() < 500 && r.status() != 429 => {
                            return Err(text(&r).await)
                        }
                        _ if attempt < ATTEMPTS => sleep(500 * 2i32.pow(attempt)).await,
                        Ok(r) => return Err(text(&r).await),
                        Err(e) => return Err(format!("{e}; choose the file again to resume")),
                    }
                }
                let done = {
                    let mut total = sent.borrow_mut();
                    *total += part_len(n);
                    *total
                };
                let rate = (done - already) / (now() - started).max(0.001);
                on_progress(UploadProgress {
                    sent: done,
                    total: s.size,
                    bytes_per_second: rate,
                    seconds_left: if rate > 0.0 {
                        (s.size - done) / rate
                    } else {
                        0.0
                    },
                });
            }
        }
    };
    let workers = (0..PARALLEL).map(|_| worker(queue.clone(), sent.clone(), on_progress.clone()));
    for r in futures::future::join_all(workers).await {
        r?;
    }
    let res = fetch(
        "POST",
        &format!("/api/uploads/{}/complete", s.id),
        None,
        false,
    )
    .await?;
    session(res).await?;
    if let Some(st) = &storage {
        let _ = st.remove_item(&key);
    }
    Ok(())
}
