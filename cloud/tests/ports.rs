//! The cloud adapters against the same port-level suites as their embedded twins
//! (`domain::testkit`), on the moto server — a local stand-in of S3, DynamoDB and Cognito that
//! each test starts for itself — plus what only the cloud adapters do: presigned part uploads,
//! Cognito's first-sign-in challenge, token verification.

use std::sync::{Arc, Mutex};

use cloud::cognito_auth::CognitoAuth;
use cloud::dynamo_projects::DynamoProjects;
use cloud::s3_uploads::S3Uploads;
use cloud::testkit::{provision, Moto};
use domain::ports::{AuthProvider, Message, Notifier, ProjectStore, SignInOutcome, UploadStore};
use domain::{AuthError, Email, Handle, NewPassword, ProjectTitle, Role, StoreError, UserId};

async fn stack(name: &str) -> (Moto, cloud::AwsSettings, aws_config::SdkConfig) {
    let moto = Moto::start();
    let mut settings = moto.settings(name);
    provision(&mut settings).await;
    let config = settings.sdk_config().await;
    (moto, settings, config)
}

#[tokio::test]
async fn dynamo_projects_pass_the_project_store_suite() {
    let (_moto, settings, config) = stack("projects").await;
    let store = DynamoProjects::new(cloud::Table::new(&config, &settings.table));
    let (alice, bob) = (UserId("alice-sub".into()), UserId("bob-sub".into()));
    domain::testkit::project_store(&store, &alice, &bob).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamo_attempts_pass_the_attempt_store_suite_across_two_clients() {
    use cloud::dynamo_attempts::DynamoAttempts;
    let (_moto, settings, config) = stack("attempts").await;
    // Two clients on one table: two backend instances.
    let first = Arc::new(DynamoAttempts::new(cloud::Table::new(
        &config,
        &settings.table,
    )));
    let second = Arc::new(DynamoAttempts::new(cloud::Table::new(
        &config,
        &settings.table,
    )));
    domain::testkit::attempt_store(first, second).await;
}

#[tokio::test]
async fn s3_uploads_pass_the_upload_store_suite_and_take_parts_straight_from_the_browser() {
    let (_moto, settings, config) = stack("uploads").await;
    let projects: Arc<dyn ProjectStore> = Arc::new(DynamoProjects::new(cloud::Table::new(
        &config,
        &settings.table,
    )));
    let (alice, bob) = (UserId("alice-sub".into()), UserId("bob-sub".into()));
    let title = ProjectTitle::parse("Upload suite").expect("title");
    let project = projects.create(&alice, &title).await.expect("project");
    let max = 1 << 30;
    let uploads = S3Uploads::new(
        &config,
        cloud::Table::new(&config, &settings.table),
        &settings.bucket,
        projects.clone(),
        max,
    );
    let bytes =
        domain::testkit::upload_store(&uploads, projects.as_ref(), &alice, &bob, &project.id, max)
            .await;
    let s3 = cloud::s3_uploads::s3_client(&config);
    let key = S3Uploads::archive_key(&alice, &project.id);
    let stored = s3
        .get_object()
        .bucket(&settings.bucket)
        .key(&key)
        .send()
        .await
        .expect("archive");
    let stored = stored.body.collect().await.expect("body").into_bytes();
    assert!(
        stored.as_ref() == bytes.as_slice(),
        "the archive in S3 is the parts in order"
    );

    // The browser's path: each part PUT straight to its presigned URL, no server in between.
    let size: usize = 8 * 1024 * 1024 + 1000;
    let data: Vec<u8> = (0..size)
        .map(|i| u8::try_from(i % 253).expect("byte"))
        .collect();
    let s = uploads
        .create(
            &alice,
            &project.id,
            "photos.zip",
            u64::try_from(size).expect("size"),
        )
        .await
        .expect("create");
    let http = reqwest::Client::new();
    let url1 = uploads
        .part_url(&alice, &s.id, 1)
        .await
        .expect("url")
        .expect("a presigned URL");
    assert!(url1.contains("X-Amz-Signature"), "{url1}");
    assert_eq!(
        uploads.part_url(&bob, &s.id, 1).await,
        Err(StoreError::NotFound),
        "no URL for a stranger"
    );
    assert!(matches!(
        uploads.part_url(&alice, &s.id, 3).await,
        Err(StoreError::Validation(_))
    ));
    let (one, two) = data.split_at(8 * 1024 * 1024);
    for (n, body) in [(1, one), (2, two)] {
        let url = uploads
            .part_url(&alice, &s.id, n)
            .await
            .expect("url")
            .expect("url");
        let put = http
            .put(&url)
            .body(body.to_vec())
            .send()
            .await
            .expect("PUT");
        assert!(put.status().is_success(), "part {n}: {}", put.status());
        let etag = put.headers()["etag"].to_str().expect("etag").to_owned();
        assert_eq!(
            uploads.confirm_part(&bob, &s.id, n, &etag).await,
            Err(StoreError::NotFound)
        );
        let reported = if n == 1 {
            "\"0123456789abcdef0123456789abcdef\""
        } else {
            etag.as_str()
        };
        uploads
            .confirm_part(&alice, &s.id, n, reported)
            .await
            .expect("confirm");
    }
    assert_eq!(
        uploads.get(&alice, &s.id).await.expect("get").received,
        vec![1, 2]
    );
    // A made-up ETag is recorded, but S3 refuses it when the parts are put together; the
    // right one, reported again, completes the upload.
    assert!(
        matches!(
            uploads.complete(&alice, &s.id).await,
            Err(StoreError::Validation(_))
        ),
        "a wrong ETag must not complete"
    );
    let url = uploads
        .part_url(&alice, &s.id, 1)
        .await
        .expect("url")
        .expect("url");
    let put = http.put(&url).body(one.to_vec()).send().await.expect("PUT");
    let etag = put.headers()["etag"].to_str().expect("etag").to_owned();
    uploads
        .confirm_part(&alice, &s.id, 1, &etag)
        .await
        .expect("confirm");
    assert_eq!(
        uploads.get(&alice, &s.id).await.expect("get").received,
        vec![1, 2]
    );
    uploads.complete(&alice, &s.id).await.expect("complete");
    let stored = s3
        .get_object()
        .bucket(&settings.bucket)
        .key(&key)
        .send()
        .await
        .expect("archive");
    let stored = stored.body.collect().await.expect("body").into_bytes();
    assert!(stored.as_ref() == data.as_slice());
}

/// Objects in the bucket, where the pipeline's stages leave a job's folder.
struct BucketShelf {
    s3: aws_sdk_s3::Client,
    bucket: String,
}

#[async_trait::async_trait]
impl domain::testkit::Shelf for BucketShelf {
    async fn put(&self, job: &domain::job::Job, file: domain::job::DeliveredFile, bytes: &[u8]) {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(format!("jobs/{}/{}", job.id, file.path()))
            .body(bytes.to_vec().into())
            .send()
            .await
            .expect("put");
    }
}

#[tokio::test]
async fn s3_delivered_passes_the_delivered_files_suite() {
    let (_moto, settings, config) = stack("delivered").await;
    let files = cloud::s3_delivered::S3Delivered::new(&config, &settings.bucket);
    let shelf = BucketShelf {
        s3: cloud::s3_uploads::s3_client(&config),
        bucket: settings.bucket.clone(),
    };
    domain::testkit::delivered_files(
        &files,
        &shelf,
        &domain::testkit::delivered_job("job-delivered"),
    )
    .await;
}

#[tokio::test]
async fn dynamo_waitlist_and_shares_pass_their_suites() {
    let (_moto, settings, config) = stack("shares").await;
    domain::testkit::waitlist(&cloud::dynamo_waitlist::DynamoWaitlist::new(
        cloud::Table::new(&config, &settings.table),
    ))
    .await;
    let projects: Arc<dyn ProjectStore> = Arc::new(DynamoProjects::new(cloud::Table::new(
        &config,
        &settings.table,
    )));
    let (alice, bob) = (UserId("alice-sub".into()), UserId("bob-sub".into()));
    let title = ProjectTitle::parse("Shared").expect("title");
    let project = projects.create(&alice, &title).await.expect("project");
    let shares = cloud::dynamo_shares::DynamoShares::new(
        cloud::Table::new(&config, &settings.table),
        projects.clone(),
    );
    domain::testkit::share_links(&shares, projects.as_ref(), &alice, &bob, &project.id).await;
}

/// Keeps what would have been emailed.
#[derive(Default)]
struct Mailbox(Mutex<Vec<Message>>);

#[async_trait::async_trait]
impl Notifier for Mailbox {
    async fn send(&self, message: Message) -> Result<(), StoreError> {
        self.0.lock().expect("mailbox").push(message);
        Ok(())
    }
}

fn email(raw: &str) -> Email {
    Email::parse(raw).expect("email")
}

fn password(raw: &str) -> NewPassword {
    NewPassword::parse(raw, "password").expect("password")
}

fn handle(raw: &str) -> Handle {
    Handle::parse(raw).expect("handle")
}

async fn first_sign_in(
    auth: &CognitoAuth,
    who: &Email,
    temporary: &str,
    pw: &str,
    h: &str,
) -> Result<domain::ports::SessionToken, AuthError> {
    let SignInOutcome::NewPasswordRequired { challenge } =
        auth.sign_in(who, temporary).await.expect("sign in")
    else {
        panic!("a temporary password must lead to the new-password step");
    };
    auth.complete_new_password(&challenge, &password(pw), &handle(h))
        .await
}

#[async_trait::async_trait]
impl domain::testkit::Mailbox for Mailbox {
    async fn last_to(&self, to: &Email) -> Option<Message> {
        let sent = self.0.lock().expect("mailbox");
        sent.iter().rev().find(|m| &m.to == to).cloned()
    }
}

#[tokio::test]
async fn cognito_auth_passes_the_auth_provider_suite() {
    let (_moto, settings, config) = stack("auth").await;
    let mail = Arc::new(Mailbox::default());
    let auth = CognitoAuth::new(
        &config,
        &settings,
        mail.clone(),
        "https://spaceport.test",
        3600,
        7 * 86_400,
    );
    domain::testkit::auth_provider(&auth, mail.as_ref()).await;
}

#[tokio::test]
async fn cognito_tokens_are_verified_and_sessions_renew_or_end() {
    let (_moto, settings, config) = stack("tokens").await;
    let mail = Arc::new(Mailbox::default());
    let auth = CognitoAuth::new(
        &config,
        &settings,
        mail,
        "https://spaceport.test",
        3600,
        86_400,
    );
    let alice = email("alice@example.com");
    let invited = auth.invite(&alice, Role::User).await.expect("invite");
    let session = first_sign_in(
        &auth,
        &alice,
        &invited.temporary_password,
        "Correct-Horse-9-Battery",
        "alice",
    )
    .await
    .expect("sign in");

    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&config);
    let sign_in_with = |client: String| {
        let cognito = cognito.clone();
        async move {
            let out = cognito
                .initiate_auth()
                .client_id(client)
                .auth_flow(aws_sdk_cognitoidentityprovider::types::AuthFlowType::UserPasswordAuth)
                .auth_parameters("USERNAME", "alice@example.com")
                .auth_parameters("PASSWORD", "Correct-Horse-9-Battery")
                .send()
                .await
                .expect("sign in");
            out.authentication_result().cloned().expect("tokens")
        }
    };
    let ours = sign_in_with(settings.client_id.clone()).await;
    let (user, _) = auth
        .verified_user(&ours)
        .await
        .expect("our client's tokens verify");
    assert_eq!(user.email, alice);

    // Another client of the same pool: the ID token's audience is not ours.
    let other = cognito
        .create_user_pool_client()
        .user_pool_id(&settings.user_pool_id)
        .client_name("someone-else")
        .send()
        .await
        .expect("client");
    let other_id = other
        .user_pool_client()
        .and_then(|c| c.client_id())
        .expect("id")
        .to_owned();
    let theirs = sign_in_with(other_id).await;
    assert!(
        auth.verified_user(&theirs).await.is_err(),
        "a token for another client is refused"
    );

    // A token whose claims were edited no longer matches its signature.
    let id = ours.id_token().expect("id token");
    let mut parts: Vec<String> = id.split('.').map(str::to_owned).collect();
    parts[1] = parts[1].chars().rev().collect();
    let forged = aws_sdk_cognitoidentityprovider::types::AuthenticationResultType::builder()
        .id_token(parts.join("."))
        .access_token(ours.access_token().expect("access"))
        .build();
    assert!(
        auth.verified_user(&forged).await.is_err(),
        "an edited token is refused"
    );

    // An expired access token is renewed with the refresh token; once Cognito has revoked the
    // refresh token (global sign-out), the session ends.
    cloud::testkit::expire_access_tokens(&settings).await;
    assert!(
        auth.session_user(&session)
            .await
            .expect("session")
            .is_some(),
        "renewed"
    );
    // The role is read again when the session renews: a promotion (or a demotion) takes effect
    // within the access token's hour, not the session's 30 days.
    cognito
        .admin_add_user_to_group()
        .user_pool_id(&settings.user_pool_id)
        .username("alice@example.com")
        .group_name(cloud::cognito_auth::ADMIN_GROUP)
        .send()
        .await
        .expect("promote");
    let before = auth
        .session_user(&session)
        .await
        .expect("session")
        .expect("user");
    assert_eq!(before.role, Role::User, "the access token still holds");
    cloud::testkit::expire_access_tokens(&settings).await;
    let after = auth
        .session_user(&session)
        .await
        .expect("session")
        .expect("user");
    assert_eq!(after.role, Role::Admin, "read again at renewal");
    assert_eq!(
        auth.session_user(&session)
            .await
            .expect("session")
            .expect("user")
            .role,
        Role::Admin,
        "and kept"
    );
    cognito
        .admin_user_global_sign_out()
        .user_pool_id(&settings.user_pool_id)
        .username("alice@example.com")
        .send()
        .await
        .expect("global sign-out");
    cloud::testkit::expire_access_tokens(&settings).await;
    assert!(
        auth.session_user(&session)
            .await
            .expect("session")
            .is_none(),
        "revoked at Cognito, over here"
    );
}

