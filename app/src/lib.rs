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
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

use crate::components::footer::Footer;
use crate::components::nav::NavBar;
// The browser bundles leave some pages out (`from_server!`, `static_page!`).
#[cfg_attr(feature = "hydrate", allow(unused_imports))]
use crate::pages::{about, account, admin, auth, dashboard, landing, not_found::NotFound, project};

/// The names the browser's files were given for caching: `pkg/assets.txt`, written by
/// `scripts/build-site.sh` as `plain=hashed` lines (`public.wasm=public.1f0c….wasm`). A name with
/// its content's hash can be cached for a year: a new build is a new name. Names missing from
/// it (no manifest, as in a development build) are served as they are.
#[derive(Debug, Clone, Default)]
pub struct Assets(std::collections::HashMap<String, String>);

impl Assets {
    pub fn parse(manifest: &str) -> Self {
        Self(
            manifest
                .lines()
                .filter_map(|l| l.trim().split_once('='))
                .map(|(plain, hashed)| (plain.trim().to_owned(), hashed.trim().to_owned()))
                .collect(),
        )
    }

    /// The path a file under `pkg/` is served at.
    pub fn pkg(&self, plain: &str) -> String {
        format!("/pkg/{}", self.0.get(plain).map_or(plain, String::as_str))
    }
}

/// The HTML document around the app (server only), with the script its page needs ([`Bundle`]).
pub fn shell(_options: LeptosOptions) -> impl IntoView {
    let bundle = use_context::<http::request::Parts>()
        .map_or(Bundle::Public, |parts| Bundle::for_path(parts.uri.path()));
    let assets = use_context::<Assets>().unwrap_or_default();
    let stylesheet = assets.pkg("spaceport.css");
    let scripts = bundle.name().map(|name| {
        let (js, wasm) = (assets.pkg(&format!("{name}.js")), assets.pkg(&format!("{name}.wasm")));
        let nonce = leptos::nonce::use_nonce();
        // What Leptos's `HydrationScripts` writes, with the hashed names.
        let start = format!(
            "import({js:?}).then(m => m.default({{module_or_path: {wasm:?}}}).then(() => m.hydrate()));"
        );
        view! {
            <link rel="modulepreload" href=js />
            <link rel="preload" href=wasm r#as="fetch" r#type="application/wasm" crossorigin="anonymous" />
            <script type="module" nonce=nonce>{start}</script>
        }
    });
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                // Fixed for every page, so plain tags: as `leptos_meta` components they cost
                // the public bundle code to register them again in the browser.
                <link rel="stylesheet" id="leptos" href=stylesheet />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <meta name="description" content="Spaceport turns a drone flight into a 3D model anyone can open in a browser." />
                {scripts}
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Which script a page is served with. Every visitor's first load is a page anyone can open,
/// so those pages get a bundle of their own, a third of the whole app's size; pages that need no
/// script at all get none. `scripts/build-site.sh` builds both bundles and prints their sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bundle {
    /// The whole app (`pkg/spaceport.*`, feature `hydrate`): the signed-in pages.
    Whole,
    /// The pages anyone can open (`pkg/public.*`, feature `public`): landing, sign-in, reset…
    Public,
    /// Plain HTML (About, Pricing): their links and the sign-out form work without a script.
    NoScript,
}

/// The signed-in pages (wrapped in [`from_server!`] in `App`) and the pages served without a
/// script (wrapped in [`static_page!`]).
const SIGNED_IN: [&str; 4] = ["/dashboard", "/projects", "/account", "/admin"];
const STATIC: [&str; 2] = ["/about", "/pricing"];

impl Bundle {
    pub fn for_path(path: &str) -> Self {
        let under = |prefixes: &[&str]| {
            prefixes.iter().any(|p| {
                path.strip_prefix(p)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
        };
        if under(&SIGNED_IN) {
            Self::Whole
        } else if under(&STATIC) {
            Self::NoScript
        } else {
            Self::Public
        }
    }

    /// The bundle's file name under `pkg/`.
    pub const fn name(self) -> Option<&'static str> {
        match self {
            Self::Whole => Some("spaceport"),
            Self::Public => Some("public"),
            Self::NoScript => None,
        }
    }
}

/// A signed-in page, which the public bundle leaves out: in that bundle a client-side navigation
/// to it loads it from the server instead, with the whole app.
#[cfg(not(feature = "public"))]
macro_rules! from_server {
    ($page:path) => {
        $page
    };
}
#[cfg(feature = "public")]
macro_rules! from_server {
    ($page:path) => {
        components::full_load::FullLoad
    };
}

/// A page served without a script: in the browser, either bundle loads it from the server (its
/// content, such as the contact address, comes from there).
#[cfg(not(feature = "hydrate"))]
macro_rules! static_page {
    ($page:path) => {
        $page
    };
}
#[cfg(feature = "hydrate")]
macro_rules! static_page {
    ($page:path) => {
        components::full_load::FullLoad
    };
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
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
                    <Route path=path!("/about") view=static_page!(about::About) />
                    <Route path=path!("/pricing") view=static_page!(about::Pricing) />
                    <Route path=path!("/dashboard") view=from_server!(dashboard::Dashboard) ssr=SsrMode::Async />
                    <Route path=path!("/projects/:id") view=from_server!(project::ProjectPage) ssr=SsrMode::Async />
                    <Route path=path!("/account") view=from_server!(account::Account) ssr=SsrMode::Async />
                    <Route path=path!("/admin") view=from_server!(admin::Admin) ssr=SsrMode::Async />
                </Routes>
            </main>
            <Footer />
        </Router>
    }
}

/// Browser entry point: hydrate the server-rendered page, then mark the body so end-to-end tests
/// (and anyone else) can tell when the page has become interactive.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    #[cfg(not(feature = "public"))]
    console_error_panic_hook::set_once();
    // A server function's redirect (after signing in or out, or deleting a project) loads the
    // page from the server: the top bar then shows who is signed in now (see `Visitor`), and
    // the page comes with the bundle that holds it. Set before the router sets its own.
    let _ = server_fn::redirect::set_redirect_hook(|to: &str| {
        if let Some(w) = web_sys::window() {
            let _ = w.location().assign(to);
        }
    });
    leptos::mount::hydrate_body(App);
    if let Some(body) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
    {
        let _ = body.dataset().set("hydrated", "true");
    }
}

#[cfg(test)]
mod tests {
    use super::Bundle;

    #[test]
    fn each_page_gets_the_script_it_needs() {
        for p in [
            "/dashboard",
            "/projects/abc",
            "/projects/abc/view",
            "/account",
            "/admin",
        ] {
            assert_eq!(Bundle::for_path(p), Bundle::Whole, "{p}");
        }
        for p in ["/about", "/pricing"] {
            assert_eq!(Bundle::for_path(p), Bundle::NoScript, "{p}");
        }
        for p in [
            "/",
            "/signin",
            "/welcome",
            "/forgot",
            "/reset",
            "/dashboards",
            "/nope",
        ] {
            assert_eq!(Bundle::for_path(p), Bundle::Public, "{p}");
        }
    }
}
