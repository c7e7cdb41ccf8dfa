//! Builds the domain [`Snapshot`] (all tenants, all objects) from the stored
//! documents: the one input of rendering, simulation and lint.

use crate::store::{Kind, ObjectRow, StoreError, objects, people};
use patchbay_shared::model::{Snapshot, Tenant};
use rusqlite::Connection;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

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

fn load<T: DeserializeOwned>(conn: &Connection, kind: Kind, by_uuid: bool) -> Result<Vec<T>, StoreError> {
    objects::list(conn, kind, None)?
        .iter()
        .map(|row| Ok(serde_json::from_value(document(row, by_uuid))?))
        .collect()
}

// `..Snapshot::default()` stays so that a field added to the shared model
// defaults here until it is stored.
#[allow(clippy::needless_update)]
pub fn load_snapshot(conn: &Connection) -> Result<Snapshot, StoreError> {
    Ok(Snapshot {
        tenants: people::tenants(conn)?
            .into_iter()
            .map(|tenant| Tenant { uuid: tenant.uuid, name: tenant.name, slug: tenant.slug })
            .collect(),
        contexts: load(conn, Kind::Context, false)?,
        extensions: load(conn, Kind::Extension, false)?,
        trunks: load(conn, Kind::Trunk, false)?,
        endpoints_sip: load(conn, Kind::EndpointSip, true)?,
        sip_templates: load(conn, Kind::SipTemplate, true)?,
        transports: load(conn, Kind::Transport, true)?,
        endpoints_iax: load(conn, Kind::EndpointIax, false)?,
        endpoints_custom: load(conn, Kind::EndpointCustom, false)?,
        outcalls: load(conn, Kind::Outcall, false)?,
        incalls: load(conn, Kind::Incall, false)?,
        users: load(conn, Kind::User, false)?,
        lines: load(conn, Kind::Line, false)?,
        pjsip_global: settings(conn, 1)?,
        pjsip_system: settings(conn, 2)?,
        ..Snapshot::default()
    })
}

/// `/asterisk/pjsip/global` (id 1) and `/asterisk/pjsip/system` (id 2).
fn settings<T: DeserializeOwned + Default>(conn: &Connection, id: i64) -> Result<T, StoreError> {
    match objects::get(conn, Kind::Settings, id, None)? {
        Some(row) => Ok(serde_json::from_value(row.body)?),
        None => Ok(T::default()),
    }
}
