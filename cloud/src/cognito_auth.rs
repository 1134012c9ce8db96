//! `AuthProvider` on Amazon Cognito. Cognito holds the accounts and checks passwords; the server
//! keeps each signed-in user's Cognito tokens in a session record of its own (DynamoDB, under the
//! hash of an opaque cookie token), so no token ever reaches the browser. Every token Cognito
//! hands out is verified against the pool's published keys (JWKS) — signature, issuer, audience
//! or client, token use, expiry — before a session is made from it, and a session whose access
//! token has expired is renewed with the refresh token or ends.
//!
//! Token verification is `cognito_tokens`. Usernames are emails (the pool's `UsernameAttributes`), the handle is `preferred_username`,
//! and admins are the members of the [`ADMIN_GROUP`] group. Password-reset links are our own
//! one-time tokens sent by the app's `Notifier` (the same email as on one machine); spending one
//! sets the password through the admin API and ends every session of that user.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, AuthFlowType, AuthenticationResultType, ChallengeNameType, MessageActionType,
    UserStatusType,
};
use aws_sdk_cognitoidentityprovider::Client;
use domain::ports::{AuthProvider, Invitation, Notifier, SessionToken, SignInOutcome};
use domain::{
    AuthError, Email, Handle, NewPassword, Role, User, UserId, UserSummary, ValidationError,
};
use ids::token_hash;

use crate::cognito_tokens::PoolTokens;
use crate::settings::describe;
use crate::table::{self as dp, key, new_token, num, text, Item, Table};
use crate::AwsSettings;

/// Members of this Cognito group are Spaceport admins.
pub const ADMIN_GROUP: &str = "admins";
/// How long a signed-in session lasts at most (Cognito's refresh tokens default to 30 days).
const SESSION_TTL_SECS: i64 = 30 * 86_400;
/// How long the first-sign-in step may take.
const CHALLENGE_TTL_SECS: i64 = 180;

pub struct CognitoAuth {
    cognito: Client,
    table: Table,
    pool_id: String,
    client_id: String,
    tokens: PoolTokens,
    notifier: Arc<dyn Notifier>,
    public_url: String,
    reset_link_ttl_secs: i64,
    invite_ttl_secs: i64,
}

fn internal(e: impl std::error::Error + 'static) -> AuthError {
    AuthError::Internal(format!("cognito: {}", describe(&e)))
}

fn store(e: domain::StoreError) -> AuthError {
    AuthError::Internal(e.to_string())
}

/// A temporary password Cognito's default policy accepts (upper, lower, digit, symbol) and a
/// person can read aloud.
fn temporary_password() -> String {
    format!("{}-Q7", ids::temporary_password())
}

impl CognitoAuth {
    pub fn new(
        config: &aws_config::SdkConfig,
        settings: &AwsSettings,
        notifier: Arc<dyn Notifier>,
        public_url: impl Into<String>,
        reset_link_ttl_secs: i64,
        invite_ttl_secs: i64,
    ) -> Self {
        Self {
            cognito: Client::new(config),
            table: Table::new(config, &settings.table),
            pool_id: settings.user_pool_id.clone(),
            client_id: settings.client_id.clone(),
            tokens: PoolTokens::new(settings),
            notifier,
            public_url: public_url.into(),
            reset_link_ttl_secs,
            invite_ttl_secs,
        }
    }

    /// Whose verified tokens these are, with the access token's expiry (`cognito_tokens`).
    pub async fn verified_user(
        &self,
        tokens: &AuthenticationResultType,
    ) -> Result<(User, i64), AuthError> {
        self.tokens.verified_user(tokens).await
    }

