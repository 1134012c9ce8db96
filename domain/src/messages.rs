//! The account emails, worded once for every `AuthProvider` (embedded or Cognito).

use crate::ports::{Message, Notifier};
use crate::{AuthError, Email};

/// Queues an account email (invitation, reset link). Unlike a job's email, one that cannot be
/// queued fails the request: the user is waiting for it.
pub async fn send_account_mail(notifier: &dyn Notifier, message: Message) -> Result<(), AuthError> {
    notifier
        .send(message)
        .await
        .map_err(|e| AuthError::Internal(e.to_string()))
}

/// The password-reset email carrying a one-time link.
pub fn password_reset(to: &Email, public_url: &str, link: &str, minutes: i64) -> Message {
    Message {
        to: to.clone(),
        subject: "Reset your Spaceport password".into(),
        body: format!(
            "Someone (hopefully you) asked to reset your Spaceport password.\n\n\
             Choose a new password here (the link works once, for {minutes} minutes):\n{public_url}/reset?token={link}\n\n\
             If this wasn't you, ignore this message; your password is unchanged.\n"
        ),
    }
}

/// The invitation email carrying the temporary password.
pub fn invitation(to: &Email, public_url: &str, temporary: &str, days: i64) -> Message {
    Message {
        to: to.clone(),
        subject: "Your Spaceport invitation".into(),
        body: format!(
            "You're invited to Spaceport.\n\nSign in at {public_url}/signin with\n  email: {to}\n  temporary password: {temporary}\n\n\
             You'll choose your own password and a handle at first sign-in. The temporary password expires in {days} days.\n"
        ),
    }
}

/// The email when a job has delivered its model.
pub fn job_delivered(to: &Email, title: &str, link: &str) -> Message {
    Message {
        to: to.clone(),
        subject: format!("Your 3D model \u{201c}{title}\u{201d} is ready"),
        body: format!(
            "Your photos of \u{201c}{title}\u{201d} are now a 3D model.\n\n\
             Open it, download it or share it: {link}\n"
        ),
    }
}

/// The email when a job has stopped on an error.
pub fn job_stopped(to: &Email, title: &str, reason: &str, link: &str) -> Message {
    Message {
        to: to.clone(),
        subject: format!("Processing \u{201c}{title}\u{201d} stopped"),
        body: format!(
            "Processing \u{201c}{title}\u{201d} stopped: {reason}\n\n\
             Open the project to see what happened and start it again: {link}\n"
        ),
    }
}
