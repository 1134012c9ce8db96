//! Building and running the application: open the data directory and database, choose the port
//! implementations by configuration (`Ports::embedded`: SQLite, local files and the local job
//! runner; `Ports::cloud`: the AWS adapters of the `cloud` crate, after `cloud::check`), and
//! assemble the axum router. Tests call `Application::build` with port 0 and a temporary data
//! directory and talk to the real server over HTTP.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use app::services::Services;
use app::{shell, App};
use axum::Router;
use domain::ratelimit::{AttemptStore, Limiter, Policy};
use leptos::config::{Env, LeptosOptions};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use sqlx::SqlitePool;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;

use crate::adapters::local_auth::LocalAuth;
use crate::adapters::notifier::Outbox;
use crate::adapters::smtp::SmtpDelivery;
use crate::adapters::sqlite_projects::SqliteProjects;
use crate::adapters::sqlite_waitlist::SqliteWaitlist;
use crate::config::Config;
use crate::security::{check_origin, origin_of, security_headers, AllowedOrigin, HeaderPolicy};
use crate::{db, password};

/// The embedded adapters over one database, shared by the server and the admin commands.
pub struct Embedded {
    pub pool: SqlitePool,
    pub auth: Arc<LocalAuth>,
    pub outbox: Arc<Outbox>,
    pub projects: Arc<SqliteProjects>,
    pub waitlist: Arc<SqliteWaitlist>,
}

impl Embedded {
    pub async fn open(config: &Config) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}; choose another with --data-dir or SPACEPORT_DATA_DIR",
                config.data_dir.display()
            )
        })?;
        let pool = db::open(&config.database_path()).await.with_context(|| {
            format!(
                "cannot open the database {}",
                config.database_path().display()
            )
        })?;
        let outbox = Arc::new(Outbox::new(pool.clone()));
        let auth = Arc::new(LocalAuth::new(
            pool.clone(),
            outbox.clone(),
            config.public_url.clone(),
            config.reset_link_ttl_secs,
            config.invite_ttl_secs,
        ));
        Ok(Self {
            projects: Arc::new(SqliteProjects::new(pool.clone())),
            waitlist: Arc::new(SqliteWaitlist::new(pool.clone())),
            pool,
            auth,
            outbox,
        })
    }
}

/// The ports that differ between one machine and the cloud; the outbox (mail waiting for the
/// SMTP relay) stays in the embedded database in both.
struct Ports {
    auth: Arc<dyn domain::ports::AuthProvider>,
    projects: Arc<dyn domain::ports::ProjectStore>,
    uploads: Arc<dyn domain::ports::UploadStore>,
    jobs: Arc<dyn domain::ports::JobRunner>,
    delivered: Arc<dyn domain::ports::DeliveredFiles>,
    shares: Arc<dyn domain::ports::ShareLinks>,
    waitlist: Arc<dyn domain::ports::Waitlist>,
    /// The limiters' counters, shared by every instance on the same database or table.
    attempts: Arc<dyn AttemptStore>,
}

impl Ports {
    /// SQLite, local disk and the local job runner, with their housekeeping.
    async fn embedded(
        config: &Config,
        embedded: &Embedded,
        metrics: Arc<crate::ops::Metrics>,
    ) -> anyhow::Result<Self> {
        let layout = crate::adapters::layout::DataLayout::new(&config.data_dir);
        let uploads = Arc::new(
            crate::adapters::local_uploads::LocalUploads::new(
                embedded.pool.clone(),
                layout.clone(),
                config.max_upload_bytes,
            )
            .with_limits(config.user_quota_bytes, config.min_free_bytes),
        );
        let attempts = Arc::new(crate::adapters::sqlite_attempts::SqliteAttempts::new(
            embedded.pool.clone(),
        ));
        spawn_housekeeping(embedded.auth.clone(), uploads.clone(), attempts.clone());
        spawn_orphan_sweep(embedded.pool.clone(), config.data_dir.clone());
        let jobs = crate::adapters::local_jobs::LocalJobs::new(
            embedded.pool.clone(),
            layout.clone(),
            config
                .pipeline_bin
                .clone()
                .unwrap_or_else(crate::adapters::local_jobs::default_pipeline_bin),
            embedded.outbox.clone(),
            &config.public_url,
        );
        jobs.set_limits(config.stage_time_limit_secs, config.min_free_bytes);
        jobs.set_metrics(metrics);
        jobs.start().await?;
        Ok(Self {
            auth: embedded.auth.clone(),
            projects: embedded.projects.clone(),
            uploads,
            jobs,
            delivered: Arc::new(crate::adapters::local_delivered::LocalDelivered::new(
                layout,
            )),
            shares: Arc::new(crate::adapters::sqlite_shares::SqliteShares::new(
                embedded.pool.clone(),
            )),
            waitlist: embedded.waitlist.clone(),
            attempts,
        })
    }

