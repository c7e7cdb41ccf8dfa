//! Incall queries.

use super::StoreError;
use super::objects::{self, Kind, ObjectRow};
use super::db::Connection;
use serde_json::json;

/// The incalls of `tenant` whose destination is the user `user_id`, by id
/// (`incalls.user_id` is indexed).
pub fn ringing_user(conn: &Connection, user_id: i64, tenant: &str) -> Result<Vec<ObjectRow>, StoreError> {
    let tenant = [tenant.to_string()];
    Ok(objects::list_where(conn, Kind::Incall, "destination.user_id", &json!(user_id), Some(&tenant))?
        .into_iter()
        .filter(|incall| incall.body["destination"]["type"] == "user" && incall.body["destination"]["user_id"].as_i64() == Some(user_id))
        .collect())
}
