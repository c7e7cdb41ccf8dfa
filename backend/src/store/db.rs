//! The one database handle the rest of the code uses: SQLite (embedded,
//! the default) or PostgreSQL (the shared store), behind the same few
//! typed calls. SQL is written once, with `?1`-style placeholders, and
//! translated to `$1` for PostgreSQL (cached with its prepared statement);
//! the few places where the dialects differ ask [`Connection::dialect`].
//!
//! Parameters are owned [`Value`]s ([`params!`]), rows are read by index
//! with [`Row::get`]. PostgreSQL's blocking client runs its own small
//! runtime, which must not be entered from a tokio worker: every call into
//! it goes through [`off_runtime`].

use super::StoreError;
use std::cell::RefCell;
use std::collections::HashMap;

/// A parameter or a column value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    /// SQLite stores it as 0/1; PostgreSQL binds it as the parameter's
    /// type asks (a boolean, 0/1, or `true`/`false` as text, which is how
    /// `->>` reads a JSON boolean).
    Bool(bool),
}

/// The SQL dialect of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A Rust value as a parameter.
pub trait ToSql {
    fn to_sql(&self) -> Value;
}

impl ToSql for Value {
    fn to_sql(&self) -> Value {
        self.clone()
    }
}
impl ToSql for str {
    fn to_sql(&self) -> Value {
        Value::Text(self.to_string())
    }
}
impl ToSql for String {
    fn to_sql(&self) -> Value {
        Value::Text(self.clone())
    }
}
impl ToSql for bool {
    fn to_sql(&self) -> Value {
        Value::Bool(*self)
    }
}
impl ToSql for f64 {
    fn to_sql(&self) -> Value {
        Value::Real(*self)
    }
}
macro_rules! integer_to_sql {
    ($($t:ty),*) => {$(
        impl ToSql for $t {
            fn to_sql(&self) -> Value {
                Value::Integer(*self as i64)
            }
        }
    )*};
}
integer_to_sql!(i64, i32, u16, u32);
impl<T: ToSql + ?Sized> ToSql for &T {
    fn to_sql(&self) -> Value {
        (**self).to_sql()
    }
}
impl<T: ToSql> ToSql for Option<T> {
    fn to_sql(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToSql::to_sql)
    }
}

/// Parameters as owned values: `params![id, name]`.
macro_rules! params {
    ($($value:expr),* $(,)?) => {
        &[$($crate::store::db::ToSql::to_sql(&$value)),*][..]
    };
}
pub(crate) use params;

/// A column value as a Rust value.
pub trait FromSql: Sized {
    fn from_sql(value: Value) -> Result<Self, String>;
}

impl FromSql for Value {
    fn from_sql(value: Value) -> Result<Self, String> {
        Ok(value)
    }
}
impl FromSql for i64 {
    fn from_sql(value: Value) -> Result<Self, String> {
        match value {
            Value::Integer(n) => Ok(n),
            Value::Bool(b) => Ok(b as i64),
            other => Err(format!("expected an integer, found {other:?}")),
        }
    }
}
impl FromSql for u16 {
    fn from_sql(value: Value) -> Result<Self, String> {
        let n = i64::from_sql(value)?;
        u16::try_from(n).map_err(|_| format!("{n} is out of range"))
    }
}
impl FromSql for bool {
    fn from_sql(value: Value) -> Result<Self, String> {
        match value {
            Value::Bool(b) => Ok(b),
            Value::Integer(n) => Ok(n != 0),
            other => Err(format!("expected a boolean, found {other:?}")),
        }
    }
}
impl FromSql for f64 {
    fn from_sql(value: Value) -> Result<Self, String> {
        match value {
            Value::Real(x) => Ok(x),
            Value::Integer(n) => Ok(n as f64),
            other => Err(format!("expected a number, found {other:?}")),
        }
    }
}
impl FromSql for String {
    fn from_sql(value: Value) -> Result<Self, String> {
        match value {
            Value::Text(text) => Ok(text),
            other => Err(format!("expected text, found {other:?}")),
        }
    }
}
impl<T: FromSql> FromSql for Option<T> {
    fn from_sql(value: Value) -> Result<Self, String> {
        match value {
            Value::Null => Ok(None),
            other => T::from_sql(other).map(Some),
        }
    }
}

/// One row of an answer, read by column index.
pub enum Row<'r> {
    Sqlite(&'r rusqlite::Row<'r>),
    Postgres(&'r postgres::Row),
}