    /// Cognito, DynamoDB, S3 and Step Functions (`cloud`), mail through the embedded outbox.
    async fn cloud(config: &Config, aws: &cloud::AwsSettings, embedded: &Embedded) -> Self {
        let sdk = aws.sdk_config().await;
        let table = cloud::Table::new(&sdk, &aws.table);
        let projects: Arc<dyn domain::ports::ProjectStore> =
            Arc::new(cloud::dynamo_projects::DynamoProjects::new(table.clone()));
        let jobs = Arc::new(
            cloud::sfn_jobs::SfnJobs::new(
                &sdk,
                table.clone(),
                &aws.bucket,
                &aws.state_machine_arn,
                projects.clone(),
            )
            .with_mail(cloud::sfn_jobs::JobMail {
                notifier: embedded.outbox.clone(),
                cognito: cloud::CognitoClient::new(&sdk),
                user_pool_id: aws.user_pool_id.clone(),
                public_url: config.public_url.clone(),
            }),
        );
        // Jobs that end while nobody watches still move on and mail their owners.
        jobs.watch(Duration::from_secs(30));
        let shares: Arc<dyn domain::ports::ShareLinks> = Arc::new(
            cloud::dynamo_shares::DynamoShares::new(table.clone(), projects.clone()),
        );
        Self {
            auth: cloud_auth(config, aws, &sdk, embedded),
            uploads: Arc::new(cloud::s3_uploads::S3Uploads::new(
                &sdk,
                table.clone(),
                &aws.bucket,
                projects.clone(),
                config.max_upload_bytes,
            )),
            delivered: Arc::new(cloud::s3_delivered::S3Delivered::new(&sdk, &aws.bucket)),
            // Deleting a project erases its job, link and photos too (`cloud::erase`).
            projects: Arc::new(cloud::erase::ErasingProjects::new(
                projects,
                jobs.clone(),
                shares.clone(),
                cloud::s3_delivered::Bucket::new(&sdk, &aws.bucket),
                table.clone(),
            )),
            jobs,
            shares,
            waitlist: Arc::new(cloud::dynamo_waitlist::DynamoWaitlist::new(table.clone())),
            attempts: Arc::new(cloud::dynamo_attempts::DynamoAttempts::new(table)),
        }
    }
}

fn cloud_auth(
    config: &Config,
    aws: &cloud::AwsSettings,
    sdk: &cloud::SdkConfig,
    embedded: &Embedded,
) -> Arc<dyn domain::ports::AuthProvider> {
    Arc::new(cloud::cognito_auth::CognitoAuth::new(
        sdk,
        aws,
        embedded.outbox.clone(),
        config.public_url.clone(),
        i64::try_from(config.reset_link_ttl_secs).unwrap_or(i64::MAX),
        i64::try_from(config.invite_ttl_secs).unwrap_or(i64::MAX),
    ))
}

/// Runs `cloud::check::check`, turning its verdict into a start-up error that names the
/// setting.
pub async fn check_cloud(aws: &cloud::AwsSettings) -> anyhow::Result<Vec<String>> {
    cloud::check::check(aws).await.map_err(|e| {
        anyhow::anyhow!(
            "the cloud configuration does not work: {e}. Nothing was started; fix it and run `server check-config` to see every check"
        )
    })
}

/// The waitlist the configuration chooses, for the admin commands.
pub async fn waitlist(config: &Config, embedded: &Embedded) -> Arc<dyn domain::ports::Waitlist> {
    match &config.aws {
        Some(aws) => Arc::new(cloud::dynamo_waitlist::DynamoWaitlist::new(
            cloud::Table::new(&aws.sdk_config().await, &aws.table),
        )),
        None => embedded.waitlist.clone(),
    }
}

/// The accounts port the configuration chooses, for the admin commands.
pub async fn auth_provider(
    config: &Config,
    embedded: &Embedded,
) -> anyhow::Result<Arc<dyn domain::ports::AuthProvider>> {
    Ok(match &config.aws {
        Some(aws) => {
            check_cloud(aws).await?;
            cloud_auth(config, aws, &aws.sdk_config().await, embedded)
        }
        None => embedded.auth.clone(),
    })
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    pub embedded: Arc<Embedded>,
}