/// `target/<profile>/spaceport`, built by the same `cargo test` run when `-p pipeline` is
/// included (as `scripts/test.sh` does).
fn spaceport() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary");
    let bin = exe.parent().expect("deps").join("..").join("spaceport");
    assert!(
        bin.exists(),
        "build the pipeline first: cargo build -p pipeline ({})",
        bin.display()
    );
    bin
}

/// moto with the pipeline's state machine, and the adapters a job needs.
struct JobStack {
    _moto: Moto,
    settings: cloud::AwsSettings,
    config: aws_config::SdkConfig,
    projects: Arc<dyn ProjectStore>,
    uploads: S3Uploads,
    jobs: cloud::sfn_jobs::SfnJobs,
}

/// `pipeline`: the pipeline's own state machine, else one whose executions wait and do nothing.
async fn job_stack(name: &str, pipeline: bool) -> JobStack {
    let moto = Moto::start();
    let mut settings = moto.settings(name);
    provision(&mut settings).await;
    if pipeline {
        cloud::testkit::provision_state_machine(&moto, &mut settings).await;
    } else {
        cloud::testkit::provision_idle_state_machine(&moto, &mut settings).await;
    }
    let config = settings.sdk_config().await;
    let table = cloud::Table::new(&config, &settings.table);
    let projects: Arc<dyn ProjectStore> = Arc::new(DynamoProjects::new(table.clone()));
    let uploads = S3Uploads::new(
        &config,
        table.clone(),
        &settings.bucket,
        projects.clone(),
        1 << 30,
    );
    let jobs = cloud::sfn_jobs::SfnJobs::new(
        &config,
        table,
        &settings.bucket,
        &settings.state_machine_arn,
        projects.clone(),
    );
    JobStack {
        _moto: moto,
        settings,
        config,
        projects,
        uploads,
        jobs,
    }
}

