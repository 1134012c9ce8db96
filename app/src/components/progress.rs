use domain::ProjectStatus;
use leptos::prelude::*;

/// The status badge and progress bar of a project, as on the old dashboard.
#[component]
pub fn StatusBar(status: ProjectStatus) -> impl IntoView {
    let percent = status.progress_percent();
    let failed = percent.is_none();
    let width = format!("width: {}%", percent.unwrap_or(100));
    let text = percent.map_or_else(
        || "Failed".to_owned(),
        |p| format!("{} · {p}%", status.label()),
    );
    view! {
        <div class="status" class:failed=failed data-status=status.as_str()>
            <div
                class="bar"
                role="progressbar"
                aria-valuemin="0"
                aria-valuemax="100"
                aria-valuenow=percent.unwrap_or(0)
                aria-label="Project progress"
            >
                <div class="fill" style=width></div>
            </div>
            <span class="status-text">{text}</span>
        </div>
    }
}
