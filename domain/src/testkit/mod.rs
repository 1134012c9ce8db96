//! The port-level test suites: one set of behaviours every implementation of a port must show,
//! run against the embedded twin (SQLite, local disk) and the cloud one (DynamoDB, S3, against a
//! local stand-in of AWS). A suite takes the port as a trait object, so it cannot lean on how an
//! implementation stores things; it asserts only what callers of the port rely on. Compiled only
//! with the `testkit` feature (a dev-dependency of the crates that run it).

mod attempts;
mod jobs;

pub use attempts::attempt_store;
pub use jobs::{delivered_files, delivered_job, job_runner, Shelf};

use crate::ports::{ProjectStore, UploadStore};
use crate::{FlightInputs, ProjectId, ProjectStatus, ProjectTitle, StoreError, UserId};

fn title(raw: &str) -> ProjectTitle {
    ProjectTitle::parse(raw).expect("a valid title")
}

/// A project id nobody has: well-formed, so the store (not the parser) must answer `NotFound`.
fn unknown_project() -> ProjectId {
    ProjectId("0123456789abcdef0123456789abcdef".to_owned())
}

/// Every `ProjectStore` behaviour callers rely on. `alice` and `bob` must be fresh owners with no
/// projects.
pub async fn project_store(store: &dyn ProjectStore, alice: &UserId, bob: &UserId) {
    assert!(
        store.list(alice).await.expect("list").is_empty(),
        "a new owner has no projects"
    );

    let first = store
        .create(alice, &title("Old barn"))
        .await
        .expect("create");
    assert_eq!(first.title.as_str(), "Old barn");
    assert_eq!(
        first.status,
        ProjectStatus::Draft,
        "a new project is a draft"
    );
    assert!(first.flight.is_none());
    assert!(
        first.created_at > 1_600_000_000,
        "timestamps are Unix seconds"
    );
    assert_eq!(first.created_at, first.updated_at);
    assert!(
        ProjectId::parse(&first.id.0).is_ok(),
        "ids are 32 hex digits: {}",
        first.id
    );
    assert_eq!(store.get(alice, &first.id).await.expect("get"), first);

    let second = store.create(alice, &title("Quarry")).await.expect("create");
    assert_ne!(first.id, second.id, "ids are unique");

    // Changes come back in the answer and in later reads.
    let renamed = store
        .rename(alice, &first.id, &title("Old barn, north side"))
        .await
        .expect("rename");
    assert_eq!(renamed.title.as_str(), "Old barn, north side");
    assert_eq!(
        renamed.created_at, first.created_at,
        "renaming keeps the creation time"
    );
    assert!(renamed.updated_at >= first.updated_at);
    let inputs =
        FlightInputs::parse("47.6205, -122.3493", "20", "3", "120", "300").expect("inputs");
    let planned = store
        .set_flight_inputs(alice, &first.id, &inputs)
        .await
        .expect("flight");
    assert_eq!(
        planned.flight,
        Some(inputs),
        "flight inputs round-trip exactly"
    );
    assert_eq!(
        planned.title, renamed.title,
        "one change leaves the others alone"
    );
    for status in ProjectStatus::ALL {
        let p = store
            .set_status(alice, &first.id, status)
            .await
            .expect("status");
        assert_eq!(p.status, status);
    }
    let read = store.get(alice, &first.id).await.expect("get");
    assert_eq!(
        (read.status, read.flight, read.title.clone()),
        (ProjectStatus::Failed, Some(inputs), renamed.title.clone())
    );

    // Listing: the owner's projects, most recently changed first.
    let listed = store.list(alice).await.expect("list");
    assert_eq!(listed.len(), 2);
    let mut sorted = listed.clone();
    sorted.sort_by(|a, b| {
        b.updated_at
            .cmp(&a.updated_at)
            .then_with(|| a.id.0.cmp(&b.id.0))
    });
    assert_eq!(listed, sorted, "most recently changed first, ties by id");
    assert!(listed.iter().any(|p| p == &read));

    // Another owner sees nothing and can touch nothing: exactly like a missing project.
    assert!(
        store.list(bob).await.expect("list").is_empty(),
        "bob sees none of alice's projects"
    );
    for id in [&first.id, &unknown_project()] {
        assert_eq!(store.get(bob, id).await, Err(StoreError::NotFound));
        assert_eq!(
            store.rename(bob, id, &title("Mine now")).await,
            Err(StoreError::NotFound)
        );
        assert_eq!(
            store.set_flight_inputs(bob, id, &inputs).await,
            Err(StoreError::NotFound)
        );
        assert_eq!(
            store.set_status(bob, id, ProjectStatus::Delivered).await,
            Err(StoreError::NotFound)
        );
        assert_eq!(store.delete(bob, id).await, Err(StoreError::NotFound));
    }
    assert_eq!(
        store.get(alice, &first.id).await.expect("untouched"),
        read,
        "bob's attempts changed nothing"
    );
    let bobs = store
        .create(bob, &title("Bob's field"))
        .await
        .expect("create");
    assert_eq!(store.list(bob).await.expect("list"), vec![bobs.clone()]);
    assert_eq!(store.list(alice).await.expect("list").len(), 2);

    // Deleting: gone for good, and only once.
    store.delete(alice, &first.id).await.expect("delete");
    assert_eq!(store.get(alice, &first.id).await, Err(StoreError::NotFound));
    assert_eq!(
        store.delete(alice, &first.id).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.rename(alice, &first.id, &title("Back")).await,
        Err(StoreError::NotFound),
        "no update re-creates a deleted project"
    );
    assert_eq!(
        store.list(alice).await.expect("list"),
        vec![store.get(alice, &second.id).await.expect("get")]
    );
    assert_eq!(store.get(bob, &bobs.id).await.expect("bob's own"), bobs);
}

