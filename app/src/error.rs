//! The one error type every server function returns. It crosses the wire as JSON, so the browser
//! gets the same variant the server produced; each variant maps to one HTTP status, set here and
//! nowhere else.

use domain::{AuthError, StoreError, ValidationError};
use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
pub enum AppError {
    /// A form field was not acceptable; the page shows `message` beside `field`.
    #[error("{message}")]
    Invalid { field: String, message: String },
    #[error("That email and password don't match an account.")]
    InvalidCredentials,
    #[error("Too many attempts. Try again in {} minute(s).", retry_after_secs.div_ceil(60))]
    RateLimited { retry_after_secs: u64 },
    #[error("Please sign in to continue.")]
    Unauthenticated,
    #[error("You don't have access to this page.")]
    Forbidden,
    #[error(
        "This account is disabled. Write to the person who invited you to have it enabled again."
    )]
    Disabled,
    #[error("We couldn't find that.")]
    NotFound,
    /// A link or step that has expired or been used; the message says what to do instead.
    #[error("{0}")]
    Expired(String),
    #[error("{0}")]
    Conflict(String),
    /// The request itself was malformed (missing or undecodable arguments).
    #[error("The request was not understood: {0}")]
    BadRequest(String),
    /// The browser could not reach the server.
    #[error("Couldn't reach Spaceport. Check your connection and try again.")]
    Network,
    /// Something broke on our side. The cause is in the server log, never in this message.
    #[error("Something went wrong on our side. Please try again in a moment.")]
    Internal,
}

impl AppError {
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode as S;
        match self {
            Self::Invalid { .. } => S::UNPROCESSABLE_ENTITY,
            Self::InvalidCredentials | Self::Unauthenticated => S::UNAUTHORIZED,
            Self::RateLimited { .. } => S::TOO_MANY_REQUESTS,
            Self::Forbidden | Self::Disabled => S::FORBIDDEN,
            Self::NotFound => S::NOT_FOUND,
            Self::Expired(_) => S::GONE,
            Self::Conflict(_) => S::CONFLICT,
            Self::BadRequest(_) => S::BAD_REQUEST,
            Self::Network => S::BAD_GATEWAY,
            Self::Internal => S::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message for `field`, if this error is about that form field.
    pub fn field_message(&self, name: &str) -> Option<String> {
        match self {
            Self::Invalid { field, message } if field == name => Some(message.clone()),
            _ => None,
        }
    }

    /// Logs an internal cause once, on the server, and hides it from the user.
    #[allow(clippy::needless_pass_by_value)]
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        #[cfg(feature = "ssr")]
        tracing::error!(%cause, "internal error");
        #[cfg(not(feature = "ssr"))]
        let _ = cause;
        Self::Internal
    }
}

impl From<ValidationError> for AppError {
    fn from(e: ValidationError) -> Self {
        // Domain messages are lower-case fragments; on a form they read as sentences.
        let mut chars = e.message.chars();
        let message = chars.next().map_or_else(String::new, |first| {
            first.to_uppercase().chain(chars).collect()
        });
        Self::Invalid {
            field: e.field,
            message,
        }
    }
}

impl From<AuthError> for AppError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::InvalidCredentials => Self::InvalidCredentials,
            AuthError::RateLimited { retry_after_secs } => Self::RateLimited { retry_after_secs },
            AuthError::InvitationExpired => Self::Expired(
                "This invitation has expired. Ask whoever invited you to send a new one.".into(),
            ),
            AuthError::ChallengeExpired => Self::Expired(
                "This step timed out. Sign in again with your temporary password.".into(),
            ),
            AuthError::InvalidLink => {
                Self::Expired("This link is invalid, used or expired. Request a new one.".into())
            }
            AuthError::WrongCurrentPassword => Self::Invalid {
                field: "current_password".into(),
                message: "That is not your current password.".into(),
            },
            AuthError::HandleTaken => Self::Invalid {
                field: "handle".into(),
                message: "That handle is taken. Choose another.".into(),
            },
            AuthError::AlreadyExists => {
                Self::Conflict("An account with that email already exists.".into())
            }
            AuthError::Unauthenticated => Self::Unauthenticated,
            AuthError::Disabled => Self::Disabled,
            AuthError::Validation(v) => v.into(),
            AuthError::Internal(cause) => Self::internal(cause),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound,
            StoreError::LimitReached(what) => Self::Conflict(format!("Limit reached: {what}.")),
            StoreError::Validation(v) => v.into(),
            StoreError::Internal(cause) => Self::internal(cause),
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::MissingArg(m) => Self::BadRequest(m),
            // On the server this is an unreadable request body (bad UTF-8, cut off, too big).
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Deserialization(m) => Self::BadRequest(m),
            ServerFnErrorErr::Request(_) => Self::Network,
            other => Self::internal(other),
        }
    }

    fn ser(&self) -> bytes::Bytes {
        // Runs on the server while the response is built: the single place where an error gets
        // its HTTP status. Plain-HTML form posts keep leptos's redirect back to the form instead.
        #[cfg(feature = "ssr")]
        if let (Some(res), Some(req)) = (
            leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
            leptos::prelude::use_context::<http::request::Parts>(),
        ) {
            let plain_form = req
                .headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"));
            if !plain_form {
                res.set_status(self.status());
            }
        }
        <JsonEncoding as server_fn::Encodes<Self>>::encode(self)
            .unwrap_or_else(|_| bytes::Bytes::from_static(b"\"Internal\""))
    }
}
