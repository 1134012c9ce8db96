use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

use crate::api::auth::{current_user, SignOut};

/// The top bar. It re-asks who is signed in on every navigation and sign-out, so signing in or
/// out anywhere is reflected at once.
#[component]
pub fn NavBar() -> impl IntoView {
    let location = use_location();
    let sign_out = ServerAction::<SignOut>::new();
    // Signing out from the landing page redirects to the same path, hence the action's version.
    let user = Resource::new(
        move || (location.pathname.get(), sign_out.version().get()),
        |_| current_user(),
    );
    view! {
        <header class="topbar">
            <a class="skip" href="#main">"Skip to content"</a>
            <A href="/" attr:class="brand">
                <span class="brand-mark" aria-hidden="true"></span>
                "Spaceport"
            </A>
            <nav aria-label="Main">
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match user.await {
                            Ok(Some(u)) => {
                                let handle = u.handle.map(|h| h.as_str().to_owned()).unwrap_or_default();
                                let is_admin = u.role == domain::Role::Admin;
                                view! {
                                    <A href="/dashboard">"Projects"</A>
                                    {is_admin.then(|| view! { <A href="/admin">"Admin"</A> })}
                                    <A href="/account">
                                        <span class="who">{format!("@{handle}")}</span>
                                    </A>
                                    <ActionForm action=sign_out attr:class="inline">
                                        <button type="submit" class="link">"Sign out"</button>
                                    </ActionForm>
                                }
                                    .into_any()
                            }
                            _ => view! { <A href="/signin" attr:class="button small">"Sign in"</A> }.into_any(),
                        }
                    })}
                </Transition>
            </nav>
        </header>
    }
}
