//! Sign-in, first sign-in (new password + handle), forgotten and reset password.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::auth::{CompleteFirstSignIn, RequestPasswordReset, ResetPassword, SignIn};
use crate::components::form::{outcome, FieldError, FormError};

#[component]
pub fn SignIn() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let result = outcome(action);
    let query = use_query_map();
    let reset_done = move || query.read().get("reset").as_deref() == Some("done");
    view! {
        <Title text="Sign in" />
        <section class="panel narrow">
            <h1>"Sign in"</h1>
            <Show when=reset_done>
                <p class="notice" role="status">"Your password was changed. Sign in with the new one."</p>
            </Show>
            <ActionForm action attr:class="stack" attr:novalidate=true>
                <label for="email">"Email"</label>
                <input id="email" name="email" type="email" required autocomplete="username" autofocus />
                <FieldError result field="email" />
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" required autocomplete="current-password" />
                <FormError result />
                <button type="submit" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
            </ActionForm>
            <p class="muted">
                <a href="/forgot">"Forgot your password?"</a>
                " · No account yet? Spaceport is invite-only — "
                <a href="/#waitlist">"join the waitlist"</a>
                "."
            </p>
        </section>
    }
}

#[component]
pub fn Welcome() -> impl IntoView {
    let action = ServerAction::<CompleteFirstSignIn>::new();
    let result = outcome(action);
    view! {
        <Title text="Welcome" />
        <section class="panel narrow">
            <h1>"Welcome to Spaceport"</h1>
            <p>"Choose your own password and the handle other people will see."</p>
            <ActionForm action attr:class="stack" attr:novalidate=true>
                <label for="handle">"Handle"</label>
                <input id="handle" name="handle" required minlength="3" maxlength="30" autocomplete="nickname" pattern="[A-Za-z0-9_.\\-]{3,30}" />
                <p class="hint">"3–30 letters, digits, '.', '_' or '-'."</p>
                <FieldError result field="handle" />
                <label for="password">"New password"</label>
                <input id="password" name="password" type="password" required minlength="10" maxlength="128" autocomplete="new-password" />
                <p class="hint">"At least 10 characters. A few unrelated words work well."</p>
                <FieldError result field="password" />
                <label for="password_confirm">"Repeat the new password"</label>
                <input id="password_confirm" name="password_confirm" type="password" required autocomplete="new-password" />
                <FieldError result field="password_confirm" />
                <FormError result />
                <button type="submit" disabled=move || action.pending().get()>"Save and continue"</button>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn Forgot() -> impl IntoView {
    let action = ServerAction::<RequestPasswordReset>::new();
    let result = outcome(action);
    view! {
        <Title text="Reset your password" />
        <section class="panel narrow">
            <h1>"Reset your password"</h1>
            <Show
                when=move || matches!(result.get(), Some(Ok(())))
                fallback=move || view! {
                    <p>"We'll email you a link to choose a new password. It works once, for one hour."</p>
                    <ActionForm action attr:class="stack" attr:novalidate=true>
                        <label for="email">"Email"</label>
                        <input id="email" name="email" type="email" required autocomplete="email" />
                        <FieldError result field="email" />
                        <FormError result />
                        <button type="submit" disabled=move || action.pending().get()>"Send the link"</button>
                    </ActionForm>
                }
            >
                <p class="notice" role="status">
                    "If an account exists for that address, a reset link is on its way. Check your inbox."
                </p>
            </Show>
        </section>
    }
}

#[component]
pub fn Reset() -> impl IntoView {
    let action = ServerAction::<ResetPassword>::new();
    let result = outcome(action);
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    view! {
        <Title text="Choose a new password" />
        <section class="panel narrow">
            <h1>"Choose a new password"</h1>
            <ActionForm action attr:class="stack" attr:novalidate=true>
                <input type="hidden" name="token" value=token />
                <label for="new_password">"New password"</label>
                <input id="new_password" name="new_password" type="password" required minlength="10" maxlength="128" autocomplete="new-password" />
                <FieldError result field="new_password" />
                <label for="new_password_confirm">"Repeat the new password"</label>
                <input id="new_password_confirm" name="new_password_confirm" type="password" required autocomplete="new-password" />
                <FieldError result field="new_password_confirm" />
                <FormError result />
                <button type="submit" disabled=move || action.pending().get()>"Set the password"</button>
            </ActionForm>
            <p class="muted"><a href="/forgot">"Need a new link?"</a></p>
        </section>
    }
}
