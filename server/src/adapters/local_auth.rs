//! `AuthProvider` on the embedded database: Argon2id password hashes, server-side sessions, and
//! the invite-only flow of the old Cognito setup (temporary password → forced new password and
//! handle), with one-time reset links delivered through the `Notifier`.

use std::sync::Arc;

use async_trait::async_trait;
use domain::ports::{AuthProvider, Invitation, Notifier, SessionToken, SignInOutcome};
use domain::{AuthError, Email, Handle, NewPassword, Role, User, UserId, UserSummary};
use sqlx::{Row, SqlitePool};

use crate::adapters::internal;
use crate::password;
use ids::{new_id, new_token, now_secs, temporary_password, token_hash};

pub const SESSION_TTL_SECS: i64 = 14 * 24 * 3600;
const CHALLENGE_TTL_SECS: i64 = 15 * 60;

pub struct LocalAuth {
    pool: SqlitePool,
    notifier: Arc<dyn Notifier>,
    public_url: String,
    reset_link_ttl_secs: i64,
    invite_ttl_secs: i64,
}

fn db(e: impl std::fmt::Display) -> AuthError {
    AuthError::Internal(internal(e))
}

fn role_from(text: &str) -> Role {
    if text == "admin" {
        Role::Admin
    } else {
        Role::User
    }
}

fn role_text(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::User => "user",
    }
}

impl LocalAuth {
    /// Sign-in; a `suspect` attempt's password is checked behind clean ones
    /// (`password::verify_suspect`).
    async fn sign_in_as(
        &self,
        email: &Email,
        password: &str,
        suspect: bool,
    ) -> Result<SignInOutcome, AuthError> {
        let row = sqlx::query(
            "SELECT id, password_hash, must_change_password, temp_password_expires_at, handle,
                    disabled
             FROM users WHERE email = ?",
        )
        .bind(email.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        let stored = row.as_ref().map(|r| r.get::<String, _>("password_hash"));
        // Verify even when the account is unknown (against a dummy hash): same answer, same time.
        let checked = if suspect {
            password::verify_suspect(password.to_owned(), stored).await
        } else {
            password::verify(password.to_owned(), stored).await
        };
        if !checked.map_err(db)? {
            return Err(AuthError::InvalidCredentials);
        }
        let Some(row) = row else {
            return Err(AuthError::InvalidCredentials);
        };
        // Said only after the right password: a guesser learns nothing of disabled accounts.
        if row.get::<bool, _>("disabled") {
            return Err(AuthError::Disabled);
        }
        let user_id: String = row.get("id");
        let must_change: bool = row.get("must_change_password");
        let handle: Option<String> = row.get("handle");
        if must_change {
            let expires: Option<i64> = row.get("temp_password_expires_at");
            if expires.is_some_and(|t| t <= now_secs()) {
                return Err(AuthError::InvitationExpired);
            }
        }
        if must_change || handle.is_none() {
            let challenge = new_token();
            sqlx::query(
                "INSERT INTO challenges (token_hash, user_id, expires_at) VALUES (?, ?, ?)",
            )
            .bind(token_hash(&challenge))
            .bind(&user_id)
            .bind(now_secs() + CHALLENGE_TTL_SECS)
            .execute(&self.pool)
            .await
            .map_err(db)?;
            return Ok(SignInOutcome::NewPasswordRequired { challenge });
        }
        Ok(SignInOutcome::SignedIn(self.new_session(&user_id).await?))
    }

    pub fn new(
        pool: SqlitePool,
        notifier: Arc<dyn Notifier>,
        public_url: String,
        reset_link_ttl_secs: u64,
        invite_ttl_secs: u64,
    ) -> Self {
        Self {
            pool,
            notifier,
            public_url,
            reset_link_ttl_secs: i64::try_from(reset_link_ttl_secs).unwrap_or(3600),
            invite_ttl_secs: i64::try_from(invite_ttl_secs).unwrap_or(7 * 24 * 3600),
        }
    }

    async fn new_session(&self, user_id: &str) -> Result<SessionToken, AuthError> {
        let token = new_token();
        let now = now_secs();
        sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)")
            .bind(token_hash(&token))
            .bind(user_id)
            .bind(now)
            .bind(now + SESSION_TTL_SECS)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(SessionToken(token))
    }

