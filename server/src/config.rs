//! Configuration: built-in defaults, then an optional TOML file, then `SPACEPORT_*` environment
//! variables, then command-line flags — each layer overriding the one before. Everything is
//! checked at start-up; a mistake stops the server with a message that names the setting, what is
//! wrong with it and how to fix it. Secrets are wrapped so they never print.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A value that must never reach a log or an error message.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Where the HTTP server listens.
    pub addr: SocketAddr,
    /// Everything local lives here: the SQLite database, uploads, job artifacts.
    pub data_dir: PathBuf,
    /// The address users reach the app at, for links in emails. Defaults to `http://{addr}`.
    pub public_url: String,
    /// The browser side written by `scripts/build-site.sh` (`pkg/`, `viewer/`, public assets).
    pub site_root: PathBuf,
    /// SMTP relay for outgoing mail (`smtp://user:pass@host:port`, `smtps://…`; `?tls=required`
    /// for STARTTLS); without it mail stays in the outbox, readable with `server outbox`.
    pub smtp_url: Option<Secret>,
    /// The `From:` of outgoing mail.
    pub mail_from: String,
    /// `tracing` filter, e.g. `info` or `server=debug,info`.
    pub log: String,
    /// Lifetime of a password-reset link.
    pub reset_link_ttl_secs: u64,
    /// Lifetime of an invitation's temporary password.
    pub invite_ttl_secs: u64,
    /// Largest request body the API accepts (uploads have their own routes and limits).
    pub max_body_bytes: usize,
    /// The `spaceport` pipeline binary the job runner starts (default: beside the server's).
    pub pipeline_bin: Option<PathBuf>,
    /// Largest photo archive one upload may carry.
    pub max_upload_bytes: u64,
    /// A web elevation service for terrain-following flight plans, used when no SRTM tiles are
    /// in `DATA_DIR/dem/` (e.g. `https://api.opentopodata.org/v1/srtm30m`).
    pub elevation_url: Option<String>,
    /// Its API key, if it needs one (sent as `key=`; never logged).
    pub elevation_key: Option<Secret>,
    /// Terrarium-encoded terrain tiles (`{z}`, `{x}`, `{y}` in the URL), used when there are
    /// no SRTM tiles and no elevation service: by default the public, keyless elevation tiles
    /// ([`DEFAULT_TERRAIN_TILES`]); "off" for flat ground (the flight page then says so).
    pub terrain_tiles_url: Option<String>,
    /// The flight page's map: OSM-style raster tiles (`{z}`, `{x}`, `{y}` in the URL; a key,
    /// if the provider needs one, goes in the URL and so reaches browsers, as every web map's
    /// does). By default OpenStreetMap's ([`DEFAULT_MAP_TILES`]); "off" for no map (the
    /// "lat, lon" field and the place search remain).
    pub map_tiles_url: Option<String>,
    /// The credit the tiles' licence asks for, shown on the map.
    pub map_attribution: String,
    /// A Nominatim-compatible place search (`GET URL?q=…&format=jsonv2`), asked by the server;
    /// by default OpenStreetMap's ([`DEFAULT_GEOCODER`]); "off" for none.
    pub geocoder_url: Option<String>,
    /// Its API key, if it needs one (sent as `key=`; never logged, never sent to browsers).
    pub geocoder_key: Option<Secret>,
    /// What one user's photos may take on this machine in all (unfinished uploads included).
    pub user_quota_bytes: u64,
    /// Room always left free on the data disk: uploads and stages that would eat into it are
    /// refused with a message.
    pub min_free_bytes: u64,
    /// A cap on every stage's run time, over the stage's own limit
    /// (`Stage::time_limit_secs`); for operators who want jobs shorter still.
    pub stage_time_limit_secs: Option<u64>,
    /// The header a trusted reverse proxy sets to the client's address (`cf-connecting-ip`,
    /// `x-forwarded-for`, …), for rate limiting; off by default, since without a proxy that
    /// always sets it a client could name any address.
    pub client_ip_header: Option<http::HeaderName>,
    /// The bearer token Prometheus sends to read `/metrics`; unset, `/metrics` does not exist.
    pub metrics_token: Option<Secret>,
    /// Where people write with feedback or questions: the footer's "Feedback" link and the
    /// About page. Unset, they offer no address.
    pub contact_email: Option<String>,
    /// Cloud mode (`mode = "aws"`): where the AWS resources are. `None` runs everything on this
    /// machine (the embedded defaults).
    pub aws: Option<cloud::AwsSettings>,
}

