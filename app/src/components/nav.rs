use std::fmt;
use std::str::FromStr;

use leptos::prelude::*;

use crate::api::auth::SignOut;

/// Who the top bar shows: what the server found when it rendered the page (the server puts it
/// in the request's extensions before rendering; see `server::startup`). It stays true without
/// asking again, because signing in or out always ends in a full page load (the redirect hook
/// in [`crate::hydrate`]), and so does a session that ends under an open page
/// ([`crate::pages::error_view`]).
///
/// Carried to the browser as a short string rather than through a resource: that kept the async
/// machinery and a JSON decoder out of the public pages' bundle (38 KB of its gzip).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Visitor {
    #[default]
    Anonymous,
    Member {
        handle: String,
        admin: bool,
    },
}

impl Visitor {
    pub fn of(user: &domain::User) -> Self {
        match &user.handle {
            Some(h) => Self::Member {
                handle: h.as_str().to_owned(),
                admin: user.role == domain::Role::Admin,
            },
            None => Self::Anonymous,
        }
    }
}

impl fmt::Display for Visitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Anonymous => Ok(()),
            Self::Member { handle, admin } => {
                write!(f, "{}:{handle}", if *admin { "admin" } else { "member" })
            }
        }
    }
}

impl FromStr for Visitor {
    type Err = std::convert::Infallible;

    /// Anything but the two forms `Display` writes reads as anonymous.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.split_once(':') {
            Some((role @ ("admin" | "member"), handle)) if !handle.is_empty() => Self::Member {
                handle: handle.to_owned(),
                admin: role == "admin",
            },
            _ => Self::Anonymous,
        })
    }
}

/// The visitor the server found for this request (server only; anonymous elsewhere).
fn visitor_of_request() -> Visitor {
    #[cfg(feature = "ssr")]
    if let Some(parts) = use_context::<http::request::Parts>() {
        return parts
            .extensions
            .get::<Visitor>()
            .cloned()
            .unwrap_or_default();
    }
    Visitor::default()
}

/// Where the sign-out form posts.
const SIGN_OUT: &str = <SignOut as server_fn::ServerFn>::PATH;

/// The top bar.
#[component]
pub fn NavBar() -> impl IntoView {
    let visitor = SharedValue::new_str(visitor_of_request).into_inner();
    let links = match visitor {
        Visitor::Member { handle, admin } => leptos::either::Either::Left(view! {
            <a href="/dashboard">"Projects"</a>
            {admin.then(|| view! { <a href="/admin">"Admin"</a> })}
            <a href="/account">
                <span class="who">{format!("@{handle}")}</span>
            </a>
            // A plain form: signing out ends in a full page load in any case (see `Visitor`).
            <form method="post" action=SIGN_OUT class="inline">
                <button type="submit" class="link">"Sign out"</button>
            </form>
        }),
        Visitor::Anonymous => leptos::either::Either::Right(
            view! { <a href="/signin" class="button small">"Sign in"</a> },
        ),
    };
    view! {
        <header class="topbar">
            <a class="skip" href="#main">"Skip to content"</a>
            <a href="/" class="brand">
                <span class="brand-mark" aria-hidden="true"></span>
                "Spaceport"
            </a>
            <nav aria-label="Main">{links}</nav>
        </header>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_visitor_survives_its_string_form() {
        for v in [
            Visitor::Anonymous,
            Visitor::Member {
                handle: "ana.b-1".into(),
                admin: false,
            },
            Visitor::Member {
                handle: "ops".into(),
                admin: true,
            },
        ] {
            assert_eq!(v.to_string().parse::<Visitor>(), Ok(v));
        }
        // Garbage never makes anyone an admin.
        for s in ["admin:", "root:x", "x", ":admin"] {
            assert_eq!(s.parse::<Visitor>(), Ok(Visitor::Anonymous), "{s}");
        }
    }
}
