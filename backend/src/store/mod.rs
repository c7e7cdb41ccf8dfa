//! SQLite persistence: one writer and a few reader connections, WAL,
//! foreign keys on, embedded migrations. Every request's writes run in one transaction
//! ([`Store::write`]), so a request either changes everything it meant to or
//! nothing.

pub mod contexts;
pub mod db;
pub mod directory;
pub mod extensions;
pub mod groups;
pub mod incalls;
pub mod lines;
mod migrations;
pub mod leases;
pub mod nodes;
pub mod objects;
pub mod outcalls;
pub mod people;
pub mod testing;
pub mod trunks;
pub mod users;

pub use db::{Connection, Dialect, Transaction, Value};
pub(crate) use db::params;
pub use objects::{Kind, ObjectRow};
pub use people::{Account, Role, Tenant};

use rusqlite::OpenFlags;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database error: {}", postgres_message(.0))]
    Postgres(#[from] postgres::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("stored document is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("database error: the query answered no row")]
    NoRow,
    #[error("database error: column {index}: {message}")]
    Type { index: usize, message: String },
}

/// PostgreSQL's own message (with its detail), not the client's summary.
fn postgres_message(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        },
        None => error.to_string(),
    }
}

/// The message of the SIP-name trigger, on both databases.
const SIP_NAME_TAKEN: &str = "sip_name_taken";

impl StoreError {
    /// The Wazo resource name of a row a UNIQUE constraint (or the SIP
    /// name trigger) refused, e.g. `Extension` for
    /// `UNIQUE constraint failed: extensions.exten, extensions.context`
    /// (PostgreSQL: SQLSTATE 23505 on table `extensions`).
    pub fn unique_violation(&self) -> Option<&'static str> {
        let table = match self {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(failure, Some(message))) => {
                if failure.code != rusqlite::ErrorCode::ConstraintViolation {
                    return None;
                }
                if message.contains(SIP_NAME_TAKEN) {
                    return Some("EndpointSIP");
                }
                message.strip_prefix("UNIQUE constraint failed: ")?.split('.').next()?.to_string()
            }
            StoreError::Postgres(error) => {
                let db = error.as_db_error()?;
                if *db.code() != postgres::error::SqlState::UNIQUE_VIOLATION {
                    return None;
                }
                if db.message().contains(SIP_NAME_TAKEN) {
                    return Some("EndpointSIP");
                }
                db.table()?.to_string()
            }
            _ => return None,
        };
        Some(match table.as_str() {
            "contexts" => "Context",
            "extensions" => "Extension",
            "endpoint_sip" => "EndpointSIP",
            "endpoint_iax" => "IAXEndpoint",
            "endpoint_custom" => "CustomEndpoint",
            "transports" => "SIPTransport",
            "outcalls" => "Outcall",
            "tenants" => "Tenant",
            "accounts" => "User",
            _ => return None,
        })
    }

    /// Whether a constraint (unique, foreign key, check, not null) refused
    /// the write.
    pub fn constraint_violation(&self) -> bool {
        match self {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(failure, _)) => failure.code == rusqlite::ErrorCode::ConstraintViolation,
            StoreError::Postgres(error) => error.code().is_some_and(|code| code.code().starts_with("23")),
            _ => false,
        }
    }
}

/// Where the data lives: an SQLite file (the default) or a PostgreSQL
/// database shared by several Patchbays.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite(PathBuf),
    /// A `postgres://` (or `postgresql://`) URL, password included.
    Postgres(String),
}

// A PostgreSQL URL may carry a password: shown without it.
impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "{}", path.display()),
            // Neither user information nor parameters (`?password=…`) are shown.
            Database::Postgres(url) => {
                let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
                let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
                write!(f, "{scheme}://{}", rest.split('?').next().unwrap_or_default())
            }
        }
    }
}

/// The database. Cheap to clone. One writer connection (SQLite allows one
/// writer at a time anyway) and a few reader connections: in WAL mode
/// readers see the last committed state and never wait behind a write.
/// Neither kind of connection is held across an `.await` (the closures are
/// synchronous). On PostgreSQL the same shape: one writer session (whose
/// transactions also take an advisory lock, so several Patchbays write one
/// at a time, as SQLite's writers do) and a few reader sessions.
#[derive(Clone)]
pub struct Store {
    writer: Arc<Mutex<Connection>>,
    readers: Arc<ReaderPool>,
    dialect: Dialect,
}

