use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::auth::{current_user, ChangePassword};
use crate::components::form::{outcome, FieldError, FormError};
use crate::error::AppError;
use crate::pages::error_view;

#[component]
pub fn Account() -> impl IntoView {
    let user = Resource::new(|| (), |()| current_user());
    let change = ServerAction::<ChangePassword>::new();
    let result = outcome(change);
    view! {
        <Title text="Your account" />
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match user.await.and_then(|u| u.ok_or(AppError::Unauthenticated)) {
                    Err(e) => error_view(e),
                    Ok(u) => view! {
                        <section class="panel narrow">
                            <h1>"Your account"</h1>
                            <dl class="facts">
                                <dt>"Email"</dt><dd>{u.email.to_string()}</dd>
                                <dt>"Handle"</dt><dd>"@" {u.handle.map(|h| h.as_str().to_owned())}</dd>
                            </dl>
                        </section>
                        <section class="panel narrow">
                            <h2>"Change your password"</h2>
                            <ActionForm action=change attr:class="stack" attr:novalidate=true>
                                <label for="current_password">"Current password"</label>
                                <input id="current_password" name="current_password" type="password" required autocomplete="current-password" />
                                <FieldError result field="current_password" />
                                <label for="new_password">"New password"</label>
                                <input id="new_password" name="new_password" type="password" required minlength="10" maxlength="128" autocomplete="new-password" />
                                <FieldError result field="new_password" />
                                <label for="new_password_confirm">"Repeat the new password"</label>
                                <input id="new_password_confirm" name="new_password_confirm" type="password" required autocomplete="new-password" />
                                <FieldError result field="new_password_confirm" />
                                <FormError result />
                                <Show when=move || matches!(result.get(), Some(Ok(())))>
                                    <p class="notice" role="status">"Password changed. Your other sessions were signed out."</p>
                                </Show>
                                <button type="submit" disabled=move || change.pending().get()>"Change password"</button>
                            </ActionForm>
                        </section>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}