#[tokio::test]
async fn a_failing_stage_ends_the_job_and_the_watcher_tells_the_owner() {
    use cloud::sfn_jobs::JobMail;
    use domain::job::{JobStatus, Preset};
    use domain::ports::JobRunner;
    let JobStack {
        _moto,
        settings,
        config,
        projects,
        uploads,
        jobs,
    } = job_stack("watcher", true).await;
    let work = tempfile::tempdir().expect("tempdir");
    let _sagemaker =
        cloud::testkit::StandInSageMaker::start(&settings, spaceport(), work.path().to_path_buf())
            .await;

    // A Cognito user, so the watcher can find whom to mail.
    let mail = Arc::new(Mailbox::default());
    let auth = CognitoAuth::new(
        &config,
        &settings,
        mail.clone(),
        "https://spaceport.test",
        3600,
        86_400,
    );
    let pilot = email("pilot@example.com");
    auth.invite(&pilot, Role::User).await.expect("invite");
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&config);
    let user = cognito
        .admin_get_user()
        .user_pool_id(&settings.user_pool_id)
        .username(pilot.as_str())
        .send()
        .await
        .expect("user");
    let sub = user
        .user_attributes()
        .iter()
        .find(|a| a.name() == "sub")
        .and_then(|a| a.value())
        .expect("sub");
    let owner = UserId(sub.to_owned());

    let project = projects
        .create(&owner, &ProjectTitle::parse("Broken").expect("title"))
        .await
        .expect("project");
    // Photos that are not a zip archive: ingest fails on them.
    let junk = b"these are not photos".to_vec();
    let s = uploads
        .create(&owner, &project.id, "photos.zip", junk.len() as u64)
        .await
        .expect("create");
    uploads
        .put_part(&owner, &s.id, 1, &junk)
        .await
        .expect("part");
    uploads.complete(&owner, &s.id).await.expect("complete");

    let jobs = jobs.with_mail(JobMail {
        notifier: mail.clone(),
        cognito,
        user_pool_id: settings.user_pool_id.clone(),
        public_url: "https://spaceport.test".to_owned(),
    });
    let params = Preset::Preview.params();
    let job = jobs
        .launch(&owner, &project.id, params)
        .await
        .expect("launch");
    assert!(
        matches!(
            jobs.launch(&owner, &project.id, params).await,
            Err(StoreError::LimitReached(_))
        ),
        "one job at a time"
    );

    // Nobody looks at the job: the watcher's rounds alone must notice its end.
    let before = mail.0.lock().expect("mail").len();
    let deadline = std::time::Instant::now() + std::time::Duration::from_mins(2);
    while mail.0.lock().expect("mail").len() == before {
        assert!(
            std::time::Instant::now() < deadline,
            "the watcher never saw the job end"
        );
        jobs.visit_running().await.expect("a round of the watcher");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    let message = mail.0.lock().expect("mail")[before].clone();
    assert_eq!(message.to, pilot);
    assert!(message.subject.contains("stopped"), "{message:?}");
    assert!(
        message.body.contains("ingest"),
        "the mail says which stage failed: {}",
        message.body
    );
    jobs.visit_running().await.expect("another round");
    assert_eq!(
        mail.0.lock().expect("mail").len(),
        before + 1,
        "mailed once"
    );

    let (ended, _) = jobs
        .latest(&owner, &project.id, 0)
        .await
        .expect("latest")
        .expect("a job");
    assert_eq!(
        (ended.id.as_str(), ended.status),
        (job.id.as_str(), JobStatus::Failed)
    );
    assert!(
        ended
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("ingest:")),
        "{:?}",
        ended.error
    );
    assert!(ended.done_stages.is_empty());
    assert_eq!(
        projects
            .get(&owner, &project.id)
            .await
            .expect("project")
            .status,
        domain::ProjectStatus::Failed
    );
    // A stranger sees no job.
    assert_eq!(
        jobs.latest(&UserId("stranger".into()), &project.id, 0)
            .await
            .expect("latest"),
        None
    );
}

