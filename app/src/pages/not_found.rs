use leptos::prelude::*;
use leptos_meta::Title;

/// The 404 page; during server rendering it also sets the HTTP status.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found" />
        <section class="panel narrow not-found">
            <h1>"Page not found"</h1>
            <p>"There is nothing here — the link may be wrong, or the project may have been deleted."</p>
            <p>
                <a class="button" href="/dashboard">"Go to your projects"</a>
                " "
                <a href="/">"Home"</a>
            </p>
        </section>
    }
}