/// The optional file's shape; every key is optional and unknown keys are refused (typos should
/// fail loudly, not be silently ignored).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLayer {
    addr: Option<String>,
    data_dir: Option<PathBuf>,
    public_url: Option<String>,
    site_root: Option<PathBuf>,
    smtp_url: Option<Secret>,
    mail_from: Option<String>,
    log: Option<String>,
    reset_link_ttl_secs: Option<u64>,
    invite_ttl_secs: Option<u64>,
    max_body_bytes: Option<usize>,
    max_upload_bytes: Option<u64>,
    pipeline_bin: Option<PathBuf>,
    elevation_url: Option<String>,
    elevation_key: Option<Secret>,
    terrain_tiles_url: Option<String>,
    map_tiles_url: Option<String>,
    map_attribution: Option<String>,
    geocoder_url: Option<String>,
    geocoder_key: Option<Secret>,
    client_ip_header: Option<String>,
    metrics_token: Option<Secret>,
    contact_email: Option<String>,
    stage_time_limit_secs: Option<u64>,
    user_quota_bytes: Option<u64>,
    min_free_bytes: Option<u64>,
    mode: Option<String>,
    aws_region: Option<String>,
    aws_endpoint_url: Option<String>,
    dynamodb_table: Option<String>,
    s3_bucket: Option<String>,
    cognito_user_pool_id: Option<String>,
    cognito_client_id: Option<String>,
    state_machine_arn: Option<String>,
}

/// Every environment setting; cloud mode's eight come first (a test checks the deployment
/// template sets them).
const ENV_KEYS: [&str; 34] = [
    "SPACEPORT_MODE",
    "SPACEPORT_AWS_REGION",
    "SPACEPORT_AWS_ENDPOINT_URL",
    "SPACEPORT_DYNAMODB_TABLE",
    "SPACEPORT_S3_BUCKET",
    "SPACEPORT_COGNITO_USER_POOL_ID",
    "SPACEPORT_COGNITO_CLIENT_ID",
    "SPACEPORT_STATE_MACHINE_ARN",
    "SPACEPORT_ADDR",
    "SPACEPORT_DATA_DIR",
    "SPACEPORT_PUBLIC_URL",
    "SPACEPORT_SITE_ROOT",
    "SPACEPORT_SMTP_URL",
    "SPACEPORT_MAIL_FROM",
    "SPACEPORT_LOG",
    "SPACEPORT_RESET_LINK_TTL_SECS",
    "SPACEPORT_INVITE_TTL_SECS",
    "SPACEPORT_MAX_BODY_BYTES",
    "SPACEPORT_CONFIG",
    "SPACEPORT_ELEVATION_URL",
    "SPACEPORT_MAX_UPLOAD_BYTES",
    "SPACEPORT_PIPELINE_BIN",
    "SPACEPORT_ELEVATION_KEY",
    "SPACEPORT_CLIENT_IP_HEADER",
    "SPACEPORT_STAGE_TIME_LIMIT_SECS",
    "SPACEPORT_USER_QUOTA_BYTES",
    "SPACEPORT_MIN_FREE_BYTES",
    "SPACEPORT_METRICS_TOKEN",
    "SPACEPORT_CONTACT_EMAIL",
    "SPACEPORT_TERRAIN_TILES_URL",
    "SPACEPORT_MAP_TILES_URL",
    "SPACEPORT_MAP_ATTRIBUTION",
    "SPACEPORT_GEOCODER_URL",
    "SPACEPORT_GEOCODER_KEY",
];

/// The public Terrarium elevation tiles (an open dataset, no key): the default terrain source.
pub const DEFAULT_TERRAIN_TILES: &str =
    "https://s3.amazonaws.com/elevation-tiles-prod/terrarium/{z}/{x}/{y}.png";

