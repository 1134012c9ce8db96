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
/// The confirmation to someone who joined the waitlist. Sent once per address (a second join
/// adds nothing and sends nothing), so the form cannot be used to mail someone repeatedly.
pub fn waitlist_joined(to: &Email, public_url: &str) -> Message {
    Message {
        to: to.clone(),
        subject: "You're on the Spaceport waitlist".into(),
        body: format!(
            "Thanks for your interest in Spaceport: {to} is on the waitlist.\n\n\
             Spaceport is invite-only while we grow. When a place opens you'll get an invitation \
             with a temporary password; there is nothing else to do until then.\n\n\
             If you didn't ask for this, ignore this message: nothing more will be sent.\n\
             {public_url}\n"
        ),
    }
}

/// The notice to an admin that someone joined the waitlist.
pub fn waitlist_notice(admin: &Email, who: &Email, note: &str, public_url: &str) -> Message {
    let note = if note.is_empty() {
        "(no note)".to_owned()
    } else {
        format!("Their note: {note}")
    };
    Message {
        to: admin.clone(),
        subject: format!("New on the waitlist: {who}"),
        body: format!(
            "{who} joined the Spaceport waitlist.\n{note}\n\n\
             Invite them from the waitlist on the admin page: {public_url}/admin\n"
        ),
    }
}

/// The email when a project's photos have all arrived.
pub fn photos_received(to: &Email, title: &str, size: &str, link: &str) -> Message {
    Message {
        to: to.clone(),
        subject: format!("Photos received for \u{201c}{title}\u{201d}"),
        body: format!(
            "All your photos for \u{201c}{title}\u{201d} arrived ({size}).\n\n\
             Start processing them into a 3D model from the project page: {link}\n"
        ),
    }
}

/// The HTML part of a message: its text, escaped, in paragraphs (blank lines) and lines, with
/// web addresses as links. Derived from the text so every mail is worded once and both parts
/// always say the same.
pub fn html_body(text: &str) -> String {
    let mut html = String::from(
        "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;font-size:15px;line-height:1.5;color:#1b1f24\">",
    );
    for paragraph in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        html.push_str("<p>");
        let lines: Vec<String> = paragraph.lines().map(linked).collect();
        html.push_str(&lines.join("<br>"));
        html.push_str("</p>");
    }
    html.push_str("</body></html>");
    html
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One line, escaped, its `http(s)://` addresses as links.
fn linked(line: &str) -> String {
    let mut out = String::new();
    for (i, word) in line.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let trimmed = word.trim_end_matches(['.', ',', ')', ';']);
        if trimmed.starts_with("https://") || trimmed.starts_with("http://") {
            let url = escape(trimmed);
            out.push_str("<a href=\"");
            out.push_str(&url);
            out.push_str("\">");
            out.push_str(&url);
            out.push_str("</a>");
            out.push_str(&escape(&word[trimmed.len()..]));
        } else {
            out.push_str(&escape(word));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_html_part_says_what_the_text_says_escaped_with_links() {
        let to = Email::parse("a@b.example").unwrap();
        let m = job_stopped(
            &to,
            "<script>alert(1)</script> & co",
            "COLMAP found \"nothing\"",
            "https://spaceport.example/projects/42",
        );
        let html = html_body(&m.body);
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"),
            "{html}"
        );
        assert!(html.contains("&quot;nothing&quot;"), "{html}");
        assert!(
            html.contains(
                "<a href=\"https://spaceport.example/projects/42\">https://spaceport.example/projects/42</a>"
            ),
            "{html}"
        );
        assert_eq!(html.matches("<p>").count(), 2, "{html}");
        // A link that ends a sentence keeps its full stop outside.
        let html = html_body("See https://x.example/a.");
        assert!(
            html.contains("<a href=\"https://x.example/a\">https://x.example/a</a>."),
            "{html}"
        );
    }
}
