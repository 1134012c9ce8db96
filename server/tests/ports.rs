//! The embedded adapters against the port-level suites in `domain::testkit` — the same suites
//! the cloud adapters pass against the AWS stand-in (`cloud/tests/ports.rs`).

use domain::UserId;
use server::adapters::layout::DataLayout;
use server::adapters::local_uploads::LocalUploads;
use server::adapters::sqlite_projects::SqliteProjects;

/// Owners must exist as accounts (projects reference them).
async fn owner(pool: &sqlx::SqlitePool, name: &str) -> UserId {
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, role, created_at, updated_at) VALUES (?, ?, 'x', 'user', 0, 0)",
    )
    .bind(name)
    .bind(format!("{name}@example.com"))
    .execute(pool)
    .await
    .expect("user");
    UserId(name.to_owned())
}

async fn pool(dir: &std::path::Path) -> sqlx::SqlitePool {
    server::db::open(&dir.join("spaceport.db"))
        .await
        .expect("database")
}

#[tokio::test]
async fn sqlite_projects_pass_the_project_store_suite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pool = pool(dir.path()).await;
    let (alice, bob) = (owner(&pool, "alice").await, owner(&pool, "bob").await);
    domain::testkit::project_store(&SqliteProjects::new(pool), &alice, &bob).await;
}

#[tokio::test]
async fn local_uploads_pass_the_upload_store_suite() {
    use domain::ports::ProjectStore as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let pool = pool(dir.path()).await;
    let (alice, bob) = (owner(&pool, "alice").await, owner(&pool, "bob").await);
    let projects = SqliteProjects::new(pool.clone());
    let title = domain::ProjectTitle::parse("Upload suite").expect("title");
    let project = projects.create(&alice, &title).await.expect("project");
    let max = 1 << 30;
    let layout = DataLayout::new(dir.path());
    let uploads = LocalUploads::new(pool, layout.clone(), max);
    let bytes =
        domain::testkit::upload_store(&uploads, &projects, &alice, &bob, &project.id, max).await;
    let archive = layout.archive(&project.id);
    assert!(
        std::fs::read(archive).expect("archive") == bytes,
        "the archive is the parts in order"
    );
}

#[tokio::test]
async fn sqlite_waitlist_and_shares_pass_their_suites() {
    use domain::ports::ProjectStore as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let pool = pool(dir.path()).await;
    domain::testkit::waitlist(&server::adapters::sqlite_waitlist::SqliteWaitlist::new(
        pool.clone(),
    ))
    .await;
    let (alice, bob) = (owner(&pool, "alice").await, owner(&pool, "bob").await);
    let projects = SqliteProjects::new(pool.clone());
    let title = domain::ProjectTitle::parse("Shared").expect("title");
    let project = projects.create(&alice, &title).await.expect("project");
    let shares = server::adapters::sqlite_shares::SqliteShares::new(pool);
    domain::testkit::share_links(&shares, &projects, &alice, &bob, &project.id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_attempts_pass_the_attempt_store_suite_across_two_pools() {
    use server::adapters::sqlite_attempts::SqliteAttempts;
    let dir = tempfile::tempdir().expect("tempdir");
    // Two pools on one database file: two server processes.
    let (first, second) = (pool(dir.path()).await, pool(dir.path()).await);
    let attempts = std::sync::Arc::new(SqliteAttempts::new(first));
    domain::testkit::attempt_store(
        attempts.clone(),
        std::sync::Arc::new(SqliteAttempts::new(second)),
    )
    .await;
    // Ended windows are forgotten by the sweep, live ones kept.
    let far = 1_000_000 + 2 * domain::ratelimit::Policy::default().window_secs;
    assert!(attempts.sweep(1_000_000).await.expect("sweep") == 0);
    assert!(attempts.sweep(far).await.expect("sweep") > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_memory_attempt_store_passes_the_suite() {
    let memory = std::sync::Arc::new(domain::ratelimit::MemoryAttempts::new(1000));
    domain::testkit::attempt_store(memory.clone(), memory).await;
}

/// The embedded outbox, read as the suite's mailbox.
struct OutboxReader(std::sync::Arc<server::adapters::notifier::Outbox>);

#[async_trait::async_trait]
impl domain::testkit::Mailbox for OutboxReader {
    async fn last_to(&self, to: &domain::Email) -> Option<domain::ports::Message> {
        let newest = self.0.recent(Some(to.as_str()), 1).await.expect("outbox");
        newest.into_iter().next().map(|m| domain::ports::Message {
            to: to.clone(),
            subject: m.subject,
            body: m.body,
        })
    }
}

#[tokio::test]
async fn local_auth_passes_the_auth_provider_suite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pool = pool(dir.path()).await;
    let outbox = std::sync::Arc::new(server::adapters::notifier::Outbox::new(pool.clone()));
    let auth = server::adapters::local_auth::LocalAuth::new(
        pool,
        outbox.clone(),
        "https://spaceport.test".to_owned(),
        3600,
        7 * 86_400,
    );
    domain::testkit::auth_provider(&auth, &OutboxReader(outbox)).await;
}

#[tokio::test]
async fn local_jobs_pass_the_job_runner_suite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pool = pool(dir.path()).await;
    let (alice, bob) = (owner(&pool, "alice").await, owner(&pool, "bob").await);
    let projects = SqliteProjects::new(pool.clone());
    let layout = DataLayout::new(dir.path());
    let uploads = LocalUploads::new(pool.clone(), layout.clone(), 1 << 30);
    let outbox = std::sync::Arc::new(server::adapters::notifier::Outbox::new(pool.clone()));
    // Not started: no worker takes the queued jobs, as the suite needs.
    let jobs = server::adapters::local_jobs::LocalJobs::new(
        pool,
        layout,
        server::adapters::local_jobs::default_pipeline_bin(),
        outbox,
        "https://spaceport.test",
    );
    domain::testkit::job_runner(jobs.as_ref(), &projects, &uploads, &alice, &bob).await;
}

/// Files in the job's folder, where the pipeline's stages write them.
struct FolderShelf(DataLayout);

#[async_trait::async_trait]
impl domain::testkit::Shelf for FolderShelf {
    async fn put(&self, job: &domain::job::Job, file: domain::job::DeliveredFile, bytes: &[u8]) {
        let path = self.0.job(&job.id).join(file.path());
        std::fs::create_dir_all(path.parent().expect("parent")).expect("folder");
        std::fs::write(path, bytes).expect("write");
    }
}

#[tokio::test]
async fn local_delivered_passes_the_delivered_files_suite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let layout = DataLayout::new(dir.path());
    let files = server::adapters::local_delivered::LocalDelivered::new(layout.clone());
    domain::testkit::delivered_files(
        &files,
        &FolderShelf(layout),
        &domain::testkit::delivered_job("job1"),
    )
    .await;
}
