#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use domain::Role;
use reqwest::StatusCode;

use crate::common::{reset_token, spawn_app, spawn_app_with};

const PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn invite_then_first_sign_in_forces_a_new_password_and_handle() {
    let app = spawn_app().await;
    let temporary = app.invite("pilot@example.com", Role::User).await;
    let b = app.browser();

    let r = b
        .call(
            "sign_in",
            &[("email", "Pilot@Example.com"), ("password", &temporary)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.redirect.as_deref(), Some("/welcome"));
    assert!(
        b.cookie("sp_session").is_none(),
        "no session before the new password is chosen"
    );
    assert_eq!(
        b.call("list_projects", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Inline validation: each bad field is named.
    let weak = b
        .call(
            "complete_first_sign_in",
            &[
                ("password", "short"),
                ("password_confirm", "short"),
                ("handle", "sky"),
            ],
        )
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(weak.json()["Invalid"]["field"], "password");
    let mismatch = b
        .call(
            "complete_first_sign_in",
            &[
                ("password", PASSWORD),
                ("password_confirm", "something else entirely"),
                ("handle", "sky"),
            ],
        )
        .await;
    assert_eq!(mismatch.json()["Invalid"]["field"], "password_confirm");
    let bad_handle = b
        .call(
            "complete_first_sign_in",
            &[
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
                ("handle", "a b"),
            ],
        )
        .await;
    assert_eq!(bad_handle.json()["Invalid"]["field"], "handle");

    let done = b
        .call(
            "complete_first_sign_in",
            &[
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
                ("handle", "sky"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.redirect.as_deref(), Some("/dashboard"));

    let me = b.call("current_user", &[]).await.json();
    assert_eq!(me["email"], "pilot@example.com");
    assert_eq!(me["handle"], "sky");
    let dashboard = b.get("/dashboard").await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(
        dashboard.body.contains("Your projects"),
        "dashboard rendered on the server"
    );
    assert!(dashboard.body.contains("@sky"), "nav shows the handle");

    // The temporary password is spent; the new one works.
    let fresh = app.browser();
    assert_eq!(
        fresh
            .call(
                "sign_in",
                &[("email", "pilot@example.com"), ("password", &temporary)]
            )
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let again = fresh
        .call(
            "sign_in",
            &[("email", "pilot@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(again.redirect.as_deref(), Some("/dashboard"));
}

#[tokio::test]
async fn the_invite_command_prints_the_temporary_password_last() {
    let app = spawn_app().await;
    // The binary opens the same database file the running server uses.
    let data_dir = app
        .embedded
        .pool
        .connect_options()
        .get_filename()
        .parent()
        .unwrap()
        .to_path_buf();
    let temporary = crate::common::cli_invite(&data_dir, "cli@example.com");
    let r = app
        .browser()
        .call(
            "sign_in",
            &[("email", "cli@example.com"), ("password", &temporary)],
        )
        .await;
    assert_eq!(r.redirect.as_deref(), Some("/welcome"), "{}", r.body);

    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["invite", "not-an-email", "--data-dir"])
        .arg(&data_dir)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("email"));
}

#[tokio::test]
async fn wrong_password_and_unknown_account_answer_alike_in_like_time() {
    let app = spawn_app().await;
    app.active_user("known@example.com", "known", PASSWORD)
        .await;
    let b = app.browser();

    let wrong = b
        .call(
            "sign_in",
            &[
                ("email", "known@example.com"),
                ("password", "not the password"),
            ],
        )
        .await;
    let unknown = b
        .call(
            "sign_in",
            &[
                ("email", "nobody@example.com"),
                ("password", "not the password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        (wrong.status, wrong.body.clone()),
        (unknown.status, unknown.body.clone())
    );
    assert_eq!(wrong.json(), serde_json::json!("InvalidCredentials"));

    // Both pay for an Argon2 verification. Without the dummy hash an unknown account answers
    // ~100x faster; the bound below only catches that, not scheduler noise.
    let mut wrong_ms = Vec::new();
    let mut unknown_ms = Vec::new();
    for i in 0..3 {
        let t = Instant::now();
        b.call(
            "sign_in",
            &[("email", "known@example.com"), ("password", "nope nope")],
        )
        .await;
        wrong_ms.push(t.elapsed());
        let t = Instant::now();
        b.call(
            "sign_in",
            &[
                ("email", &format!("ghost{i}@example.com")),
                ("password", "nope nope"),
            ],
        )
        .await;
        unknown_ms.push(t.elapsed());
    }
    // Minimums: load only ever adds time, so the fastest of each is the best estimate of its
    // cost (medians flaked on a machine busy training).
    let (unknown, wrong) = (
        unknown_ms.iter().min().copied().unwrap(),
        wrong_ms.iter().min().copied().unwrap(),
    );
    assert!(
        unknown * 3 > wrong,
        "unknown accounts answer much faster ({unknown:?} vs {wrong:?}): account enumeration by timing"
    );
}

#[tokio::test]
async fn repeated_failures_lock_the_account_even_for_the_right_password() {
    let app = spawn_app().await;
    app.active_user("target@example.com", "target", PASSWORD)
        .await;
    let b = app.browser();
    for _ in 0..5 {
        let r = b
            .call(
                "sign_in",
                &[("email", "target@example.com"), ("password", "guess guess")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let locked = b
        .call(
            "sign_in",
            &[("email", "target@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        locked.body
    );
    assert!(
        locked.json()["RateLimited"]["retry_after_secs"]
            .as_u64()
            .unwrap()
            > 0
    );
    // An unknown account is throttled the same way (no enumeration through the limiter).
    for _ in 0..5 {
        b.call(
            "sign_in",
            &[("email", "ghost@example.com"), ("password", "guess guess")],
        )
        .await;
    }
    assert_eq!(
        b.call(
            "sign_in",
            &[("email", "ghost@example.com"), ("password", "x")]
        )
        .await
        .status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Other accounts are unaffected.
    app.active_user("other@example.com", "other", PASSWORD)
        .await;
}

#[tokio::test]
async fn guesses_sent_at_once_get_no_more_tries_than_guesses_sent_one_by_one() {
    let app = spawn_app().await;
    app.active_user("target@example.com", "target", PASSWORD)
        .await;
    // Twenty guesses at the same moment, each from its own cookie jar as a script would send
    // them: the account's five tries are counted before any password is checked.
    let mut guesses = tokio::task::JoinSet::new();
    for i in 0..20 {
        let b = app.browser();
        guesses.spawn(async move {
            let guess = format!("guess number {i}");
            b.call(
                "sign_in",
                &[("email", "target@example.com"), ("password", &guess)],
            )
            .await
            .status
        });
    }
    let mut wrong = 0;
    let mut refused = 0;
    while let Some(status) = guesses.join_next().await {
        match status.expect("a guess") {
            StatusCode::UNAUTHORIZED => wrong += 1,
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            other => panic!("a guess answered {other}"),
        }
    }
    assert_eq!(
        (wrong, refused),
        (5, 15),
        "five guesses checked, the rest refused"
    );
    // Guesses at the current password through a session are throttled the same way.
    let owner = app
        .active_user("mover@example.com", "mover", PASSWORD)
        .await;
    for _ in 0..5 {
        let r = owner
            .call(
                "change_password",
                &[
                    ("current_password", "not it"),
                    ("new_password", "another long passphrase"),
                    ("new_password_confirm", "another long passphrase"),
                ],
            )
            .await;
        assert_eq!(
            r.json()["Invalid"]["field"],
            "current_password",
            "{}",
            r.body
        );
    }
    let locked = owner
        .call(
            "change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "another long passphrase"),
                ("new_password_confirm", "another long passphrase"),
            ],
        )
        .await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        locked.body
    );
}

#[tokio::test]
async fn reset_links_work_once() {
    let app = spawn_app().await;
    let old_session = app
        .active_user("reset@example.com", "resetter", PASSWORD)
        .await;
    let b = app.browser();

    let r = b
        .call("request_password_reset", &[("email", "reset@example.com")])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let silent = b
        .call("request_password_reset", &[("email", "nobody@example.com")])
        .await;
    assert_eq!(
        (silent.status, silent.body),
        (r.status, r.body),
        "same answer for unknown accounts"
    );
    let mail = app.wait_for_mail("reset@example.com", "reset?token=").await;
    assert!(app.last_mail("nobody@example.com").await.is_none());

    assert!(
        mail.contains(&format!("{}/reset?token=", "http://127.0.0.1:0"))
            || mail.contains("/reset?token=")
    );
    let token = reset_token(&mail);
    assert_eq!(token.len(), 64);

    let new_password = "a brand new passphrase";
    let done = b
        .call(
            "reset_password",
            &[
                ("token", &token),
                ("new_password", new_password),
                ("new_password_confirm", new_password),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.redirect.as_deref(), Some("/signin?reset=done"));

    let reused = b
        .call(
            "reset_password",
            &[
                ("token", &token),
                ("new_password", "yet another passphrase"),
                ("new_password_confirm", "yet another passphrase"),
            ],
        )
        .await;
    assert_eq!(
        reused.status,
        StatusCode::GONE,
        "a link works once: {}",
        reused.body
    );

    assert_eq!(
        old_session.call("list_projects", &[]).await.status,
        StatusCode::UNAUTHORIZED,
        "reset ends every session"
    );
    let signin = app
        .browser()
        .call(
            "sign_in",
            &[("email", "reset@example.com"), ("password", new_password)],
        )
        .await;
    assert_eq!(signin.redirect.as_deref(), Some("/dashboard"));
}

#[tokio::test]
async fn reset_links_expire() {
    let app = spawn_app_with(&[("SPACEPORT_RESET_LINK_TTL_SECS", "1")]).await;
    app.active_user("late@example.com", "late", PASSWORD).await;
    let b = app.browser();
    b.call("request_password_reset", &[("email", "late@example.com")])
        .await;
    let token = reset_token(&app.wait_for_mail("late@example.com", "reset?token=").await);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = b
        .call(
            "reset_password",
            &[
                ("token", &token),
                ("new_password", "too late for this"),
                ("new_password_confirm", "too late for this"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::GONE, "{}", r.body);
    let garbage = b
        .call(
            "reset_password",
            &[
                ("token", "not-a-token"),
                ("new_password", "too late for this"),
                ("new_password_confirm", "too late for this"),
            ],
        )
        .await;
    assert_eq!(garbage.status, StatusCode::GONE);
}

#[tokio::test]
async fn sign_out_invalidates_the_session_server_side() {
    let app = spawn_app().await;
    let b = app
        .active_user("leaver@example.com", "leaver", PASSWORD)
        .await;
    let token = b.cookie("sp_session").unwrap();
    let r = b.call("sign_out", &[]).await;
    assert_eq!(r.redirect.as_deref(), Some("/"));
    assert!(b.cookie("sp_session").is_none(), "cookie cleared");
    // Replaying the old token (a stolen cookie) gets nothing.
    b.set_session(&token);
    assert_eq!(
        b.call("current_user", &[]).await.json(),
        serde_json::Value::Null
    );
    assert_eq!(
        b.call("list_projects", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    let page = b.get("/dashboard").await;
    assert_eq!(
        page.status,
        StatusCode::FOUND,
        "pages redirect visitors to sign-in"
    );
    assert_eq!(page.redirect.as_deref(), Some("/signin"));
}

#[tokio::test]
async fn signing_in_renews_the_session_id_and_cookies_are_locked_down() {
    let app = spawn_app().await;
    let b = app
        .active_user("renew@example.com", "renew", PASSWORD)
        .await;
    let first = b.cookie("sp_session").unwrap();
    let res = b
        .client
        .post(format!("{}/api/sign_in", b.base))
        .header("accept", "application/json")
        .form(&[("email", "renew@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let set_cookie = res
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    let second = b.cookie("sp_session").unwrap();
    assert_ne!(first, second);
    b.set_session(&first);
    assert_eq!(
        b.call("current_user", &[]).await.json(),
        serde_json::Value::Null,
        "the old id is dead"
    );
}

#[tokio::test]
async fn change_password_checks_the_current_one_and_ends_other_sessions() {
    let app = spawn_app().await;
    let laptop = app
        .active_user("mover@example.com", "mover", PASSWORD)
        .await;
    let phone = app.browser();
    phone
        .call(
            "sign_in",
            &[("email", "mover@example.com"), ("password", PASSWORD)],
        )
        .await;
    let wrong = laptop
        .call(
            "change_password",
            &[
                ("current_password", "nope"),
                ("new_password", "another long passphrase"),
                ("new_password_confirm", "another long passphrase"),
            ],
        )
        .await;
    assert_eq!(wrong.json()["Invalid"]["field"], "current_password");
    let ok = laptop
        .call(
            "change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "another long passphrase"),
                ("new_password_confirm", "another long passphrase"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(
        laptop.call("list_projects", &[]).await.status,
        StatusCode::OK,
        "this session stays"
    );
    assert_eq!(
        phone.call("list_projects", &[]).await.status,
        StatusCode::UNAUTHORIZED,
        "others end"
    );
}

#[tokio::test]
async fn the_waitlist_keeps_the_first_sign_up() {
    let app = spawn_app().await;
    let b = app.browser();
    let first = b
        .call(
            "join_waitlist",
            &[("email", "eager@example.com"), ("note", "Mavic 3, farms")],
        )
        .await;
    let second = b
        .call(
            "join_waitlist",
            &[
                ("email", "EAGER@example.com"),
                ("note", "overwrite attempt"),
            ],
        )
        .await;
    assert_eq!((first.status, first.body), (second.status, second.body));
    let bad = b
        .call("join_waitlist", &[("email", "nope"), ("note", "")])
        .await;
    assert_eq!(bad.json()["Invalid"]["field"], "email");

    let admin = app.browser();
    let temporary = app.invite("boss@example.com", Role::Admin).await;
    admin
        .call(
            "sign_in",
            &[("email", "boss@example.com"), ("password", &temporary)],
        )
        .await;
    admin
        .call(
            "complete_first_sign_in",
            &[
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
                ("handle", "boss"),
            ],
        )
        .await;
    let overview = admin.call("admin_overview", &[]).await.json();
    let list = overview["waitlist"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["note"], "Mavic 3, farms");
    assert_eq!(overview["users"].as_array().unwrap().len(), 1);

    let user = app
        .active_user("plain@example.com", "plain", PASSWORD)
        .await;
    assert_eq!(
        user.call("admin_overview", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        user.call("admin_invite", &[("email", "x@example.com")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn public_forms_are_throttled() {
    let app = spawn_app().await;
    let b = app.browser();
    for _ in 0..5 {
        let r = b
            .call(
                "request_password_reset",
                &[("email", "flooded@example.com")],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let flood = b
        .call(
            "request_password_reset",
            &[("email", "flooded@example.com")],
        )
        .await;
    assert_eq!(
        flood.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        flood.body
    );
    for _ in 0..5 {
        b.call(
            "join_waitlist",
            &[("email", "spam@example.com"), ("note", "")],
        )
        .await;
    }
    let spam = b
        .call(
            "join_waitlist",
            &[("email", "spam@example.com"), ("note", "")],
        )
        .await;
    assert_eq!(spam.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_flood_of_public_forms_never_locks_anyone_out_of_signing_in() {
    let app = spawn_app().await;
    let b = app
        .active_user("regular@example.com", "regular", PASSWORD)
        .await;
    // Thirty waitlist sign-ups from one address (a bot, or an office behind one NAT) use up
    // the address's budget for public forms...
    for i in 0..30 {
        let r = b
            .call(
                "join_waitlist",
                &[("email", &format!("bot{i}@example.com")), ("note", "")],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let more = b
        .call(
            "join_waitlist",
            &[("email", "bot99@example.com"), ("note", "")],
        )
        .await;
    assert_eq!(more.status, StatusCode::TOO_MANY_REQUESTS);
    // ...but not its sign-ins.
    let r = b
        .call(
            "sign_in",
            &[("email", "regular@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.redirect.as_deref(), Some("/dashboard"), "{}", r.body);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_is_counted_by_its_own_address() {
    let app = spawn_app_with(&[("SPACEPORT_CLIENT_IP_HEADER", "x-forwarded-for")]).await;
    app.active_user("victim@example.com", "victim", PASSWORD)
        .await;
    let from = |client: &'static str| {
        let base = app.base.clone();
        move |email: String| {
            let base = base.clone();
            async move {
                crate::common::bare_client()
                    .post(format!("{base}/api/sign_in"))
                    .header("x-forwarded-for", client)
                    .form(&[("email", email.as_str()), ("password", "a wrong guess")])
                    .send()
                    .await
                    .unwrap()
                    .status()
            }
        }
    };
    // One client sprays thirty accounts (what it puts left of the proxy's entry is its own
    // invention and is ignored) and gets its address locked...
    let sprayer = from("203.0.113.9, 198.51.100.7");
    for i in 0..30 {
        assert_eq!(
            sprayer(format!("user{i}@example.com")).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        sprayer("victim@example.com".into()).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // ...and nobody else behind the same proxy is.
    let neighbour = from("198.51.100.8");
    assert_eq!(
        neighbour("victim@example.com".into()).await,
        StatusCode::UNAUTHORIZED,
        "another client behind the proxy is judged on its own"
    );
}

#[tokio::test]
async fn an_admin_disables_an_account_and_its_open_sessions_end_at_once() {
    let app = spawn_app().await;
    let temporary = app.invite("boss@example.com", Role::Admin).await;
    let admin = app.browser();
    crate::common::activate(&admin, "boss@example.com", &temporary, "boss", PASSWORD).await;
    let user = app
        .active_user("flyer@example.com", "flyer", PASSWORD)
        .await;
    assert_eq!(user.call("list_projects", &[]).await.status, StatusCode::OK);

    // Only admins may, and never on their own account.
    let r = user
        .call(
            "admin_set_account",
            &[("email", "boss@example.com"), ("state", "disabled")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = admin
        .call(
            "admin_set_account",
            &[("email", "boss@example.com"), ("state", "disabled")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

    let r = admin
        .call(
            "admin_set_account",
            &[("email", "flyer@example.com"), ("state", "disabled")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        user.call("list_projects", &[]).await.status,
        StatusCode::UNAUTHORIZED,
        "the open session ended"
    );
    let again = app
        .browser()
        .call(
            "sign_in",
            &[("email", "flyer@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(again.status, StatusCode::FORBIDDEN, "{}", again.body);
    assert!(again.body.contains("Disabled"), "{}", again.body);
    let wrong = app
        .browser()
        .call(
            "sign_in",
            &[
                ("email", "flyer@example.com"),
                ("password", "not the password"),
            ],
        )
        .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNAUTHORIZED,
        "a guesser learns nothing of the account"
    );
    let overview = admin.call("admin_overview", &[]).await.json();
    let flyer = overview["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "flyer@example.com")
        .unwrap()
        .clone();
    assert_eq!(flyer["disabled"], true, "{overview}");

    admin
        .call(
            "admin_set_account",
            &[("email", "flyer@example.com"), ("state", "enabled")],
        )
        .await;
    let back = app
        .browser()
        .call(
            "sign_in",
            &[("email", "flyer@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        back.redirect.as_deref(),
        Some("/dashboard"),
        "{}",
        back.body
    );
}
