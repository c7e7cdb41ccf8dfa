//! `patchbay`: the server (`serve`) and the dialplan corpus checker (`dialplan-check`).

use clap::{Parser, Subcommand};
use patchbay_backend::server::{self, AppState, ServeOptions};
use patchbay_backend::store::Store;
use patchbay_backend::{api, bootstrap, config_code, sync};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "patchbay", version, about = "Interconnection manager for Asterisk PBXs")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the REST API and the browser app.
    Serve {
        /// SQLite database file (created if missing).
        #[arg(long, default_value = "patchbay.db")]
        db: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// The Asterisk to drive: ami://USER:SECRET@HOST:PORT
        #[arg(long, env = "PATCHBAY_AMI", hide_env_values = true)]
        ami: Option<String>,
        /// The built browser app (Trunk's output).
        #[arg(long, default_value = "dist")]
        dist: PathBuf,
    },
    /// Replay a dialplan corpus (JSON Lines) and report every disagreement.
    DialplanCheck { file: PathBuf },
    /// Write the interconnection config as a YAML/TOML document (secrets as references).
    Export(config_code::cli::ExportArgs),
    /// Show what applying a config document would change (objects and Asterisk config).
    Plan(config_code::cli::DocumentArgs),
    /// Apply a config document in one transaction.
    Apply(config_code::cli::DocumentArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    match Cli::parse().command {
        Command::Serve { db, listen, ami, dist } => match run_server(db, listen, ami, dist) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("patchbay: {error:#}");
                ExitCode::FAILURE
            }
        },
        Command::DialplanCheck { file } => dialplan_check(&file),
        Command::Export(args) => config_code::cli::export(args),
        Command::Plan(args) => config_code::cli::plan(args),
        Command::Apply(args) => config_code::cli::apply(args),
    }
}

fn run_server(db: PathBuf, listen: SocketAddr, ami: Option<String>, dist: PathBuf) -> anyhow::Result<()> {
    let store = Store::open(&db)?;
    let admin_password = std::env::var("PATCHBAY_ADMIN_PASSWORD").ok();
    if let Some(generated) = bootstrap::seed_if_empty(&store, admin_password.as_deref())? {
        println!("Created user `admin` with password: {generated}  (shown once; set PATCHBAY_ADMIN_PASSWORD to choose it)");
    }
    let dist = dist.join("index.html").exists().then_some(dist);
    if dist.is_none() {
        tracing::warn!("no built browser app found: serving the API only");
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let asterisk = match ami {
            Some(url) => sync::AsteriskLink::start(&url, store.clone())?,
            None => sync::AsteriskLink::none(),
        };
        let login = std::sync::Arc::new(api::auth::LoginGuard::from_env()?);
        server::serve(AppState { store, asterisk, login }, ServeOptions { listen, dist }).await
    })
}

fn dialplan_check(file: &std::path::Path) -> ExitCode {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("patchbay: cannot read {}: {error}", file.display());
            return ExitCode::from(2);
        }
    };
    let report = patchbay_shared::pattern::corpus::check(&text);
    for line in &report.disagreements {
        println!("{line}");
    }
    println!("{} passed, {} failed", report.passed, report.failed);
    if report.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