    /// Makes a session from verified tokens.
    async fn open_session(
        &self,
        tokens: &AuthenticationResultType,
        handle: Option<&Handle>,
    ) -> Result<SessionToken, AuthError> {
        let (mut user, access_exp) = self.verified_user(tokens).await?;
        if let Some(h) = handle {
            user.handle = Some(h.clone());
        }
        let refresh = tokens
            .refresh_token()
            .ok_or_else(|| AuthError::Internal("cognito: no refresh token".into()))?;
        let token = new_token();
        let hash = token_hash(&token);
        let mut item = key(format!("SESSION#{hash}"), "SESSION");
        item.extend([
            ("sub".to_owned(), text(&user.id.0)),
            ("email".to_owned(), text(user.email.as_str())),
            ("role".to_owned(), text(role_name(user.role))),
            (
                "access".to_owned(),
                text(tokens.access_token().unwrap_or_default()),
            ),
            ("access_exp".to_owned(), num(access_exp)),
            ("refresh".to_owned(), text(refresh)),
            (
                "expires_at".to_owned(),
                num(dp::now_secs() + SESSION_TTL_SECS),
            ),
        ]);
        if let Some(h) = &user.handle {
            item.insert("handle".to_owned(), text(h.as_str()));
        }
        self.put(item).await?;
        // An index entry under the user, so a password change can end their other sessions; it
        // expires with the session.
        let mut index = key(format!("OWNER#{}", user.id.0), format!("SESSION#{hash}"));
        index.insert(
            "expires_at".to_owned(),
            num(dp::now_secs() + SESSION_TTL_SECS),
        );
        self.put(index).await?;
        Ok(SessionToken(token))
    }

    async fn put(&self, item: Item) -> Result<(), AuthError> {
        self.table.put(item).await.map_err(store)
    }

    async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>, AuthError> {
        self.table.get(key(pk, sk)).await.map_err(store)
    }

    async fn remove(&self, pk: String, sk: &str) -> Result<(), AuthError> {
        self.table
            .delete(key(pk, sk))
            .await
            .map(|_| ())
            .map_err(store)
    }

    /// Ends what a reset or a disabled account must not leave open: the account's reset links
    /// (but `keep_link`, the one being spent), Cognito's refresh tokens and our sessions.
    async fn end_access(
        &self,
        email: &str,
        sub: &str,
        keep_link: Option<&str>,
    ) -> Result<(), AuthError> {
        for entry in self
            .table
            .query(&resets_of(email), "")
            .await
            .map_err(store)?
        {
            let link = dp::s(&entry, "sk").unwrap_or_default().to_owned();
            if Some(link.as_str()) != keep_link {
                self.remove(format!("RESET#{link}"), "RESET").await?;
            }
            self.remove(resets_of(email), &link).await?;
        }
        if let Err(e) = self
            .cognito
            .admin_user_global_sign_out()
            .user_pool_id(&self.pool_id)
            .username(email)
            .send()
            .await
        {
            tracing::warn!("cognito: global sign-out failed: {}", describe(&e));
        }
        self.end_sessions(sub, None).await
    }

    /// Ends every session of `sub` except the one under `keep` (a token hash).
    async fn end_sessions(&self, sub: &str, keep: Option<&str>) -> Result<(), AuthError> {
        let owner = UserId(sub.to_owned());
        let items = self
            .table
            .query(&dp::owner_pk(&owner), "SESSION#")
            .await
            .map_err(store)?;
        for item in items {
            let Some(sk) = dp::s(&item, "sk") else {
                continue;
            };
            let hash = sk.trim_start_matches("SESSION#");
            if Some(hash) != keep {
                self.remove(format!("SESSION#{hash}"), "SESSION").await?;
                self.remove(format!("OWNER#{sub}"), sk).await?;
            }
        }
        Ok(())
    }

    fn user_from(item: &Item) -> Option<User> {
        Some(User {
            id: UserId(dp::s(item, "sub")?.to_owned()),
            email: Email::parse(dp::s(item, "email")?).ok()?,
            handle: dp::s(item, "handle").and_then(|h| Handle::parse(h).ok()),
            role: if dp::s(item, "role")? == "admin" {
                Role::Admin
            } else {
                Role::User
            },
        })
    }

    /// Is `handle` already someone's `preferred_username`?
    async fn handle_taken(&self, handle: &Handle) -> Result<bool, AuthError> {
        let out = self
            .cognito
            .list_users()
            .user_pool_id(&self.pool_id)
            .filter(format!("preferred_username = \"{}\"", handle.as_str()))
            .limit(1)
            .send()
            .await
            .map_err(internal)?;
        Ok(!out.users().is_empty())
    }
}

/// How a session item stores a role.
fn role_name(role: Role) -> &'static str {
    if role == Role::Admin {
        "admin"
    } else {
        "user"
    }
}

/// The partition listing an account's outstanding reset links (sort key: each link's hash).
fn resets_of(email: &str) -> String {
    format!("RESETS#{email}")
}

