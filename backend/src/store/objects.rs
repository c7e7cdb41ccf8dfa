//! Confd resources, one table per kind (migration 4): `id`, `uuid`,
//! `tenant_uuid`, the Wazo document as `body`, and the columns the rules
//! and lists need, generated from the document and indexed (see
//! `migrations.rs` for each table's columns and constraints).
//!
//! Every function that touches tenant data takes the tenant(s) it may see;
//! a document of another tenant is simply not found.

use super::db::{Connection, Dialect, Row, Value as SqlValue, params};
use super::StoreError;
use serde_json::{Value, json};

/// The kinds of stored documents. The string is the `objects.kind` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Context,
    Extension,
    Trunk,
    EndpointSip,
    SipTemplate,
    EndpointIax,
    EndpointCustom,
    RegisterSip,
    RegisterIax,
    Transport,
    Outcall,
    Incall,
    User,
    Line,
    Settings,
    /// A Kazoo connectivity (trunkstore) document; what it maps to is stored
    /// as ordinary trunks, endpoints, extensions and incalls.
    KazooConnectivity,
    /// A group of users rung together (migration 11).
    Group,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Context => "context",
            Kind::Extension => "extension",
            Kind::Trunk => "trunk",
            Kind::EndpointSip => "endpoint_sip",
            Kind::SipTemplate => "endpoint_sip_template",
            Kind::EndpointIax => "endpoint_iax",
            Kind::EndpointCustom => "endpoint_custom",
            Kind::RegisterSip => "register_sip",
            Kind::RegisterIax => "register_iax",
            Kind::Transport => "sip_transport",
            Kind::Outcall => "outcall",
            Kind::Incall => "incall",
            Kind::User => "user",
            Kind::Line => "line",
            Kind::Settings => "settings",
            Kind::KazooConnectivity => "kazoo_connectivity",
            Kind::Group => "group",
        }
    }

    /// The table the kind's rows live in.
    pub fn table(self) -> &'static str {
        match self {
            Kind::Context => "contexts",
            Kind::Extension => "extensions",
            Kind::Trunk => "trunks",
            Kind::EndpointSip => "endpoint_sip",
            Kind::SipTemplate => "sip_templates",
            Kind::EndpointIax => "endpoint_iax",
            Kind::EndpointCustom => "endpoint_custom",
            Kind::RegisterSip => "register_sip",
            Kind::RegisterIax => "register_iax",
            Kind::Transport => "transports",
            Kind::Outcall => "outcalls",
            Kind::Incall => "incalls",
            Kind::User => "users",
            Kind::Line => "lines",
            Kind::Settings => "settings",
            Kind::KazooConnectivity => "kazoo_connectivity",
            Kind::Group => "groups",
        }
    }

    /// The table's real (generated, indexable) columns besides id, uuid
    /// and tenant_uuid, by the document key they hold.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Kind::Context => &["name", "label", "type"],
            Kind::Extension => &["context", "exten"],
            Kind::Trunk => &["context"],
            Kind::EndpointSip | Kind::SipTemplate => &["name", "label"],
            Kind::EndpointIax | Kind::Transport | Kind::Outcall => &["name"],
            Kind::EndpointCustom => &["interface"],
            Kind::Incall => &["extension_id"],
            Kind::User => &["firstname", "lastname"],
            Kind::Line => &["user_id", "extension_id"],
            Kind::Group => &["name", "label", "extension_id"],
            Kind::RegisterSip | Kind::RegisterIax | Kind::Settings | Kind::KazooConnectivity => &[],
        }
    }

    /// The SQL expression of a document key: its column when the table has
    /// one, else the value read from the document. `key` comes from a
    /// resource's static column list (never from a request).
    pub fn column_sql(self, key: &str) -> String {
        if matches!(key, "id" | "uuid" | "tenant_uuid") || self.columns().contains(&key) {
            key.to_string()
        } else if key == "endpoint_sip.uuid" && matches!(self, Kind::Line | Kind::Trunk) {
            "endpoint_sip_uuid".to_string()
        } else if key == "destination.user_id" && self == Kind::Incall {
            "user_id".to_string()
        } else {
            debug_assert!(key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.'));
            format!("json_extract(body, '$.{key}')")
        }
    }
}

