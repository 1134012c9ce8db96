use domain::{format_date, FlightInputs, Project};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::projects::{get_project, DeleteProject, RenameProject, SaveFlightInputs};
use crate::components::form::{outcome, FieldError, FormError};
use crate::components::progress::StatusBar;
use crate::error::AppError;
use crate::pages::error_view;

#[component]
pub fn ProjectPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let rename = ServerAction::<RenameProject>::new();
    let save_flight = ServerAction::<SaveFlightInputs>::new();
    let project = Resource::new(
        move || (id(), rename.version().get(), save_flight.version().get()),
        |(id, _, _)| get_project(id),
    );
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading the project…"</p> }>
            {move || Suspend::new(async move {
                match project.await {
                    Err(e) => error_view(e),
                    Ok(p) => view! { <ProjectView p rename save_flight /> }.into_any(),
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
) -> impl IntoView {
    let delete = ServerAction::<DeleteProject>::new();
    let rename_result = outcome(rename);
    let flight_result = outcome(save_flight);
    let delete_result = outcome(delete);
    let id = p.id.to_string();
    let (id_rename, id_flight, id_delete) = (id.clone(), id.clone(), id);
    let title = p.title.to_string();
    let (title_head, title_field, title_warn, title_button) =
        (title.clone(), title.clone(), title.clone(), title.clone());
    let flight = p.flight;
    view! {
        <Title text=title />
        <nav class="crumbs" aria-label="Breadcrumb"><a href="/dashboard">"Projects"</a> " / "</nav>
        <section class="project">
            <header class="project-head">
                <h1>{title_head}</h1>
                <StatusBar status=p.status />
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

                <FlightForm id=id_flight flight save_flight result=flight_result />
            </div>

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

#[component]
fn FlightForm(
    id: String,
    flight: Option<FlightInputs>,
    save_flight: ServerAction<SaveFlightInputs>,
    result: Signal<Option<Result<(), AppError>>>,
) -> impl IntoView {
    let center = flight.map(|f| f.center_text()).unwrap_or_default();
    let minutes = flight.map_or_else(|| "20".to_owned(), |f| f.battery_minutes.to_string());
    let batteries = flight.map_or_else(|| "3".to_owned(), |f| f.batteries.to_string());
    let min_h = flight.map_or_else(|| "120".to_owned(), |f| f.min_height_ft.to_string());
    let max_h = flight.map_or_else(|| "350".to_owned(), |f| f.max_height_ft.to_string());
    view! {
        <section class="panel">
            <h2>"Flight plan"</h2>
            <p class="muted small">"Where and how you will fly. The planner uses these to build one mission per battery."</p>
            <ActionForm action=save_flight attr:class="stack" attr:novalidate=true>
                <input type="hidden" name="id" value=id />
                <label for="center">"Centre (latitude, longitude)"</label>
                <input id="center" name="center" required placeholder="47.6205, -122.3493" value=center />
                <FieldError result field="center" />
                <div class="row">
                    <div>
                        <label for="battery_minutes">"Minutes per battery"</label>
                        <input id="battery_minutes" name="battery_minutes" type="number" min="1" max="60" required value=minutes />
                        <FieldError result field="battery_minutes" />
                    </div>
                    <div>
                        <label for="batteries">"Batteries"</label>
                        <input id="batteries" name="batteries" type="number" min="1" max="12" required value=batteries />
                        <FieldError result field="batteries" />
                    </div>
                </div>
                <div class="row">
                    <div>
                        <label for="min_height_ft">"Min height (ft above ground)"</label>
                        <input id="min_height_ft" name="min_height_ft" type="number" min="10" max="400" required value=min_h />
                        <FieldError result field="min_height_ft" />
                    </div>
                    <div>
                        <label for="max_height_ft">"Max height (ft above ground)"</label>
                        <input id="max_height_ft" name="max_height_ft" type="number" min="10" max="400" required value=max_h />
                        <FieldError result field="max_height_ft" />
                    </div>
                </div>
                <FormError result />
                <Show when=move || matches!(result.get(), Some(Ok(())))>
                    <p class="notice" role="status">"Saved."</p>
                </Show>
                <button type="submit" disabled=move || save_flight.pending().get()>"Save flight inputs"</button>
            </ActionForm>
        </section>
    }
}
