//! Builds the domain [`Snapshot`] (all tenants, all objects) from the stored
//! documents: the one input of rendering, simulation and lint.

use crate::store::{Kind, ObjectRow, StoreError, objects, people};
use patchbay_shared::model::{Snapshot, Tenant};
use crate::store::Connection;
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

/// Parsed documents kept between loads, per kind by id with the row they
/// were parsed from: a load still reads every row (cheap), but parses only
/// the documents whose stored text changed since the last load. The sync
/// loads the whole database on every pass: parsing it all cost what the
/// server holds.
#[derive(Default)]
pub struct SnapshotCache {
    contexts: Kept<patchbay_shared::model::Context>,
    extensions: Kept<patchbay_shared::model::Extension>,
    trunks: Kept<patchbay_shared::model::Trunk>,
    endpoints_sip: Kept<patchbay_shared::model::EndpointSip>,
    sip_templates: Kept<patchbay_shared::model::SipTemplate>,
    transports: Kept<patchbay_shared::model::Transport>,
    endpoints_iax: Kept<patchbay_shared::model::EndpointIax>,
    endpoints_custom: Kept<patchbay_shared::model::EndpointCustom>,
    outcalls: Kept<patchbay_shared::model::Outcall>,
    incalls: Kept<patchbay_shared::model::Incall>,
    users: Kept<patchbay_shared::model::User>,
    lines: Kept<patchbay_shared::model::Line>,
}

type Kept<T> = std::collections::HashMap<i64, (objects::RawRow, T)>;

/// The documents of `kind`, parsing only rows not in `kept` as they are.
fn load_kept<T: DeserializeOwned + Clone>(conn: &Connection, kind: Kind, by_uuid: bool, kept: &mut Kept<T>) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    let mut now = Kept::with_capacity(kept.len());
    for raw in objects::list_raw(conn, kind)? {
        let object = match kept.remove(&raw.0) {
            Some((before, object)) if before == raw => object,
            _ => {
                let (id, uuid, tenant_uuid, body) = raw.clone();
                let row = ObjectRow { id, uuid, tenant_uuid, body: serde_json::from_str(&body)? };
                serde_json::from_value(document(&row, by_uuid))?
            }
        };
        out.push(object.clone());
        now.insert(raw.0, (raw, object));
    }
    *kept = now;
    Ok(out)
}

/// [`load_snapshot`], parsing only what changed since the last load with
/// the same `cache`: the same snapshot.
#[allow(clippy::needless_update)]
pub fn load_snapshot_cached(conn: &Connection, cache: &mut SnapshotCache) -> Result<Snapshot, StoreError> {
    let rows = |kind| objects::list(conn, kind, None);
    Ok(Snapshot {
        tenants: people::tenants(conn)?
            .into_iter()
            .map(|tenant| Tenant { uuid: tenant.uuid, name: tenant.name, slug: tenant.slug })
            .collect(),
        contexts: load_kept(conn, Kind::Context, false, &mut cache.contexts)?,
        extensions: load_kept(conn, Kind::Extension, false, &mut cache.extensions)?,
        trunks: load_kept(conn, Kind::Trunk, false, &mut cache.trunks)?,
        endpoints_sip: load_kept(conn, Kind::EndpointSip, true, &mut cache.endpoints_sip)?,
        sip_templates: load_kept(conn, Kind::SipTemplate, true, &mut cache.sip_templates)?,
        transports: load_kept(conn, Kind::Transport, true, &mut cache.transports)?,
        endpoints_iax: load_kept(conn, Kind::EndpointIax, false, &mut cache.endpoints_iax)?,
        endpoints_custom: load_kept(conn, Kind::EndpointCustom, false, &mut cache.endpoints_custom)?,
        outcalls: load_kept(conn, Kind::Outcall, false, &mut cache.outcalls)?,
        incalls: load_kept(conn, Kind::Incall, false, &mut cache.incalls)?,
        users: load_kept(conn, Kind::User, false, &mut cache.users)?,
        lines: load_kept(conn, Kind::Line, false, &mut cache.lines)?,
        pjsip_global: settings(&rows, 1)?,
        pjsip_system: settings(&rows, 2)?,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use serde_json::json;

    #[test]
    fn a_cached_load_is_the_full_load_after_inserts_updates_and_deletes() {
        let path = std::env::temp_dir().join(format!("patchbay-snapshot-cache-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let store = Store::open(&path).unwrap();
        let tenant = people::Tenant { uuid: "t1".into(), name: "One".into(), slug: "one".into(), parent_uuid: None };
        let context = |id: i64, label: &str| ObjectRow {
            id,
            uuid: None,
            tenant_uuid: Some("t1".into()),
            body: json!({"name": format!("ctx-{id}"), "label": label, "type": "internal"}),
        };
        store
            .write(|tx| {
                people::insert_tenant(tx, &tenant)?;
                objects::insert(tx, Kind::Context, &context(1, "a"))?;
                objects::insert(tx, Kind::Context, &context(2, "b"))
            })
            .unwrap();
        let mut cache = SnapshotCache::default();
        let same = |cache: &mut SnapshotCache| store.read(|conn| Ok::<_, StoreError>((load_snapshot(conn)?, load_snapshot_cached(conn, cache)?))).unwrap();
        let (full, cached) = same(&mut cache);
        assert_eq!(full, cached);
        assert_eq!(cached.contexts.len(), 2);
        store.write(|tx| objects::update_body(tx, Kind::Context, 2, &json!({"name": "ctx-2", "label": "changed", "type": "internal"}))).unwrap();
        store.write(|tx| objects::insert(tx, Kind::Context, &context(3, "c"))).unwrap();
        let (full, cached) = same(&mut cache);
        assert_eq!(full, cached, "a changed row is parsed again, a new one parsed");
        assert_eq!(cached.contexts[1].label, "changed");
        store.write(|tx| objects::delete(tx, Kind::Context, 1)).unwrap();
        let (full, cached) = same(&mut cache);
        assert_eq!(full, cached, "a deleted row is gone");
        assert_eq!(cached.contexts.len(), 2);
        let _ = std::fs::remove_file(&path);
    }
}
