//! Server-side only: the services (ports) the server functions delegate to, and the cookie and
//! request plumbing they share. The server builds one `Services` at start-up and provides it to
//! every request through Leptos context.

use std::net::IpAddr;
use std::sync::Arc;

use domain::ports::{AuthProvider, ProjectStore, SessionToken, Waitlist};
use domain::ratelimit::{Limiter, Reservation};
use domain::{Role, User};
use http::header::{COOKIE, SET_COOKIE};
use http::HeaderValue;
use leptos::prelude::*;
use leptos_axum::ResponseOptions;

use crate::error::AppError;

/// Cookie names, as given to [`set_cookie`] and [`cookie`]: where cookies are Secure (the public
/// URL is https) they go out as `__Host-{name}`, which browsers keep only if this very host set
/// them Secure on `Path=/` with no `Domain` — so a sibling subdomain cannot plant a session of
/// its choosing. Browsers refuse that prefix without Secure, so plain http (the embedded
/// default on loopback) uses the bare names.
pub const SESSION_COOKIE: &str = "sp_session";
pub const CHALLENGE_COOKIE: &str = "sp_challenge";
pub const SESSION_MAX_AGE_SECS: u64 = 14 * 24 * 3600;
pub const CHALLENGE_MAX_AGE_SECS: u64 = 15 * 60;

#[derive(Clone)]
pub struct Services {
    pub auth: Arc<dyn AuthProvider>,
    pub projects: Arc<dyn ProjectStore>,
    pub waitlist: Arc<dyn Waitlist>,
    /// Sign-in and password-change failures (counted in a store every instance shares).
    pub limiter: Limiter,
    /// Public forms (reset requests, the waitlist), counted apart from sign-in failures so that
    /// posting them from an address cannot lock that address out of signing in.
    pub public_limiter: Limiter,
    /// The request header a trusted reverse proxy puts the client's address in
    /// (`client_ip_header`); `None` takes the TCP peer, which behind a proxy is the proxy.
    pub client_ip_header: Option<http::HeaderName>,
    /// Adds `Secure` to cookies; on whenever the public URL is https.
    pub secure_cookies: bool,
    /// The pipeline's job queue.
    pub jobs: Arc<dyn domain::ports::JobRunner>,
    /// The files delivered jobs made (a local folder, or S3).
    pub delivered: Arc<dyn domain::ports::DeliveredFiles>,
    /// Resumable photo uploads.
    pub uploads: Arc<dyn domain::ports::UploadStore>,
    /// Ground heights for flight plans (tiles, a web service, or flat ground).
    pub terrain: Arc<dyn domain::ports::Terrain>,
    /// Place search for the flight page's map.
    pub places: Arc<dyn domain::ports::Places>,
    /// Where the flight page's map gets its tiles, and whether it may search.
    pub map: crate::api::map::MapSources,
    /// Public links to delivered models.
    pub shares: Arc<dyn domain::ports::ShareLinks>,
    /// Where mail goes (the outbox, in both modes).
    pub notifier: Arc<dyn domain::ports::Notifier>,
    /// The address users reach the app at, for links in mail.
    pub public_url: String,
    /// Where people write with feedback (`contact_email`), if set.
    pub contact_email: Option<String>,
}

pub fn services() -> Result<Services, AppError> {
    use_context::<Services>().ok_or_else(|| AppError::internal("Services missing from context"))
}

pub fn now_secs() -> u64 {
    u64::try_from(ids::now_secs()).unwrap_or(0)
}

fn request_parts() -> Option<http::request::Parts> {
    use_context::<http::request::Parts>()
}

/// The value of a cookie in `headers`.
pub fn cookie_in(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The name cookie `name` goes by on the wire (see [`SESSION_COOKIE`]).
pub fn cookie_name(name: &str, secure: bool) -> String {
    if secure {
        format!("__Host-{name}")
    } else {
        name.to_owned()
    }
}

/// The value of a request cookie.
pub fn cookie(name: &str, secure: bool) -> Option<String> {
    cookie_in(&request_parts()?.headers, &cookie_name(name, secure))
}

/// Sets (or, with `max_age_secs == 0`, clears) an HttpOnly cookie on the response.
pub fn set_cookie(name: &str, value: &str, max_age_secs: u64, secure: bool) {
    let Some(res) = use_context::<ResponseOptions>() else {
        return;
    };
    let name = cookie_name(name, secure);
    let secure = if secure { "; Secure" } else { "" };
    let header =
        format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}");
    if let Ok(v) = HeaderValue::from_str(&header) {
        res.append_header(SET_COOKIE, v);
    }
}

/// The client's address, for rate limiting: from the trusted proxy's header when one is
/// configured, else the TCP peer.
pub fn client_ip() -> Option<IpAddr> {
    let parts = request_parts()?;
    let header = services().ok().and_then(|s| s.client_ip_header);
    client_ip_of(&parts, header.as_ref())
}

/// [`client_ip`] of a request. From `X-Forwarded-For` the right-most address is taken — the one
/// the trusted proxy appended; those left of it came from the client and can be anything.
pub fn client_ip_of(
    parts: &http::request::Parts,
    header: Option<&http::HeaderName>,
) -> Option<IpAddr> {
    match header {
        Some(name) => parts
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .last()
            .and_then(|ip| ip.trim().parse().ok()),
        None => parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip()),
    }
}

/// The session token the request's cookie carries (server functions).
pub fn session_token() -> Option<SessionToken> {
    let secure = services().ok()?.secure_cookies;
    session_token_in(&request_parts()?.headers, secure)
}