impl Row<'_> {
    pub fn get<T: FromSql>(&self, index: usize) -> Result<T, StoreError> {
        let value = match self {
            Row::Sqlite(row) => sqlite_value(row.get_ref(index)?),
            Row::Postgres(row) => postgres_value(row, index)?,
        };
        T::from_sql(value).map_err(|message| StoreError::Type { index, message })
    }
}

fn sqlite_value(value: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(n) => Value::Integer(n),
        ValueRef::Real(x) => Value::Real(x),
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => Value::Text(String::from_utf8_lossy(bytes).into_owned()),
    }
}

fn postgres_value(row: &postgres::Row, index: usize) -> Result<Value, StoreError> {
    use postgres::types::Type;
    let column = row.columns().get(index).ok_or(StoreError::Type { index, message: "no such column".into() })?;
    let ty = column.type_();
    let value = if *ty == Type::INT8 {
        row.try_get::<_, Option<i64>>(index)?.map(Value::Integer)
    } else if *ty == Type::INT4 {
        row.try_get::<_, Option<i32>>(index)?.map(|n| Value::Integer(n.into()))
    } else if *ty == Type::INT2 {
        row.try_get::<_, Option<i16>>(index)?.map(|n| Value::Integer(n.into()))
    } else if *ty == Type::BOOL {
        row.try_get::<_, Option<bool>>(index)?.map(Value::Bool)
    } else if *ty == Type::FLOAT8 {
        row.try_get::<_, Option<f64>>(index)?.map(Value::Real)
    } else if *ty == Type::FLOAT4 {
        row.try_get::<_, Option<f32>>(index)?.map(|x| Value::Real(x.into()))
    } else {
        // TEXT, VARCHAR, NAME…: anything else must be cast to text in SQL.
        row.try_get::<_, Option<String>>(index)?.map(Value::Text)
    };
    Ok(value.unwrap_or(Value::Null))
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Integer(n) => ToSqlOutput::Borrowed(ValueRef::Integer(*n)),
            Value::Real(x) => ToSqlOutput::Borrowed(ValueRef::Real(*x)),
            Value::Text(text) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
            Value::Bool(b) => ToSqlOutput::Borrowed(ValueRef::Integer(*b as i64)),
        })
    }
}

type BoxError = Box<dyn std::error::Error + Sync + Send>;

/// `value` in PostgreSQL's binary format for `ty`.
fn pg<T: postgres::types::ToSql>(value: &T, ty: &postgres::types::Type, out: &mut bytes::BytesMut) -> Result<postgres::types::IsNull, BoxError> {
    postgres::types::ToSql::to_sql(value, ty, out)
}

impl postgres::types::ToSql for Value {
    /// Binds as the statement's parameter type asks (PostgreSQL infers it
    /// from the SQL): SQLite's loose typing, made explicit.
    fn to_sql(&self, ty: &postgres::types::Type, out: &mut bytes::BytesMut) -> Result<postgres::types::IsNull, BoxError> {
        use postgres::types::{IsNull, Type};
        let as_text = |text: String, out: &mut bytes::BytesMut| pg(&text, ty, out);
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Integer(n) => match *ty {
                Type::INT8 => pg(&n, ty, out),
                Type::INT4 => pg(&i32::try_from(*n)?, ty, out),
                Type::INT2 => pg(&i16::try_from(*n)?, ty, out),
                Type::BOOL => pg(&(*n != 0), ty, out),
                Type::FLOAT8 => pg(&(*n as f64), ty, out),
                _ => as_text(n.to_string(), out),
            },
            Value::Real(x) => match *ty {
                Type::FLOAT8 => pg(&x, ty, out),
                Type::FLOAT4 => pg(&(*x as f32), ty, out),
                _ => as_text(x.to_string(), out),
            },
            Value::Bool(b) => match *ty {
                Type::BOOL => pg(&b, ty, out),
                Type::INT8 => pg(&(*b as i64), ty, out),
                Type::INT4 => pg(&(*b as i32), ty, out),
                Type::INT2 => pg(&(*b as i16), ty, out),
                _ => as_text(b.to_string(), out),
            },
            Value::Text(text) => match *ty {
                Type::INT8 => pg(&text.parse::<i64>()?, ty, out),
                Type::INT4 => pg(&text.parse::<i32>()?, ty, out),
                _ => pg(&text, ty, out),
            },
        }
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// `?1`, `?2`… as `$1`, `$2`… (string literals and quoted names left alone).
pub fn postgres_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    for c in sql.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '?' => {
                out.push('$');
                continue;
            }
            None => {}
        }
        out.push(c);
    }
    out
}

