use domain::ProjectStatus;
use leptos::prelude::*;

/// The status badge and progress bar of a project, as on the old dashboard.
#[component]
pub fn StatusBar(
    /// A fixed status (dashboard cards) or one that follows the running job (the project page).
    #[prop(into)]
    status: Signal<ProjectStatus>,
) -> impl IntoView {
    let percent = move || status.get().progress_percent();
    let text = move || {
        percent().map_or_else(
            || "Failed".to_owned(),
            |p| format!("{} · {p}%", status.get().label()),
        )
    };
    view! {
        <div class="status" class:failed=move || percent().is_none() data-status=move || status.get().as_str()>
            <div
                class="bar"
                role="progressbar"
                aria-valuemin="0"
                aria-valuemax="100"
                aria-valuenow=move || percent().unwrap_or(0)
                aria-label="Project progress"
            >
                <div class="fill" style=move || format!("width: {}%", percent().unwrap_or(100))></div>
            </div>
            <span class="status-text">{text}</span>
        </div>
    }
}
