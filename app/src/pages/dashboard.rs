use domain::{format_date, Project};
use leptos::html::Input;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::projects::{list_projects, CreateProject};
use crate::components::form::{outcome, FieldError, FormError};
use crate::components::progress::StatusBar;
use crate::pages::error_view;

#[component]
pub fn Dashboard() -> impl IntoView {
    let create = ServerAction::<CreateProject>::new();
    let result = outcome(create);
    let projects = Resource::new(move || create.version().get(), |_| list_projects());
    let title_input = NodeRef::<Input>::new();
    // Empty the title box once a project has been created from it.
    Effect::new(move |_| {
        if matches!(result.get(), Some(Ok(()))) {
            if let Some(input) = title_input.get() {
                input.set_value("");
            }
        }
    });
    view! {
        <Title text="Your projects" />
        <Suspense fallback=|| view! { <p class="muted">"Loading your projects…"</p> }>
            {move || Suspend::new(async move {
                match projects.await {
                    Err(e) => error_view(e),
                    Ok(list) => view! {
                        <section class="dashboard">
                            <div class="dash-head">
                                <h1>"Your projects"</h1>
                                <ActionForm action=create attr:class="new-project" attr:novalidate=true>
                                    <label for="new-title" class="sr-only">"New project title"</label>
                                    <input
                                        id="new-title"
                                        name="title"
                                        node_ref=title_input
                                        required
                                        maxlength="100"
                                        placeholder="New project, e.g. Hillside barn"
                                    />
                                    <button type="submit" disabled=move || create.pending().get()>"Create project"</button>
                                    <FieldError result field="title" />
                                    <FormError result />
                                </ActionForm>
                            </div>
                            <ProjectCards list />
                        </section>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ProjectCards(list: Vec<Project>) -> impl IntoView {
    if list.is_empty() {
        return view! {
            <div class="empty">
                <p>"No projects yet. Give your first one a title above — then plan the flight, upload photos and watch the model build."</p>
            </div>
        }
        .into_any();
    }
    view! {
        <ul class="cards">
            {list
                .into_iter()
                .map(|p| {
                    let href = format!("/projects/{}", p.id);
                    view! {
                        <li class="card">
                            <a href=href>
                                <h2>{p.title.to_string()}</h2>
                                <StatusBar status=p.status />
                                <p class="muted small">"Updated " {format_date(p.updated_at)}</p>
                            </a>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}