/// OpenStreetMap's raster tiles (free for light use under its tile policy; a busy installation
/// should name its own provider): the default map.
pub const DEFAULT_MAP_TILES: &str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
/// The credit OpenStreetMap's licence asks for.
pub const DEFAULT_MAP_ATTRIBUTION: &str = "© OpenStreetMap contributors";
/// OpenStreetMap's public Nominatim: the default place search.
pub const DEFAULT_GEOCODER: &str = "https://nominatim.openstreetmap.org/search";

/// A web source setting: the default when unset, `None` when "off" (or empty), else an http(s)
/// URL that holds every one of `placeholders`.
fn web_source(
    given: Option<String>,
    name: &str,
    default: &str,
    placeholders: &[&str],
) -> Result<Option<String>, ConfigError> {
    match given {
        None => Ok(Some(default.to_owned())),
        Some(off) if off.is_empty() || off == "off" => Ok(None),
        Some(url) => {
            let web = url.starts_with("https://") || url.starts_with("http://");
            if web && placeholders.iter().all(|p| url.contains(p)) {
                Ok(Some(url))
            } else if placeholders.is_empty() {
                Err(err(format!(
                    "{name} must be an http(s) URL, e.g. {default}, or \"off\""
                )))
            } else {
                Err(err(format!(
                    "{name} must be an http(s) URL with {} in it, e.g. {default}, or \"off\"",
                    placeholders.join(", ")
                )))
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(String);

fn err(msg: impl Into<String>) -> ConfigError {
    ConfigError(msg.into())
}

/// Flags given on the command line (highest precedence).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub addr: Option<String>,
    pub data_dir: Option<PathBuf>,
}

impl Config {
    /// Loads the layers from the process environment.
    pub fn load(overrides: &Overrides) -> Result<Self, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("SPACEPORT_"))
            .collect();
        Self::from_layers(&env, overrides)
    }

    /// Pure: the environment is passed in, so tests need not touch the process's.
    pub fn from_layers(
        env: &BTreeMap<String, String>,
        overrides: &Overrides,
    ) -> Result<Self, ConfigError> {
        if let Some(unknown) = env.keys().find(|k| !ENV_KEYS.contains(&k.as_str())) {
            return Err(err(format!(
                "{unknown} is not a Spaceport setting; known ones are {}",
                ENV_KEYS.join(", ")
            )));
        }
        let file_path = overrides
            .config_file
            .clone()
            .or_else(|| env.get("SPACEPORT_CONFIG").map(PathBuf::from));
        let file = match &file_path {
            Some(path) => read_file(path)?,
            None => FileLayer::default(),
        };

        let addr_text = overrides
            .addr
            .clone()
            .or_else(|| env.get("SPACEPORT_ADDR").cloned())
            .or(file.addr)
            .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
        let addr: SocketAddr = addr_text.parse().map_err(|_| {
            err(format!(
                "addr '{addr_text}' is not an IP address and port; use e.g. 127.0.0.1:3000 (or 0.0.0.0:3000 to listen on every interface)"
            ))
        })?;

        let data_dir = overrides
            .data_dir
            .clone()
            .or_else(|| env.get("SPACEPORT_DATA_DIR").map(PathBuf::from))
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("data"));
        if data_dir.as_os_str().is_empty() {
            return Err(err(
                "data_dir is empty; give a directory, e.g. --data-dir ./data",
            ));
        }

        let public_url = env
            .get("SPACEPORT_PUBLIC_URL")
            .cloned()
            .or(file.public_url)
            .unwrap_or_else(|| format!("http://{addr}"));
        let public_url = public_url.trim_end_matches('/').to_owned();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://"))
            || public_url.len() <= "https://".len()
        {
            return Err(err(format!(
                "public_url '{public_url}' must start with http:// or https://, e.g. https://spaceport.example.com"
            )));
        }

        let site_root = env
            .get("SPACEPORT_SITE_ROOT")
            .map(PathBuf::from)
            .or(file.site_root)
            .unwrap_or_else(default_site_root);

        let smtp_url = env
            .get("SPACEPORT_SMTP_URL")
            .cloned()
            .map(Secret::new)
            .or(file.smtp_url);
        if let Some(url) = &smtp_url {
            if !(url.expose().starts_with("smtp://") || url.expose().starts_with("smtps://")) {
                return Err(err("smtp_url must look like smtp://user:password@host:port or smtps://… (its value is not shown because it may hold a password)"));
            }
        }
        let mail_from = env
            .get("SPACEPORT_MAIL_FROM")
            .cloned()
            .or(file.mail_from)
            .unwrap_or_else(|| format!("Spaceport <noreply@{}>", host_of(&public_url)));
        if mail_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(err(format!(
                "mail_from '{mail_from}' is not an address; use e.g. \"Spaceport <noreply@example.com>\""
            )));
        }

        let log = env
            .get("SPACEPORT_LOG")
            .cloned()
            .or(file.log)
            .unwrap_or_else(|| "info".to_owned());
        let reset_link_ttl_secs = number(
            env,
            "SPACEPORT_RESET_LINK_TTL_SECS",
            file.reset_link_ttl_secs,
            3600,
            1..=7 * 24 * 3600,
        )?;
        let invite_ttl_secs = number(
            env,
            "SPACEPORT_INVITE_TTL_SECS",
            file.invite_ttl_secs,
            7 * 24 * 3600,
            60..=90 * 24 * 3600,
        )?;
        let max_body_bytes = usize::try_from(number(
            env,
            "SPACEPORT_MAX_BODY_BYTES",
            file.max_body_bytes.map(|v| v as u64),
            64 * 1024,
            1024..=16 * 1024 * 1024,
        )?)
        .map_err(|_| err("max_body_bytes is too large"))?;

        let max_upload_bytes = number(
            env,
            "SPACEPORT_MAX_UPLOAD_BYTES",
            file.max_upload_bytes,
            20 << 30,
            1 << 20..=1 << 40,
        )?;
        let pipeline_bin = env
            .get("SPACEPORT_PIPELINE_BIN")
            .map(PathBuf::from)
            .or(file.pipeline_bin);
        let elevation_url = env
            .get("SPACEPORT_ELEVATION_URL")
            .cloned()
            .or(file.elevation_url)
            .filter(|u| !u.is_empty());
        if let Some(url) = &elevation_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) || url.contains('?') {
                // Not echoed: a query may hold a key.
                return Err(err(
                    "elevation_url must be an http(s) URL without a query, e.g. https://api.opentopodata.org/v1/srtm30m (put a key in elevation_key)",
                ));
            }
        }
        let elevation_key = env
            .get("SPACEPORT_ELEVATION_KEY")
            .cloned()
            .map(Secret::new)
            .or(file.elevation_key);
        let tiles = ["{z}", "{x}", "{y}"];
        let terrain_tiles_url = web_source(
            env.get("SPACEPORT_TERRAIN_TILES_URL")
                .cloned()
                .or(file.terrain_tiles_url),
            "terrain_tiles_url",
            DEFAULT_TERRAIN_TILES,
            &tiles,
        )?;
        let map_tiles_url = web_source(
            env.get("SPACEPORT_MAP_TILES_URL")
                .cloned()
                .or(file.map_tiles_url),
            "map_tiles_url",
            DEFAULT_MAP_TILES,
            &tiles,
        )?;
        let map_attribution = env
            .get("SPACEPORT_MAP_ATTRIBUTION")
            .cloned()
            .or(file.map_attribution)
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| DEFAULT_MAP_ATTRIBUTION.to_owned());
        let geocoder_url = web_source(
            env.get("SPACEPORT_GEOCODER_URL")
                .cloned()
                .or(file.geocoder_url),
            "geocoder_url",
            DEFAULT_GEOCODER,
            &[],
        )?;
        let geocoder_key = env
            .get("SPACEPORT_GEOCODER_KEY")
            .cloned()
            .map(Secret::new)
            .or(file.geocoder_key);
        let client_ip_header = match env
            .get("SPACEPORT_CLIENT_IP_HEADER")
            .cloned()
            .or(file.client_ip_header)
            .filter(|h| !h.trim().is_empty())
        {
            None => None,
            Some(name) => Some(http::HeaderName::try_from(name.trim()).map_err(|_| {
                err(format!(
                    "client_ip_header '{name}' is not a header name; use e.g. cf-connecting-ip or x-forwarded-for"
                ))
            })?),
        };
        let metrics_token = env
            .get("SPACEPORT_METRICS_TOKEN")
            .cloned()
            .map(Secret::new)
            .or(file.metrics_token)
            .filter(|t| !t.expose().is_empty());
        if metrics_token
            .as_ref()
            .is_some_and(|t| t.expose().len() < 16)
        {
            return Err(err(
                "metrics_token must be at least 16 characters (make one with `openssl rand -hex 16`)",
            ));
        }
        let contact_email = match env
            .get("SPACEPORT_CONTACT_EMAIL")
            .cloned()
            .or(file.contact_email)
            .filter(|e| !e.trim().is_empty())
        {
            None => None,
            Some(e) => Some(
                domain::Email::parse(e.trim())
                    .map_err(|_| err(format!("contact_email '{e}' is not an email address")))?
                    .as_str()
                    .to_owned(),
            ),
        };
        let user_quota_bytes = number(
            env,
            "SPACEPORT_USER_QUOTA_BYTES",
            file.user_quota_bytes,
            100 << 30,
            1 << 20..=1 << 50,
        )?;
        let min_free_bytes = number(
            env,
            "SPACEPORT_MIN_FREE_BYTES",
            file.min_free_bytes,
            1 << 30,
            0..=1 << 60,
        )?;
        let stage_time_limit_secs = match (
            env.get("SPACEPORT_STAGE_TIME_LIMIT_SECS"),
            file.stage_time_limit_secs,
        ) {
            (None, None) => None,
            (_, from_file) => Some(number(
                env,
                "SPACEPORT_STAGE_TIME_LIMIT_SECS",
                from_file,
                0, // not used: one of the two is set
                1..=30 * 24 * 3600,
            )?),
        };
        let pick = |key: &str, from_file: Option<String>| {
            env.get(key)
                .cloned()
                .or(from_file)
                .filter(|v| !v.trim().is_empty())
        };
        let mode =
            pick("SPACEPORT_MODE", file.mode.clone()).unwrap_or_else(|| "embedded".to_owned());
        let aws = match mode.as_str() {
            "embedded" => None,
            "aws" => Some(aws_settings(&AwsLayer {
                region: pick("SPACEPORT_AWS_REGION", file.aws_region),
                endpoint_url: pick("SPACEPORT_AWS_ENDPOINT_URL", file.aws_endpoint_url),
                table: pick("SPACEPORT_DYNAMODB_TABLE", file.dynamodb_table),
                bucket: pick("SPACEPORT_S3_BUCKET", file.s3_bucket),
                user_pool_id: pick("SPACEPORT_COGNITO_USER_POOL_ID", file.cognito_user_pool_id),
                client_id: pick("SPACEPORT_COGNITO_CLIENT_ID", file.cognito_client_id),
                state_machine_arn: pick("SPACEPORT_STATE_MACHINE_ARN", file.state_machine_arn),
            })?),
            other => {
                return Err(err(format!(
                    "mode '{other}' is not a mode; use \"embedded\" (one machine, the default) or \"aws\" (see deploy/README.md)"
                )))
            }
        };

        Ok(Self {
            addr,
            data_dir,
            public_url,
            site_root,
            smtp_url,
            mail_from,
            log,
            reset_link_ttl_secs,
            invite_ttl_secs,
            max_body_bytes,
            pipeline_bin,
            max_upload_bytes,
            elevation_url,
            elevation_key,
            terrain_tiles_url,
            map_tiles_url,
            map_attribution,
            geocoder_url,
            geocoder_key,
            user_quota_bytes,
            min_free_bytes,
            stage_time_limit_secs,
            client_ip_header,
            metrics_token,
            contact_email,
            aws,
        })
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("spaceport.sqlite3")
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// The cloud settings as given, before they are checked.
struct AwsLayer {
    region: Option<String>,
    endpoint_url: Option<String>,
    table: Option<String>,
    bucket: Option<String>,
    user_pool_id: Option<String>,
    client_id: Option<String>,
    state_machine_arn: Option<String>,
}