/// Runs a blocking PostgreSQL call where it may block: off the tokio
/// worker (`block_in_place`) in the server's multi-thread runtime, on a
/// short-lived thread under a current-thread runtime (tests), as is
/// outside any runtime.
pub(super) fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    match tokio::runtime::Handle::try_current().map(|handle| handle.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        Ok(_) => std::thread::scope(|scope| scope.spawn(f).join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))),
        Err(_) => f(),
    }
}

/// Runs a section that makes several blocking PostgreSQL calls (a whole
/// transaction) off the tokio worker at once, rather than once per
/// statement. Under a current-thread runtime each call still finds its own
/// way out ([`off_runtime`]).
pub(super) fn blocking_section<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|handle| handle.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Prepared statements kept per PostgreSQL connection, by their SQL as
/// written (SQLite keeps its own cache, `prepare_cached`).
const STATEMENT_CACHE: usize = 256;

/// The blocking client, closed off the runtime when dropped (closing
/// blocks on the client's own runtime too).
struct Client(Option<postgres::Client>);

impl std::ops::Deref for Client {
    type Target = postgres::Client;
    fn deref(&self) -> &postgres::Client {
        self.0.as_ref().expect("a client until dropped")
    }
}

impl std::ops::DerefMut for Client {
    fn deref_mut(&mut self) -> &mut postgres::Client {
        self.0.as_mut().expect("a client until dropped")
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            off_runtime(move || drop(client));
        }
    }
}

pub(super) struct PgConn {
    client: Client,
    url: String,
    statements: HashMap<String, postgres::Statement>,
}

impl PgConn {
    pub(super) fn connect(url: &str) -> Result<PgConn, StoreError> {
        let mut client = Client(Some(off_runtime(|| postgres::Client::connect(url, postgres::NoTls))?));
        // Notices (`… already exists, skipping`) are not news worth a log line.
        off_runtime(|| client.batch_execute("SET client_min_messages = warning"))?;
        Ok(PgConn { client, url: url.to_string(), statements: HashMap::new() })
    }

    /// A fresh session when the server closed this one (restart, idle
    /// timeout): the next transaction runs on it.
    fn reconnect_if_closed(&mut self) -> Result<(), StoreError> {
        if self.client.is_closed() {
            *self = PgConn::connect(&self.url)?;
        }
        Ok(())
    }

    fn statement(&mut self, sql: &str) -> Result<postgres::Statement, StoreError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let translated = postgres_sql(sql);
        let client = &mut *self.client;
        let statement = off_runtime(|| client.prepare(&translated))?;
        if self.statements.len() >= STATEMENT_CACHE {
            self.statements.clear();
        }
        self.statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<postgres::Row>, StoreError> {
        let statement = self.statement(sql)?;
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params.iter().map(|p| p as &(dyn postgres::types::ToSql + Sync)).collect();
        let client = &mut *self.client;
        Ok(off_runtime(|| client.query(&statement, &refs))?)
    }

    /// One write statement, inside a transaction. A failed one is undone
    /// alone and the transaction goes on, as in SQLite (PostgreSQL would
    /// refuse every later statement of the transaction): the handlers
    /// try a write and explain a refused one with further queries.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let statement = self.statement(sql)?;
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params.iter().map(|p| p as &(dyn postgres::types::ToSql + Sync)).collect();
        self.batch("SAVEPOINT pb_statement")?;
        let client = &mut *self.client;
        match off_runtime(|| client.execute(&statement, &refs)) {
            Ok(changed) => {
                self.batch("RELEASE SAVEPOINT pb_statement")?;
                Ok(changed)
            }
            Err(error) => {
                let _ = self.batch("ROLLBACK TO SAVEPOINT pb_statement; RELEASE SAVEPOINT pb_statement");
                Err(error.into())
            }
        }
    }

    pub(super) fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        let client = &mut *self.client;
        Ok(off_runtime(|| client.batch_execute(sql))?)
    }
}

enum Backend {
    Sqlite(rusqlite::Connection),
    Postgres(Box<RefCell<PgConn>>),
}

/// A database connection, lent to one closure at a time by
/// [`super::Store`] inside a transaction.
pub struct Connection {
    backend: Backend,
}

/// What a write closure receives: the connection, inside its transaction.
pub type Transaction = Connection;

impl Connection {
    /// An SQLite connection opened elsewhere (a test reading an old file
    /// as its release did).
    pub fn from_sqlite(conn: rusqlite::Connection) -> Connection {
        Connection::sqlite(conn)
    }