/// The error code of a failed Cognito call, when the service answered.
fn code<E: ProvideErrorMetadata, R>(
    e: &aws_sdk_cognitoidentityprovider::error::SdkError<E, R>,
) -> Option<&str> {
    e.as_service_error().and_then(ProvideErrorMetadata::code)
}

fn message<E: ProvideErrorMetadata, R>(
    e: &aws_sdk_cognitoidentityprovider::error::SdkError<E, R>,
) -> &str {
    e.as_service_error()
        .and_then(ProvideErrorMetadata::message)
        .unwrap_or_default()
}

#[async_trait]
impl AuthProvider for CognitoAuth {
    async fn sign_in(&self, email: &Email, password: &str) -> Result<SignInOutcome, AuthError> {
        let out = self
            .cognito
            .initiate_auth()
            .client_id(&self.client_id)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", email.as_str())
            .auth_parameters("PASSWORD", password)
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            Err(e)
                if code(&e) == Some("NotAuthorizedException")
                    && message(&e).contains("expired") =>
            {
                return Err(AuthError::InvitationExpired)
            }
            // Cognito says so before it checks the password (the local twin only after).
            Err(e)
                if code(&e) == Some("NotAuthorizedException")
                    && message(&e).contains("disabled") =>
            {
                return Err(AuthError::Disabled)
            }
            Err(e)
                if matches!(
                    code(&e),
                    Some("NotAuthorizedException" | "UserNotFoundException")
                ) =>
            {
                return Err(AuthError::InvalidCredentials)
            }
            Err(e) => return Err(internal(e)),
        };
        if out.challenge_name() == Some(&ChallengeNameType::NewPasswordRequired) {
            let challenge = new_token();
            let mut item = key(format!("CHALLENGE#{}", token_hash(&challenge)), "CHALLENGE");
            item.extend([
                ("username".to_owned(), text(email.as_str())),
                (
                    "session".to_owned(),
                    text(out.session().unwrap_or_default()),
                ),
                (
                    "expires_at".to_owned(),
                    num(dp::now_secs() + CHALLENGE_TTL_SECS),
                ),
            ]);
            self.put(item).await?;
            return Ok(SignInOutcome::NewPasswordRequired { challenge });
        }
        let tokens = out.authentication_result().ok_or_else(|| {
            AuthError::Internal("cognito: neither tokens nor a known challenge".into())
        })?;
        Ok(SignInOutcome::SignedIn(
            self.open_session(tokens, None).await?,
        ))
    }

    async fn complete_new_password(
        &self,
        challenge: &str,
        password: &NewPassword,
        handle: &Handle,
    ) -> Result<SessionToken, AuthError> {
        let pk = format!("CHALLENGE#{}", token_hash(challenge));
        let item = self.get(pk.clone(), "CHALLENGE").await?;
        let Some(item) =
            item.filter(|i| dp::n(i, "expires_at").is_some_and(|t| t > dp::now_secs()))
        else {
            return Err(AuthError::ChallengeExpired);
        };
        if self.handle_taken(handle).await? {
            return Err(AuthError::HandleTaken);
        }
        let username = dp::s(&item, "username").unwrap_or_default().to_owned();
        let out = self
            .cognito
            .respond_to_auth_challenge()
            .client_id(&self.client_id)
            .challenge_name(ChallengeNameType::NewPasswordRequired)
            .session(dp::s(&item, "session").unwrap_or_default())
            .challenge_responses("USERNAME", &username)
            .challenge_responses("NEW_PASSWORD", password.expose())
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            Err(e) if code(&e) == Some("InvalidPasswordException") => {
                return Err(ValidationError::new("password", message(&e).to_owned()).into())
            }
            Err(e)
                if matches!(
                    code(&e),
                    Some(
                        "NotAuthorizedException" | "CodeMismatchException" | "ExpiredCodeException"
                    )
                ) =>
            {
                return Err(AuthError::ChallengeExpired)
            }
            Err(e) => return Err(internal(e)),
        };
        self.remove(pk, "CHALLENGE").await?;
        self.cognito
            .admin_update_user_attributes()
            .user_pool_id(&self.pool_id)
            .username(&username)
            .user_attributes(
                AttributeType::builder()
                    .name("preferred_username")
                    .value(handle.as_str())
                    .build()
                    .map_err(internal)?,
            )
            .send()
            .await
            .map_err(internal)?;
        let tokens = out.authentication_result().ok_or_else(|| {
            AuthError::Internal("cognito: no tokens after the new password".into())
        })?;
        self.open_session(tokens, Some(handle)).await
    }

    async fn session_user(&self, token: &SessionToken) -> Result<Option<User>, AuthError> {
        let hash = token_hash(&token.0);
        let Some(item) = self.get(format!("SESSION#{hash}"), "SESSION").await? else {
            return Ok(None);
        };
        let now = dp::now_secs();
        if dp::n(&item, "expires_at").is_none_or(|t| t <= now) {
            return Ok(None);
        }
        if dp::n(&item, "access_exp").is_none_or(|t| t <= now + 60) {
            // The access token has (nearly) expired: renew it, or the session is over (the
            // refresh token was revoked, the user disabled or deleted).
            let renewed = self
                .cognito
                .initiate_auth()
                .client_id(&self.client_id)
                .auth_flow(AuthFlowType::RefreshTokenAuth)
                .auth_parameters("REFRESH_TOKEN", dp::s(&item, "refresh").unwrap_or_default())
                .send()
                .await;
            let tokens = match renewed {
                Ok(out) => out.authentication_result().cloned(),
                // Cognito said no: the refresh token was revoked, the user disabled or deleted.
                Err(e)
                    if matches!(
                        code(&e),
                        Some("NotAuthorizedException" | "UserNotFoundException")
                    ) =>
                {
                    None
                }
                // Cognito did not answer: not a reason to sign anyone out.
                Err(e) => return Err(internal(e)),
            };
            let Some(tokens) = tokens else {
                return Ok(None);
            };
            let (fresh, access_exp) = self.verified_user(&tokens).await?;
            let mut updated = item.clone();
            updated.insert(
                "access".to_owned(),
                text(tokens.access_token().unwrap_or_default()),
            );
            updated.insert("access_exp".to_owned(), num(access_exp));
            // The role as Cognito has it now: a promotion or a demotion takes effect within
            // the access token's hour, not at the end of the session's 30 days.
            updated.insert("role".to_owned(), text(role_name(fresh.role)));
            self.put(updated.clone()).await?;
            return Ok(Self::user_from(&updated));
        }
        Ok(Self::user_from(&item))
    }

    async fn sign_out(&self, token: &SessionToken) -> Result<(), AuthError> {
        let hash = token_hash(&token.0);
        if let Some(item) = self.get(format!("SESSION#{hash}"), "SESSION").await? {
            // Revoke the refresh token at Cognito too, so a copy of it is worthless.
            if let Some(refresh) = dp::s(&item, "refresh") {
                if let Err(e) = self
                    .cognito
                    .revoke_token()
                    .client_id(&self.client_id)
                    .token(refresh)
                    .send()
                    .await
                {
                    tracing::warn!(
                        "cognito: could not revoke a refresh token at sign-out: {}",
                        describe(&e)
                    );
                }
            }
            self.remove(format!("SESSION#{hash}"), "SESSION").await?;
            if let Some(sub) = dp::s(&item, "sub") {
                self.remove(format!("OWNER#{sub}"), &format!("SESSION#{hash}"))
                    .await?;
            }
        }
        Ok(())
    }

    async fn change_password(
        &self,
        token: &SessionToken,
        current: &str,
        new: &NewPassword,
    ) -> Result<(), AuthError> {
        if self.session_user(token).await?.is_none() {
            return Err(AuthError::Unauthenticated);
        }
        let hash = token_hash(&token.0);
        let item = self
            .get(format!("SESSION#{hash}"), "SESSION")
            .await?
            .ok_or(AuthError::Unauthenticated)?;
        let out = self
            .cognito
            .change_password()
            .access_token(dp::s(&item, "access").unwrap_or_default())
            .previous_password(current)
            .proposed_password(new.expose())
            .send()
            .await;
        match out {
            Ok(_) => {}
            Err(e) if code(&e) == Some("NotAuthorizedException") => {
                return Err(AuthError::WrongCurrentPassword)
            }
            Err(e) if code(&e) == Some("InvalidPasswordException") => {
                return Err(ValidationError::new("new_password", message(&e).to_owned()).into())
            }
            Err(e) => return Err(internal(e)),
        }
        self.end_sessions(dp::s(&item, "sub").unwrap_or_default(), Some(&hash))
            .await
    }

    async fn request_password_reset(&self, email: &Email) -> Result<(), AuthError> {
        let exists = self
            .cognito
            .admin_get_user()
            .user_pool_id(&self.pool_id)
            .username(email.as_str())
            .send()
            .await;
        match exists {
            // A disabled account gets no link (silently, as an unknown one).
            Ok(user) if !user.enabled() => return Ok(()),
            Ok(_) => {}
            Err(e) if code(&e) == Some("UserNotFoundException") => return Ok(()),
            Err(e) => return Err(internal(e)),
        }
        let link = new_token();
        let hash = token_hash(&link);
        let expires_at = num(dp::now_secs() + self.reset_link_ttl_secs);
        // The link, and an entry under the account naming it, so that using one link can end
        // the others (as the local twin does).
        let mut item = key(format!("RESET#{hash}"), "RESET");
        item.extend([
            ("email".to_owned(), text(email.as_str())),
            ("expires_at".to_owned(), expires_at.clone()),
        ]);
        self.put(item).await?;
        let mut entry = key(resets_of(email.as_str()), hash);
        entry.insert("expires_at".to_owned(), expires_at);
        self.put(entry).await?;
        let message = domain::messages::password_reset(
            email,
            &self.public_url,
            &link,
            self.reset_link_ttl_secs / 60,
        );
        domain::messages::send_account_mail(self.notifier.as_ref(), message).await
    }

    async fn reset_password(&self, link_token: &str, new: &NewPassword) -> Result<(), AuthError> {
        let hash = token_hash(link_token);
        // Taken (read and deleted in one conditional write) before use, so of two requests
        // racing with the same link only one gets it.
        let item = self
            .table
            .take(key(format!("RESET#{hash}"), "RESET"))
            .await
            .map_err(store)?;
        let Some(item) =
            item.filter(|i| dp::n(i, "expires_at").is_some_and(|t| t > dp::now_secs()))
        else {
            return Err(AuthError::InvalidLink);
        };
        let email = dp::s(&item, "email").unwrap_or_default();
        let set = self
            .cognito
            .admin_set_user_password()
            .user_pool_id(&self.pool_id)
            .username(email)
            .password(new.expose())
            .permanent(true)
            .send()
            .await;
        match set {
            Ok(_) => {}
            Err(e) if code(&e) == Some("InvalidPasswordException") => {
                return Err(ValidationError::new("password", message(&e).to_owned()).into())
            }
            Err(e) if code(&e) == Some("UserNotFoundException") => {
                return Err(AuthError::InvalidLink)
            }
            Err(e) => return Err(internal(e)),
        }
        let user = self
            .cognito
            .admin_get_user()
            .user_pool_id(&self.pool_id)
            .username(email)
            .send()
            .await
            .map_err(internal)?;
        // Every other link of the account ends too (one reset answers every request), and so
        // does every session.
        self.end_access(email, &sub_of(&user), Some(&hash)).await
    }

    async fn invite(&self, email: &Email, role: Role) -> Result<Invitation, AuthError> {
        let temporary = temporary_password();
        let existing = self
            .cognito
            .admin_get_user()
            .user_pool_id(&self.pool_id)
            .username(email.as_str())
            .send()
            .await;
        let resent = match existing {
            Ok(user) if user.user_status() == Some(&UserStatusType::ForceChangePassword) => {
                self.cognito
                    .admin_set_user_password()
                    .user_pool_id(&self.pool_id)
                    .username(email.as_str())
                    .password(&temporary)
                    .permanent(false)
                    .send()
                    .await
                    .map_err(internal)?;
                true
            }
            Ok(_) => return Err(AuthError::AlreadyExists),
            Err(e) if code(&e) == Some("UserNotFoundException") => {
                self.cognito
                    .admin_create_user()
                    .user_pool_id(&self.pool_id)
                    .username(email.as_str())
                    .temporary_password(&temporary)
                    // Our own invitation email, the same as on one machine.
                    .message_action(MessageActionType::Suppress)
                    .user_attributes(
                        AttributeType::builder()
                            .name("email")
                            .value(email.as_str())
                            .build()
                            .map_err(internal)?,
                    )
                    .user_attributes(
                        AttributeType::builder()
                            .name("email_verified")
                            .value("true")
                            .build()
                            .map_err(internal)?,
                    )
                    .send()
                    .await
                    .map_err(internal)?;
                false
            }
            Err(e) => return Err(internal(e)),
        };
        let groups = self
            .cognito
            .admin_remove_user_from_group()
            .user_pool_id(&self.pool_id)
            .username(email.as_str())
            .group_name(ADMIN_GROUP);
        if role == Role::Admin {
            self.cognito
                .admin_add_user_to_group()
                .user_pool_id(&self.pool_id)
                .username(email.as_str())
                .group_name(ADMIN_GROUP)
                .send()
                .await
                .map_err(internal)?;
        } else if resent {
            groups.send().await.map_err(internal)?;
        }
        let expires_at = dp::now_secs() + self.invite_ttl_secs;
        let message = domain::messages::invitation(
            email,
            &self.public_url,
            &temporary,
            self.invite_ttl_secs / 86_400,
        );
        domain::messages::send_account_mail(self.notifier.as_ref(), message).await?;
        Ok(Invitation {
            email: email.clone(),
            temporary_password: temporary,
            expires_at,
            resent,
        })
    }

    async fn list_users(&self) -> Result<Vec<UserSummary>, AuthError> {
        let mut admins = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .cognito
                .list_users_in_group()
                .user_pool_id(&self.pool_id)
                .group_name(ADMIN_GROUP)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(internal)?;
            admins.extend(
                page.users()
                    .iter()
                    .filter_map(|u| u.username().map(str::to_owned)),
            );
            match page.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_owned()),
                _ => break,
            }
        }
        let mut users = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .cognito
                .list_users()
                .user_pool_id(&self.pool_id)
                .set_pagination_token(token.take())
                .send()
                .await
                .map_err(internal)?;
            for u in page.users() {
                let attr = |name: &str| {
                    u.attributes()
                        .iter()
                        .find(|a| a.name() == name)
                        .and_then(AttributeType::value)
                };
                let Some(email) = attr("email").and_then(|e| Email::parse(e).ok()) else {
                    continue;
                };
                users.push(UserSummary {
                    id: UserId(attr("sub").unwrap_or_default().to_owned()),
                    handle: attr("preferred_username").and_then(|h| Handle::parse(h).ok()),
                    role: if u.username().is_some_and(|n| admins.iter().any(|a| a == n)) {
                        Role::Admin
                    } else {
                        Role::User
                    },
                    pending: u.user_status() == Some(&UserStatusType::ForceChangePassword),
                    created_at: u.user_create_date().map_or(
                        0,
                        aws_sdk_cognitoidentityprovider::primitives::DateTime::secs,
                    ),
                    disabled: !u.enabled(),
                    email,
                });
            }
            match page.pagination_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        users.sort_by(|a, b| a.email.as_str().cmp(b.email.as_str()));
        Ok(users)
    }

    async fn set_disabled(&self, email: &Email, disabled: bool) -> Result<(), AuthError> {
        let user = self
            .cognito
            .admin_get_user()
            .user_pool_id(&self.pool_id)
            .username(email.as_str())
            .send()
            .await;
        let user = match user {
            Ok(u) => u,
            Err(e) if code(&e) == Some("UserNotFoundException") => {
                return Err(ValidationError::new("email", "No account has that email.").into())
            }
            Err(e) => return Err(internal(e)),
        };
        if !disabled {
            self.cognito
                .admin_enable_user()
                .user_pool_id(&self.pool_id)
                .username(email.as_str())
                .send()
                .await
                .map_err(internal)?;
            return Ok(());
        }
        self.cognito
            .admin_disable_user()
            .user_pool_id(&self.pool_id)
            .username(email.as_str())
            .send()
            .await
            .map_err(internal)?;
        self.end_access(email.as_str(), &sub_of(&user), None).await
    }
}

/// The account's id (`sub`) from Cognito's answer about it.
fn sub_of(
    user: &aws_sdk_cognitoidentityprovider::operation::admin_get_user::AdminGetUserOutput,
) -> String {
    user.user_attributes()
        .iter()
        .find(|a| a.name() == "sub")
        .and_then(AttributeType::value)
        .unwrap_or_default()
        .to_owned()
}