/// The session token a request's cookie carries (plain routes, from their headers); `secure` as
/// in [`Services::secure_cookies`].
pub fn session_token_in(headers: &http::HeaderMap, secure: bool) -> Option<SessionToken> {
    cookie_in(headers, &cookie_name(SESSION_COOKIE, secure))
        .filter(|t| !t.is_empty())
        .map(SessionToken)
}

/// The signed-in user, or `Unauthenticated`.
pub async fn require_user() -> Result<(Services, User, SessionToken), AppError> {
    let svc = services()?;
    let token = session_token().ok_or(AppError::Unauthenticated)?;
    let user = svc
        .signed_in(&token)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    Ok((svc, user, token))
}

pub async fn require_admin() -> Result<(Services, User), AppError> {
    let (svc, user, _) = require_user().await?;
    if user.role == Role::Admin {
        Ok((svc, user))
    } else {
        Err(AppError::Forbidden)
    }
}

impl Services {
    /// The one session resolver, for server functions and plain routes alike: the user a
    /// session token belongs to — only one who has finished first sign-in (chosen a handle);
    /// `None` for an unknown, expired or revoked session.
    pub async fn signed_in(&self, token: &SessionToken) -> Result<Option<User>, AppError> {
        // A session always belongs to a user who finished first sign-in; be strict anyway.
        Ok(self
            .auth
            .session_user(token)
            .await?
            .filter(|u| u.handle.is_some()))
    }

    /// [`Services::signed_in`] for a request that must be signed in.
    pub async fn require_signed_in(&self, token: Option<&SessionToken>) -> Result<User, AppError> {
        let token = token.ok_or(AppError::Unauthenticated)?;
        self.signed_in(token)
            .await?
            .ok_or(AppError::Unauthenticated)
    }

    /// Sign-in behind the per-account and per-address limiter. Every failure counts, whether or
    /// not the account exists, so the limiter cannot be used to discover accounts. The attempt
    /// is counted before the password is checked (see [`Limiter::reserve`]).
    pub async fn sign_in(
        &self,
        email: &domain::Email,
        password: &str,
        ip: Option<IpAddr>,
    ) -> Result<domain::ports::SignInOutcome, AppError> {
        let account = email.as_str();
        let result = if Self::reserve(&self.limiter, account, ip).await? == 0 {
            self.auth.sign_in(email, password).await
        } else {
            // After failures on this account or from this address: behind clean attempts.
            self.auth.sign_in_suspect(email, password).await
        };
        // The answer stands whatever happens to the bookkeeping after it: a store that fails
        // here must not turn a signed-in user away (the session exists) or hide why not.
        let settled = match &result {
            Ok(_) => self.limiter.record_success(account, ip, now_secs()).await,
            Err(domain::AuthError::InvalidCredentials) => Ok(()),
            Err(_) => self.limiter.refund(account, ip, now_secs()).await,
        };
        if let Err(e) = settled {
            AppError::internal(format!("settling a sign-in attempt: {e}"));
        }
        Ok(result?)
    }

    /// Changes the signed-in user's password, with guesses of the current one throttled like
    /// sign-ins (a stolen session must not become an unlimited password oracle).
    pub async fn change_password(
        &self,
        token: &SessionToken,
        user: &User,
        current: &str,
        new: &domain::NewPassword,
        ip: Option<IpAddr>,
    ) -> Result<(), AppError> {
        let account = format!("password:{}", user.id.0);
        Self::reserve(&self.limiter, &account, ip).await?;
        let result = self.auth.change_password(token, current, new).await;
        let counted = match result {
            Ok(()) => self.limiter.record_success(&account, ip, now_secs()).await,
            Err(domain::AuthError::WrongCurrentPassword) => Ok(()),
            Err(_) => self.limiter.refund(&account, ip, now_secs()).await,
        };
        if let Err(e) = counted {
            AppError::internal(format!("settling a password-change attempt: {e}"));
        }
        Ok(result?)
    }

    /// Counts a public, unauthenticated request (`kind`: "reset", "waitlist") in the public
    /// forms' limiter, so nobody can flood a user's inbox with reset links or the waitlist with
    /// junk — nor, by posting them, lock an address out of signing in.
    pub async fn throttle_public(
        &self,
        kind: &str,
        email: &domain::Email,
        ip: Option<IpAddr>,
    ) -> Result<(), AppError> {
        Self::reserve(&self.public_limiter, &format!("{kind}:{email}"), ip)
            .await
            .map(|_| ())
    }

    /// Mails someone who just joined the waitlist, and every admin. A mail that cannot be queued
    /// is logged, never a failure: the address is on the list either way.
    pub async fn tell_waitlist(&self, who: &domain::Email, note: &str) {
        let mut mails = vec![domain::messages::waitlist_joined(who, &self.public_url)];
        match self.auth.list_users().await {
            Ok(users) => {
                mails.extend(users.iter().filter(|u| u.role == Role::Admin).map(|u| {
                    domain::messages::waitlist_notice(&u.email, who, note, &self.public_url)
                }));
            }
            Err(e) => {
                AppError::internal(format!("listing admins to tell of a waitlist entry: {e}"));
            }
        }
        for mail in mails {
            if let Err(e) = self.notifier.send(mail).await {
                AppError::internal(format!("queueing a waitlist mail: {e}"));
            }
        }
    }

    /// Counts an attempt (see [`Limiter::reserve`]); the failures there were before it.
    async fn reserve(limiter: &Limiter, key: &str, ip: Option<IpAddr>) -> Result<u32, AppError> {
        match limiter
            .reserve(key, ip, now_secs())
            .await
            .map_err(AppError::internal)?
        {
            Reservation::Counted { failures_before } => Ok(failures_before),
            Reservation::Wait(retry_after_secs) => Err(AppError::RateLimited { retry_after_secs }),
        }
    }
}
