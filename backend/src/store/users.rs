//! User queries.

use super::StoreError;
use super::objects::{self, Kind, ObjectRow};
use super::db::Connection;

/// One user by id, whatever its tenant (relations name users by id).
pub fn by_id(conn: &Connection, id: i64) -> Result<Option<ObjectRow>, StoreError> {
    objects::get(conn, Kind::User, id, None)
}
