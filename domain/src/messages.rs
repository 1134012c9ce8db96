//! The account emails, worded once for every `AuthProvider` (embedded or Cognito).

use crate::ports::Message;
use crate::Email;

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