    /// Deletes expired sessions, challenges and reset links. Run periodically.
    pub async fn purge_expired(&self) -> Result<u64, AuthError> {
        let now = now_secs();
        let mut removed = 0;
        for sql in [
            "DELETE FROM sessions WHERE expires_at <= ?",
            "DELETE FROM challenges WHERE expires_at <= ?",
            "DELETE FROM reset_links WHERE expires_at <= ?",
        ] {
            removed += sqlx::query(sql)
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(db)?
                .rows_affected();
        }
        Ok(removed)
    }
}

#[async_trait]
impl AuthProvider for LocalAuth {
    async fn sign_in(&self, email: &Email, password: &str) -> Result<SignInOutcome, AuthError> {
        self.sign_in_as(email, password, false).await
    }

    async fn sign_in_suspect(
        &self,
        email: &Email,
        password: &str,
    ) -> Result<SignInOutcome, AuthError> {
        self.sign_in_as(email, password, true).await
    }

    async fn complete_new_password(
        &self,
        challenge: &str,
        password: &NewPassword,
        handle: &Handle,
    ) -> Result<SessionToken, AuthError> {
        let hash = password::hash(password.expose().to_owned())
            .await
            .map_err(db)?;
        let mut tx = self.pool.begin().await.map_err(db)?;
        let user_id: String = sqlx::query_scalar(
            "DELETE FROM challenges WHERE token_hash = ? AND expires_at > ? RETURNING user_id",
        )
        .bind(token_hash(challenge))
        .bind(now_secs())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .ok_or(AuthError::ChallengeExpired)?;
        let updated = sqlx::query(
            "UPDATE users SET handle = ?, password_hash = ?, must_change_password = 0,
                 temp_password_expires_at = NULL, updated_at = ? WHERE id = ?",
        )
        .bind(handle.as_str())
        .bind(hash)
        .bind(now_secs())
        .bind(&user_id)
        .execute(&mut *tx)
        .await;
        match updated {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(AuthError::HandleTaken)
            }
            Err(e) => return Err(db(e)),
            Ok(_) => {}
        }
        sqlx::query("DELETE FROM challenges WHERE user_id = ?")
            .bind(&user_id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        self.new_session(&user_id).await
    }

    async fn session_user(&self, token: &SessionToken) -> Result<Option<User>, AuthError> {
        let row = sqlx::query(
            "SELECT u.id, u.email, u.handle, u.role FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled = 0",
        )
        .bind(token_hash(&token.0))
        .bind(now_secs())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        let Some(row) = row else { return Ok(None) };
        let email = Email::parse(row.get("email")).map_err(db)?;
        let handle = row
            .get::<Option<String>, _>("handle")
            .map(|h| Handle::parse(&h))
            .transpose()
            .map_err(db)?;
        Ok(Some(User {
            id: UserId(row.get("id")),
            email,
            handle,
            role: role_from(row.get("role")),
        }))
    }