/// Checks what can be checked without asking AWS (`server check-config` asks AWS the rest):
/// every setting present and shaped like what it names, so a pool id pasted from another region
/// or a bucket ARN where a name belongs stops the server with the setting's name.
fn aws_settings(l: &AwsLayer) -> Result<cloud::AwsSettings, ConfigError> {
    let need = |value: &Option<String>, key: &str, what: &str| {
        value.clone().map(|v| v.trim().to_owned()).ok_or_else(|| {
            err(format!(
                "mode is \"aws\" but {key} is not set: give {what} (deploy/README.md says where each setting comes from)"
            ))
        })
    };
    let region = need(
        &l.region,
        "SPACEPORT_AWS_REGION",
        "the AWS region, e.g. eu-west-1",
    )?;
    let parts: Vec<&str> = region.split('-').collect();
    if parts.len() < 3
        || !parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        || !parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
    {
        return Err(err(format!(
            "SPACEPORT_AWS_REGION '{region}' is not an AWS region; use e.g. eu-west-1"
        )));
    }
    let table = need(
        &l.table,
        "SPACEPORT_DYNAMODB_TABLE",
        "the DynamoDB table's name (the stack's TableName output)",
    )?;
    if !(3..=255).contains(&table.len())
        || !table
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
    {
        return Err(err(format!("SPACEPORT_DYNAMODB_TABLE '{table}' is not a table name (3–255 letters, digits, _ - .); give the name, not the ARN")));
    }
    let bucket = need(
        &l.bucket,
        "SPACEPORT_S3_BUCKET",
        "the S3 bucket's name (the stack's BucketName output)",
    )?;
    if !(3..=63).contains(&bucket.len())
        || !bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b))
    {
        return Err(err(format!("SPACEPORT_S3_BUCKET '{bucket}' is not a bucket name (3–63 lower-case letters, digits, - .); give the name, not s3:// or an ARN")));
    }
    let user_pool_id = need(
        &l.user_pool_id,
        "SPACEPORT_COGNITO_USER_POOL_ID",
        "the Cognito user pool id (the stack's UserPoolId output)",
    )?;
    let valid_pool = user_pool_id.split_once('_').is_some_and(|(r, id)| {
        r == region && !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric())
    });
    if !valid_pool {
        return Err(err(format!(
            "SPACEPORT_COGNITO_USER_POOL_ID '{user_pool_id}' is not a user pool of region {region}: pool ids look like {region}_AbCdEf123 (the pool's region, an underscore, its id)"
        )));
    }
    let client_id = need(
        &l.client_id,
        "SPACEPORT_COGNITO_CLIENT_ID",
        "the user pool's app client id (the stack's UserPoolClientId output)",
    )?;
    if !(1..=128).contains(&client_id.len())
        || !client_id.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(err(format!("SPACEPORT_COGNITO_CLIENT_ID '{client_id}' is not an app client id (letters and digits)")));
    }
    let state_machine_arn = need(
        &l.state_machine_arn,
        "SPACEPORT_STATE_MACHINE_ARN",
        "the pipeline state machine's ARN (the stack's StateMachineArn output)",
    )?;
    if !state_machine_arn.starts_with(&format!("arn:aws:states:{region}:"))
        || !state_machine_arn.contains(":stateMachine:")
    {
        return Err(err(format!(
            "SPACEPORT_STATE_MACHINE_ARN '{state_machine_arn}' is not a state machine of region {region}; it looks like arn:aws:states:{region}:123456789012:stateMachine:spaceport-pipeline"
        )));
    }
    if let Some(url) = &l.endpoint_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(err(format!("SPACEPORT_AWS_ENDPOINT_URL '{url}' must be an http(s) URL (leave it unset for AWS itself)")));
        }
    }
    Ok(cloud::AwsSettings {
        region,
        endpoint_url: l.endpoint_url.clone(),
        table,
        bucket,
        user_pool_id,
        client_id,
        state_machine_arn,
    })
}