#[derive(Debug, Clone)]
pub struct ObjectRow {
    pub id: i64,
    pub uuid: Option<String>,
    pub tenant_uuid: Option<String>,
    pub body: Value,
}

const SELECT: &str = "SELECT id, uuid, tenant_uuid, body FROM";

fn row_to_object(row: &Row) -> Result<RawRow, StoreError> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn parse(raw: (i64, Option<String>, Option<String>, String)) -> Result<ObjectRow, StoreError> {
    let (id, uuid, tenant_uuid, body) = raw;
    Ok(ObjectRow { id, uuid, tenant_uuid, body: serde_json::from_str(&body)? })
}

/// The stored document with its key columns folded back in, as the domain
/// types (which mirror the Wazo wire shapes) expect.
pub fn document(row: &ObjectRow, by_uuid: bool) -> Value {
    let mut body = row.body.clone();
    if let Value::Object(map) = &mut body {
        if by_uuid {
            map.insert("uuid".into(), json!(row.uuid));
        } else {
            map.insert("id".into(), json!(row.id));
            // Integer-keyed objects that also have a uuid (users) keep it.
            if let Some(uuid) = &row.uuid {
                map.insert("uuid".into(), json!(uuid));
            }
        }
        map.insert("tenant_uuid".into(), json!(row.tenant_uuid));
    }
    body
}

/// A JSON value as `json_extract` compares it (SQLite: true → 1;
/// PostgreSQL reads text: true → `true`).
pub fn sql_value(value: &Value) -> SqlValue {
    match value {
        Value::Null => SqlValue::Null,
        Value::Bool(b) => SqlValue::Bool(*b),
        Value::Number(n) => n.as_i64().map(SqlValue::Integer).unwrap_or_else(|| SqlValue::Real(n.as_f64().unwrap_or(0.0))),
        Value::String(s) => SqlValue::Text(s.clone()),
        other => SqlValue::Text(other.to_string()),
    }
}

/// The next free id of a kind (ids are per kind, as in Wazo).
pub fn next_id(conn: &Connection, kind: Kind) -> Result<i64, StoreError> {
    conn.query_row(&format!("SELECT COALESCE(MAX(id), 0) + 1 FROM {}", kind.table()), &[], |row| row.get(0))
}

pub fn insert(conn: &Connection, kind: Kind, row: &ObjectRow) -> Result<(), StoreError> {
    conn.execute(&format!("INSERT INTO {} (id, uuid, tenant_uuid, body) VALUES (?1, ?2, ?3, ?4)", kind.table()), params![row.id, row.uuid, row.tenant_uuid, serde_json::to_string(&row.body)?])?;
    Ok(())
}

pub fn update_body(conn: &Connection, kind: Kind, id: i64, body: &Value) -> Result<(), StoreError> {
    conn.execute(&format!("UPDATE {} SET body = ?2 WHERE id = ?1", kind.table()), params![id, serde_json::to_string(body)?])?;
    Ok(())
}

pub fn delete(conn: &Connection, kind: Kind, id: i64) -> Result<(), StoreError> {
    conn.execute(&format!("DELETE FROM {} WHERE id = ?1", kind.table()), params![id])?;
    Ok(())
}

/// One document by id, only if its tenant is among `visible` (`None` = all).
pub fn get(conn: &Connection, kind: Kind, id: i64, visible: Option<&[String]>) -> Result<Option<ObjectRow>, StoreError> {
    let raw = conn.query_opt(&format!("{SELECT} {} WHERE id = ?1", kind.table()), params![id], row_to_object)?;
    filter_visible(raw.map(parse).transpose()?, visible)
}

pub fn get_by_uuid(conn: &Connection, kind: Kind, uuid: &str, visible: Option<&[String]>) -> Result<Option<ObjectRow>, StoreError> {
    let raw = conn.query_opt(&format!("{SELECT} {} WHERE uuid = ?1", kind.table()), params![uuid], row_to_object)?;
    filter_visible(raw.map(parse).transpose()?, visible)
}

