//! Outcall queries.

use super::StoreError;
use super::objects::{ObjectRow, query_rows};
use super::db::{Connection, Value as SqlValue};

/// The outcall whose extension list holds `extension_id` (`outcall_extensions`).
pub fn of_extension(conn: &Connection, extension_id: i64) -> Result<Option<ObjectRow>, StoreError> {
    Ok(query_rows(
        conn,
        "SELECT id, uuid, tenant_uuid, body FROM outcalls WHERE id IN (SELECT outcall_id FROM outcall_extensions WHERE extension_id = ?1) ORDER BY id LIMIT 1",
        &[SqlValue::Integer(extension_id)],
    )?
    .pop())
}