/// The host of a URL without port, for the default sender address (`localhost` for an IP).
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', ':']).next().unwrap_or("localhost");
    if host.is_empty() || host.parse::<std::net::IpAddr>().is_ok() {
        "localhost".to_owned()
    } else {
        host.to_owned()
    }
}

fn read_file(path: &Path) -> Result<FileLayer, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        err(format!(
            "cannot read the config file {}: {e}",
            path.display()
        ))
    })?;
    toml::from_str(&text).map_err(|e| err(format!("in the config file {}: {e}", path.display())))
}

fn number(
    env: &BTreeMap<String, String>,
    key: &str,
    from_file: Option<u64>,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    let value = match env.get(key) {
        Some(text) => text
            .trim()
            .parse::<u64>()
            .map_err(|_| err(format!("{key}='{text}' is not a whole number")))?,
        None => from_file.unwrap_or(default),
    };
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(err(format!(
            "{key} (or its file key) is {value}; it must be between {} and {}",
            range.start(),
            range.end()
        )))
    }
}

/// `LEPTOS_SITE_ROOT` when set (`cargo leptos watch` exports it), else the workspace's
/// `target/site` (where `scripts/build-site.sh` writes), else `./target/site`.
fn default_site_root() -> PathBuf {
    if let Ok(root) = std::env::var("LEPTOS_SITE_ROOT") {
        return PathBuf::from(root);
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("site");
    if workspace.exists() {
        workspace
    } else {
        PathBuf::from("target/site")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_work_with_nothing_set() {
        let c = Config::from_layers(&env(&[]), &Overrides::default()).expect("defaults");
        assert_eq!(c.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.public_url, "http://127.0.0.1:3000");
        assert_eq!(c.data_dir, PathBuf::from("data"));
        assert!(!c.secure_cookies());
        assert_eq!(c.mail_from, "Spaceport <noreply@localhost>");
    }

    #[test]
    fn layers_override_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("spaceport.toml");
        std::fs::write(
            &file,
            "addr = \"127.0.0.1:4000\"\ndata_dir = \"/from/file\"\nlog = \"debug\"\n",
        )
        .expect("write");
        let e = env(&[
            ("SPACEPORT_DATA_DIR", "/from/env"),
            ("SPACEPORT_PUBLIC_URL", "https://x.example/"),
        ]);
        let o = Overrides {
            config_file: Some(file),
            addr: Some("127.0.0.1:5000".into()),
            data_dir: None,
        };
        let c = Config::from_layers(&e, &o).expect("valid");
        assert_eq!(c.addr.port(), 5000, "flag beats file");
        assert_eq!(c.data_dir, PathBuf::from("/from/env"), "env beats file");
        assert_eq!(c.log, "debug", "file beats default");
        assert_eq!(c.public_url, "https://x.example");
        assert!(c.secure_cookies());
    }

    #[test]
    fn mistakes_are_explained() {
        let msg = |e: &[(&str, &str)]| {
            Config::from_layers(&env(e), &Overrides::default())
                .expect_err("invalid")
                .to_string()
        };
        assert!(msg(&[("SPACEPORT_ADDR", "localhost")]).contains("127.0.0.1:3000"));
        assert!(msg(&[("SPACEPORT_ADRR", "x")]).contains("not a Spaceport setting"));
        assert!(msg(&[("SPACEPORT_PUBLIC_URL", "example.com")]).contains("http://"));
        assert!(msg(&[("SPACEPORT_MAX_BODY_BYTES", "ten")]).contains("whole number"));
        assert!(msg(&[("SPACEPORT_RESET_LINK_TTL_SECS", "0")]).contains("between"));
        let smtp = msg(&[("SPACEPORT_SMTP_URL", "mail.example.com:hunter2")]);
        assert!(!smtp.contains("hunter2"), "secrets never echo: {smtp}");
        let elevation = msg(&[(
            "SPACEPORT_ELEVATION_URL",
            "https://api.example.com/v1?key=hunter2",
        )]);
        assert!(elevation.contains("elevation_key"), "{elevation}");
        assert!(!elevation.contains("hunter2"), "{elevation}");
        let ok = Config::from_layers(
            &env(&[
                (
                    "SPACEPORT_ELEVATION_URL",
                    "https://api.example.com/v1/srtm30m",
                ),
                ("SPACEPORT_ELEVATION_KEY", "hunter2"),
            ]),
            &Overrides::default(),
        )
        .expect("valid");
        assert!(
            !format!("{ok:?}").contains("hunter2"),
            "the key never prints"
        );
    }

    #[test]
    fn the_contact_address_must_be_an_email_address() {
        let c = Config::from_layers(
            &env(&[("SPACEPORT_CONTACT_EMAIL", " Hello@Spaceport.example ")]),
            &Overrides::default(),
        )
        .expect("valid");
        assert_eq!(c.contact_email.as_deref(), Some("hello@spaceport.example"));
        let e = Config::from_layers(
            &env(&[("SPACEPORT_CONTACT_EMAIL", "write to us")]),
            &Overrides::default(),
        )
        .expect_err("not an address");
        assert!(e.to_string().contains("contact_email"), "{e}");
    }

    #[test]
    fn terrain_tiles_default_to_the_public_ones_and_can_be_turned_off() {
        let tiles = |e: &[(&str, &str)]| {
            Config::from_layers(&env(e), &Overrides::default()).map(|c| c.terrain_tiles_url)
        };
        assert_eq!(
            tiles(&[]).expect("valid").as_deref(),
            Some(DEFAULT_TERRAIN_TILES)
        );
        assert_eq!(
            tiles(&[("SPACEPORT_TERRAIN_TILES_URL", "off")]).expect("valid"),
            None
        );
        let mine = "https://tiles.example/t/{z}/{x}/{y}.png";
        assert_eq!(
            tiles(&[("SPACEPORT_TERRAIN_TILES_URL", mine)])
                .expect("valid")
                .as_deref(),
            Some(mine)
        );
        let e = tiles(&[(
            "SPACEPORT_TERRAIN_TILES_URL",
            "https://tiles.example/{z}/{x}.png",
        )])
        .expect_err("no {y}");
        assert!(e.to_string().contains("{z}, {x}, {y}"), "{e}");
    }

    #[test]
    fn the_map_and_the_place_search_default_to_openstreetmap_and_can_be_turned_off() {
        let config = |e: &[(&str, &str)]| Config::from_layers(&env(e), &Overrides::default());
        let c = config(&[]).expect("valid");
        assert_eq!(c.map_tiles_url.as_deref(), Some(DEFAULT_MAP_TILES));
        assert_eq!(c.map_attribution, DEFAULT_MAP_ATTRIBUTION);
        assert_eq!(c.geocoder_url.as_deref(), Some(DEFAULT_GEOCODER));
        let c = config(&[
            ("SPACEPORT_MAP_TILES_URL", "off"),
            ("SPACEPORT_GEOCODER_URL", "off"),
            ("SPACEPORT_MAP_ATTRIBUTION", "  "),
        ])
        .expect("valid");
        assert_eq!((c.map_tiles_url, c.geocoder_url), (None, None));
        assert_eq!(c.map_attribution, DEFAULT_MAP_ATTRIBUTION);
        let c = config(&[
            (
                "SPACEPORT_MAP_TILES_URL",
                "https://maps.example/{z}/{x}/{y}.png?key=k",
            ),
            ("SPACEPORT_MAP_ATTRIBUTION", "© Example Maps"),
            ("SPACEPORT_GEOCODER_URL", "https://search.example/v1/search"),
            ("SPACEPORT_GEOCODER_KEY", "s3cret"),
        ])
        .expect("valid");
        assert_eq!(c.map_attribution, "© Example Maps");
        assert_eq!(
            c.geocoder_key.map(|k| k.expose().to_owned()).as_deref(),
            Some("s3cret")
        );
        let e = config(&[("SPACEPORT_MAP_TILES_URL", "https://maps.example/tile.png")])
            .expect_err("no placeholders");
        assert!(e.to_string().contains("map_tiles_url"), "{e}");
        let e = config(&[("SPACEPORT_GEOCODER_URL", "nominatim")]).expect_err("not a URL");
        assert!(
            e.to_string()
                .contains("geocoder_url must be an http(s) URL"),
            "{e}"
        );
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "adress = \"x\"\n").expect("write");
        let o = Overrides {
            config_file: Some(file),
            ..Overrides::default()
        };
        let e = Config::from_layers(&env(&[]), &o).expect_err("typo");
        assert!(e.to_string().contains("adress"), "{e}");
    }

    #[test]
    fn the_deployment_template_sets_every_cloud_setting() {
        let template = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/template.yaml"),
        )
        .expect("deploy/template.yaml");
        // ENV_KEYS lists cloud mode's eight settings first.
        for key in ENV_KEYS
            .iter()
            .take(8)
            .filter(|k| **k != "SPACEPORT_AWS_ENDPOINT_URL")
        {
            assert!(
                template.contains(&format!("Name: {key},")),
                "the backend's environment in deploy/template.yaml lacks {key}"
            );
        }
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "<secret>");
    }
}