impl Application {
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        // Cloud mode asks AWS for every resource first: a wrong setting stops the server here,
        // before it has opened anything or started any work.
        if let Some(aws) = &config.aws {
            check_cloud(aws).await?;
        }
        let embedded = Arc::new(Embedded::open(config).await?);
        if let Some(url) = &config.smtp_url {
            let delivery = SmtpDelivery::new(embedded.pool.clone(), url, &config.mail_from)?;
            Arc::new(delivery).spawn(embedded.outbox.wake_handle());
        } else {
            tracing::info!("no smtp_url: mail stays in the outbox (read it with `server outbox`)");
        }
        let pkg = config.site_root.join("pkg");
        if !pkg.exists() {
            tracing::warn!(
                "no browser bundle at {}: pages will render but not hydrate. Build it with `scripts/build-site.sh` (the README's run command does this).",
                pkg.display()
            );
        }
        password::warm_up();
        let metrics = crate::ops::Metrics::new();
        let ports = match &config.aws {
            Some(aws) => Ports::cloud(config, aws, &embedded).await,
            None => Ports::embedded(config, &embedded, metrics.clone()).await?,
        };
        let ops = crate::ops::Ops {
            metrics,
            pool: embedded.pool.clone(),
            data_dir: config.data_dir.clone(),
            min_free_bytes: config.min_free_bytes,
            metrics_token: config.metrics_token.as_ref().map(|t| t.expose().to_owned()),
            local_jobs: config.aws.is_none(),
            aws: config.aws.clone().map(crate::ops::CloudProbe::new),
        };
        let services = Services {
            auth: ports.auth,
            projects: ports.projects,
            waitlist: ports.waitlist,
            shares: ports.shares,
            limiter: Limiter::new(ports.attempts.clone(), Policy::default(), "signin"),
            public_limiter: Limiter::new(ports.attempts.clone(), Policy::default(), "public"),
            client_ip_header: config.client_ip_header.clone(),
            secure_cookies: config.secure_cookies(),
            uploads: ports.uploads,
            jobs: ports.jobs,
            delivered: ports.delivered,
            notifier: embedded.outbox.clone(),
            public_url: config.public_url.trim_end_matches('/').to_owned(),
            contact_email: config.contact_email.clone(),
            places: match &config.geocoder_url {
                Some(url) => {
                    tracing::info!(url, "place search: a Nominatim-compatible service");
                    Arc::new(crate::places::Nominatim::new(
                        url,
                        config.geocoder_key.clone(),
                        &format!(
                            "Spaceport/{} (+{})",
                            env!("CARGO_PKG_VERSION"),
                            config.public_url
                        ),
                    )?)
                }
                None => Arc::new(crate::places::NoPlaces),
            },
            map: app::api::map::MapSources {
                tiles: config.map_tiles_url.clone(),
                attribution: config.map_attribution.clone(),
                search: config.geocoder_url.is_some(),
            },
            terrain: crate::elevation::load(
                &config.data_dir,
                config.elevation_url.as_deref(),
                config.elevation_key.clone(),
                config.terrain_tiles_url.as_deref(),
                config.min_free_bytes,
            )?,
        };
        let router = router(config, services, ops);
        let listener = TcpListener::bind(config.addr).await.with_context(|| {
            format!(
                "cannot listen on {}; is another program using it? Choose another with --addr",
                config.addr
            )
        })?;
        Ok(Self {
            listener,
            router,
            embedded,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Serves until Ctrl-C / SIGTERM, finishing in-flight requests.
    pub async fn run(self) -> anyhow::Result<()> {
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await?;
        Ok(())
    }
}

fn router(config: &Config, services: Services, ops: crate::ops::Ops) -> Router {
    let metrics = ops.metrics.clone();
    let site_root = config.site_root.to_string_lossy().to_string();
    let options = LeptosOptions::builder()
        .output_name("spaceport")
        .site_root(site_root.as_str())
        .site_pkg_dir("pkg")
        .env(Env::PROD)
        .site_addr(config.addr)
        .build();
    let routes = generate_route_list(App);
    let uploads = crate::uploads::routes(services.clone());
    let files = services.clone();
    let models = services.clone();
    let viewer = services.clone();
    let shared = services.clone();
    let shared_files = services.clone();
    let progress = services.clone();
    let visitors = services.clone();
    let assets = crate::assets::load(&config.site_root);
    let context = move || {
        provide_context(services.clone());
        provide_context(assets.clone());
        crate::security::provide_nonce();
    };
    let pages = Router::new()
        .route(
            "/api/projects/{id}/flight/{file}",
            axum::routing::get(
                move |path: axum::extract::Path<(String, String)>,
                      query: axum::extract::Query<app::api::flight::FlightQuery>,
                      headers: http::HeaderMap| {
                    crate::flight::download(files.clone(), path, query, headers)
                },
            ),
        )
        .route(
            "/api/projects/{id}/files/{file}",
            axum::routing::get(
                move |path: axum::extract::Path<(String, String)>, headers: http::HeaderMap| {
                    crate::delivered::download(models.clone(), path, headers)
                },
            ),
        )
        .route(
            "/api/projects/{id}/progress",
            axum::routing::get(
                move |path: axum::extract::Path<String>, headers: http::HeaderMap| {
                    crate::progress::stream(progress.clone(), path, headers)
                },
            ),
        )
        .route("/view", axum::routing::get(crate::viewer_page::path_view))
        .route(
            "/s/{token}",
            axum::routing::get(move |path: axum::extract::Path<String>| {
                crate::viewer_page::shared_view(shared.clone(), path)
            }),
        )
        .route(
            "/s/{token}/model.sog",
            axum::routing::get(
                move |path: axum::extract::Path<String>, headers: http::HeaderMap| {
                    crate::delivered::shared(shared_files.clone(), path, headers)
                },
            ),
        )
        .route(
            "/projects/{id}/view",
            axum::routing::get(
                move |path: axum::extract::Path<String>, headers: http::HeaderMap| {
                    crate::viewer_page::owner_view(viewer.clone(), path, headers)
                },
            ),
        )
        .leptos_routes_with_context(&options, routes, context.clone(), {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context(
            context, shell,
        ))
        .with_state(options)
        .layer(axum::middleware::from_fn_with_state(
            visitors,
            crate::session::visitor,
        ))
        .layer(RequestBodyLimitLayer::new(config.max_body_bytes));
    // Upload parts carry their own (larger) body limit; everything else keeps the small one.
    uploads
        .merge(crate::assets::routes(&config.site_root))
        .merge(pages)
        .merge(crate::ops::routes(ops))
        // Route-level (it runs after routing), so it sees the route that matched.
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            crate::ops::track,
        ))
        .layer(axum::middleware::from_fn_with_state(
            AllowedOrigin(origin_of(&config.public_url)),
            check_origin,
        ))
        // The wasm bundle shrinks ~2.7x under gzip; pages and API replies compress well too.
        .layer(CompressionLayer::new())
        .layer(axum::middleware::from_fn_with_state(
            HeaderPolicy {
                https: config.secure_cookies(),
                connect_also: config
                    .aws
                    .as_ref()
                    .map(|aws| aws.s3_origins().join(" "))
                    .unwrap_or_default(),
                img_also: config
                    .map_tiles_url
                    .as_deref()
                    .map(origin_of)
                    .unwrap_or_default(),
            },
            security_headers,
        ))
}

/// Unfinished uploads are kept this long for the client to resume, then removed.
const STALE_UPLOAD_SECS: i64 = 7 * 24 * 3600;

fn spawn_housekeeping(
    auth: Arc<LocalAuth>,
    uploads: Arc<crate::adapters::local_uploads::LocalUploads>,
    attempts: Arc<crate::adapters::sqlite_attempts::SqliteAttempts>,
) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_hours(1));
        loop {
            every.tick().await;
            match auth.purge_expired().await {
                Ok(n) if n > 0 => tracing::info!(removed = n, "purged expired sessions and links"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "purging expired sessions failed"),
            }
            match uploads.clean_stale(STALE_UPLOAD_SECS).await {
                Ok(n) if n > 0 => {
                    tracing::info!(removed = n, "removed unfinished uploads older than a week");
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "removing stale uploads failed"),
            }
            if let Err(e) = attempts
                .sweep(u64::try_from(ids::now_secs()).unwrap_or(0))
                .await
            {
                tracing::error!(error = %e, "forgetting ended sign-in windows failed");
            }
        }
    });
}

/// Removes the folders of deleted projects, uploads and jobs (`crate::orphans`), every minute.
fn spawn_orphan_sweep(pool: sqlx::SqlitePool, data_dir: std::path::PathBuf) {
    tokio::spawn(async move {
        let mut sweep = crate::orphans::OrphanSweep::default();
        let mut every = tokio::time::interval(Duration::from_mins(1));
        loop {
            every.tick().await;
            let removed = sweep.pass(&pool, &data_dir).await;
            if !removed.is_empty() {
                tracing::info!(
                    folders = removed.len(),
                    "removed the files of deleted projects"
                );
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
