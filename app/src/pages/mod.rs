//! One module per page. Pages that need a signed-in user let the server function say so and
//! redirect to sign-in on `Unauthenticated` (see [`error_view`]).

pub mod about;
pub mod account;
pub mod admin;
pub mod auth;
pub mod dashboard;
pub mod landing;
pub mod not_found;
pub mod processing;
pub mod project;

use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::error::AppError;

/// How a page shows a failed load: sign-in for visitors, a real 404 for missing (or someone
/// else's) things, a message otherwise.
pub fn error_view(e: AppError) -> AnyView {
    match e {
        AppError::Unauthenticated => {
            // In the browser, a full load: the top bar then stops showing the ended session
            // (see `components::nav::Visitor`).
            #[cfg(feature = "hydrate")]
            if let Some(w) = web_sys::window() {
                let _ = w.location().assign("/signin");
                return ().into_any();
            }
            view! { <Redirect path="/signin" /> }.into_any()
        }
        AppError::NotFound => view! { <not_found::NotFound /> }.into_any(),
        other => {
            #[cfg(feature = "ssr")]
            if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
                res.set_status(other.status());
            }
            view! {
                <section class="panel narrow">
                    <h1>"Something is in the way"</h1>
                    <p class="form-error" role="alert">{other.to_string()}</p>
                    <p><a href="/dashboard">"Back to your projects"</a></p>
                </section>
            }
            .into_any()
        }
    }
}

/// A reason as the start of a sentence.
pub(crate) fn sentence(why: &str) -> String {
    let mut chars = why.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_uppercase().chain(chars).collect::<String>()
    })
}
