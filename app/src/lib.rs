//! Spaceport's user interface, rendered on the server (feature `ssr`) and hydrated in the browser
//! (feature `hydrate`). Pages call `#[server]` functions (`api`), whose signatures both builds
//! share; their bodies exist only in the server build and delegate to the ports in `domain`.
//!
//! Every page works without JavaScript (forms post to the server functions and get redirects);
//! hydration adds inline validation and navigation without reloads.

pub mod api;
pub mod components;
pub mod error;
pub mod pages;
#[cfg(feature = "hydrate")]
pub mod photos;
#[cfg(feature = "ssr")]
pub mod services;
#[cfg(feature = "hydrate")]
pub mod upload;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

use crate::components::nav::NavBar;
use crate::pages::{account, admin, auth, dashboard, landing, not_found::NotFound, project};

/// The HTML document around the app (server only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/spaceport.css" />
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg" />
        <Meta name="description" content="Spaceport turns a drone flight into a 3D model anyone can open in a browser." />
        <Title formatter=|t: String| if t.is_empty() { "Spaceport".to_owned() } else { format!("{t} · Spaceport") } />
        <Router>
            <NavBar />
            <main id="main">
                <Routes fallback=|| view! { <NotFound /> }>
                    <Route path=path!("/") view=landing::Landing />
                    <Route path=path!("/signin") view=auth::SignIn />
                    <Route path=path!("/welcome") view=auth::Welcome />
                    <Route path=path!("/forgot") view=auth::Forgot />
                    <Route path=path!("/reset") view=auth::Reset />
                    <Route path=path!("/dashboard") view=dashboard::Dashboard ssr=SsrMode::Async />
                    <Route path=path!("/projects/:id") view=project::ProjectPage ssr=SsrMode::Async />
                    <Route path=path!("/account") view=account::Account ssr=SsrMode::Async />
                    <Route path=path!("/admin") view=admin::Admin ssr=SsrMode::Async />
                </Routes>
            </main>
        </Router>
    }
}

/// Browser entry point: hydrate the server-rendered page, then mark the body so end-to-end tests
/// (and anyone else) can tell when the page has become interactive.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
    if let Some(body) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
    {
        let _ = body.dataset().set("hydrated", "true");
    }
}
