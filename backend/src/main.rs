//! `patchbay`: the server (`serve`), backups (`backup`, `restore`),
//! configuration as code (`export`, `plan`, `apply`), the Asterisk checker
//! (`doctor`) and the dialplan corpus checker (`dialplan-check`).

use clap::{Parser, Subcommand};
use patchbay_backend::config::{self, LogFormat, ServeFlags, Settings};
use patchbay_backend::server::{self, AppState, ServeOptions};
use patchbay_backend::store::Store;
use patchbay_backend::api::config_code;
use patchbay_backend::{api, backup, bootstrap, doctor, metrics, sync};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "patchbay", version, about = "Interconnection manager for Asterisk PBXs")]
struct Cli {
    /// Config file (TOML); [env: PATCHBAY_CONFIG] [default: /etc/patchbay/patchbay.toml, if present]
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the REST API and the browser app.
    Serve(ServeFlags),
    /// Copy the database, consistent even while a server writes to it.
    Backup {
        /// The database [default: the configured one]
        #[arg(long)]
        db: Option<String>,
        /// Where to write the copy (replaced if it exists).
        file: PathBuf,
    },
    /// Replace the database with a backup (stop the server first).
    Restore {
        /// The database [default: the configured one]
        #[arg(long)]
        db: Option<String>,
        /// Replace the database if it exists.
        #[arg(long)]
        force: bool,
        /// The backup to restore.
        file: PathBuf,
    },
    /// Replay a dialplan corpus (JSON Lines) and report every disagreement.
    DialplanCheck { file: PathBuf },
    /// Write the interconnection config as a YAML/TOML document (secrets as references).
    Export(config_code::cli::ExportArgs),
    /// Show what applying a config document would change (objects and Asterisk config).
    Plan(config_code::cli::DocumentArgs),
    /// Apply a config document in one transaction.
    Apply(config_code::cli::DocumentArgs),
    /// Check an Asterisk before Patchbay drives it (AMI login and classes,
    /// include lines, colliding sections, transports); exits 1 on a problem.
    Doctor {
        /// The Asterisk to check: ami://USER:SECRET@HOST:PORT
        #[arg(long, env = "PATCHBAY_AMI", hide_env_values = true)]
        ami: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The settings decide the log format, so they are read before logging
    // starts; the corpus checker needs none (a broken config file must not stop it).
    let flags = match &cli.command {
        Command::Serve(flags) => flags.layer(),
        Command::Backup { db, .. } | Command::Restore { db, .. } => config::Layer { db: db.clone(), ..config::Layer::default() },
        Command::DialplanCheck { file } => {
            init_logging(LogFormat::Text);
            return dialplan_check(file);
        }
        // Config as code names its database itself (`--db`).
        Command::Export(_) | Command::Plan(_) | Command::Apply(_) => {
            init_logging(LogFormat::Text);
            return match cli.command {
                Command::Export(args) => config_code::cli::export(args),
                Command::Plan(args) => config_code::cli::plan(args),
                Command::Apply(args) => config_code::cli::apply(args),
                _ => unreachable!("matched above"),
            };
        }
        Command::Doctor { ami } => {
            init_logging(LogFormat::Text);
            return doctor(ami);
        }
    };
    let settings = match config::load(cli.config.as_deref(), &flags) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("patchbay: {error}");
            return ExitCode::from(2);
        }
    };
    init_logging(settings.log_format);
    let outcome = match cli.command {
        Command::Serve(_) => run_server(settings),
        Command::Backup { file, .. } => backup::sqlite_file(&settings.db)
            .and_then(|db| backup::backup(db, &file).map(|version| (db, version)))
            .map(|(db, version)| println!("Backed up {} to {} (schema version {version})", db.display(), file.display()))
            .map_err(Into::into),
        Command::Restore { file, force, .. } => backup::sqlite_file(&settings.db)
            .and_then(|db| backup::restore(db, &file, force).map(|version| (db, version)))
            .map(|(db, version)| println!("Restored {} from {} (schema version {version})", db.display(), file.display()))
            .map_err(Into::into),
        Command::DialplanCheck { .. } | Command::Export(_) | Command::Plan(_) | Command::Apply(_) | Command::Doctor { .. } => {
            unreachable!("answered above")
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("patchbay: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    // The PostgreSQL client logs each statement with its parameters (SIP
    // secrets among them) at debug level: never shown, whatever RUST_LOG says.
    let filter = ["tokio_postgres=info", "postgres=info"].into_iter().fold(filter, |filter, quiet| filter.add_directive(quiet.parse().expect("a valid directive")));
    match format {
        LogFormat::Text => tracing_subscriber::fmt().with_env_filter(filter).init(),
        LogFormat::Json => tracing_subscriber::fmt().json().with_env_filter(filter).init(),
    }
}

fn run_server(settings: Settings) -> anyhow::Result<()> {
    let Settings { listen, db, ami, dist, .. } = settings;
    let store = Store::connect(&db)?;
    let admin_password = std::env::var("PATCHBAY_ADMIN_PASSWORD").ok();
    if let Some(generated) = bootstrap::seed_if_empty(&store, admin_password.as_deref())? {
        println!("Created user `admin` with password: {generated}  (shown once; set PATCHBAY_ADMIN_PASSWORD to choose it)");
    }
    metrics::server_started(&store)?;
    let dist = dist.join("index.html").exists().then_some(dist);
    if dist.is_none() && !server::has_embedded_frontend() {
        tracing::warn!("no built browser app found: serving the API only");
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        // `--ami` is the default node; every stored node gets its driver.
        if let Some(url) = &ami {
            let url = url.parse().map_err(|error| anyhow::anyhow!("--ami: {error}"))?;
            patchbay_backend::fleet::seed_default(&store, &url)?;
        }
        let fleet = patchbay_backend::fleet::Fleet::start(store.clone())?;
        // SIGTERM (`systemctl stop`) ends the process at once, as before,
        // but first hands the nodes to another instance.
        #[cfg(unix)]
        {
            let on_term = fleet.clone();
            tokio::spawn(async move {
                let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else { return };
                term.recv().await;
                on_term.release_all();
                std::process::exit(0);
            });
        }
        let asterisk = fleet.default_link().unwrap_or_else(sync::AsteriskLink::none);
        let login = std::sync::Arc::new(api::auth::LoginGuard::from_env()?);
        if let Some(client) = asterisk.client() {
            metrics::watch_ami(client);
        }
        let served = server::serve(AppState { store, asterisk, fleet: Some(fleet.clone()), login }, ServeOptions { listen, dist }).await;
        // A clean stop hands the nodes to another instance at once.
        fleet.release_all();
        served
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
