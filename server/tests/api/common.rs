//! Starts the real application (port 0, a temporary data directory) and talks to it over HTTP,
//! the way a browser's server-function calls do.

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use domain::ports::AuthProvider;
use domain::{Email, Role};
use reqwest::cookie::{CookieStore, Jar};
use reqwest::{Client, StatusCode};
use server::config::{Config, Overrides};
use server::startup::{Application, Embedded};
use tempfile::TempDir;

pub struct TestApp {
    pub base: String,
    pub embedded: Arc<Embedded>,
    data: TempDir,
}

impl TestApp {
    pub fn data_dir(&self) -> &std::path::Path {
        self.data.path()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(env: &[(&str, &str)]) -> TestApp {
    let data = tempfile::tempdir().unwrap();
    let mut env: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    // Tests never reach the internet: no public terrain tiles unless a test serves its own.
    env.entry("SPACEPORT_TERRAIN_TILES_URL".into())
        .or_insert_with(|| "off".into());
    // Nor a public place search.
    env.entry("SPACEPORT_GEOCODER_URL".into())
        .or_insert_with(|| "off".into());
    let overrides = Overrides {
        config_file: None,
        addr: Some("127.0.0.1:0".into()),
        data_dir: Some(data.path().to_path_buf()),
    };
    let config = Config::from_layers(&env, &overrides).unwrap();
    let app = Application::build(&config).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    let embedded = app.embedded.clone();
    tokio::spawn(app.run());
    TestApp {
        base,
        embedded,
        data,
    }
}

/// A client with no cookie jar that does not follow redirects: for requests whose headers a
/// test writes by hand (a proxy's `X-Forwarded-For`, an https front's `Origin` and cookies).
pub fn bare_client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A browser-like client: its own cookie jar, redirects not followed (so tests see them).
pub struct Browser {
    pub client: Client,
    pub jar: Arc<Jar>,
    pub base: String,
}

pub struct Reply {
    pub status: StatusCode,
    pub redirect: Option<String>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// A fresh browser (its own cookie jar) talking to the server at `base`.
pub fn browser_at(base: &str) -> Browser {
    let jar = Arc::new(Jar::default());
    let client = Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        // A server that never answers fails the test with the URL, instead of hanging the run.
        .timeout(std::time::Duration::from_mins(2))
        .build()
        .unwrap();
    Browser {
        client,
        jar,
        base: base.to_owned(),
    }
}

/// Invites `email` with the `server invite` command (as an administrator would) and returns the
/// temporary password it prints last.
pub fn cli_invite(data_dir: &std::path::Path, email: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["invite", email, "--data-dir"])
        .arg(data_dir)
        .env_remove("SPACEPORT_LOG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    stdout.lines().last().unwrap().trim().to_owned()
}

/// First sign-in with a temporary password, choosing `password` and `handle`.
pub async fn activate(b: &Browser, email: &str, temporary: &str, handle: &str, password: &str) {
    let r = b
        .call("sign_in", &[("email", email), ("password", temporary)])
        .await;
    assert_eq!(r.redirect.as_deref(), Some("/welcome"), "{}", r.body);
    let r = b
        .call(
            "complete_first_sign_in",
            &[
                ("password", password),
                ("password_confirm", password),
                ("handle", handle),
            ],
        )
        .await;
    assert_eq!(r.redirect.as_deref(), Some("/dashboard"), "{}", r.body);
}

impl TestApp {
    pub fn browser(&self) -> Browser {
        browser_at(&self.base)
    }

    /// Invites `email` the way `server invite` does and returns the temporary password.
    pub async fn invite(&self, email: &str, role: Role) -> String {
        let inv = self
            .embedded
            .auth
            .invite(&Email::parse(email).unwrap(), role)
            .await
            .unwrap();
        inv.temporary_password
    }

    /// An invited user who has completed first sign-in, signed in in a fresh browser.
    pub async fn active_user(&self, email: &str, handle: &str, password: &str) -> Browser {
        let temporary = self.invite(email, Role::User).await;
        let b = self.browser();
        activate(&b, email, &temporary, handle, password).await;
        b
    }

    /// Newest outbox message to `to` once it holds `needle` (within 10 s): for mail queued
    /// after the request that caused it has been answered (password resets).
    pub async fn wait_for_mail(&self, to: &str, needle: &str) -> String {
        for _ in 0..200 {
            if let Some(mail) = self.last_mail(to).await.filter(|m| m.contains(needle)) {
                return mail;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("no mail to {to} with {needle}");
    }

    /// Newest outbox message to `to`.
    pub async fn last_mail(&self, to: &str) -> Option<String> {
        self.embedded
            .outbox
            .recent(Some(to), 1)
            .await
            .unwrap()
            .into_iter()
            .next()
            .map(|m| m.body)
    }
}

impl Browser {
    /// Calls a server function with a url-encoded form, as Leptos's client does.
    pub async fn call(&self, endpoint: &str, form: &[(&str, &str)]) -> Reply {
        let res = self
            .client
            .post(format!("{}/api/{endpoint}", self.base))
            .header("accept", "application/json")
            .form(form)
            .send()
            .await
            .unwrap();
        reply(res).await
    }

    /// Creates a project and returns its id.
    pub async fn create_project(&self, title: &str) -> String {
        let reply = self.call("create_project", &[("title", title)]).await;
        reply.json()["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no project id in {}", reply.body))
            .to_owned()
    }

    pub async fn get(&self, path: &str) -> Reply {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        reply(res).await
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        let url = self.base.parse().unwrap();
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .ok()?
            .split("; ")
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
    }

    /// Replaces the session cookie (to replay an old token).
    pub fn set_session(&self, token: &str) {
        let url = self.base.parse().unwrap();
        self.jar
            .add_cookie_str(&format!("sp_session={token}; Path=/"), &url);
    }
}

async fn reply(res: reqwest::Response) -> Reply {
    let status = res.status();
    let redirect = res
        .headers()
        .get("serverfnredirect")
        .or_else(|| res.headers().get("location"))
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            res.headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .unwrap_or(v)
                .to_owned()
        });
    let body = res.text().await.unwrap();
    Reply {
        status,
        redirect,
        body,
    }
}

/// The `token` query value in a reset mail.
pub fn reset_token(mail: &str) -> String {
    let start = mail.find("token=").unwrap() + "token=".len();
    mail[start..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect()
}
