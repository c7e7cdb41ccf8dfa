//! SQLite persistence: one writer and a few reader connections, WAL,
//! foreign keys on, embedded migrations. Every request's writes run in one transaction
//! ([`Store::write`]), so a request either changes everything it meant to or
//! nothing.

pub mod contexts;
pub mod directory;
pub mod extensions;
pub mod incalls;
pub mod lines;
mod migrations;
pub mod leases;
pub mod nodes;
pub mod objects;
pub mod outcalls;
pub mod people;
pub mod trunks;
pub mod users;

pub use objects::{Kind, ObjectRow};
pub use people::{Account, Role, Tenant};

use rusqlite::{Connection, OpenFlags, Transaction};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("stored document is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl StoreError {
    /// The Wazo resource name of a row a UNIQUE constraint (or the SIP
    /// name trigger) refused, e.g. `Extension` for
    /// `UNIQUE constraint failed: extensions.exten, extensions.context`.
    pub fn unique_violation(&self) -> Option<&'static str> {
        let StoreError::Sqlite(rusqlite::Error::SqliteFailure(failure, Some(message))) = self else { return None };
        if failure.code != rusqlite::ErrorCode::ConstraintViolation {
            return None;
        }
        if message.contains("sip_name_taken") {
            return Some("EndpointSIP");
        }
        let table = message.strip_prefix("UNIQUE constraint failed: ")?.split('.').next()?;
        Some(match table {
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
}

/// The database. Cheap to clone. One writer connection (SQLite allows one
/// writer at a time anyway) and a few reader connections: in WAL mode
/// readers see the last committed state and never wait behind a write.
/// Neither kind of connection is held across an `.await` (the closures are
/// synchronous).
#[derive(Clone)]
pub struct Store {
    writer: Arc<Mutex<Connection>>,
    readers: Arc<ReaderPool>,
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
    let mut conn = Connection::open_in_memory()?;
    migrations::all().to_latest(&mut conn)?;
    Ok(conn.pragma_query_value(None, "user_version", |row| row.get(0))?)
}

/// Reader connections: enough for the two cores this runs on and the
/// blocking pool's bursts, few enough to keep file handles low.
const READERS: usize = 4;

fn configure(conn: &Connection) -> Result<(), StoreError> {
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

impl Store {
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        // `:memory:` (tests) is one shared in-memory database, so that the
        // readers see what the writer wrote.
        let (path, uri) = if path == Path::new(":memory:") {
            static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            (std::path::PathBuf::from(format!("file:patchbay-memory-{}-{n}?mode=memory&cache=shared", std::process::id())), OpenFlags::SQLITE_OPEN_URI)
        } else {
            (path.to_path_buf(), OpenFlags::empty())
        };
        let mut conn = Connection::open_with_flags(&path, OpenFlags::default() | uri)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        configure(&conn)?;
        migrations::all().to_latest(&mut conn)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | uri)?;
            configure(&reader)?;
            readers.push(reader);
        }
        Ok(Store {
            writer: Arc::new(Mutex::new(conn)),
            readers: Arc::new(ReaderPool { idle: Mutex::new(readers), returned: Condvar::new() }),
        })
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
        let mut conn = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(StoreError::from)?;
        let out = f(&tx)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(out)
    }

    /// Runs `f` in a write transaction that is always rolled back: what a
    /// change would do, seen from inside, without doing it.
    pub fn rehearse<T, E>(&self, f: impl FnOnce(&Transaction) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut conn = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(StoreError::from)?;
        // Dropping the transaction rolls it back.
        f(&tx)
    }

    /// The revision of the last committed change to objects or tenants.
    pub fn revision(&self) -> Result<u64, StoreError> {
        self.read(revision)
    }

    /// Runs `f` on a read-only connection, in one read transaction (a
    /// consistent snapshot even across several queries).
    pub fn read<T, E>(&self, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E> {
        self.readers.with(|conn| {
            // If BEGIN fails, `f`'s own queries meet (and report) the same error.
            let began = conn.prepare_cached("BEGIN DEFERRED").and_then(|mut begin| begin.execute([])).is_ok();
            let out = f(conn);
            if began {
                // A read transaction has nothing to keep: end it whatever `f` said.
                let _ = conn.prepare_cached("COMMIT").and_then(|mut commit| commit.execute([]));
            }
            out
        })
    }
}

/// The revision as `conn` sees it (inside a read transaction: the revision
/// of exactly the rows it reads).
pub fn revision(conn: &Connection) -> Result<u64, StoreError> {
    Ok(conn.query_row("SELECT value FROM revision WHERE id = 1", [], |row| row.get::<_, i64>(0))? as u64)
}
