use domain::{format_date, FlightInputs, Project};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::flight::{flight_ground, plan_for, query_string, GroundHeights, MissionFile};
use crate::api::map::{get_map_sources, MapSources};
use crate::api::projects::{get_project, DeleteProject, RenameProject, SaveFlightInputs};
use crate::components::form::{outcome, FieldError, FormError};
use crate::components::map::{Overlay, PlaceSearch, SiteMap};
use crate::components::progress::StatusBar;
use crate::error::AppError;
use crate::pages::{error_view, sentence};

#[component]
pub fn ProjectPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let rename = ServerAction::<RenameProject>::new();
    let save_flight = ServerAction::<SaveFlightInputs>::new();
    // Saving the flight inputs (as the pilot types) changes nothing else the page shows, and
    // reloading would rebuild the form under the pilot's fingers: not a key here.
    let project = Resource::new(
        move || (id(), rename.version().get()),
        |(id, _)| get_project(id),
    );
    // The map's sources: when they cannot be had, the page is the text field without a map.
    let sources = OnceResource::new(get_map_sources());
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading the project…"</p> }>
            {move || Suspend::new(async move {
                let map = sources.await.unwrap_or(MapSources {
                    tiles: None,
                    attribution: String::new(),
                    search: false,
                });
                match project.await {
                    Err(e) => error_view(e),
                    Ok(p) => view! { <ProjectView p rename save_flight map /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ProjectView(
    p: Project,
    rename: ServerAction<RenameProject>,
    save_flight: ServerAction<SaveFlightInputs>,
    map: MapSources,
) -> impl IntoView {
    let delete = ServerAction::<DeleteProject>::new();
    let rename_result = outcome(rename);
    let flight_result = outcome(save_flight);
    let delete_result = outcome(delete);
    let id = p.id.to_string();
    let (id_rename, id_flight, id_processing, id_delete) = (id.clone(), id.clone(), id.clone(), id);
    let title = p.title.to_string();
    let (title_head, title_field, title_warn, title_button) =
        (title.clone(), title.clone(), title.clone(), title.clone());
    let flight = p.flight;
    // The header follows the job while the page is open (the processing panel updates it).
    let status = RwSignal::new(p.status);
    view! {
        <Title text=title />
        <nav class="crumbs" aria-label="Breadcrumb"><a href="/dashboard">"Projects"</a> " / "</nav>
        <section class="project">
            <header class="project-head">
                <h1>{title_head}</h1>
                <StatusBar status=status />
                <p class="muted small">
                    "Created " {format_date(p.created_at)} " · updated " {format_date(p.updated_at)}
                </p>
            </header>

            <div class="grid2">
                <section class="panel">
                    <h2>"Title"</h2>
                    <ActionForm action=rename attr:class="stack" attr:novalidate=true>
                        <input type="hidden" name="id" value=id_rename />
                        <label for="rename-title">"Project title"</label>
                        <input id="rename-title" name="title" required maxlength="100" value=title_field />
                        <FieldError result=rename_result field="title" />
                        <FormError result=rename_result />
                        <button type="submit" disabled=move || rename.pending().get()>"Rename"</button>
                    </ActionForm>
                </section>

                <FlightForm id=id_flight flight save_flight result=flight_result map />
            </div>

            <crate::pages::processing::Processing id=id_processing status=p.status live_status=status />

            <section class="panel danger">
                <h2>"Delete"</h2>
                <details>
                    <summary>"Delete this project…"</summary>
                    <p>
                        "This deletes “" {title_warn} "” and everything in it. It cannot be undone."
                    </p>
                    <ActionForm action=delete attr:class="inline">
                        <input type="hidden" name="id" value=id_delete />
                        <button type="submit" class="danger" disabled=move || delete.pending().get()>
                            "Yes, delete “" {title_button} "”"
                        </button>
                    </ActionForm>
                    <FormError result=delete_result />
                </details>
            </section>
        </section>
    }
}

/// What the planner shows for the inputs as typed: the pictures and a one-line summary, or the
/// field that stops it.
#[derive(Clone, PartialEq)]
struct Preview {
    batteries: usize,
    top_view: String,
    profile: String,
    summary: String,
    overlay: Overlay,
}

/// The form's five fields, as typed: what a plan (and its ground) is for.
type Fields = (String, String, String, String, String);

fn preview(
    fields: (&str, &str, &str, &str, &str),
    ground: Option<&GroundHeights>,
    profile_battery: usize,
) -> Result<Preview, (String, String)> {
    let (center, minutes, batteries, min_h, max_h) = fields;
    let to_field = |e: AppError| match e {
        AppError::Invalid { field, message } => (field, message),
        other => (String::new(), other.to_string()),
    };
    let inputs = FlightInputs::parse(center, minutes, batteries, min_h, max_h)
        .map_err(|e| to_field(e.into()))?;
    // On the server's ground once it has answered for these inputs (then the picture is the
    // download), on flat ground meanwhile.
    let on_terrain = ground.filter(|g| g.flat.is_none()).and_then(|g| {
        let cache = g.elevation();
        let plan = plan_for(&inputs, &cache);
        cache.take_missing().is_empty().then_some(plan)
    });
    let plan = match on_terrain {
        Some(plan) => plan,
        None => plan_for(&inputs, &planner::elevation::FlatGround),
    }
    .map_err(to_field)?;
    let per_battery = plan.batteries.first().map_or(0, |b| b.waypoints.len());
    let index = profile_battery.min(plan.batteries.len().saturating_sub(1));
    Ok(Preview {
        batteries: plan.batteries.len(),
        top_view: planner::svg::top_view(&plan),
        profile: planner::svg::altitude_profile(&plan, index),
        overlay: Overlay {
            paths: plan
                .batteries
                .iter()
                .map(|b| b.waypoints.iter().map(|w| (w.lat, w.lon)).collect())
                .collect(),
            hold_radius_m: plan.params.r_hold_ft * 0.3048,
        },
        summary: format!(
            "{} bounces per battery, reaching {:.0} ft from the centre; about {:.1} minutes and {} waypoints per battery.",
            plan.params.bounces, plan.params.r_hold_ft, plan.estimated_minutes, per_battery
        ),
    })
}

#[component]
fn FlightForm(
    id: String,
    flight: Option<FlightInputs>,
    save_flight: ServerAction<SaveFlightInputs>,
    result: Signal<Option<Result<(), AppError>>>,
    map: MapSources,
) -> impl IntoView {
    let center = RwSignal::new(flight.map(|f| f.center_text()).unwrap_or_default());
    let minutes =
        RwSignal::new(flight.map_or_else(|| "20".to_owned(), |f| f.battery_minutes.to_string()));
    let batteries =
        RwSignal::new(flight.map_or_else(|| "3".to_owned(), |f| f.batteries.to_string()));
    let min_h =
        RwSignal::new(flight.map_or_else(|| "120".to_owned(), |f| f.min_height_ft.to_string()));
    let max_h =
        RwSignal::new(flight.map_or_else(|| "350".to_owned(), |f| f.max_height_ft.to_string()));
    let profile_battery = RwSignal::new(0usize);
    let aircraft = RwSignal::new(planner::export::Aircraft::default());
    let fields = Memo::new(move |_| -> Fields {
        (
            center.get(),
            minutes.get(),
            batteries.get(),
            min_h.get(),
            max_h.get(),
        )
    });
    // The fields as inputs, when they make valid ones: what is saved and asked about.
    let typed =
        Memo::new(move |_| fields.with(|f| FlightInputs::parse(&f.0, &f.1, &f.2, &f.3, &f.4).ok()));
    // Autosave: the inputs the server last confirmed (its answer, so a save from the button and
    // one from typing count alike), and a save once typing pauses for a second.
    let saved = RwSignal::new(flight);
    Effect::new(move |_| {
        if let Some(Ok(p)) = save_flight.value().get() {
            saved.set(p.flight);
        }
    });
    let edits = RwSignal::new(0u64);
    let id_save = id.clone();
    Effect::new(move |_| {
        let f = fields.get();
        let Some(inputs) = typed.get() else {
            return;
        };
        if saved.get_untracked() == Some(inputs) {
            return;
        }
        let n = edits.get_untracked() + 1;
        edits.set(n);
        let id = id_save.clone();
        set_timeout(
            move || {
                if edits.get_untracked() != n {
                    return;
                }
                save_flight.dispatch(SaveFlightInputs {
                    id,
                    center: f.0,
                    battery_minutes: f.1,
                    batteries: f.2,
                    min_height_ft: f.3,
                    max_height_ft: f.4,
                });
            },
            std::time::Duration::from_secs(1),
        );
    });
    let save_state = move || {
        let typed = typed.get();
        if save_flight.pending().get() {
            ("saving", "Saving…")
        } else if typed.is_some() && saved.get() == typed {
            ("saved", "All changes saved")
        } else if typed.is_none() {
            ("invalid", "Not saved until the inputs make a plan")
        } else if matches!(save_flight.value().get(), Some(Err(_))) {
            (
                "failed",
                "Not saved (see above); retrying on your next change",
            )
        } else {
            ("unsaved", "Unsaved changes…")
        }
    };
    // The server's ground for the fields as they were when it answered.
    let ground = RwSignal::new(None::<(Fields, GroundHeights)>);
    let asked = RwSignal::new(0u64);
    Effect::new(move |_| {
        let f = fields.get();
        if typed.get().is_none() {
            return;
        }
        // Asked once typing pauses, and only the latest answer counts.
        let n = asked.get_untracked() + 1;
        asked.set(n);
        set_timeout(
            move || {
                if asked.get_untracked() != n {
                    return;
                }
                leptos::task::spawn_local(async move {
                    let answer = flight_ground(
                        f.0.clone(),
                        f.1.clone(),
                        f.2.clone(),
                        f.3.clone(),
                        f.4.clone(),
                    )
                    .await;
                    if asked.get_untracked() == n {
                        if let Ok(g) = answer {
                            ground.set(Some((f, g)));
                        }
                    }
                });
            },
            std::time::Duration::from_millis(400),
        );
    });
    let current_ground = move || {
        ground.with(|g| {
            g.as_ref()
                .filter(|(f, _)| fields.with(|now| now == f))
                .map(|(_, g)| g.clone())
        })
    };
    let plan = Memo::new(move |_| {
        let g = current_ground();
        preview(
            (
                &center.read(),
                &minutes.read(),
                &batteries.read(),
                &min_h.read(),
                &max_h.read(),
            ),
            g.as_ref(),
            profile_battery.get(),
        )
    });
    let terrain_note = move || {
        plan.get().ok()?;
        Some(match current_ground() {
            None => view! {
                <p class="muted small" data-testid="terrain-pending">"Checking the ground under the flight…"</p>
            }
            .into_any(),
            Some(GroundHeights { flat: Some(why), .. }) => view! {
                <p class="terrain-warning" role="alert" data-testid="terrain-flat">
                    <strong>"This plan assumes flat ground. "</strong>
                    {format!("{}. ", sentence(&why))}
                    "Heights are above the take-off point everywhere: where the ground rises, the drone flies lower above it than planned. Check the site's slopes and obstacles before you fly."
                </p>
            }
            .into_any(),
            Some(g) => view! {
                <p class="muted small" data-testid="terrain-ok">
                    {format!("Heights follow the terrain ({} ground points); the picture is what the files fly.", g.heights.len())}
                </p>
            }
            .into_any(),
        })
    };
    let id_field = id.clone();
    let downloads = move || {
        let Ok(p) = plan.get() else { return None };
        let query = query_string(
            &center.read(),
            &minutes.read(),
            &batteries.read(),
            &min_h.read(),
            &max_h.read(),
        );
        let id = id.clone();
        Some(view! {
            <ul class="downloads" aria-label="Mission files">
                {(1..=p.batteries)
                    .map(|n| {
                        let csv = MissionFile::url(&id, n, "csv", &query);
                        let kmz = MissionFile::url(
                            &id,
                            n,
                            "kmz",
                            &format!("{query}&aircraft={}", aircraft.get().slug()),
                        );
                        view! {
                            <li>
                                <span class="swatch" style=format!("background:{}", planner::svg::battery_colour(n - 1))></span>
                                {format!("Battery {n}: ")}
                                <a href=csv download data-testid=format!("csv-{n}")>"Litchi CSV"</a>
                                " · "
                                <a href=kmz download data-testid=format!("kmz-{n}")>"DJI KMZ"</a>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        })
    };
    let field = |name: &'static str, value: RwSignal<String>| {
        view! {
            <input
                id=name
                name=name
                required
                prop:value=move || value.get()
                on:input:target=move |ev| value.set(ev.target().value())
            />
        }
    };
    view! {
        <section class="panel flight">
            <h2>"Flight plan"</h2>
            <p class="muted small">"A spiral around the centre, one wedge per battery, sized so each battery's flight fits its minutes. The picture follows what you type."</p>
            {map.search.then(|| view! { <PlaceSearch center /> })}
            <SiteMap sources=map center overlay=Signal::derive(move || plan.with(|p| p.as_ref().ok().map(|p| p.overlay.clone()))) />
            <ActionForm action=save_flight attr:class="stack" attr:novalidate=true>
                <input type="hidden" name="id" value=id_field />
                <label for="center">"Centre (latitude, longitude)"</label>
                {field("center", center).attr("placeholder", "47.6205, -122.3493")}
                <FieldError result field="center" />
                <div class="row">
                    <div>
                        <label for="battery_minutes">"Minutes per battery"</label>
                        {field("battery_minutes", minutes).attr("type", "number").attr("min", "1").attr("max", "60")}
                        <FieldError result field="battery_minutes" />
                    </div>
                    <div>
                        <label for="batteries">"Batteries"</label>
                        {field("batteries", batteries).attr("type", "number").attr("min", "1").attr("max", "12")}
                        <FieldError result field="batteries" />
                    </div>
                </div>
                <div class="row">
                    <div>
                        <label for="min_height_ft">"Min height (ft above ground)"</label>
                        {field("min_height_ft", min_h).attr("type", "number").attr("min", "10").attr("max", "400")}
                        <FieldError result field="min_height_ft" />
                    </div>
                    <div>
                        <label for="max_height_ft">"Max height (ft above ground)"</label>
                        {field("max_height_ft", max_h).attr("type", "number").attr("min", "10").attr("max", "400")}
                        <FieldError result field="max_height_ft" />
                    </div>
                </div>
                <FormError result />
                <p
                    class="save-state small"
                    role="status"
                    data-testid="flight-save-state"
                    data-state=move || save_state().0
                >
                    {move || save_state().1}
                </p>
                <button type="submit" disabled=move || save_flight.pending().get()>"Save now"</button>
            </ActionForm>
            {move || match plan.get() {
                // Nothing typed yet is not a mistake: say what to do, quietly.
                Err(_) if center.read().trim().is_empty() => view! {
                    <p class="muted small" data-testid="plan-hint">"Type the centre of the area to see the flight."</p>
                }.into_any(),
                Err((field, message)) => view! {
                    <p class="field-error" role="alert" data-testid="plan-error">
                        {if field.is_empty() { message } else { format!("{}: {message}", field.replace('_', " ")) }}
                    </p>
                }.into_any(),
                Ok(p) => view! {
                    {terrain_note}
                    <figure class="plan-picture">
                        <div class="plan-top" inner_html=p.top_view></div>
                        <figcaption class="small" data-testid="plan-summary">{p.summary}</figcaption>
                    </figure>
                    <div class="profile-tabs" role="group" aria-label="Altitude profile of battery">
                        {(0..p.batteries).map(|i| view! {
                            <button
                                type="button"
                                class="tab"
                                aria-pressed=move || (profile_battery.get() == i).to_string()
                                on:click=move |_| profile_battery.set(i)
                            >{(i + 1).to_string()}</button>
                        }).collect_view()}
                    </div>
                    <div class="plan-profile" inner_html=p.profile></div>
                }.into_any(),
            }}
            <h3>"Mission files"</h3>
            <p class="muted small">"One file per battery, for the plan shown. Heights are above the take-off point at the centre and follow the ground the server reads (as the note above the picture says). Both take a photo every 3 seconds along the whole path."</p>
            <label for="aircraft">"DJI aircraft (for the KMZ)"</label>
            <select
                id="aircraft"
                on:change:target=move |ev| {
                    if let Some(a) = planner::export::Aircraft::parse(&ev.target().value()) {
                        aircraft.set(a);
                    }
                }
            >
                {planner::export::Aircraft::ALL
                    .map(|a| view! {
                        <option value=a.slug() selected=move || aircraft.get() == a>
                            {format!(
                                "{} ({})",
                                a.name(),
                                if a.is_dji_fly() { "DJI Fly" } else { "DJI Pilot 2" }
                            )}
                        </option>
                    })
                    .collect_view()}
            </select>
            {downloads}
        </section>
    }
    // Erase the (deep) view type: the hydrate build's async layout otherwise overflows rustc's
    // query depth.
    .into_any()
}