fn filter_visible(row: Option<ObjectRow>, visible: Option<&[String]>) -> Result<Option<ObjectRow>, StoreError> {
    Ok(row.filter(|row| match (visible, &row.tenant_uuid) {
        (None, _) => true,
        (Some(tenants), Some(tenant)) => tenants.contains(tenant),
        // Tenant-less documents (transports, global settings) are readable by all.
        (Some(_), None) => true,
    }))
}

/// `tenant_uuid IS NULL OR tenant_uuid IN (…)` for `visible`, with its parameters.
fn visible_sql(visible: Option<&[String]>, params: &mut Vec<SqlValue>) -> String {
    match visible {
        None => "TRUE".to_string(),
        // An empty `IN ()` is SQLite's only: PostgreSQL refuses it.
        Some([]) => "tenant_uuid IS NULL".to_string(),
        Some(tenants) => {
            let marks: Vec<String> = tenants
                .iter()
                .map(|tenant| {
                    params.push(SqlValue::Text(tenant.clone()));
                    format!("?{}", params.len())
                })
                .collect();
            format!("(tenant_uuid IS NULL OR tenant_uuid IN ({}))", marks.join(", "))
        }
    }
}

pub(super) fn query_rows(conn: &Connection, sql: &str, params: &[SqlValue]) -> Result<Vec<ObjectRow>, StoreError> {
    conn.query_all(sql, params, |row| parse(row_to_object(row)?))
}

/// A row as stored: id, uuid, tenant and the document's text, unparsed.
pub type RawRow = (i64, Option<String>, Option<String>, String);

/// Every row of a kind, by id, its document unparsed (a caller that keeps
/// parsed documents parses only those whose text changed).
pub fn list_raw(conn: &Connection, kind: Kind) -> Result<Vec<RawRow>, StoreError> {
    conn.query_all(&format!("{SELECT} {} ORDER BY id", kind.table()), &[], row_to_object)
}

/// The rows of a kind whose tenant is among `tenants` (`""`: the rows
/// without a tenant), by id, documents unparsed.
pub fn list_raw_of(
    conn: &Connection,
    kind: Kind,
    tenants: &[String],
) -> Result<Vec<RawRow>, StoreError> {
    let named: Vec<SqlValue> = tenants.iter().filter(|tenant| !tenant.is_empty()).map(|tenant| SqlValue::Text(tenant.clone())).collect();
    let mut conditions = Vec::new();
    if !named.is_empty() {
        // Numbered placeholders: both dialects take them (an empty `IN ()` only SQLite).
        let placeholders: Vec<String> = (1..=named.len()).map(|n| format!("?{n}")).collect();
        conditions.push(format!("tenant_uuid IN ({})", placeholders.join(", ")));
    }
    if tenants.iter().any(String::is_empty) {
        conditions.push("tenant_uuid IS NULL".to_string());
    }
    if conditions.is_empty() {
        return Ok(Vec::new());
    }
    conn.query_all(&format!("{SELECT} {} WHERE {} ORDER BY id", kind.table(), conditions.join(" OR ")), &named, row_to_object)
}

/// The key [`tenant_changes_since`] gives when the tenant list changed.
pub const TENANTS_CHANGED: &str = "#tenants";

/// The tenants (`""`: rows without one; [`TENANTS_CHANGED`]: the tenant
/// list) with a change at or after `revision` (migration 12 stamps each
/// with the revision of its last change; indexed): what a pass that last
/// read `revision` has to read again.
pub fn tenant_changes_since(conn: &Connection, revision: u64) -> Result<std::collections::BTreeSet<String>, StoreError> {
    let rows = conn.query_all("SELECT tenant_uuid FROM tenant_changes WHERE changes >= ?1", params![revision as i64], |row| row.get::<String>(0))?;
    Ok(rows.into_iter().collect())
}