/// Reader connections handed out one at a time. A dozen lines of
/// `Mutex` + `Condvar` rather than a pool crate: no timeouts, no
/// health checks, no async — a reader is always ready and only ever lent
/// to a synchronous closure.
struct ReaderPool {
    idle: Mutex<Vec<Connection>>,
    returned: Condvar,
}

impl ReaderPool {
    fn with<T>(&self, f: impl FnOnce(&Connection) -> T) -> T {
        let conn = {
            let mut idle = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            loop {
                if let Some(conn) = idle.pop() {
                    break conn;
                }
                idle = self.returned.wait(idle).unwrap_or_else(|poisoned| poisoned.into_inner());
            }
        };
        // Put the connection back even if `f` panics.
        struct Return<'a>(&'a ReaderPool, Option<Connection>);
        impl Drop for Return<'_> {
            fn drop(&mut self) {
                if let Some(conn) = self.1.take() {
                    self.0.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(conn);
                    self.0.returned.notify_one();
                }
            }
        }
        let lent = Return(self, Some(conn));
        f(lent.1.as_ref().expect("lent connection"))
    }
}

/// The schema version this build migrates to (`PRAGMA user_version`, which
/// the migrations keep), from a freshly migrated in-memory database so it
/// cannot drift from the migration list.
pub fn latest_schema_version() -> Result<i64, StoreError> {
    let mut conn = rusqlite::Connection::open_in_memory()?;
    migrations::all().to_latest(&mut conn)?;
    Ok(conn.pragma_query_value(None, "user_version", |row| row.get(0))?)
}

/// Reader connections: enough for the two cores this runs on and the
/// blocking pool's bursts, few enough to keep file handles low.
const READERS: usize = 4;

fn configure(conn: &rusqlite::Connection) -> Result<(), StoreError> {
    // FULL: an acknowledged write is on disk before the HTTP answer leaves.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // Statements are built per kind and per list shape: rusqlite's default
    // cache of 16 would evict the hot ones (token, tenants, BEGIN) under a mix.
    conn.set_prepared_statement_cache_capacity(128);
    // `lower()` folds ASCII only; lists search as Wazo's Python does.
    conn.create_scalar_function("pb_lower", 1, rusqlite::functions::FunctionFlags::SQLITE_UTF8 | rusqlite::functions::FunctionFlags::SQLITE_DETERMINISTIC, |ctx| {
        Ok(ctx.get::<Option<String>>(0)?.map(|text| text.to_lowercase()))
    })?;
    Ok(())
}

/// The advisory lock every PostgreSQL write transaction takes: writes are
/// serialised across Patchbays as SQLite serialises them (ids are chosen
/// as the next free one, the audit's change sets count up).
const WRITE_LOCK: i64 = 0x7062_7772; // "pbwr"

impl Store {
    /// Opens the configured database.
    pub fn connect(database: &Database) -> Result<Store, StoreError> {
        match database {
            Database::Sqlite(path) => Store::open(path),
            Database::Postgres(url) => Store::open_postgres(url),
        }
    }

