//! Builds the domain [`Snapshot`] (all tenants, all objects) from the stored
//! documents: the one input of rendering, simulation and lint.

use crate::store::{Kind, ObjectRow, StoreError, objects, people};
use patchbay_shared::model::{Snapshot, Tenant};
use rusqlite::Connection;
use serde::de::DeserializeOwned;

/// Kept here under its old name: the snapshot is built from it.
pub use crate::store::objects::document;

fn load<T: DeserializeOwned>(rows: &impl Fn(Kind) -> Result<Vec<ObjectRow>, StoreError>, kind: Kind, by_uuid: bool) -> Result<Vec<T>, StoreError> {
    rows(kind)?.iter().map(|row| Ok(serde_json::from_value(document(row, by_uuid))?)).collect()
}

pub fn load_snapshot(conn: &Connection) -> Result<Snapshot, StoreError> {
    load_snapshot_from(conn, |kind| objects::list(conn, kind, None))
}

/// The snapshot from `rows` (every row of a kind, by id) and the tenants of
/// `conn`: the migration test reads a schema-3 `objects` table through it.
// `..Snapshot::default()` stays so that a field added to the shared model
// defaults here until it is stored.
#[allow(clippy::needless_update)]
pub fn load_snapshot_from(conn: &Connection, rows: impl Fn(Kind) -> Result<Vec<ObjectRow>, StoreError>) -> Result<Snapshot, StoreError> {
    let rows = &rows;
    Ok(Snapshot {
        tenants: people::tenants(conn)?
            .into_iter()
            .map(|tenant| Tenant { uuid: tenant.uuid, name: tenant.name, slug: tenant.slug })
            .collect(),
        contexts: load(rows, Kind::Context, false)?,
        extensions: load(rows, Kind::Extension, false)?,
        trunks: load(rows, Kind::Trunk, false)?,
        endpoints_sip: load(rows, Kind::EndpointSip, true)?,
        sip_templates: load(rows, Kind::SipTemplate, true)?,
        transports: load(rows, Kind::Transport, true)?,
        endpoints_iax: load(rows, Kind::EndpointIax, false)?,
        endpoints_custom: load(rows, Kind::EndpointCustom, false)?,
        outcalls: load(rows, Kind::Outcall, false)?,
        incalls: load(rows, Kind::Incall, false)?,
        users: load(rows, Kind::User, false)?,
        lines: load(rows, Kind::Line, false)?,
        pjsip_global: settings(rows, 1)?,
        pjsip_system: settings(rows, 2)?,
        ..Snapshot::default()
    })
}

/// `/asterisk/pjsip/global` (id 1) and `/asterisk/pjsip/system` (id 2).
fn settings<T: DeserializeOwned + Default>(rows: &impl Fn(Kind) -> Result<Vec<ObjectRow>, StoreError>, id: i64) -> Result<T, StoreError> {
    match rows(Kind::Settings)?.into_iter().find(|row| row.id == id) {
        Some(row) => Ok(serde_json::from_value(row.body)?),
        None => Ok(T::default()),
    }
}
