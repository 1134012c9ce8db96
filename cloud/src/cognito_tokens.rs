//! Cognito's tokens, verified: every token Cognito hands out is checked against the user pool's
//! published keys (JWKS, fetched once and again when Cognito rotates them) — signature, issuer,
//! expiry, the ID token's audience, the access token's client, each token's use — before
//! `cognito_auth` makes or renews a session from it.

use std::time::Duration;

use aws_sdk_cognitoidentityprovider::types::AuthenticationResultType;
use domain::{AuthError, Email, Handle, Role, User, UserId};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::RwLock;

use crate::cognito_auth::ADMIN_GROUP;
use crate::AwsSettings;

/// The claims we read from an ID token (the signature and standard claims are checked by
/// `jsonwebtoken` before this is filled).
#[derive(Deserialize)]
struct IdClaims {
    sub: String,
    email: Option<String>,
    token_use: String,
    preferred_username: Option<String>,
    #[serde(rename = "cognito:groups", default)]
    groups: Vec<String>,
}

#[derive(Deserialize)]
struct AccessClaims {
    client_id: String,
    token_use: String,
    exp: i64,
}

/// The pool's keys and what a token of ours must say.
pub struct PoolTokens {
    client_id: String,
    issuer: String,
    jwks_url: String,
    keys: RwLock<Option<JwkSet>>,
    http: reqwest::Client,
}

impl PoolTokens {
    pub fn new(settings: &AwsSettings) -> Self {
        Self {
            client_id: settings.client_id.clone(),
            issuer: settings.issuer(),
            jwks_url: settings.jwks_url(),
            keys: RwLock::new(None),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        }
    }

    /// The pool's signing keys, fetched once and again when a token names a key we lack
    /// (Cognito rotates them).
    async fn decoding_key(&self, kid: &str) -> Result<DecodingKey, AuthError> {
        if let Some(set) = self.keys.read().await.as_ref() {
            if let Some(jwk) = set.find(kid) {
                return DecodingKey::from_jwk(jwk)
                    .map_err(|e| AuthError::Internal(format!("jwks: {e}")));
            }
        }
        let set: JwkSet = self
            .http
            .get(&self.jwks_url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| AuthError::Internal(format!("jwks {}: {e}", self.jwks_url)))?
            .json()
            .await
            .map_err(|e| AuthError::Internal(format!("jwks {}: {e}", self.jwks_url)))?;
        let key = set
            .find(kid)
            .map(DecodingKey::from_jwk)
            .transpose()
            .map_err(|e| AuthError::Internal(format!("jwks: {e}")))?;
        *self.keys.write().await = Some(set);
        key.ok_or_else(|| AuthError::Internal(format!("no key {kid} in the pool's JWKS")))
    }

    /// Verifies a token's signature, issuer, expiry and (for ID tokens) audience.
    async fn verify<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        audience: Option<&str>,
    ) -> Result<T, AuthError> {
        let bad =
            |e: jsonwebtoken::errors::Error| AuthError::Internal(format!("token rejected: {e}"));
        let header = jsonwebtoken::decode_header(token).map_err(bad)?;
        let kid = header
            .kid
            .ok_or_else(|| AuthError::Internal("token rejected: no key id".into()))?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        match audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        let key = self.decoding_key(&kid).await?;
        Ok(jsonwebtoken::decode::<T>(token, &key, &validation)
            .map_err(bad)?
            .claims)
    }

    /// Verifies both tokens of a sign-in (signature against the pool's keys, issuer, expiry,
    /// ID token audience = our client, access token client, token uses) and says whose they
    /// are, with the access token's expiry.
    pub async fn verified_user(
        &self,
        tokens: &AuthenticationResultType,
    ) -> Result<(User, i64), AuthError> {
        let missing = || AuthError::Internal("cognito: the answer lacks a token".into());
        let id: IdClaims = self
            .verify(
                tokens.id_token().ok_or_else(missing)?,
                Some(&self.client_id),
            )
            .await?;
        let access: AccessClaims = self
            .verify(tokens.access_token().ok_or_else(missing)?, None)
            .await?;
        if id.token_use != "id"
            || access.token_use != "access"
            || access.client_id != self.client_id
        {
            return Err(AuthError::Internal(
                "token rejected: wrong token use or client".into(),
            ));
        }
        let email = Email::parse(id.email.as_deref().unwrap_or_default())
            .map_err(|_| AuthError::Internal("cognito: the ID token has no valid email".into()))?;
        let user = User {
            id: UserId(id.sub),
            email,
            handle: id.preferred_username.and_then(|h| Handle::parse(&h).ok()),
            role: if id.groups.iter().any(|g| g == ADMIN_GROUP) {
                Role::Admin
            } else {
                Role::User
            },
        };
        Ok((user, access.exp))
    }
}