    /// Opens (creating and migrating) an SQLite database file.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        // `:memory:` (tests) is one shared in-memory database, so that the
        // readers see what the writer wrote.
        let (path, uri) = if path == Path::new(":memory:") {
            static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            (PathBuf::from(format!("file:patchbay-memory-{}-{n}?mode=memory&cache=shared", std::process::id())), OpenFlags::SQLITE_OPEN_URI)
        } else {
            (path.to_path_buf(), OpenFlags::empty())
        };
        let mut conn = rusqlite::Connection::open_with_flags(&path, OpenFlags::default() | uri)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        configure(&conn)?;
        migrations::all().to_latest(&mut conn)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = rusqlite::Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | uri)?;
            configure(&reader)?;
            readers.push(Connection::sqlite(reader));
        }
        Ok(Store::from_connections(Connection::sqlite(conn), readers))
    }

    /// Connects to a PostgreSQL database (which must exist) and migrates it.
    pub fn open_postgres(url: &str) -> Result<Store, StoreError> {
        let writer = Connection::postgres(db::PgConn::connect(url)?);
        migrations::postgres::to_latest(&writer)?;
        let readers = (0..READERS).map(|_| db::PgConn::connect(url).map(Connection::postgres)).collect::<Result<_, _>>()?;
        Ok(Store::from_connections(writer, readers))
    }

    fn from_connections(writer: Connection, readers: Vec<Connection>) -> Store {
        let dialect = writer.dialect();
        Store { writer: Arc::new(Mutex::new(writer)), readers: Arc::new(ReaderPool { idle: Mutex::new(readers), returned: Condvar::new() }), dialect }
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Runs `f` in one transaction; commits when it returns `Ok`.
    ///
    /// The transaction takes SQLite's write lock when it begins
    /// (`IMMEDIATE`): another process on the same file (a second Patchbay,
    /// `crate::lease`) makes it wait (`busy_timeout`), where a deferred one
    /// that read first would fail at its first write once the other
    /// committed.
    pub fn write<T, E>(&self, f: impl FnOnce(&Transaction) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        self.section(|| {
            let conn = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let tx = Open::write(&conn)?;
            let out = f(&conn)?;
            tx.finish("COMMIT")?;
            Ok(out)
        })
    }

    /// SQLite's calls are short and stay on the caller's thread (as they
    /// always did); a PostgreSQL transaction's round trips leave the tokio
    /// worker once for the whole transaction.
    fn section<T>(&self, f: impl FnOnce() -> T) -> T {
        match self.dialect {
            Dialect::Sqlite => f(),
            Dialect::Postgres => db::blocking_section(f),
        }
    }

    /// Runs `f` in a write transaction that is always rolled back: what a
    /// change would do, seen from inside, without doing it.
    pub fn rehearse<T, E>(&self, f: impl FnOnce(&Transaction) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        self.section(|| {
            let conn = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            // Dropping the open transaction rolls it back.
            let _tx = Open::write(&conn)?;
            f(&conn)
        })
    }

    /// The revision of the last committed change to objects or tenants.
    pub fn revision(&self) -> Result<u64, StoreError> {
        self.read(revision)
    }

    /// Runs `f` on a read-only connection, in one read transaction (a
    /// consistent snapshot even across several queries).
    pub fn read<T, E>(&self, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E> {
        self.section(|| self.read_here(f))
    }

    fn read_here<T, E>(&self, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E> {
        self.readers.with(|conn| {
            // If BEGIN fails, `f`'s own queries meet (and report) the same error.
            let began = conn.begin("BEGIN DEFERRED", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").is_ok();
            let out = f(conn);
            if began {
                // A read transaction has nothing to keep: end it whatever `f` said.
                let _ = conn.end("COMMIT");
            }
            out
        })
    }
}

/// An open write transaction, rolled back when dropped unfinished (an
/// error or a panic in the closure).
struct Open<'c> {
    conn: &'c Connection,
    done: bool,
}

impl<'c> Open<'c> {
    fn write(conn: &'c Connection) -> Result<Open<'c>, StoreError> {
        // Both take the write lock first, so that another process writing the
        // same database (Patchbays sharing a store) waits rather than fails.
        conn.begin("BEGIN IMMEDIATE", &format!("BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})"))?;
        Ok(Open { conn, done: false })
    }

    /// Ends the transaction with `sql`; if that fails, dropping `self`
    /// still rolls it back.
    fn finish(mut self, sql: &str) -> Result<(), StoreError> {
        let ended = self.conn.end(sql);
        self.done = ended.is_ok();
        ended
    }
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.conn.end("ROLLBACK");
        }
    }
}

/// The revision as `conn` sees it (inside a read transaction: the revision
/// of exactly the rows it reads).
pub fn revision(conn: &Connection) -> Result<u64, StoreError> {
    Ok(conn.query_row("SELECT value FROM revision WHERE id = 1", &[], |row| row.get::<i64>(0))? as u64)
}
