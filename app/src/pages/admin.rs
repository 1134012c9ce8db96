use domain::{format_date, Role};
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::admin::{admin_overview, AdminInvite, AdminSetAccount, AdminStopJob};
use crate::components::form::{outcome, FieldError, FormError};
use crate::pages::error_view;

/// Users and waitlist, and an invitation form (admins only): invite from a waitlist entry in one
/// click, re-send a pending invitation, disable or enable an account.
#[component]
pub fn Admin() -> impl IntoView {
    let invite = ServerAction::<AdminInvite>::new();
    let account = ServerAction::<AdminSetAccount>::new();
    let stop = ServerAction::<AdminStopJob>::new();
    let stop_result = outcome(stop);
    let result = outcome(invite);
    let account_result = outcome(account);
    let overview = Resource::new(
        move || {
            (
                invite.version().get(),
                account.version().get(),
                stop.version().get(),
            )
        },
        |_| admin_overview(),
    );
    view! {
        <Title text="Admin" />
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Err(e) => error_view(e),
                    Ok(o) => {
                        let accounts: std::collections::HashSet<String> =
                            o.users.iter().map(|u| u.email.to_string()).collect();
                        view! {
                        <section class="panel">
                            <h1>"Invite someone"</h1>
                            <ActionForm action=invite attr:class="new-project" attr:novalidate=true>
                                <label for="invite-email" class="sr-only">"Email"</label>
                                <input id="invite-email" name="email" type="email" required placeholder="pilot@example.com" />
                                <label class="check"><input type="checkbox" name="admin" value="on" />" admin"</label>
                                <button type="submit">"Invite"</button>
                                <FieldError result field="email" />
                                <FormError result />
                            </ActionForm>
                            {move || invite.value().get().and_then(Result::ok).map(|r| view! {
                                <p class="notice" role="status">
                                    {if r.resent { "Invitation re-sent to " } else { "Invited " }}
                                    {r.email} ". Temporary password (shown once): " <code>{r.temporary_password}</code>
                                </p>
                            })}
                        </section>
                        <section class="panel">
                            <h2>"Jobs running (" {o.jobs.len()} ")"</h2>
                            <FormError result=stop_result />
                            {o.jobs.is_empty().then(|| view! { <p class="muted">"No job is queued or running."</p> })}
                            {(!o.jobs.is_empty()).then(|| view! {
                                <table>
                                    <thead><tr><th>"Owner"</th><th>"Project"</th><th>"State"</th><th>"Stage"</th><th>"For"</th><th></th></tr></thead>
                                    <tbody>
                                        {o.jobs.into_iter().map(|j| view! {
                                            <tr>
                                                <td>{j.owner_email}</td>
                                                <td>{j.project_title}</td>
                                                <td>{j.job.status.as_str()}</td>
                                                <td>{j.job.stage.map_or("—", domain::job::Stage::as_str)}</td>
                                                <td>{duration_text(j.running_secs)}</td>
                                                <td class="actions">
                                                    <ActionForm action=stop attr:class="inline">
                                                        <input type="hidden" name="owner" value=j.owner_id />
                                                        <input type="hidden" name="project" value=j.project_id />
                                                        <button type="submit" class="button small ghost">"Stop"</button>
                                                    </ActionForm>
                                                </td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            })}
                        </section>
                        <section class="panel">
                            <h2>"Users (" {o.users.len()} ")"</h2>
                            <FormError result=account_result />
                            <table>
                                <thead><tr><th>"Email"</th><th>"Handle"</th><th>"Role"</th><th>"State"</th><th>"Since"</th><th>"Actions"</th></tr></thead>
                                <tbody>
                                    {o.users.into_iter().map(|u| {
                                        let email = u.email.to_string();
                                        let (resend_to, account_of) = (email.clone(), email.clone());
                                        let me = email == o.me;
                                        let state = if u.disabled { "disabled" } else if u.pending { "invited" } else { "active" };
                                        view! {
                                            <tr>
                                                <td>{email}</td>
                                                <td>{u.handle.map(|h| h.as_str().to_owned()).unwrap_or_default()}</td>
                                                <td>{if u.role == Role::Admin { "admin" } else { "user" }}</td>
                                                <td>{state}</td>
                                                <td>{format_date(u.created_at)}</td>
                                                <td class="actions">
                                                    {(u.pending && !u.disabled).then(|| view! {
                                                        <ActionForm action=invite attr:class="inline">
                                                            <input type="hidden" name="email" value=resend_to />
                                                            {(u.role == Role::Admin).then(|| view! { <input type="hidden" name="admin" value="on" /> })}
                                                            <button type="submit" class="button small ghost">"Re-send invitation"</button>
                                                        </ActionForm>
                                                    })}
                                                    {(!me).then(|| view! {
                                                        <ActionForm action=account attr:class="inline">
                                                            <input type="hidden" name="email" value=account_of />
                                                            <input type="hidden" name="state" value=if u.disabled { "enabled" } else { "disabled" } />
                                                            <button type="submit" class="button small ghost">{if u.disabled { "Enable" } else { "Disable" }}</button>
                                                        </ActionForm>
                                                    })}
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </section>
                        <section class="panel">
                            <h2>"Waitlist (" {o.waitlist.len()} ")"</h2>
                            <table>
                                <thead><tr><th>"Email"</th><th>"Note"</th><th>"Joined"</th><th></th></tr></thead>
                                <tbody>
                                    {o.waitlist.into_iter().map(|w| {
                                        let has_account = accounts.contains(&w.email.to_string());
                                        view! {
                                            <tr>
                                                <td>{w.email.to_string()}</td><td>{w.note}</td><td>{format_date(w.created_at)}</td>
                                                <td class="actions">
                                                    {if has_account {
                                                        view! { <span class="muted">"invited"</span> }.into_any()
                                                    } else {
                                                        view! {
                                                            <ActionForm action=invite attr:class="inline">
                                                                <input type="hidden" name="email" value=w.email.to_string() />
                                                                <button type="submit" class="button small">"Invite"</button>
                                                            </ActionForm>
                                                        }.into_any()
                                                    }}
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </section>
                    }
                    .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// "2 h 5 min", "12 min", "40 s".
fn duration_text(secs: i64) -> String {
    let secs = secs.max(0);
    match (secs / 3600, secs % 3600 / 60) {
        (0, 0) => format!("{secs} s"),
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}
