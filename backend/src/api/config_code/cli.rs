//! `patchbay export`, `patchbay plan -f FILE`, `patchbay apply -f FILE` on a
//! database file (the server may be stopped). They act as the master admin,
//! on every tenant; audit lines name the account `cli config-as-code:<id>`.

use super::doc::{ConfigDoc, Format};
use crate::store::{Database, Store, people};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ExportArgs {
    /// SQLite database file or postgres:// URL of a Patchbay server.
    #[arg(long, default_value = "patchbay.db")]
    db: String,
    /// Only this tenant (its slug); every tenant without it.
    #[arg(long)]
    tenant: Option<String>,
    /// yaml, toml or json.
    #[arg(long, default_value = "yaml")]
    format: String,
    /// Write here instead of standard output.
    #[arg(short, long)]
    output: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct DocumentArgs {
    /// The configuration document (YAML, or TOML/JSON by its extension).
    #[arg(short, long)]
    file: PathBuf,
    /// SQLite database file or postgres:// URL of a Patchbay server.
    #[arg(long, default_value = "patchbay.db")]
    db: String,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn open(db: &str) -> Result<Store, String> {
    let database = crate::config::database(db).map_err(|message| format!("--db {message}"))?;
    if let Database::Sqlite(path) = &database
        && !path.exists()
    {
        return Err(format!("{} does not exist: start `patchbay serve --db {}` once to create it", path.display(), path.display()));
    }
    let store = Store::connect(&database).map_err(|e| e.to_string())?;
    let seeded = store.read(people::master_tenant).map_err(|e| e.to_string())?.is_some();
    if !seeded {
        return Err(format!("{database} is not a Patchbay database yet: start `patchbay serve --db {database}` once"));
    }
    Ok(store)
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("patchbay: {message}");
    ExitCode::FAILURE
}

pub fn export(args: ExportArgs) -> ExitCode {
    let Some(format) = Format::parse_name(&args.format) else { return fail("--format: yaml, toml or json") };
    let store = match open(&args.db) {
        Ok(store) => store,
        Err(error) => return fail(error),
    };
    let tenants = match store.read(people::tenants) {
        Ok(tenants) => tenants,
        Err(error) => return fail(error),
    };
    let chosen: Vec<String> = match &args.tenant {
        None => tenants.iter().map(|t| t.uuid.clone()).collect(),
        Some(slug) => match tenants.iter().find(|t| &t.slug == slug) {
            Some(tenant) => vec![tenant.uuid.clone()],
            None => return fail(format!("no tenant with slug '{slug}'")),
        },
    };
    let text = match store.read(|conn| super::export(conn, &chosen)).map_err(|e| e.to_string()).and_then(|doc| doc.to_text(format)) {
        Ok(text) => text,
        Err(error) => return fail(error),
    };
    match &args.output {
        Some(path) => match std::fs::write(path, text) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => fail(format!("cannot write {}: {error}", path.display())),
        },
        None => {
            print!("{text}");
            ExitCode::SUCCESS
        }
    }
}

pub fn plan(args: DocumentArgs) -> ExitCode {
    run(args, true)
}

pub fn apply(args: DocumentArgs) -> ExitCode {
    run(args, false)
}

fn run(args: DocumentArgs, dry_run: bool) -> ExitCode {
    let text = match std::fs::read_to_string(&args.file) {
        Ok(text) => text,
        Err(error) => return fail(format!("cannot read {}: {error}", args.file.display())),
    };
    let doc = match ConfigDoc::from_text(&text, Format::of_path(&args.file)) {
        Ok(doc) => doc,
        Err(error) => return fail(format!("{}: {error}", args.file.display())),
    };
    let store = match open(&args.db) {
        Ok(store) => store,
        Err(error) => return fail(error),
    };
    let caller = match store.read(|conn| super::master_caller(conn, "cli")) {
        Ok(caller) => caller,
        Err(error) => return fail(error),
    };
    match super::run(&store, &caller, &doc, dry_run, &super::process_env) {
        Ok(report) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
            } else {
                print!("{}", report.to_text());
            }
            ExitCode::SUCCESS
        }
        Err(crate::api::error::ApiError::BadRequest(messages)) => {
            for message in messages {
                eprintln!("{message}");
            }
            fail("nothing was changed")
        }
        Err(error) => fail(format!("{error:?}")),
    }
}
