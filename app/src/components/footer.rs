use leptos::prelude::*;

/// The address people write to with feedback (`contact_email`), or "" when none is set. Read
/// on the server and carried to the browser as a plain string (see `nav::Visitor` for why not a
/// resource).
pub fn contact_email() -> String {
    SharedValue::new_str(|| {
        #[cfg(feature = "ssr")]
        if let Ok(svc) = crate::services::services() {
            return svc.contact_email.unwrap_or_default();
        }
        String::new()
    })
    .into_inner()
}

/// The links under every page: what Spaceport is, what it costs, and where to write (the About
/// page's contact section, which names the address when one is set).
#[component]
pub fn Footer() -> impl IntoView {
    view! {
        <footer class="footer">
            <nav aria-label="About Spaceport">
                <a href="/about">"About"</a>
                <a href="/pricing">"Pricing"</a>
                <a href="/about#contact">"Feedback"</a>
            </nav>
        </footer>
    }
}
