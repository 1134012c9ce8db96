//! The project page's "Photos and processing" panel: upload (resumable, with speed and time
//! left), launch with a preset or advanced settings, live progress of each stage, cancel, and
//! the delivered files.

use domain::job::{JobStatus, ModelReport, Stage, TrainPoint};
use domain::ProjectStatus;
use leptos::prelude::*;

use crate::api::jobs::{job_status, CancelJob, JobProgress, LaunchJob, RetryJob};
use crate::api::share::{share_link, CreateShareLink, RevokeShareLink};
use crate::components::form::{outcome, FieldError, FormError};

#[derive(Clone, Copy, PartialEq, Default)]
struct Transfer {
    sent: f64,
    total: f64,
    rate: f64,
    left: f64,
}

/// Empties a file input (its choice is replaced by one made in another input).
fn clear(input: NodeRef<leptos::html::Input>) {
    if let Some(i) = input.get_untracked() {
        i.set_value("");
    }
}

/// A file size people read at a glance: KiB below a MiB (a small model is not "0.0 MiB").
fn file_size(bytes: f64) -> String {
    if bytes < 1_048_576.0 {
        format!("{:.0} KiB", bytes / 1024.0)
    } else {
        mib(bytes)
    }
}

fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / 1_048_576.0)
}