/// Every `UploadStore` behaviour callers rely on, for an upload of `size` bytes (more than one
/// part) into `project`, which `owner` owns and `stranger` does not. Returns the completed
/// upload's bytes so the caller can check where its implementation put the archive.
pub async fn upload_store(
    uploads: &dyn UploadStore,
    projects: &dyn ProjectStore,
    owner: &UserId,
    stranger: &UserId,
    project: &ProjectId,
    max_size: u64,
) -> Vec<u8> {
    let invalid = |r: Result<_, StoreError>, field: &str| match r {
        Err(StoreError::Validation(v)) => assert_eq!(v.field, field, "{v:?}"),
        other => panic!("expected a validation error on {field}, got {other:?}"),
    };
    // Refusals before anything is stored.
    invalid(
        uploads
            .create(owner, project, "photos.tar", 10)
            .await
            .map(|_| ()),
        "file",
    );
    invalid(
        uploads
            .create(owner, project, "../photos.zip", 10)
            .await
            .map(|_| ()),
        "file",
    );
    invalid(
        uploads
            .create(owner, project, "photos.zip", 0)
            .await
            .map(|_| ()),
        "file",
    );
    invalid(
        uploads
            .create(owner, project, "photos.zip", max_size + 1)
            .await
            .map(|_| ()),
        "file",
    );
    assert_eq!(
        uploads
            .create(stranger, project, "photos.zip", 10)
            .await
            .map(|_| ()),
        Err(StoreError::NotFound),
        "a stranger cannot upload into the project"
    );
    assert_eq!(
        uploads
            .create(owner, &unknown_project(), "photos.zip", 10)
            .await
            .map(|_| ()),
        Err(StoreError::NotFound)
    );

    let first = uploads
        .create(owner, project, "photos.zip", 1)
        .await
        .expect("create");
    let part_size = first.part_size;
    let size = part_size + part_size / 3 + 7;
    let bytes: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
    let s = uploads
        .create(owner, project, "Photos.ZIP", size)
        .await
        .expect("create");
    assert_eq!((s.parts, s.size, s.completed), (2, size, false));
    assert!(s.received.is_empty());
    assert_eq!(&s.project, project);
    assert_eq!(
        uploads.get(stranger, &s.id).await,
        Err(StoreError::NotFound),
        "another user's upload looks missing"
    );
    assert_eq!(
        uploads.get(owner, "no-such-upload").await,
        Err(StoreError::NotFound)
    );

    let split = usize::try_from(part_size).expect("part size");
    let (one, two) = bytes.split_at(split);
    invalid(uploads.put_part(owner, &s.id, 3, two).await, "part");
    invalid(uploads.put_part(owner, &s.id, 0, one).await, "part");
    invalid(uploads.put_part(owner, &s.id, 2, one).await, "part");
    assert_eq!(
        uploads.put_part(stranger, &s.id, 1, one).await,
        Err(StoreError::NotFound)
    );
    // Completing early names what is missing and keeps what arrived.
    uploads
        .put_part(owner, &s.id, 2, two)
        .await
        .expect("part 2");
    invalid(uploads.complete(owner, &s.id).await.map(|_| ()), "parts");
    assert_eq!(
        uploads.get(owner, &s.id).await.expect("get").received,
        vec![2]
    );
    // A part sent twice replaces itself.
    uploads
        .put_part(owner, &s.id, 1, &vec![0u8; split])
        .await
        .expect("part 1");
    uploads
        .put_part(owner, &s.id, 1, one)
        .await
        .expect("part 1 again");
    assert_eq!(
        uploads.get(owner, &s.id).await.expect("get").received,
        vec![1, 2]
    );
    assert_eq!(
        uploads.complete(stranger, &s.id).await.map(|_| ()),
        Err(StoreError::NotFound)
    );

    let done = uploads.complete(owner, &s.id).await.expect("complete");
    assert!(done.completed);
    assert_eq!(
        uploads.complete(owner, &s.id).await.expect("again"),
        done,
        "completing twice is harmless"
    );
    invalid(uploads.put_part(owner, &s.id, 1, one).await, "part");
    assert_eq!(
        projects.get(owner, project).await.expect("project").status,
        ProjectStatus::PhotosUploaded,
        "a completed upload moves the project on"
    );
    bytes
}

