//! Fresh databases for tests, on the store the run asks for:
//! `PATCHBAY_TEST_DB=postgres` gives each test a database of its own on
//! the local PostgreSQL cluster (dropped afterwards), anything else an
//! in-memory SQLite database. `PATCHBAY_TEST_PG` names the database to
//! connect to for creating them (default: `postgres` over the Unix socket
//! /var/run/postgresql, as the current user; `scripts/test.sh` makes that
//! role).

use super::{Store, db::off_runtime};

/// Whether this run's tests use PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var("PATCHBAY_TEST_DB").is_ok_and(|db| db == "postgres")
}

fn admin_url() -> String {
    std::env::var("PATCHBAY_TEST_PG").unwrap_or_else(|_| {
        let user = std::env::var("USER").ok().filter(|user| !user.is_empty()).unwrap_or_else(|| "root".into());
        format!("postgresql:///postgres?host=/var/run/postgresql&user={user}")
    })
}

/// The URL of database `name` on the cluster of [`admin_url`].
pub fn url_of(name: &str) -> String {
    let admin = admin_url();
    match admin.split_once("/postgres") {
        Some((before, after)) => format!("{before}/{name}{after}"),
        None => panic!("PATCHBAY_TEST_PG must name the `postgres` database: {admin}"),
    }
}

fn admin(sql: &str) -> Result<(), String> {
    off_runtime(|| {
        let mut client = postgres::Client::connect(&admin_url(), postgres::NoTls).map_err(|e| format!("connect to {}: {e}", admin_url()))?;
        client.batch_execute(sql).map_err(|e| format!("{sql}: {e}"))
    })
}

/// Creates the empty database `name` (letters, digits, `_`) and answers its URL.
pub fn create_database(name: &str) -> String {
    assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'), "{name}");
    admin(&format!("CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'")).unwrap_or_else(|e| panic!("PATCHBAY_TEST_DB=postgres: {e}"));
    url_of(name)
}

/// Drops the database `name`, closing its sessions.
pub fn drop_database(name: &str) {
    if let Err(error) = admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")) {
        eprintln!("PATCHBAY_TEST_DB=postgres: {error}");
    }
}

/// A unique database name for this process.
pub fn unique_name(label: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("pb_{label}_{}_{n}_{nanos}", std::process::id())
}

/// A store on a fresh database; its PostgreSQL database goes with it.
pub struct TestStore {
    pub store: Store,
    database: Option<String>,
}

impl TestStore {
    pub fn new() -> TestStore {
        if on_postgres() {
            let name = unique_name("unit");
            match Store::open_postgres(&create_database(&name)) {
                Ok(store) => TestStore { store, database: Some(name) },
                Err(error) => {
                    drop_database(&name);
                    panic!("open the test database: {error}");
                }
            }
        } else {
            TestStore { store: Store::open(std::path::Path::new(":memory:")).expect("open an in-memory database"), database: None }
        }
    }
}

impl Default for TestStore {
    fn default() -> Self {
        TestStore::new()
    }
}

impl std::ops::Deref for TestStore {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        if let Some(name) = &self.database {
            drop_database(name);
        }
    }
}