#[component]
pub fn Processing(
    id: String,
    status: ProjectStatus,
    /// The project's status as the page shows it, kept in step with the job.
    live_status: RwSignal<ProjectStatus>,
) -> impl IntoView {
    let launch = ServerAction::<LaunchJob>::new();
    let cancel = ServerAction::<CancelJob>::new();
    let retry = ServerAction::<RetryJob>::new();
    let launch_result = outcome(launch);
    let retry_result = outcome(retry);
    let tick = RwSignal::new(0u32);
    // The server says when the job changes (server-sent events); every 2 s the page asks anyway
    // while that stream is down (a proxy that buffers it, a reconnect), so it never goes stale.
    let live = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    {
        let project = id.clone();
        Effect::new(move |_| {
            if let Some(stream) = follow_progress(&project, tick, live) {
                let stream = leptos::__reexports::send_wrapper::SendWrapper::new(stream);
                on_cleanup(move || stream.take().0.close());
            }
        });
    }
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if !live.get_untracked() {
                    tick.update(|t| *t = t.wrapping_add(1));
                }
            },
            std::time::Duration::from_secs(2),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    let id_status = id.clone();
    let job = Resource::new(
        move || {
            (
                tick.get(),
                launch.version().get(),
                cancel.version().get(),
                retry.version().get(),
            )
        },
        move |_| job_status(id_status.clone(), 0),
    );
    // A change of the job's state seen on this page becomes the project's (browser only: an
    // effect never runs on the server). The state found on arrival is left alone: photos
    // uploaded after the last job make the project's status newer than that job's.
    let seen = StoredValue::new(None::<Option<(String, JobStatus)>>);
    Effect::new(move |_| {
        let Some(Ok(latest)) = job.get() else {
            return;
        };
        let key = latest.as_ref().map(|p| (p.job.id.clone(), p.job.status));
        let before = seen.get_value();
        if before.as_ref() == Some(&key) {
            return;
        }
        seen.set_value(Some(key));
        if let (Some(_), Some(p)) = (before, latest) {
            let now = p.job.status.project_status();
            if live_status.get_untracked() != now {
                live_status.set(now);
            }
        }
    });
    let sent = RwSignal::new(None::<Transfer>);
    // Bytes read so far, of the total, while chosen photos are made into one archive.
    let preparing = RwSignal::new(None::<(f64, f64)>);
    let notice = RwSignal::new(None::<String>);
    let upload_error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let file_input = NodeRef::<leptos::html::Input>::new();
    let folder_input = NodeRef::<leptos::html::Input>::new();
    let signals = UploadSignals {
        sent,
        preparing,
        notice,
        error: upload_error,
        busy,
    };
    let id_upload = id.clone();
    let start_upload = move |_| {
        #[cfg(feature = "hydrate")]
        {
            // A folder, if one was chosen, else the files.
            let chosen = [folder_input, file_input]
                .iter()
                .filter_map(|input| input.get().and_then(|i| i.files()))
                .map(|list| crate::photos::from_list(&list))
                .find(|files| !files.is_empty())
                .unwrap_or_default();
            send_photos(id_upload.clone(), chosen, signals);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (&id_upload, file_input, folder_input, signals);
    };
    #[cfg(feature = "hydrate")]
    {
        let project = id.clone();
        Effect::new(move |_| {
            if let Some(note) = take_notice(&project) {
                notice.set(Some(note));
            }
        });
    }
    let id_drop = id.clone();
    let on_drop = move |e: leptos::ev::DragEvent| {
        e.prevent_default();
        #[cfg(feature = "hydrate")]
        {
            let Some(data) = e.data_transfer() else {
                return;
            };
            // Entries must be taken now: the browser empties the drop when the event ends.
            // Browsers without folder entries give the plain file list.
            let entries = crate::photos::dropped_entries(&data);
            let project = id_drop.clone();
            if entries.is_empty() {
                let files = data
                    .files()
                    .map(|list| crate::photos::from_list(&list))
                    .unwrap_or_default();
                send_photos(project, files, signals);
                return;
            }
            leptos::task::spawn_local(async move {
                match crate::photos::files_of(entries).await {
                    Ok(files) => send_photos(project, files, signals),
                    Err(e) => upload_error.set(Some(e)),
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &id_drop;
    };
    let id_launch = id.clone();
    let id_cancel = id.clone();
    let id_retry = id.clone();
    let id_share = id.clone();
    let id_files = id;
    // Delivered when the page loaded, or since, while watching.
    let delivered = move || {
        status == ProjectStatus::Delivered
            || job
                .get()
                .and_then(Result::ok)
                .flatten()
                .is_some_and(|p| p.job.status == JobStatus::Succeeded)
    };
    let has_photos = !matches!(status, ProjectStatus::Draft | ProjectStatus::PathDownloaded);

    view! {
        <section class="panel processing">
            <h2>"Photos and processing"</h2>
            <div class="stack">
                <div class="dropzone stack" data-testid="dropzone"
                    on:dragover=|e: leptos::ev::DragEvent| e.prevent_default()
                    on:drop=on_drop>
                    <label for="photos">"Photos: a .zip, or the photos themselves"</label>
                    // The latest choice wins: choosing in one input clears the other.
                    <input id="photos" type="file" multiple
                        accept=".zip,application/zip,image/jpeg,image/png" node_ref=file_input
                        on:change=move |_| clear(folder_input) />
                    <label for="photo-folder">"…or a whole folder of photos"</label>
                    <input id="photo-folder" type="file" prop:webkitdirectory=true node_ref=folder_input
                        on:change=move |_| clear(file_input) />
                    <p class="muted small">"You can also drop photos, a folder or a .zip here."</p>
                </div>
                <button type="button" on:click=start_upload disabled=move || busy.get()>"Upload"</button>
                {move || preparing.get().map(|(done, total)| {
                    let pct = if total > 0.0 { 100.0 * done / total } else { 0.0 };
                    view! {
                        <progress max="100" value=format!("{pct:.0}") aria-label="Preparing photos"></progress>
                        <p class="small" data-testid="upload-preparing">
                            {format!("Preparing the photos: {} of {}", mib(done), mib(total))}
                        </p>
                    }
                })}
                {move || sent.get().map(|s| {
                    let pct = if s.total > 0.0 { 100.0 * s.sent / s.total } else { 0.0 };
                    view! {
                        <progress max="100" value=format!("{pct:.0}") aria-label="Upload progress"></progress>
                        <p class="small" data-testid="upload-progress">
                            {format!("{} of {} · {}/s · about {:.0} s left", mib(s.sent), mib(s.total), mib(s.rate), s.left)}
                        </p>
                    }
                })}
                {move || notice.get().map(|n| view! { <p class="muted small" data-testid="upload-notice">{n}</p> })}
                {move || upload_error.get().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
                {has_photos.then(|| view! { <p class="muted small">"Photos uploaded. Upload again to replace them."</p> })}
            </div>
            <ActionForm action=launch attr:class="stack" attr:novalidate=true>
                <input type="hidden" name="id" value=id_launch />
                <label for="preset">"Quality"</label>
                <select id="preset" name="preset">
                    <option value="preview">"Preview (fastest)"</option>
                    <option value="standard">"Standard"</option>
                    <option value="high">"High (slowest)"</option>
                </select>
                <details>
                    <summary>"Advanced settings"</summary>
                    <label for="iterations">"Training iterations"</label>
                    <input id="iterations" name="iterations" type="number" min="50" max="100000" />
                    <FieldError result=launch_result field="iterations" />
                    <label for="working_size">"Photo size for reconstruction (px)"</label>
                    <input id="working_size" name="working_size" type="number" min="256" max="8192" />
                    <FieldError result=launch_result field="working_size" />
                    <label for="train_size">"Photo size for training (px)"</label>
                    <input id="train_size" name="train_size" type="number" min="256" max="8192" />
                    <FieldError result=launch_result field="train_size" />
                    <label for="sh_degree">"Colour detail (spherical-harmonics degree)"</label>
                    <select id="sh_degree" name="sh_degree">
                        <option value="">"As the preset says (3)"</option>
                        <option value="0">"0: one colour per Gaussian (smallest file)"</option>
                        <option value="1">"1"</option>
                        <option value="2">"2"</option>
                        <option value="3">"3: full view-dependent colour"</option>
                    </select>
                    <FieldError result=launch_result field="sh_degree" />
                    <label for="max_gaussians">"Most Gaussians"</label>
                    <input id="max_gaussians" name="max_gaussians" type="number" min="1000" max="6000000" />
                    <FieldError result=launch_result field="max_gaussians" />
                </details>
                // Inside a Transition: the job is a resource, known on the server and in the
                // browser alike only once it has resolved (reading it outside would make the
                // server's HTML and the browser's first render differ).
                <Transition fallback=|| ()>{move || Suspend::new(async move {
                    let points = restart_points(job.await.ok().flatten());
                    (!points.is_empty()).then(|| view! {
                        <label for="from">"Start from"</label>
                        <select id="from" name="from" data-testid="start-from">
                            <option value="">"The beginning (use the latest photos)"</option>
                            {points.into_iter().map(|s| view! {
                                <option value=s.as_str()>{stage_label(s)}</option>
                            }).collect_view()}
                        </select>
                    })
                })}</Transition>
                <FieldError result=launch_result field="from" />
                <FieldError result=launch_result field="photos" />
                <FormError result=launch_result />
                <button type="submit" disabled=move || launch.pending().get()>"Start processing"</button>
            </ActionForm>
            <Transition fallback=|| ()>
                {move || {
                    let (id_cancel, id_files, id_retry) =
                        (id_cancel.clone(), id_files.clone(), id_retry.clone());
                    Suspend::new(async move {
                    let Ok(Some(p)) = job.await else { return ().into_any() };
                    let j = p.job;
                    let report = p.report;
                    let current = j.stage;
                    let fraction = p
                        .events
                        .iter()
                        .rev()
                        .find(|e| Some(e.stage) == current)
                        .and_then(|e| e.fraction)
                        .unwrap_or(0.0);
                    let recent: Vec<String> = p
                        .events
                        .iter()
                        .rev()
                        .filter(|e| e.step != "photo")
                        .take(6)
                        .map(|e| format!("{}: {}", e.stage, e.message))
                        .collect();
                    let running = j.status.is_cancellable();
                    // This run started again from a stage (the runner logs it as a job event).
                    let restarted = p
                        .events
                        .iter()
                        .rev()
                        .find(|e| e.step == "job" && e.message.starts_with("run again from"))
                        .map(|e| e.message.replacen("run again", "Run again", 1));
                    let points: Vec<TrainPoint> =
                        p.events.iter().filter_map(|e| e.train.clone()).collect();
                    // Server clock throughout: the last event (or the end) minus the start.
                    let elapsed = j.started_at.map(|start| {
                        j.finished_at
                            .or_else(|| p.events.last().map(|e| e.at))
                            .unwrap_or(start)
                            - start
                    });
                    let eta = (running && current == Some(Stage::Train))
                        .then(|| points.last().map(|t| t.eta_s))
                        .flatten();
                    #[allow(clippy::cast_possible_truncation)]
                    let timing = elapsed.map(|e| match eta {
                        Some(left) => format!(
                            "elapsed {} · training about {} left",
                            duration(e),
                            duration(left.round() as i64)
                        ),
                        None => format!("elapsed {}", duration(e)),
                    });
                    view! {
                        <div class="job" data-testid="job" data-status=j.status.as_str()>
                            <p><strong>{format!("Job {}", j.status)}</strong>
                                {current.filter(|_| running).map(|current| format!(" · {current} {:.0} %", fraction * 100.0))}
                            </p>
                            <ol class="stages">
                                {Stage::ALL.iter().map(|&s| {
                                    let done = j.done_stages.contains(&s);
                                    let now = running && current == Some(s);
                                    view! { <li class:done=done class:now=now>{if done { format!("✓ {s}") } else { s.to_string() }}</li> }
                                }).collect_view()}
                            </ol>
                            {running.then(|| view! {
                                <progress max="100" value=format!("{:.0}", fraction * 100.0) aria-label="Stage progress"></progress>
                            })}
                            {restarted.map(|r| view! { <p class="small muted" data-testid="job-restart">{r}", keeping the work of the stages before it"</p> })}
                            {timing.map(|t| view! { <p class="small muted" data-testid="job-timing">{t}</p> })}
                            {training_chart(&points)}
                            {j.error.clone().map(|e| view! { <p class="form-error" role="alert" data-testid="job-error">{e}</p> })}
                            {matches!(j.status, JobStatus::Failed | JobStatus::Cancelled).then(|| {
                                let again = domain::job::rerun(&j.done_stages, None)
                                    .map_or(Stage::Ingest, |r| r.first);
                                view! {
                                    <ActionForm action=retry attr:class="inline">
                                        <input type="hidden" name="id" value=id_retry />
                                        <button type="submit" data-testid="retry">{format!("Retry from {again}")}</button>
                                    </ActionForm>
                                    <FieldError result=retry_result field="from" />
                                    <FormError result=retry_result />
                                }
                            })}
                            <ul class="log small">{recent.into_iter().map(|m| view! { <li>{m}</li> }).collect_view()}</ul>
                            {running.then(|| view! {
                                <ActionForm action=cancel attr:class="inline">
                                    <input type="hidden" name="id" value=id_cancel />
                                    <button type="submit" class="danger">"Cancel"</button>
                                </ActionForm>
                            })}
                            {(j.status == JobStatus::Succeeded).then(|| view! {
                                <p class="delivered" data-testid="delivered">"Your model is ready: "
                                    <a href=format!("/api/projects/{id_files}/files/model.sog") download>"model.sog"</a> " · "
                                    <a href=format!("/api/projects/{id_files}/files/model.ply") download>"PLY"</a> " · "
                                    <a href=format!("/api/projects/{id_files}/files/report.json")>"quality report"</a> " · "
                                    <a href=format!("/projects/{id_files}/view") target="_blank" data-testid="open-viewer">"open full screen"</a>
                                </p>
                                {report.as_ref().map(quality_report)}
                                // The viewer is its own page and wasm: this page never loads wgpu.
                                <iframe class="model-viewer" data-testid="model-viewer"
                                    src=format!("/projects/{id_files}/view") title="3D model"
                                    allow="fullscreen"></iframe>
                            })}
                        </div>
                    }
                    .into_any()
                })}}
            </Transition>
            <Show when=delivered fallback=|| ()>
                <ShareBox id=id_share.clone() />
            </Show>
        </section>
    }
    .into_any()
}

/// Stages a new run may start from: those whose predecessors the last job finished, once it
/// has ended.
fn restart_points(progress: Option<JobProgress>) -> Vec<Stage> {
    let Some(p) = progress else {
        return Vec::new();
    };
    if !p.job.status.is_terminal() {
        return Vec::new();
    }
    Stage::ALL
        .into_iter()
        .skip(1)
        .filter(|&s| domain::job::rerun(&p.job.done_stages, Some(s)).is_ok())
        .collect()
}

/// Opens the project's progress stream: each `progress` event refreshes the job; `live` says
/// whether the stream is up (the page polls while it is not).
#[cfg(feature = "hydrate")]
#[allow(clippy::type_complexity)] // the source and the two handlers it calls, kept together
fn follow_progress(
    project: &str,
    tick: RwSignal<u32>,
    live: RwSignal<bool>,
) -> Option<(
    web_sys::EventSource,
    wasm_bindgen::closure::Closure<dyn FnMut(web_sys::Event)>,
    wasm_bindgen::closure::Closure<dyn FnMut(web_sys::Event)>,
)> {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    let source = web_sys::EventSource::new(&format!("/api/projects/{project}/progress")).ok()?;
    let on_progress = Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
        live.set(true);
        tick.update(|t| *t = t.wrapping_add(1));
    });
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
        // The browser reconnects by itself; poll until it has.
        live.set(false);
    });
    let _ =
        source.add_event_listener_with_callback("progress", on_progress.as_ref().unchecked_ref());
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    // The handlers live until the page closes the source (and drops them with it).
    Some((source, on_progress, on_error))
}

/// The upload's visible state, shared by the button and the drop zone (written only by the
/// browser build).
#[derive(Clone, Copy)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
struct UploadSignals {
    sent: RwSignal<Option<Transfer>>,
    preparing: RwSignal<Option<(f64, f64)>>,
    notice: RwSignal<Option<String>>,
    error: RwSignal<Option<String>>,
    busy: RwSignal<bool>,
}

/// Uploads what the user chose: one `.zip` as it is, photos (or a folder's) zipped in the
/// browser first; the page reloads when the server has it all.
#[cfg(feature = "hydrate")]
fn send_photos(project: String, files: Vec<(String, web_sys::File)>, ui: UploadSignals) {
    ui.error.set(None);
    ui.notice.set(None);
    if files.is_empty() {
        ui.error
            .set(Some("choose a .zip, some photos or a folder first".into()));
        return;
    }
    let zips = files
        .iter()
        .filter(|(p, _)| p.to_ascii_lowercase().ends_with(".zip"))
        .count();
    if zips > 0 && files.len() > 1 {
        ui.error.set(Some(
            "choose one .zip, or photos — not a mix of zips and other files".into(),
        ));
        return;
    }
    ui.busy.set(true);
    leptos::task::spawn_local(async move {
        let archive = if zips == 1 {
            files
                .into_iter()
                .next()
                .map(|(_, f)| f)
                .ok_or_else(|| "no file was chosen".to_owned())
        } else {
            crate::photos::bundle(files, |done, total| ui.preparing.set(Some((done, total))))
                .await
                .map(|b| {
                    let note = if b.skipped.is_empty() {
                        format!("Uploaded {} photos", b.photos)
                    } else {
                        let some: Vec<&str> =
                            b.skipped.iter().take(3).map(String::as_str).collect();
                        format!(
                            "Uploaded {} photos; left out {} file(s) that are not JPEG or PNG: {}",
                            b.photos,
                            b.skipped.len(),
                            some.join(", ")
                        )
                    };
                    ui.notice.set(Some(note));
                    b.file
                })
        };
        let result = match archive {
            Ok(file) => {
                crate::upload::upload(&project, &file, move |p| {
                    ui.sent.set(Some(Transfer {
                        sent: p.sent,
                        total: p.total,
                        rate: p.bytes_per_second,
                        left: p.seconds_left,
                    }));
                })
                .await
            }
            Err(e) => Err(e),
        };
        ui.busy.set(false);
        match result {
            Ok(()) => {
                if let Some(w) = web_sys::window() {
                    // The reload shows the new status; the note about the photos survives it.
                    if let (Some(note), Ok(Some(store))) =
                        (ui.notice.get_untracked(), w.session_storage())
                    {
                        let _ = store.set_item(&notice_key(&project), &note);
                    }
                    let _ = w.location().reload();
                }
            }
            Err(e) => ui.error.set(Some(e)),
        }
    });
}

#[cfg(feature = "hydrate")]
fn notice_key(project: &str) -> String {
    format!("spaceport-upload-notice:{project}")
}

/// The note a finished upload left for the reloaded page, read once.
#[cfg(feature = "hydrate")]
fn take_notice(project: &str) -> Option<String> {
    let store = web_sys::window()?.session_storage().ok()??;
    let note = store.get_item(&notice_key(project)).ok()??;
    let _ = store.remove_item(&notice_key(project));
    Some(note)
}

/// What starting from a stage keeps, in the user's words.
fn stage_label(stage: Stage) -> &'static str {
    match stage {
        Stage::Ingest => "The beginning (use the latest photos)",
        Stage::Sfm => "Camera reconstruction (keep the prepared photos)",
        Stage::Train => "Training (keep the cameras)",
        Stage::Compress => "Compression (keep the trained model)",
    }
}

