//! `patchbay`: the server (`serve`), the dialplan corpus checker
//! (`dialplan-check`) and the Asterisk checker (`doctor`).

use clap::{Parser, Subcommand};
use patchbay_backend::server::{self, AppState, ServeOptions};
use patchbay_backend::store::Store;
use patchbay_backend::{bootstrap, doctor, sync};
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
    /// Check an Asterisk before Patchbay drives it (AMI login and classes,
    /// include lines, colliding sections, transports); exits 1 on a problem.
    Doctor {
        /// The Asterisk to check: ami://USER:SECRET@HOST:PORT
        #[arg(long, env = "PATCHBAY_AMI", hide_env_values = true)]
        ami: String,
    },
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
        Command::Doctor { ami } => doctor(&ami),
    }
}

fn run_server(db: PathBuf, listen: SocketAddr, ami: Option<String>, dist: PathBuf) -> anyhow::Result<()> {
    let store = Store::open(&db)?;
    let admin_password = std::env::var("PATCHBAY_ADMIN_PASSWORD").ok();
    if let Some(generated) = bootstrap::seed_if_empty(&store, admin_password.as_deref())? {
        println!("Created user `admin` with password: {generated}  (shown once; set PATCHBAY_ADMIN_PASSWORD to choose it)");
    }
    let dist = dist.join("index.html").exists().then_some(dist);
    if dist.is_none() && !server::has_embedded_frontend() {
        tracing::warn!("no built browser app found: serving the API only");
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let asterisk = match ami {
            Some(url) => sync::AsteriskLink::start(&url, store.clone())?,
            None => sync::AsteriskLink::none(),
        };
        server::serve(AppState { store, asterisk }, ServeOptions { listen, dist }).await
    })
}

fn doctor(ami: &str) -> ExitCode {
    let url = match ami.parse() {
        Ok(url) => url,
        Err(error) => {
            eprintln!("patchbay: --ami: {error}");
            return ExitCode::from(2);
        }
    };
    let findings = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(doctor::check_url(url)),
        Err(error) => {
            eprintln!("patchbay: {error}");
            return ExitCode::FAILURE;
        }
    };
    print!("{}", doctor::to_text(&findings));
    if doctor::all_good(&findings) { ExitCode::SUCCESS } else { ExitCode::FAILURE }
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
