//! Group queries (`groups.extension_id` is an indexed column; members are
//! the `group_members` association, kept from the documents by triggers).

use super::StoreError;
use super::db::{Connection, Value as SqlValue};
use super::objects::{self, Kind, ObjectRow, query_rows};
use serde_json::json;

/// The group an extension rings, if any.
pub fn of_extension(conn: &Connection, extension_id: i64) -> Result<Option<ObjectRow>, StoreError> {
    objects::find_where(conn, Kind::Group, "extension_id", &json!(extension_id), None)
}

/// The groups of `tenant` a user is a member of, by id (`group_members.user_id`).
pub fn of_user(conn: &Connection, user_id: i64, tenant: &str) -> Result<Vec<ObjectRow>, StoreError> {
    query_rows(
        conn,
        "SELECT id, uuid, tenant_uuid, body FROM groups WHERE tenant_uuid = ?1 AND id IN (SELECT group_id FROM group_members WHERE user_id = ?2) ORDER BY id",
        &[SqlValue::Text(tenant.to_string()), SqlValue::Integer(user_id)],
    )
}

/// The incalls of `tenant` whose destination is the group `group_id`, by id.
pub fn incalls_ringing(conn: &Connection, group_id: i64, tenant: &str) -> Result<Vec<ObjectRow>, StoreError> {
    let tenant = [tenant.to_string()];
    Ok(objects::list_where(conn, Kind::Incall, "destination.group_id", &json!(group_id), Some(&tenant))?
        .into_iter()
        .filter(|incall| incall.body["destination"]["type"] == "group")
        .collect())
}
