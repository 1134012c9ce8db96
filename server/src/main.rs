//! The `server` binary: serves Spaceport, or runs an admin command against its data directory.

// Doc comments on the CLI types are its `--help` text, where Markdown backticks would show.
#![allow(clippy::doc_markdown)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use domain::{format_date, Email, Role};
use server::config::{Config, Overrides};
use server::startup::{Application, Embedded};

#[derive(Parser)]
#[command(
    name = "server",
    about = "Spaceport: drone photos to 3D models",
    version
)]
struct Cli {
    /// A TOML configuration file (also SPACEPORT_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on, e.g. 127.0.0.1:3000 (also SPACEPORT_ADDR).
    #[arg(long, global = true, value_name = "HOST:PORT")]
    addr: Option<String>,
    /// Directory for the database and every local file (also SPACEPORT_DATA_DIR).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the app (the default).
    Serve,
    /// Invite someone (or re-send a pending invitation). Prints the temporary password last.
    Invite {
        email: String,
        /// Make the new account an administrator.
        #[arg(long)]
        admin: bool,
    },
    /// List accounts.
    Users,
    /// Check a cloud configuration (`mode = "aws"`) against AWS before going live: the
    /// credentials, the table, the bucket, the user pool and its client, the state machine.
    CheckConfig,
    /// List the waitlist.
    Waitlist,
    /// Show mail the app has sent (reset links, invitations), newest first.
    Outbox {
        /// Only messages to this address.
        #[arg(long)]
        to: Option<String>,
        #[arg(long, default_value_t = 10)]
        limit: i64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let overrides = Overrides {
        config_file: cli.config.clone(),
        addr: cli.addr.clone(),
        data_dir: cli.data_dir.clone(),
    };
    let config = match Config::load(&overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&config.log).unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command.unwrap_or(Command::Serve), config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            let app = Application::build(&config).await?;
            let addr = app.local_addr();
            println!(
                "Spaceport is running at http://{addr}  (data in {})",
                config.data_dir.display()
            );
            println!("Invite yourself with: cargo run --release -p server -- invite you@example.com --admin --data-dir {}", config.data_dir.display());
            app.run().await
        }
        Command::Invite { email, admin } => {
            let email = Email::parse(&email).map_err(|e| anyhow::anyhow!("{e}"))?;
            let embedded = Embedded::open(&config).await?;
            let role = if admin { Role::Admin } else { Role::User };
            let inv = server::startup::auth_provider(&config, &embedded)
                .await?
                .invite(&email, role)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "{} {} ({}). Sign in at {}/signin before {} with this temporary password:",
                if inv.resent {
                    "Re-sent the invitation to"
                } else {
                    "Invited"
                },
                inv.email,
                if admin { "admin" } else { "user" },
                config.public_url,
                format_date(inv.expires_at)
            );
            println!("{}", inv.temporary_password);
            Ok(())
        }
        Command::CheckConfig => {
            let Some(aws) = &config.aws else {
                println!("mode is \"embedded\": everything runs on this machine, with nothing in AWS to check.");
                return Ok(());
            };
            for line in server::startup::check_cloud(aws).await? {
                println!("ok  {line}");
            }
            println!("The cloud configuration works.");
            Ok(())
        }
        Command::Users => {
            let embedded = Embedded::open(&config).await?;
            for u in server::startup::auth_provider(&config, &embedded)
                .await?
                .list_users()
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
            {
                println!(
                    "{:<40} {:<20} {:<5} {:<7} {}",
                    u.email.as_str(),
                    u.handle.as_ref().map_or("-", |h| h.as_str()),
                    if u.role == Role::Admin {
                        "admin"
                    } else {
                        "user"
                    },
                    if u.pending { "invited" } else { "active" },
                    format_date(u.created_at)
                );
            }
            Ok(())
        }
        Command::Waitlist => {
            let embedded = Embedded::open(&config).await?;
            for w in server::startup::waitlist(&config, &embedded)
                .await
                .list()
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
            {
                println!(
                    "{:<40} {} {}",
                    w.email.as_str(),
                    format_date(w.created_at),
                    w.note
                );
            }
            Ok(())
        }
        Command::Outbox { to, limit } => {
            let embedded = Embedded::open(&config).await?;
            let to = to.map(|t| t.trim().to_lowercase());
            for m in embedded
                .outbox
                .recent(to.as_deref(), limit)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
            {
                let state = match (m.sent_at, &m.error) {
                    (Some(t), _) => format!("sent {}", format_date(t)),
                    (None, Some(e)) => {
                        format!("not delivered after {} attempt(s): {e}", m.attempts)
                    }
                    (None, None) => "in the outbox".to_owned(),
                };
                println!(
                    "#{} {} to {} ({state})\nSubject: {}\n\n{}\n",
                    m.id,
                    format_date(m.created_at),
                    m.to,
                    m.subject,
                    m.body
                );
            }
            Ok(())
        }
    }
}
