//! `patchbay backup` and `patchbay restore`: whole-database copies through
//! SQLite's online backup API, so a backup taken while a server writes is one
//! consistent state, and a restore never leaves a stale WAL file next to an
//! overwritten database (copying the file would).

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{path}: {message}")]
    Refused { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("backup and restore copy an SQLite file; a PostgreSQL store is backed up with pg_dump (`pg_dump -Fc -f patchbay.dump DATABASE`) and restored with pg_restore into an empty database")]
    Postgres,
}

/// The SQLite file of `db`: backup and restore are SQLite's online
/// backup; a PostgreSQL store is backed up with PostgreSQL's own tools.
pub fn sqlite_file(db: &crate::store::Database) -> Result<&Path, BackupError> {
    match db {
        crate::store::Database::Sqlite(path) => Ok(path),
        crate::store::Database::Postgres(_) => Err(BackupError::Postgres),
    }
}

fn sqlite(path: &Path) -> impl FnOnce(rusqlite::Error) -> BackupError + '_ {
    move |source| BackupError::Sqlite { path: path.to_path_buf(), source }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io { path: path.to_path_buf(), source }
}

fn refused(path: &Path, message: impl Into<String>) -> BackupError {
    BackupError::Refused { path: path.to_path_buf(), message: message.into() }
}

/// The schema version this build migrates to.
pub fn current_schema_version() -> Result<i64, BackupError> {
    crate::store::latest_schema_version().map_err(|error| refused(Path::new(":memory:"), error.to_string()))
}

/// Checks that `conn` holds an intact Patchbay database this build can open;
/// returns its schema version.
fn check_patchbay_database(conn: &Connection, path: &Path) -> Result<i64, BackupError> {
    let integrity: String = conn.query_row("PRAGMA quick_check", [], |row| row.get(0)).map_err(sqlite(path))?;
    if integrity != "ok" {
        return Err(refused(path, format!("the database is damaged ({integrity})")));
    }
    let tables: i64 = conn
        .query_row(
            // Resources are in `objects` before schema 4, in a table per kind from it.
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('tenants', 'accounts', 'audit') \
             OR (type = 'table' AND name = (SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('objects', 'contexts') LIMIT 1))",
            [],
            |row| row.get(0),
        )
        .map_err(sqlite(path))?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0)).map_err(sqlite(path))?;
    if tables != 4 || version == 0 {
        return Err(refused(path, "not a Patchbay database"));
    }
    let current = current_schema_version()?;
    if version > current {
        return Err(refused(path, format!("schema version {version} is newer than this Patchbay's ({current}): use a newer patchbay")));
    }
    Ok(version)
}