/// Every `Waitlist` behaviour callers rely on; the list must start empty.
pub async fn waitlist(list: &dyn crate::ports::Waitlist) {
    let ann = crate::Email::parse("ann@example.com").expect("email");
    let bo = crate::Email::parse("bo@example.com").expect("email");
    assert!(list.list().await.expect("list").is_empty());
    assert!(
        list.join(&ann, "survey sites").await.expect("join"),
        "a new address is added"
    );
    assert!(
        !list.join(&ann, "changed my mind").await.expect("join"),
        "a second join is not"
    );
    assert!(list.join(&bo, "").await.expect("join"));
    let entries = list.list().await.expect("list");
    assert_eq!(entries.len(), 2);
    let first = entries.iter().find(|e| e.email == ann).expect("ann");
    assert_eq!(
        first.note, "survey sites",
        "the first entry stays untouched"
    );
    assert!(
        entries
            .windows(2)
            .all(|w| w[0].created_at <= w[1].created_at),
        "oldest first"
    );
}

/// Every `ShareLinks` behaviour callers rely on, for `project` of `owner`.
pub async fn share_links(
    shares: &dyn crate::ports::ShareLinks,
    projects: &dyn ProjectStore,
    owner: &UserId,
    stranger: &UserId,
    project: &ProjectId,
) {
    assert_eq!(
        shares.current(owner, project).await,
        Ok(None),
        "not shared yet"
    );
    assert_eq!(
        shares.share(stranger, project).await,
        Err(StoreError::NotFound),
        "only the owner shares"
    );
    // Four shares at the same moment (two tabs, a double click) make one link, so one revoke
    // ends it.
    let share = || shares.share(owner, project);
    let burst = tokio::join!(share(), share(), share(), share());
    let tokens = [burst.0, burst.1, burst.2, burst.3].map(|t| t.expect("share"));
    let token = tokens[0].clone();
    assert!(
        tokens.iter().all(|t| *t == token),
        "one link per project, even at once: {tokens:?}"
    );
    assert!(token.len() >= 32, "a link cannot be guessed: {token}");
    assert_eq!(
        shares.share(owner, project).await.expect("again"),
        token,
        "one link per project"
    );
    assert_eq!(
        shares.current(owner, project).await,
        Ok(Some(token.clone()))
    );
    assert_eq!(
        shares.current(stranger, project).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        shares.resolve(&token).await,
        Ok(Some((owner.clone(), project.clone())))
    );
    assert_eq!(shares.resolve("not-a-link").await, Ok(None));
    assert_eq!(
        shares.revoke(stranger, project).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        shares.resolve(&token).await,
        Ok(Some((owner.clone(), project.clone()))),
        "a stranger's revoke did nothing"
    );
    shares.revoke(owner, project).await.expect("revoke");
    assert_eq!(
        shares.resolve(&token).await,
        Ok(None),
        "a revoked link is dead"
    );
    let fresh = shares.share(owner, project).await.expect("share again");
    assert_ne!(
        fresh, token,
        "sharing again makes a new link; the old one stays dead"
    );
    assert_eq!(shares.resolve(&token).await, Ok(None));
    projects.delete(owner, project).await.expect("delete");
    assert_eq!(
        shares.resolve(&fresh).await,
        Ok(None),
        "a deleted project's link is dead"
    );
}

/// Where a suite reads the mail an implementation sent.
#[async_trait::async_trait]
pub trait Mailbox: Send + Sync {
    /// The newest message to `to`, if any.
    async fn last_to(&self, to: &crate::Email) -> Option<crate::ports::Message>;
}

