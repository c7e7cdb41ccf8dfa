//! Line queries (`lines.user_id`, `lines.extension_id` and the endpoint
//! are indexed columns).

use super::StoreError;
use super::objects::{self, Kind, ObjectRow};
use super::db::Connection;
use serde_json::json;

/// The line a SIP endpoint is attached to, if any.
pub fn of_endpoint(conn: &Connection, uuid: &str) -> Result<Option<ObjectRow>, StoreError> {
    objects::find_where(conn, Kind::Line, "endpoint_sip.uuid", &json!(uuid), None)
}

/// The lines of a user, by id.
pub fn of_user(conn: &Connection, user_id: i64) -> Result<Vec<ObjectRow>, StoreError> {
    objects::list_where(conn, Kind::Line, "user_id", &json!(user_id), None)
}

/// The SIP endpoint a line is attached to.
pub fn endpoint(conn: &Connection, line: &ObjectRow) -> Result<Option<ObjectRow>, StoreError> {
    match line.body["endpoint_sip"]["uuid"].as_str() {
        Some(uuid) => objects::get_by_uuid(conn, Kind::EndpointSip, uuid, None),
        None => Ok(None),
    }
}

/// A line's name: its endpoint's, as in Wazo (null without one).
pub fn name(conn: &Connection, line: &ObjectRow) -> Result<serde_json::Value, StoreError> {
    Ok(endpoint(conn, line)?.map(|e| e.body["name"].clone()).unwrap_or(serde_json::Value::Null))
}