#[tokio::test]
async fn sfn_jobs_pass_the_job_runner_suite() {
    let stack = job_stack("jobs", false).await;
    let (alice, bob) = (UserId("alice-sub".into()), UserId("bob-sub".into()));
    // Ends are recorded by the watcher (a page asking where a job is writes nothing).
    let jobs = Arc::new(stack.jobs);
    jobs.watch(std::time::Duration::from_secs(1));
    domain::testkit::job_runner(
        jobs.as_ref(),
        stack.projects.as_ref(),
        &stack.uploads,
        &alice,
        &bob,
    )
    .await;
}

#[tokio::test]
async fn deleting_a_project_erases_its_job_link_and_photos() {
    use domain::job::{JobStatus, Preset};
    use domain::ports::{JobRunner, ShareLinks};
    let stack = job_stack("erase", false).await;
    let alice = UserId("alice-sub".into());
    let table = cloud::Table::new(&stack.config, &stack.settings.table);
    let jobs = Arc::new(stack.jobs);
    let shares: Arc<dyn ShareLinks> = Arc::new(cloud::dynamo_shares::DynamoShares::new(
        table.clone(),
        stack.projects.clone(),
    ));
    let erasing = cloud::erase::ErasingProjects::new(
        stack.projects.clone(),
        jobs.clone(),
        shares.clone(),
        cloud::s3_delivered::Bucket::new(&stack.config, &stack.settings.bucket),
        table.clone(),
    );
    let s3 = cloud::s3_uploads::s3_client(&stack.config);
    let bucket = stack.settings.bucket.clone();
    let keys = |prefix: String| {
        let (s3, bucket) = (s3.clone(), bucket.clone());
        async move {
            let listed = s3
                .list_objects_v2()
                .bucket(&bucket)
                .prefix(&prefix)
                .send()
                .await
                .expect("list");
            let uploads = s3
                .list_multipart_uploads()
                .bucket(&bucket)
                .prefix(&prefix)
                .send()
                .await
                .expect("list uploads");
            (listed.contents().len(), uploads.uploads().len())
        }
    };
    let photos = |project: domain::ProjectId| {
        let uploads = &stack.uploads;
        let alice = alice.clone();
        async move {
            let archive = b"photos stand-in".to_vec();
            let s = uploads
                .create(&alice, &project, "photos.zip", archive.len() as u64)
                .await
                .expect("upload");
            uploads
                .put_part(&alice, &s.id, 1, &archive)
                .await
                .expect("part");
            uploads.complete(&alice, &s.id).await.expect("complete");
        }
    };
    let title = |t: &str| ProjectTitle::parse(t).expect("title");

    let doomed = erasing
        .create(&alice, &title("Doomed"))
        .await
        .expect("project")
        .id;
    photos(doomed.clone()).await;
    // A second upload left half-way: an unfinished multipart upload in the bucket.
    erasing_partial_upload(&stack.uploads, &alice, &doomed).await;
    let job = jobs
        .launch(&alice, &doomed, Preset::Preview.params())
        .await
        .expect("launch");
    s3.put_object()
        .bucket(&bucket)
        .key(format!("jobs/{}/progress/ingest.jsonl", job.id))
        .body(b"{}\n".to_vec().into())
        .send()
        .await
        .expect("a stage's file");
    let link = shares.share(&alice, &doomed).await.expect("share");
    let photos_prefix = format!("uploads/{}/{}/", alice.0, doomed.0);
    let job_prefix = format!("jobs/{}/", job.id);
    assert_eq!(
        keys(photos_prefix.clone()).await,
        (1, 1),
        "the archive and an unfinished upload"
    );
    assert_eq!(keys(job_prefix.clone()).await.0, 1);

    erasing.delete(&alice, &doomed).await.expect("delete");
    // Nothing keeps running...
    let sfn = aws_sdk_sfn::Client::new(&stack.config);
    let execution = format!(
        "{}:{}",
        stack
            .settings
            .state_machine_arn
            .replacen(":stateMachine:", ":execution:", 1),
        job.id
    );
    let described = sfn
        .describe_execution()
        .execution_arn(&execution)
        .send()
        .await
        .expect("describe");
    assert_eq!(
        described.status(),
        &aws_sdk_sfn::types::ExecutionStatus::Aborted,
        "the running execution was stopped"
    );
    // ...and nothing is left: photos, unfinished uploads, the job's files, its records, the link.
    assert_eq!(keys(photos_prefix).await, (0, 0));
    assert_eq!(keys(job_prefix).await.0, 0);
    assert_eq!(shares.resolve(&link).await, Ok(None));
    let left: Vec<_> = table
        .query(&cloud::table::owner_pk(&alice), "")
        .await
        .expect("query")
        .into_iter()
        .filter(|i| {
            i.values()
                .any(|v| v.as_s().is_ok_and(|s| s.contains(&doomed.0)))
        })
        .collect();
    assert!(left.is_empty(), "records of the deleted project: {left:?}");
    assert_eq!(
        erasing.delete(&alice, &doomed).await,
        Err(StoreError::NotFound)
    );
    // The owner's one job went with the project: another project starts at once.
    let next = erasing
        .create(&alice, &title("Next"))
        .await
        .expect("project")
        .id;
    photos(next.clone()).await;
    let started = jobs
        .launch(&alice, &next, Preset::Preview.params())
        .await
        .expect("a launch right after the delete");
    assert_ne!(started.status, JobStatus::Failed);

    // A new job for a project supersedes its earlier one, whose files nothing can reach again
    // (the project's record names only the latest job): they leave the bucket at the launch.
    s3.put_object()
        .bucket(&bucket)
        .key(format!("jobs/{}/train/point_cloud.ply", started.id))
        .body(b"a model stand-in".to_vec().into())
        .send()
        .await
        .expect("a stage's file");
    jobs.cancel(&alice, &next).await.expect("cancel");
    let again = jobs
        .launch(&alice, &next, Preset::Preview.params())
        .await
        .expect("a second launch");
    assert_ne!(again.id, started.id);
    assert_eq!(keys(format!("jobs/{}/", started.id)).await.0, 0);
}