/// Every `AuthProvider` behaviour callers rely on, from invitation to reset. The provider must
/// start with no accounts; `mail` reads what it sent.
pub async fn auth_provider(auth: &dyn crate::ports::AuthProvider, mail: &dyn Mailbox) {
    use crate::ports::SignInOutcome;
    use crate::{AuthError, Email, Handle, NewPassword, Role};
    let email = |raw: &str| Email::parse(raw).expect("email");
    let password = |raw: &str| NewPassword::parse(raw, "password").expect("password");
    let handle = |raw: &str| Handle::parse(raw).expect("handle");
    let first_sign_in = |who: Email, temporary: String, pw: &'static str, h: &'static str| async move {
        let SignInOutcome::NewPasswordRequired { challenge } =
            auth.sign_in(&who, &temporary).await.expect("sign in")
        else {
            panic!("a temporary password must lead to the new-password step");
        };
        auth.complete_new_password(&challenge, &password(pw), &handle(h))
            .await
    };
    let signed_in = |who: Email, pw: &'static str| async move {
        match auth.sign_in(&who, pw).await {
            Ok(SignInOutcome::SignedIn(token)) => token,
            other => panic!("{who} should sign in with {pw}: {other:?}"),
        }
    };
    let (alice, bob, carol) = (
        email("alice@example.com"),
        email("bob@example.com"),
        email("carol@example.com"),
    );

    // Invitations: a temporary password, mailed; re-inviting a pending account re-issues it.
    let invited = auth.invite(&alice, Role::User).await.expect("invite");
    assert!(!invited.resent);
    let sent = mail.last_to(&alice).await.expect("an invitation mail");
    assert!(
        sent.body.contains(&invited.temporary_password),
        "the mail carries the temporary password"
    );
    let again = auth.invite(&alice, Role::User).await.expect("again");
    assert!(again.resent, "a pending account is re-issued");
    assert_eq!(
        auth.sign_in(&alice, &invited.temporary_password).await,
        Err(AuthError::InvalidCredentials),
        "the old temporary password is gone"
    );
    assert_eq!(
        auth.sign_in(&alice, "wrong-password-1A!").await,
        Err(AuthError::InvalidCredentials)
    );
    assert_eq!(
        auth.sign_in(&email("nobody@example.com"), "wrong-password-1A!")
            .await,
        Err(AuthError::InvalidCredentials),
        "unknown and wrong answer alike"
    );
    assert_eq!(
        auth.complete_new_password(
            "forged",
            &password("Correct-Horse-9-Battery"),
            &handle("alice")
        )
        .await,
        Err(AuthError::ChallengeExpired)
    );

    let first = first_sign_in(
        alice.clone(),
        again.temporary_password.clone(),
        "Correct-Horse-9-Battery",
        "alice",
    )
    .await
    .expect("first sign-in");
    let user = auth
        .session_user(&first)
        .await
        .expect("session")
        .expect("signed in");
    assert_eq!(
        (user.email.clone(), user.handle.clone(), user.role),
        (alice.clone(), Some(handle("alice")), Role::User)
    );
    assert!(
        !user.id.0.is_empty() && !user.id.0.contains('@'),
        "the user id is not the email"
    );
    assert_eq!(
        auth.invite(&alice, Role::User).await,
        Err(AuthError::AlreadyExists)
    );
    assert_eq!(
        auth.session_user(&crate::ports::SessionToken("forged".into()))
            .await,
        Ok(None)
    );

    // Admins; handles are unique.
    let b = auth.invite(&bob, Role::Admin).await.expect("invite bob");
    assert_eq!(
        first_sign_in(
            bob.clone(),
            b.temporary_password.clone(),
            "Another-Horse-8-Staple",
            "alice"
        )
        .await,
        Err(AuthError::HandleTaken)
    );
    let bob_session = first_sign_in(
        bob.clone(),
        b.temporary_password.clone(),
        "Another-Horse-8-Staple",
        "bob",
    )
    .await
    .expect("bob");
    assert_eq!(
        auth.session_user(&bob_session)
            .await
            .expect("session")
            .expect("bob")
            .role,
        Role::Admin
    );
    auth.invite(&carol, Role::User).await.expect("carol");
    let mut users: Vec<_> = auth
        .list_users()
        .await
        .expect("list")
        .into_iter()
        .map(|u| (u.email.as_str().to_owned(), u.role, u.pending))
        .collect();
    users.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        users,
        [
            ("alice@example.com".to_owned(), Role::User, false),
            ("bob@example.com".to_owned(), Role::Admin, false),
            ("carol@example.com".to_owned(), Role::User, true)
        ]
    );

    // Changing the password ends the user's other sessions, not this one.
    let second = signed_in(alice.clone(), "Correct-Horse-9-Battery").await;
    assert_eq!(
        auth.change_password(&second, "not-it-at-all", &password("Fresh-Horse-7-Battery"))
            .await,
        Err(AuthError::WrongCurrentPassword)
    );
    auth.change_password(
        &second,
        "Correct-Horse-9-Battery",
        &password("Fresh-Horse-7-Battery"),
    )
    .await
    .expect("change");
    assert!(
        auth.session_user(&first).await.expect("session").is_none(),
        "the other session ended"
    );
    assert!(
        auth.session_user(&second).await.expect("session").is_some(),
        "this one goes on"
    );
    assert!(
        auth.session_user(&bob_session)
            .await
            .expect("session")
            .is_some(),
        "other users' sessions go on"
    );
    assert_eq!(
        auth.sign_in(&alice, "Correct-Horse-9-Battery").await,
        Err(AuthError::InvalidCredentials)
    );
    auth.sign_out(&second).await.expect("sign out");
    assert!(auth.session_user(&second).await.expect("session").is_none());

    // Reset by a one-time link from the provider's mail; it ends every session.
    auth.request_password_reset(&email("nobody@example.com"))
        .await
        .expect("silent for unknown accounts");
    assert!(
        mail.last_to(&email("nobody@example.com")).await.is_none(),
        "nothing is sent to an unknown address"
    );
    let reset_link = || async {
        auth.request_password_reset(&alice).await.expect("reset");
        let body = mail.last_to(&alice).await.expect("a reset mail").body;
        body.split("token=")
            .nth(1)
            .and_then(|t| t.split_whitespace().next())
            .expect("a link")
            .to_owned()
    };
    // Two requests (the first mail seemed lost): either link works, until one is used.
    let earlier = reset_link().await;
    let link = reset_link().await;
    assert_ne!(earlier, link);
    let third = signed_in(alice.clone(), "Fresh-Horse-7-Battery").await;
    assert_eq!(
        auth.reset_password("forged", &password("Reset-Horse-6-Battery"))
            .await,
        Err(AuthError::InvalidLink)
    );
    // The same link used twice at the same moment (a double click): it works once.
    let chosen = password("Reset-Horse-6-Battery");
    let (first, second) = tokio::join!(
        auth.reset_password(&link, &chosen),
        auth.reset_password(&link, &chosen),
    );
    let mut outcomes = [first, second];
    outcomes.sort_by_key(Result::is_err);
    assert_eq!(
        outcomes,
        [Ok(()), Err(AuthError::InvalidLink)],
        "a link works once, even twice at once"
    );
    assert_eq!(
        auth.reset_password(&link, &password("Again-Horse-5-Battery"))
            .await,
        Err(AuthError::InvalidLink),
        "a link works once"
    );
    assert_eq!(
        auth.reset_password(&earlier, &password("Again-Horse-5-Battery"))
            .await,
        Err(AuthError::InvalidLink),
        "a reset ends the account's other links"
    );
    assert!(
        auth.session_user(&third).await.expect("session").is_none(),
        "a reset ends every session"
    );
    signed_in(alice.clone(), "Reset-Horse-6-Battery").await;

    // Disabling an account ends its sessions and links at once and keeps it out until enabled.
    let session = signed_in(alice.clone(), "Reset-Horse-6-Battery").await;
    let pending_link = reset_link().await;
    assert!(matches!(
        auth.set_disabled(&email("nobody@example.com"), true).await,
        Err(AuthError::Validation(_))
    ));
    auth.set_disabled(&alice, true).await.expect("disable");
    assert!(
        auth.session_user(&session)
            .await
            .expect("session")
            .is_none(),
        "a disabled account's sessions end at once"
    );
    assert_eq!(
        auth.sign_in(&alice, "Reset-Horse-6-Battery").await,
        Err(AuthError::Disabled),
        "the right password is told the account is disabled"
    );
    assert_eq!(
        auth.reset_password(&pending_link, &password("Sneaky-Horse-4-Battery"))
            .await,
        Err(AuthError::InvalidLink),
        "its reset links ended"
    );
    let before = mail.last_to(&alice).await;
    auth.request_password_reset(&alice).await.expect("silent");
    assert_eq!(
        mail.last_to(&alice).await,
        before,
        "a disabled account is sent no reset link"
    );
    let listed = auth.list_users().await.expect("list");
    assert!(listed.iter().any(|u| u.email == alice && u.disabled));
    assert!(listed.iter().any(|u| u.email == bob && !u.disabled));
    auth.set_disabled(&alice, false).await.expect("enable");
    signed_in(alice.clone(), "Reset-Horse-6-Battery").await;
}
