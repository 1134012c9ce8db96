use domain::User;
use leptos::prelude::*;

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::services::{
    client_ip, cookie, services, session_token, set_cookie, CHALLENGE_COOKIE,
    CHALLENGE_MAX_AGE_SECS, SESSION_COOKIE, SESSION_MAX_AGE_SECS,
};
#[cfg(feature = "ssr")]
use domain::{ports::SignInOutcome, Email, Handle, NewPassword};

/// The signed-in user, if any. Never fails for a visitor: `Ok(None)`.
#[server(prefix = "/api", endpoint = "current_user")]
pub async fn current_user() -> Result<Option<User>, AppError> {
    let svc = services()?;
    let Some(token) = session_token() else {
        return Ok(None);
    };
    svc.signed_in(&token).await
}

#[server(prefix = "/api", endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String) -> Result<(), AppError> {
    let svc = services()?;
    let email = Email::parse(&email)?;
    match svc.sign_in(&email, &password, client_ip()).await? {
        SignInOutcome::SignedIn(token) => {
            // Renew the session id at sign-in: whatever session the browser held ends here.
            if let Some(old) = session_token() {
                svc.auth.sign_out(&old).await?;
            }
            set_cookie(
                SESSION_COOKIE,
                &token.0,
                SESSION_MAX_AGE_SECS,
                svc.secure_cookies,
            );
            leptos_axum::redirect("/dashboard");
        }
        SignInOutcome::NewPasswordRequired { challenge } => {
            set_cookie(
                CHALLENGE_COOKIE,
                &challenge,
                CHALLENGE_MAX_AGE_SECS,
                svc.secure_cookies,
            );
            leptos_axum::redirect("/welcome");
        }
    }
    Ok(())
}

/// First sign-in: the invited user replaces the temporary password and picks a handle.
#[server(prefix = "/api", endpoint = "complete_first_sign_in")]
pub async fn complete_first_sign_in(
    password: String,
    password_confirm: String,
    handle: String,
) -> Result<(), AppError> {
    let svc = services()?;
    let challenge = cookie(CHALLENGE_COOKIE, svc.secure_cookies)
        .filter(|c| !c.is_empty())
        .ok_or(domain::AuthError::ChallengeExpired)?;
    let handle = Handle::parse(&handle)?;
    let password = NewPassword::parse(&password, "password")?;
    if password.expose() != password_confirm {
        return Err(mismatch("password_confirm"));
    }
    let token = svc
        .auth
        .complete_new_password(&challenge, &password, &handle)
        .await?;
    set_cookie(CHALLENGE_COOKIE, "", 0, svc.secure_cookies);
    set_cookie(
        SESSION_COOKIE,
        &token.0,
        SESSION_MAX_AGE_SECS,
        svc.secure_cookies,
    );
    leptos_axum::redirect("/dashboard");
    Ok(())
}

#[server(prefix = "/api", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    let svc = services()?;
    if let Some(token) = session_token() {
        svc.auth.sign_out(&token).await?;
    }
    set_cookie(SESSION_COOKIE, "", 0, svc.secure_cookies);
    leptos_axum::redirect("/");
    Ok(())
}

#[server(prefix = "/api", endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    new_password_confirm: String,
) -> Result<(), AppError> {
    let (svc, user, token) = crate::services::require_user().await?;
    let new = NewPassword::parse(&new_password, "new_password")?;
    if new.expose() != new_password_confirm {
        return Err(mismatch("new_password_confirm"));
    }
    svc.change_password(&token, &user, &current_password, &new, client_ip())
        .await
}

/// Always answers the same way, whether or not the account exists.
#[server(prefix = "/api", endpoint = "request_password_reset")]
#[allow(clippy::unused_async)] // server functions are async by signature; the work is spawned
pub async fn request_password_reset(email: String) -> Result<(), AppError> {
    let svc = services()?;
    let email = Email::parse(&email)?;
    svc.throttle_public("reset", &email, client_ip()).await?;
    // Answered before the account is even looked up: a known account (a link written, a mail
    // queued) and an unknown one (nothing) then take the same time, so timing cannot tell which
    // emails have accounts. A failure is the server's to log; the page's answer is the same.
    let auth = svc.auth.clone();
    leptos::task::spawn(async move {
        if let Err(e) = auth.request_password_reset(&email).await {
            tracing::error!(error = %e, "a password reset request failed");
        }
    });
    Ok(())
}

#[server(prefix = "/api", endpoint = "reset_password")]
pub async fn reset_password(
    token: String,
    new_password: String,
    new_password_confirm: String,
) -> Result<(), AppError> {
    let svc = services()?;
    let new = NewPassword::parse(&new_password, "new_password")?;
    if new.expose() != new_password_confirm {
        return Err(mismatch("new_password_confirm"));
    }
    svc.auth.reset_password(&token, &new).await?;
    leptos_axum::redirect("/signin?reset=done");
    Ok(())
}

/// The public waitlist. Answers alike for new and repeated sign-ups; the first entry is kept.
#[server(prefix = "/api", endpoint = "join_waitlist")]
pub async fn join_waitlist(email: String, note: String) -> Result<(), AppError> {
    let svc = services()?;
    let email = Email::parse(&email)?;
    svc.throttle_public("waitlist", &email, client_ip()).await?;
    let note = note.trim();
    if note.chars().count() > 500 {
        return Err(AppError::Invalid {
            field: "note".into(),
            message: "Keep the note under 500 characters.".into(),
        });
    }
    // Mail only a new entry: joining again sends nothing, so the form mails an address once.
    if svc.waitlist.join(&email, note).await? {
        svc.tell_waitlist(&email, note).await;
    }
    Ok(())
}

#[cfg(feature = "ssr")]
fn mismatch(field: &str) -> AppError {
    AppError::Invalid {
        field: field.into(),
        message: "The two passwords don't match.".into(),
    }
}