    pub(super) fn sqlite(conn: rusqlite::Connection) -> Connection {
        Connection { backend: Backend::Sqlite(conn) }
    }

    pub(super) fn postgres(conn: PgConn) -> Connection {
        Connection { backend: Backend::Postgres(Box::new(RefCell::new(conn))) }
    }

    pub fn dialect(&self) -> Dialect {
        match self.backend {
            Backend::Sqlite(_) => Dialect::Sqlite,
            Backend::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs one statement; the number of rows it changed.
    pub fn execute(&self, sql: &str, params: &[Value]) -> Result<usize, StoreError> {
        match &self.backend {
            Backend::Sqlite(conn) => Ok(conn.prepare_cached(sql)?.execute(rusqlite::params_from_iter(params.iter()))?),
            Backend::Postgres(conn) => Ok(conn.borrow_mut().execute(sql, params)? as usize),
        }
    }

    /// Runs statements without parameters (savepoints, schema).
    pub fn execute_batch(&self, sql: &str) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(conn) => Ok(conn.execute_batch(sql)?),
            Backend::Postgres(conn) => conn.borrow_mut().batch(sql),
        }
    }

    /// Every row of the answer, each through `f`.
    pub fn query_all<T>(&self, sql: &str, params: &[Value], mut f: impl FnMut(&Row) -> Result<T, StoreError>) -> Result<Vec<T>, StoreError> {
        match &self.backend {
            Backend::Sqlite(conn) => {
                let mut statement = conn.prepare_cached(sql)?;
                let mut rows = statement.query(rusqlite::params_from_iter(params.iter()))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    out.push(f(&Row::Sqlite(row))?);
                }
                Ok(out)
            }
            Backend::Postgres(conn) => {
                // Fetched whole, then mapped: `f` may query this connection again.
                let rows = conn.borrow_mut().query(sql, params)?;
                rows.iter().map(|row| f(&Row::Postgres(row))).collect()
            }
        }
    }

    /// The first row of the answer through `f`, if there is one.
    pub fn query_opt<T>(&self, sql: &str, params: &[Value], f: impl FnOnce(&Row) -> Result<T, StoreError>) -> Result<Option<T>, StoreError> {
        match &self.backend {
            Backend::Sqlite(conn) => {
                let mut statement = conn.prepare_cached(sql)?;
                let mut rows = statement.query(rusqlite::params_from_iter(params.iter()))?;
                match rows.next()? {
                    Some(row) => f(&Row::Sqlite(row)).map(Some),
                    None => Ok(None),
                }
            }
            Backend::Postgres(conn) => {
                let rows = conn.borrow_mut().query(sql, params)?;
                rows.first().map(|row| f(&Row::Postgres(row))).transpose()
            }
        }
    }

    /// The first row of an answer that must have one (`COUNT(*)`…).
    pub fn query_row<T>(&self, sql: &str, params: &[Value], f: impl FnOnce(&Row) -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.query_opt(sql, params, f)?.ok_or(StoreError::NoRow)
    }

    /// Whether the query answers any row.
    pub fn exists(&self, sql: &str, params: &[Value]) -> Result<bool, StoreError> {
        Ok(self.query_opt(sql, params, |_| Ok(()))?.is_some())
    }

    /// Starts a transaction: SQLite's deferred one, or PostgreSQL's with
    /// the isolation `begin` names. A closed PostgreSQL session is
    /// reopened first.
    pub(super) fn begin(&self, sqlite: &str, postgres: &str) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(conn) => Ok(conn.prepare_cached(sqlite)?.execute([]).map(drop)?),
            Backend::Postgres(conn) => {
                let mut conn = conn.borrow_mut();
                conn.reconnect_if_closed()?;
                conn.batch(postgres)
            }
        }
    }

    pub(super) fn end(&self, sql: &str) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(conn) => Ok(conn.prepare_cached(sql)?.execute([]).map(drop)?),
            Backend::Postgres(conn) => conn.borrow_mut().batch(sql),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_dollars_outside_literals() {
        assert_eq!(postgres_sql("SELECT 1 FROM t WHERE a = ?1 AND b = '?' AND c IN (?2, ?12)"), "SELECT 1 FROM t WHERE a = $1 AND b = '?' AND c IN ($2, $12)");
        assert_eq!(postgres_sql("SELECT \"a?\" FROM t WHERE x LIKE ?3 ESCAPE '\\'"), "SELECT \"a?\" FROM t WHERE x LIKE $3 ESCAPE '\\'");
    }
}