/// Every document of a kind whose tenant is among `visible` (`None` = all), by id.
pub fn list(conn: &Connection, kind: Kind, visible: Option<&[String]>) -> Result<Vec<ObjectRow>, StoreError> {
    let mut params = Vec::new();
    let visible = visible_sql(visible, &mut params);
    query_rows(conn, &format!("{SELECT} {} WHERE {visible} ORDER BY id", kind.table()), &params)
}

/// The documents of a kind whose `key` equals `value` (JSON equality), by id.
pub fn list_where(conn: &Connection, kind: Kind, key: &str, value: &Value, visible: Option<&[String]>) -> Result<Vec<ObjectRow>, StoreError> {
    let mut params = vec![sql_value(value)];
    let visible = visible_sql(visible, &mut params);
    let column = kind.column_sql(key);
    query_rows(conn, &format!("{SELECT} {} WHERE {column} = ?1 AND {visible} ORDER BY id", kind.table()), &params)
}

/// The first document (by id) whose `key` equals `value`.
pub fn find_where(conn: &Connection, kind: Kind, key: &str, value: &Value, visible: Option<&[String]>) -> Result<Option<ObjectRow>, StoreError> {
    let mut params = vec![sql_value(value)];
    let visible = visible_sql(visible, &mut params);
    let column = kind.column_sql(key);
    Ok(query_rows(conn, &format!("{SELECT} {} WHERE {column} = ?1 AND {visible} ORDER BY id LIMIT 1", kind.table()), &params)?.pop())
}

/// Whether another document of a kind (any tenant) has `key` = `value`:
/// an index lookup where the table has that column.
pub fn taken(conn: &Connection, kind: Kind, key: &str, value: &Value, except_id: i64) -> Result<bool, StoreError> {
    let column = kind.column_sql(key);
    conn.exists(&format!("SELECT 1 FROM {} WHERE {column} = ?1 AND id <> ?2 LIMIT 1", kind.table()), params![sql_value(value), except_id])
}

/// Whether a SIP section name (endpoint, template or transport: one
/// namespace) is held by an object other than `except` (a uuid).
pub fn sip_name_taken(conn: &Connection, name: &str, except: Option<&str>) -> Result<bool, StoreError> {
    conn.exists(
        "SELECT 1 FROM endpoint_sip WHERE name = ?1 AND uuid IS DISTINCT FROM ?2 \
         UNION ALL SELECT 1 FROM sip_templates WHERE name = ?1 AND uuid IS DISTINCT FROM ?2 \
         UNION ALL SELECT 1 FROM transports WHERE name = ?1 AND uuid IS DISTINCT FROM ?2 LIMIT 1",
        params![name, except],
    )
}

/// A list query answered by SQL: exact filters, a case-insensitive
/// substring search over some columns, order (with id breaking ties, as
/// a stable sort over rows by id does), limit and offset. Columns are SQL
/// expressions the caller built from a static list ([`Kind::column_sql`]).
pub struct Page<'a> {
    pub filters: Vec<(String, String)>,
    pub search: Option<(Vec<String>, String)>,
    pub order: String,
    pub descending: bool,
    pub limit: Option<usize>,
    pub offset: usize,
    pub visible: Option<&'a [String]>,
}

/// The text Wazo's list compares a column as: strings as they are,
/// booleans as `true`/`false`, numbers as written.
fn text_sql(dialect: Dialect, column: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("(CASE typeof({column}) WHEN 'text' THEN {column} WHEN 'null' THEN NULL ELSE CAST({column} AS TEXT) END)"),
        // Columns are typed; what `json_extract` reads is text already.
        Dialect::Postgres => format!("CAST({column} AS TEXT)"),
    }
}

/// Whether the trigram index can answer a search for `needle` (already
/// lowercased): three characters or more (a trigram), none that `LIKE`
/// treats specially or that separates the indexed columns.
fn trigram_needle(needle: &str) -> bool {
    needle.chars().count() >= 3 && needle.chars().all(|c| c.is_ascii_alphanumeric() || "-+.@#*!:/ ".contains(c))
}