/// Copies every page of `from` into `to` in one step: one read transaction
/// on the source, so concurrent writers (WAL) are neither blocked nor seen
/// half-way. Retries while another connection holds a lock.
fn copy(from: &Connection, to: &mut Connection, to_path: &Path) -> Result<(), BackupError> {
    let backup = Backup::new(from, to).map_err(sqlite(to_path))?;
    for _ in 0..100 {
        match backup.step(-1).map_err(sqlite(to_path))? {
            StepResult::Done => return Ok(()),
            // Busy or Locked (`More` cannot follow a step of all pages).
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    Err(refused(to_path, "the database stayed locked for 5 s"))
}

/// Opens an existing database for reading and writing, never creating one.
fn open_existing(path: &Path, flags: OpenFlags) -> Result<Connection, BackupError> {
    if !path.exists() {
        return Err(refused(path, "no such database"));
    }
    let conn = Connection::open_with_flags(path, flags).map_err(sqlite(path))?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(sqlite(path))?;
    Ok(conn)
}

/// `patchbay backup`: a consistent copy of `db` (which may be serving) in
/// `file`, a self-contained SQLite file readable only by its owner (it holds
/// SIP secrets and password hashes). `file` appears only once complete.
pub fn backup(db: &Path, file: &Path) -> Result<i64, BackupError> {
    let source = open_existing(db, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    let version = check_patchbay_database(&source, db)?;
    if same_file(db, file) {
        return Err(refused(file, "is the database itself"));
    }
    let name = file.file_name().ok_or_else(|| refused(file, "names no file"))?;
    let partial = file.with_file_name(format!(".{}.partial-{}", name.to_string_lossy(), std::process::id()));
    let _ = std::fs::remove_file(&partial);
    create_private(&partial)?;
    let result = (|| {
        let mut target = Connection::open(&partial).map_err(sqlite(&partial))?;
        copy(&source, &mut target, &partial)?;
        // One file, no -wal/-shm companions: the copy travels alone.
        target.pragma_update_and_check(None, "journal_mode", "DELETE", |_| Ok(())).map_err(sqlite(&partial))?;
        check_patchbay_database(&target, &partial)?;
        target.close().map_err(|(_, error)| sqlite(&partial)(error))?;
        std::fs::File::open(&partial).and_then(|f| f.sync_all()).map_err(io(&partial))?;
        std::fs::rename(&partial, file).map_err(io(file))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result.map(|()| version)
}

/// `patchbay restore`: replaces `db` with the backup `file` after checking
/// that `file` is a Patchbay database this build can open. An existing `db`
/// is replaced only with `force` (stop the server first: a running one keeps
/// serving, but its sessions and state belong to the replaced data).
pub fn restore(db: &Path, file: &Path, force: bool) -> Result<i64, BackupError> {
    let source = open_existing(file, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    let version = check_patchbay_database(&source, file)?;
    if same_file(db, file) {
        return Err(refused(db, "is the backup itself"));
    }
    if db.exists() && !force {
        return Err(refused(db, "already exists: stop the server, then pass --force to replace it"));
    }
    let mut target = Connection::open(db).map_err(sqlite(db))?;
    target.busy_timeout(Duration::from_secs(5)).map_err(sqlite(db))?;
    copy(&source, &mut target, db)?;
    // The server's journal mode (the backup file is in rollback mode).
    target.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(())).map_err(sqlite(db))?;
    check_patchbay_database(&target, db)?;
    Ok(version)
}

fn same_file(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

/// Creates an empty file only its owner can read (SQLite then writes into it).
fn create_private(path: &Path) -> Result<(), BackupError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop).map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    fn dir(label: &str) -> Dir {
        let path = std::env::temp_dir().join(format!("patchbay-backup-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Dir(path)
    }

    fn tenant_count(path: &Path) -> i64 {
        Connection::open(path).unwrap().query_row("SELECT count(*) FROM tenants", [], |row| row.get(0)).unwrap()
    }

    #[test]
    fn backup_then_restore_round_trips_and_refuses_to_overwrite_without_force() {
        let dir = dir("roundtrip");
        let db = dir.0.join("live.db");
        let store = Store::open(&db).unwrap();
        crate::bootstrap::seed_if_empty(&store, Some("pw")).unwrap();
        let file = dir.0.join("copy.db");
        let version = backup(&db, &file).unwrap();
        assert_eq!(version, current_schema_version().unwrap());
        assert!(tenant_count(&file) > 0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let restored = dir.0.join("restored.db");
        restore(&restored, &file, false).unwrap();
        assert_eq!(tenant_count(&restored), tenant_count(&db));
        let error = restore(&restored, &file, false).unwrap_err();
        assert!(error.to_string().contains("--force"), "{error}");
        restore(&restored, &file, true).unwrap();
        // The restored file is one the server opens.
        Store::open(&restored).unwrap();
    }

    #[test]
    fn restore_refuses_what_is_not_a_patchbay_database() {
        let dir = dir("foreign");
        let foreign = dir.0.join("foreign.db");
        Connection::open(&foreign).unwrap().execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);").unwrap();
        let error = restore(&dir.0.join("new.db"), &foreign, false).unwrap_err();
        assert!(error.to_string().contains("not a Patchbay database"), "{error}");
        assert!(!dir.0.join("new.db").exists());
        let text = dir.0.join("notes.txt");
        std::fs::write(&text, "hello, this is not SQLite at all, just some text that is long enough").unwrap();
        assert!(restore(&dir.0.join("new.db"), &text, false).is_err());
        assert!(!dir.0.join("new.db").exists());
    }

    #[test]
    fn restore_refuses_a_newer_schema() {
        let dir = dir("newer");
        let db = dir.0.join("live.db");
        Store::open(&db).unwrap();
        let newer = current_schema_version().unwrap() + 1;
        Connection::open(&db).unwrap().pragma_update(None, "user_version", newer).unwrap();
        let error = restore(&dir.0.join("new.db"), &db, false).unwrap_err();
        assert!(error.to_string().contains("newer"), "{error}");
    }

    #[test]
    fn backup_of_a_missing_database_creates_nothing() {
        let dir = dir("missing");
        let error = backup(&dir.0.join("absent.db"), &dir.0.join("copy.db")).unwrap_err();
        assert!(error.to_string().contains("no such database"), "{error}");
        assert!(!dir.0.join("absent.db").exists());
        assert!(!dir.0.join("copy.db").exists());
    }
}
