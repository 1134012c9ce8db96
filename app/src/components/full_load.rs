use leptos::prelude::*;

/// Stands in for a signed-in page in the public bundle: the router has already put the new
/// address in the history, so reloading fetches that page, with the bundle that holds it.
#[component]
pub fn FullLoad() -> impl IntoView {
    #[cfg(feature = "hydrate")]
    Effect::new(|| {
        let _ = window().location().reload();
    });
}