/// The rows of one page and the total before paging.
pub fn page(conn: &Connection, kind: Kind, page: &Page) -> Result<(Vec<ObjectRow>, usize), StoreError> {
    let dialect = conn.dialect();
    let mut params = Vec::new();
    let mut conditions = vec![visible_sql(page.visible, &mut params)];
    for (column, wanted) in &page.filters {
        params.push(SqlValue::Text(wanted.clone()));
        conditions.push(format!("{} = ?{}", text_sql(dialect, column), params.len()));
    }
    if let Some((columns, needle)) = &page.search {
        let needle = needle.to_lowercase();
        let any: Vec<String> = if needle.is_ascii() {
            // SQLite's LIKE folds ASCII case, in C, with no copy per row
            // (PostgreSQL's ILIKE; the needle is ASCII).
            let escaped: String = needle.chars().flat_map(|c| if matches!(c, '%' | '_' | '\\') { vec!['\\', c] } else { vec![c] }).collect();
            params.push(SqlValue::Text(format!("%{escaped}%")));
            let n = params.len();
            let like = match dialect {
                Dialect::Sqlite => "LIKE",
                Dialect::Postgres => "ILIKE",
            };
            columns.iter().map(|column| format!("{} {like} ?{n} ESCAPE '\\'", text_sql(dialect, column))).collect()
        } else {
            params.push(SqlValue::Text(needle));
            let n = params.len();
            columns.iter().map(|column| format!("instr(pb_lower({}), ?{n}) > 0", text_sql(dialect, column))).collect()
        };
        conditions.push(format!("({})", any.join(" OR ")));
    }
    let table = kind.table();
    let filter = conditions.join(" AND ");
    let from = match &page.search {
        Some((_, needle)) if kind == Kind::Extension && trigram_needle(needle) => {
            // Candidates from the trigram index (id, number, context) and the
            // extensions of contexts whose type matches: a superset of the
            // rows the search (id, exten, context, type) keeps, which the
            // exact condition then checks, row by row, among a few.
            params.push(SqlValue::Text(format!("%{needle}%")));
            let n = params.len();
            let indexed = match dialect {
                Dialect::Sqlite => format!("SELECT rowid AS candidate FROM extensions_search WHERE text LIKE ?{n}"),
                Dialect::Postgres => format!("SELECT id AS candidate FROM extensions WHERE pb_extension_search(id, exten, context) ILIKE ?{n}"),
            };
            // SQLite's CROSS JOIN keeps the candidates the outer loop.
            let (like, join) = match dialect {
                Dialect::Sqlite => ("LIKE", "CROSS JOIN"),
                Dialect::Postgres => ("ILIKE", "JOIN"),
            };
            format!(
                "({indexed} UNION SELECT id FROM extensions WHERE context IN (SELECT name FROM contexts WHERE type {like} ?{n})) AS candidates \
                 {join} extensions ON extensions.id = candidates.candidate"
            )
        }
        _ => table.to_string(),
    };
    let total: i64 = conn.query_row(&format!("SELECT COUNT(*) FROM {from} WHERE {filter}"), &params, |row| row.get(0))?;
    let direction = if page.descending { "DESC" } else { "ASC" };
    // SQLite sorts NULL first, then numbers, then text (bytes): the order
    // the in-memory list used (null < numbers; strings by bytes).
    // PostgreSQL is told where NULLs go; its text columns are `COLLATE "C"`.
    let nulls = match (dialect, page.descending) {
        (Dialect::Sqlite, _) => "",
        (Dialect::Postgres, false) => " NULLS FIRST",
        (Dialect::Postgres, true) => " NULLS LAST",
    };
    let limit = match (page.limit, dialect) {
        (Some(limit), _) => limit.to_string(),
        (None, Dialect::Sqlite) => "-1".to_string(),
        (None, Dialect::Postgres) => "ALL".to_string(),
    };
    let sql = format!(
        "{SELECT} {from} WHERE {filter} ORDER BY {order} {direction}{nulls}, id {direction} LIMIT {limit} OFFSET {offset}",
        order = page.order,
        offset = page.offset
    );
    Ok((query_rows(conn, &sql, &params)?, total as usize))
}