    async fn sign_out(&self, token: &SessionToken) -> Result<(), AuthError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
            .bind(token_hash(&token.0))
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn change_password(
        &self,
        token: &SessionToken,
        current: &str,
        new: &NewPassword,
    ) -> Result<(), AuthError> {
        let current_hash = token_hash(&token.0);
        let row = sqlx::query(
            "SELECT u.id, u.password_hash FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled = 0",
        )
        .bind(&current_hash)
        .bind(now_secs())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .ok_or(AuthError::Unauthenticated)?;
        let user_id: String = row.get("id");
        if !password::verify(current.to_owned(), Some(row.get("password_hash")))
            .await
            .map_err(db)?
        {
            return Err(AuthError::WrongCurrentPassword);
        }
        let hash = password::hash(new.expose().to_owned()).await.map_err(db)?;
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query("UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?")
            .bind(hash)
            .bind(now_secs())
            .bind(&user_id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query("DELETE FROM sessions WHERE user_id = ? AND token_hash != ?")
            .bind(&user_id)
            .bind(&current_hash)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn request_password_reset(&self, email: &Email) -> Result<(), AuthError> {
        let user_id: Option<String> =
            sqlx::query_scalar("SELECT id FROM users WHERE email = ? AND disabled = 0")
                .bind(email.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?;
        let Some(user_id) = user_id else {
            return Ok(());
        };
        let link = new_token();
        sqlx::query("INSERT INTO reset_links (token_hash, user_id, expires_at) VALUES (?, ?, ?)")
            .bind(token_hash(&link))
            .bind(&user_id)
            .bind(now_secs() + self.reset_link_ttl_secs)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        let message = domain::messages::password_reset(
            email,
            &self.public_url,
            &link,
            self.reset_link_ttl_secs / 60,
        );
        domain::messages::send_account_mail(self.notifier.as_ref(), message).await
    }

    async fn reset_password(&self, link_token: &str, new: &NewPassword) -> Result<(), AuthError> {
        let hash = password::hash(new.expose().to_owned()).await.map_err(db)?;
        let mut tx = self.pool.begin().await.map_err(db)?;
        // Spend the link atomically: of two concurrent uses, only one finds it unused.
        let user_id: String = sqlx::query_scalar(
            "UPDATE reset_links SET used_at = ?1 WHERE token_hash = ?2 AND used_at IS NULL AND expires_at > ?1
             RETURNING user_id",
        )
        .bind(now_secs())
        .bind(token_hash(link_token))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .ok_or(AuthError::InvalidLink)?;
        sqlx::query(
            "UPDATE users SET password_hash = ?, must_change_password = 0, temp_password_expires_at = NULL,
                 updated_at = ? WHERE id = ?",
        )
        .bind(hash)
        .bind(now_secs())
        .bind(&user_id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        for sql in [
            "DELETE FROM sessions WHERE user_id = ?",
            "DELETE FROM reset_links WHERE user_id = ? AND used_at IS NULL",
        ] {
            sqlx::query(sql)
                .bind(&user_id)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    async fn invite(&self, email: &Email, role: Role) -> Result<Invitation, AuthError> {
        let temporary = temporary_password();
        let hash = password::hash(temporary.clone()).await.map_err(db)?;
        let now = now_secs();
        let expires_at = now + self.invite_ttl_secs;
        let existing: Option<bool> =
            sqlx::query_scalar("SELECT must_change_password FROM users WHERE email = ?")
                .bind(email.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?;
        let resent = match existing {
            Some(false) => return Err(AuthError::AlreadyExists),
            Some(true) => {
                sqlx::query(
                    "UPDATE users SET password_hash = ?, temp_password_expires_at = ?, role = ?, updated_at = ?
                     WHERE email = ? AND must_change_password = 1",
                )
                .bind(&hash)
                .bind(expires_at)
                .bind(role_text(role))
                .bind(now)
                .bind(email.as_str())
                .execute(&self.pool)
                .await
                .map_err(db)?;
                true
            }
            None => {
                sqlx::query(
                    "INSERT INTO users (id, email, password_hash, role, must_change_password,
                         temp_password_expires_at, created_at, updated_at)
                     VALUES (?, ?, ?, ?, 1, ?, ?, ?)",
                )
                .bind(new_id())
                .bind(email.as_str())
                .bind(&hash)
                .bind(role_text(role))
                .bind(expires_at)
                .bind(now)
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(db)?;
                false
            }
        };
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
        let rows = sqlx::query(
            "SELECT id, email, handle, role, must_change_password, created_at, disabled FROM users ORDER BY created_at, email",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok(UserSummary {
                    id: UserId(r.get("id")),
                    email: Email::parse(r.get("email")).map_err(db)?,
                    handle: r
                        .get::<Option<String>, _>("handle")
                        .map(|h| Handle::parse(&h))
                        .transpose()
                        .map_err(db)?,
                    role: role_from(r.get("role")),
                    pending: r.get("must_change_password"),
                    created_at: r.get("created_at"),
                    disabled: r.get("disabled"),
                })
            })
            .collect()
    }

    async fn set_disabled(&self, email: &Email, disabled: bool) -> Result<(), AuthError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let user_id: Option<String> = sqlx::query_scalar(
            "UPDATE users SET disabled = ?, updated_at = ? WHERE email = ? RETURNING id",
        )
        .bind(disabled)
        .bind(now_secs())
        .bind(email.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(user_id) = user_id else {
            return Err(domain::ValidationError::new("email", "No account has that email.").into());
        };
        if disabled {
            for table in ["sessions", "challenges", "reset_links"] {
                // The table names are our own constants.
                sqlx::query(&format!("DELETE FROM {table} WHERE user_id = ?"))
                    .bind(&user_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
        }
        tx.commit().await.map_err(db)?;
        Ok(())
    }
}