/// Starts an upload of two parts for `project` and sends only the first.
async fn erasing_partial_upload(uploads: &S3Uploads, owner: &UserId, project: &domain::ProjectId) {
    let part = vec![7u8; 8 << 20];
    let s = uploads
        .create(owner, project, "photos.zip", (part.len() + 10) as u64)
        .await
        .expect("upload");
    uploads
        .put_part(owner, &s.id, 1, &part)
        .await
        .expect("part");
}

#[tokio::test]
async fn completing_again_after_s3_assembled_the_archive_succeeds() {
    use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
    let stack = job_stack("complete", false).await;
    let alice = UserId("alice-sub".into());
    let title = ProjectTitle::parse("Interrupted").expect("title");
    let project = stack
        .projects
        .create(&alice, &title)
        .await
        .expect("project")
        .id;
    let archive = b"photos stand-in".to_vec();
    let s = stack
        .uploads
        .create(&alice, &project, "photos.zip", archive.len() as u64)
        .await
        .expect("upload");
    stack
        .uploads
        .put_part(&alice, &s.id, 1, &archive)
        .await
        .expect("part");
    // As a server killed right after S3 assembled the archive leaves it: S3 has finished the
    // multipart upload, nothing of it is recorded. (S3, and the stand-in, answer a repeated
    // completion of the same upload with success; where S3 has forgotten the upload id it
    // answers NoSuchUpload, and `complete` takes the archive it finds — not reproducible here.)
    let table = cloud::Table::new(&stack.config, &stack.settings.table);
    let item = table
        .get(cloud::table::key(
            cloud::table::owner_pk(&alice),
            format!("UPLOAD#{}", s.id),
        ))
        .await
        .expect("read")
        .expect("the upload's record");
    let multipart = cloud::table::s(&item, "multipart")
        .expect("upload id")
        .to_owned();
    let etag = item["etags"].as_m().expect("etags")["1"]
        .as_s()
        .expect("etag")
        .clone();
    cloud::s3_uploads::s3_client(&stack.config)
        .complete_multipart_upload()
        .bucket(&stack.settings.bucket)
        .key(S3Uploads::archive_key(&alice, &project))
        .upload_id(multipart)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(CompletedPart::builder().part_number(1).e_tag(etag).build())
                .build(),
        )
        .send()
        .await
        .expect("S3 completes the upload");
    let status = || async {
        stack
            .projects
            .get(&alice, &project)
            .await
            .expect("project")
            .status
    };
    // The browser, told nothing, asks again: the upload is complete and the project moves on.
    let done = stack
        .uploads
        .complete(&alice, &s.id)
        .await
        .expect("complete again");
    assert!(done.completed);
    assert_eq!(status().await, domain::ProjectStatus::PhotosUploaded);
    // Killed one step later (the upload recorded complete, the project not yet moved on): the
    // next `complete` moves it on.
    stack
        .projects
        .set_status(&alice, &project, domain::ProjectStatus::Draft)
        .await
        .expect("as the crash left it");
    stack
        .uploads
        .complete(&alice, &s.id)
        .await
        .expect("complete once more");
    assert_eq!(status().await, domain::ProjectStatus::PhotosUploaded);
}
