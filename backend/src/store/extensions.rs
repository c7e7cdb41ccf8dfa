//! Extension queries: duplicates, owners and the type of an extension's
//! context, each an index lookup.

use super::StoreError;
use super::objects::{self, Kind, ObjectRow};
use super::db::{Connection, params};
use serde_json::json;

/// Whether another extension (any tenant) has this number in this context
/// (the `extensions_exten_context` unique index).
pub fn taken(conn: &Connection, exten: &str, context: &str, except_id: i64) -> Result<bool, StoreError> {
    conn.exists("SELECT 1 FROM extensions WHERE exten = ?1 AND context = ?2 AND id <> ?3", params![exten, context, except_id])
}

/// What an extension is bound to: `outcall`, `incall`, `line` or `group`,
/// and that row (`outcall_extensions`, `incalls.extension_id`,
/// `lines.extension_id`, `groups.extension_id`).
pub fn owner(conn: &Connection, ext_id: i64) -> Result<Option<(&'static str, ObjectRow)>, StoreError> {
    if let Some(outcall) = super::outcalls::of_extension(conn, ext_id)? {
        return Ok(Some(("outcall", outcall)));
    }
    if let Some(incall) = objects::find_where(conn, Kind::Incall, "extension_id", &json!(ext_id), None)? {
        return Ok(Some(("incall", incall)));
    }
    if let Some(line) = objects::find_where(conn, Kind::Line, "extension_id", &json!(ext_id), None)? {
        return Ok(Some(("line", line)));
    }
    if let Some(group) = super::groups::of_extension(conn, ext_id)? {
        return Ok(Some(("group", group)));
    }
    Ok(None)
}
