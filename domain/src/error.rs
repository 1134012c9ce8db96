//! One error enum per port. Variants carry what a user needs to act on; internal causes travel as
//! strings that the server logs once and never shows.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A value a user typed was not acceptable; `field` names the form field so the page can show the
/// message beside it.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[error("{message}")]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthError {
    /// Wrong password *or* unknown account: deliberately indistinguishable.
    #[error("that email and password do not match an account")]
    InvalidCredentials,
    #[error("too many sign-in attempts; try again in {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: u64 },
    /// The temporary password has expired; an admin must re-send the invitation.
    #[error("this invitation has expired; ask for a new one")]
    InvitationExpired,
    #[error("the first-sign-in step has expired; sign in again with your temporary password")]
    ChallengeExpired,
    #[error("this link is invalid or has expired; request a new one")]
    InvalidLink,
    #[error("your current password is not correct")]
    WrongCurrentPassword,
    #[error("that handle is taken; choose another")]
    HandleTaken,
    #[error("an account with that email already exists")]
    AlreadyExists,
    #[error("you need to sign in")]
    Unauthenticated,
    /// An admin disabled the account; said only to someone who gave its right password.
    #[error("this account is disabled")]
    Disabled,
    #[error(transparent)]
    Validation(#[from] ValidationError),
    #[error("internal error: {0}")]
    Internal(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoreError {
    /// Absent *or* owned by someone else: the two are indistinguishable on purpose.
    #[error("not found")]
    NotFound,
    #[error("limit reached: {0}")]
    LimitReached(String),
    #[error(transparent)]
    Validation(#[from] ValidationError),
    #[error("internal error: {0}")]
    Internal(String),
}