/// "1 h 02 min", "3 min 05 s", "42 s".
/// The delivered model's figures: how well it reproduces photos it never trained on, and what
/// it costs to download.
fn quality_report(r: &ModelReport) -> impl IntoView {
    #[allow(clippy::cast_precision_loss)]
    let (size, per_splat) = (
        r.sog_bytes as f64,
        r.sog_bytes as f64 / r.gaussians.max(1) as f64,
    );
    #[allow(clippy::cast_possible_truncation)]
    let seconds = r.train_seconds.round() as i64;
    let fidelity = match (r.psnr, r.ssim) {
        (Some(psnr), Some(ssim)) => format!(
            "{psnr:.1} dB PSNR · SSIM {ssim:.3} on {} held-out photo{}",
            r.held_out,
            if r.held_out == 1 { "" } else { "s" }
        ),
        _ => "not measured: too few photos to hold any out".to_owned(),
    };
    view! {
        <dl class="report small" data-testid="model-report">
            <dt>"Fidelity"</dt>
            <dd title="The model rendered from the cameras of photos it never trained on, compared with those photos. Above about 25 dB a model usually looks right.">{fidelity}</dd>
            <dt>"Model"</dt>
            <dd>{format!("{} Gaussians · colour detail {} · {} iterations in {}", r.gaussians, r.sh_degree, r.iterations, duration(seconds))}</dd>
            <dt>"Download"</dt>
            <dd>{format!("{} ({per_splat:.1} bytes per Gaussian)", file_size(size))}</dd>
        </dl>
    }
}

fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, sec) => format!("{sec} s"),
        (0, min, sec) => format!("{min} min {sec:02} s"),
        (h, min, _) => format!("{h} h {min:02} min"),
    }
}

/// The training curve: PSNR on held-out photos (what the model makes of views it never saw) as
/// the trainer measures it, over the noisier PSNR of each iteration's training photo.
fn training_chart(points: &[TrainPoint]) -> Option<impl IntoView> {
    let last = points.last()?.clone();
    if points.len() < 2 {
        return None;
    }
    let held: Vec<(u32, f64)> = points
        .iter()
        .filter_map(|p| p.held_out_psnr.map(|v| (p.iteration, v)))
        .filter(|(_, v)| v.is_finite())
        .collect();
    let train: Vec<(u32, f64)> = points
        .iter()
        .map(|p| (p.iteration, p.psnr))
        .filter(|(_, v)| v.is_finite())
        .collect();
    let (lo, hi) = held
        .iter()
        .chain(&train)
        .fold((f64::MAX, f64::MIN), |(lo, hi), p| {
            (lo.min(p.1), hi.max(p.1))
        });
    if lo > hi {
        return None;
    }
    let (lo, hi) = (lo.floor(), hi.ceil().max(lo.floor() + 1.0));
    let (w, h) = (300.0, 90.0);
    let total = f64::from(last.iterations.max(1));
    let line = |series: &[(u32, f64)]| -> String {
        series
            .iter()
            .map(|&(it, v)| {
                let x = w * f64::from(it) / total;
                let y = h - h * (v - lo) / (hi - lo);
                format!("{x:.1},{y:.1}")
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let caption = match held.last() {
        Some(&(it, v)) => format!(
            "Held-out PSNR {v:.1} dB at iteration {it} of {} (photos the model never trains on; higher is sharper) · {} Gaussians",
            last.iterations, last.gaussians
        ),
        None => format!(
            "Training PSNR {:.1} dB at iteration {} of {} · {} Gaussians",
            last.psnr, last.iteration, last.iterations, last.gaussians
        ),
    };
    let label = format!(
        "PSNR from {lo:.0} to {hi:.0} dB over {} iterations: held-out photos (solid), training photos (faint)",
        last.iterations
    );
    Some(view! {
        <figure class="training-chart" data-testid="training-chart">
            <svg viewBox="-34 -6 340 112" role="img" aria-label=label>
                <rect x="0" y="0" width="300" height="90" class="frame"></rect>
                <text x="-4" y="8" text-anchor="end">{format!("{hi:.0} dB")}</text>
                <text x="-4" y="90" text-anchor="end">{format!("{lo:.0} dB")}</text>
                <polyline points=line(&train) class="curve faint"></polyline>
                {(held.len() >= 2).then(|| view! {
                    <polyline points=line(&held) class="curve" data-testid="held-out-curve"></polyline>
                })}
            </svg>
            <figcaption class="small">{caption}</figcaption>
        </figure>
    })
}

/// Share the delivered model: a public link (view only) and the code to embed it elsewhere.
#[component]
fn ShareBox(id: String) -> impl IntoView {
    let create = ServerAction::<CreateShareLink>::new();
    let revoke = ServerAction::<RevokeShareLink>::new();
    let id_link = id.clone();
    let link = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        move |_| share_link(id_link.clone()),
    );
    // Absolute links for copying and embedding; the server renders the path, the browser adds
    // its own origin.
    let origin = RwSignal::new(String::new());
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(o) = web_sys::window().and_then(|w| w.location().origin().ok()) {
            origin.set(o);
        }
    });
    view! {
        <div class="share stack" data-testid="share">
            <h3>"Share"</h3>
            <Transition fallback=|| ()>
                {move || {
                    let id = id.clone();
                    link.get().map(|r| match r {
                        Ok(Some(path)) => {
                            let (path_embed, path_text) = (path.clone(), path.clone());
                            view! {
                                <p class="small">"Anyone with this link can view the model — nothing else in your account."</p>
                                <p><a href=path target="_blank" data-testid="share-link">{move || format!("{}{path_text}", origin.get())}</a></p>
                                <details>
                                    <summary>"Embed on another site"</summary>
                                    <code class="embed">{move || format!(
                                        "<iframe src=\"{}{path_embed}\" width=\"800\" height=\"500\" allow=\"fullscreen\" style=\"border:0\"></iframe>",
                                        origin.get()
                                    )}</code>
                                </details>
                                <ActionForm action=revoke attr:class="inline">
                                    <input type="hidden" name="id" value=id />
                                    <button type="submit" class="danger">"Stop sharing"</button>
                                </ActionForm>
                            }
                            .into_any()
                        }
                        Ok(None) => view! {
                            <ActionForm action=create attr:class="inline">
                                <input type="hidden" name="id" value=id />
                                <button type="submit">"Create a share link"</button>
                            </ActionForm>
                        }
                        .into_any(),
                        Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                    })
                }}
            </Transition>
        </div>
    }
}
