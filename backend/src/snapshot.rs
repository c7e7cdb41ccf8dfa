//! Builds the domain [`Snapshot`] (all tenants, all objects) from the stored
//! documents: the one input of rendering, simulation and lint.

use crate::store::{Kind, ObjectRow, StoreError, objects, people};
use patchbay_shared::model::{Snapshot, Tenant, TrunkEndpoint};
use patchbay_shared::tenancy;
use crate::store::Connection;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, BTreeSet};

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
        groups: load(rows, Kind::Group, false)?,
        pjsip_global: settings(rows, 1)?,
        pjsip_system: settings(rows, 2)?,
        ..Snapshot::default()
    })
}

/// Parsed documents kept between loads, per kind by id with the row they
/// were parsed from: a load still reads every row (cheap), but parses only
/// the documents whose stored text changed since the last load, and says
/// which tenants those were ([`Changes`]), so the sync renders only them.
#[derive(Default)]
pub struct SnapshotCache {
    tenants: Vec<Tenant>,
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
    groups: Kept<patchbay_shared::model::Group>,
    pjsip_global: patchbay_shared::model::PjsipGlobal,
    pjsip_system: patchbay_shared::model::PjsipSystem,
    /// Tenants owning a trunk shared with others, as of the last load.
    sharing: BTreeSet<String>,
    /// The store revision the last load read (`None` before the first):
    /// the next reads again what changed at or after it
    /// (`store::objects::tenant_changes_since`).
    seen_revision: Option<u64>,
    /// See [`SnapshotCache::tenants_generation`]; 0 while no tenant was
    /// loaded.
    tenants_generation: u64,
}

/// Generations are unique across caches: a cache made again (a new sync
/// session) never repeats one an earlier cache gave for other tenants.
static TENANTS_GENERATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn next_tenants_generation() -> u64 {
    TENANTS_GENERATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
}

/// What a load found changed since the previous load with the same cache.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Tenants with a row added, changed or removed (before and after a
    /// row changed tenant), or themselves added, renamed or removed.
    pub tenants: BTreeSet<String>,
    /// Something every tenant's configuration may depend on changed: a
    /// row without a tenant (transports, PJSIP settings), or a tenant that
    /// shares trunks with others (their outcalls dial its trunks).
    pub shared: bool,
}

/// By id (sorted, as the full load reads them): the row and its document.
type Kept<T> = std::collections::BTreeMap<i64, (objects::RawRow, T)>;

/// Reads the rows of `kind` (every row, or with `only` those of these
/// tenants, `""` meaning rows without a tenant), parsing only rows not in
/// `kept` as they are, and notes in `changes` the tenants of what changed.
fn load_kept<T: DeserializeOwned>(
    conn: &Connection,
    kind: Kind,
    by_uuid: bool,
    kept: &mut Kept<T>,
    only: Option<&[String]>,
    changes: &mut Changes,
) -> Result<(), StoreError> {
    let note = |tenant: &Option<String>, changes: &mut Changes| match tenant {
        Some(tenant) if kind != Kind::Transport => {
            changes.tenants.insert(tenant.clone());
        }
        _ => changes.shared = true,
    };
    let (rows, mut before) = match only {
        None => (objects::list_raw(conn, kind)?, std::mem::take(kept)),
        Some(tenants) => {
            // The kept rows of these tenants are the ones to compare; the
            // others stay as they are.
            let of = |raw: &objects::RawRow| {
                tenants
                    .iter()
                    .any(|tenant| raw.2.as_deref().unwrap_or_default() == tenant.as_str())
            };
            let ids: Vec<i64> = kept
                .iter()
                .filter(|(_, (raw, _))| of(raw))
                .map(|(id, _)| *id)
                .collect();
            let before: Kept<T> = ids
                .into_iter()
                .filter_map(|id| kept.remove_entry(&id))
                .collect();
            (objects::list_raw_of(conn, kind, tenants)?, before)
        }
    };
    for raw in rows {
        let entry = match before.remove(&raw.0) {
            Some((old, object)) if old == raw => (old, object),
            old => {
                if let Some((old, _)) = &old {
                    note(&old.2, changes);
                }
                // A row that moved here from a tenant not read: drop its old copy.
                if let Some((old, _)) = kept.remove(&raw.0) {
                    note(&old.2, changes);
                }
                note(&raw.2, changes);
                let (id, uuid, tenant_uuid, body) = raw.clone();
                let row = ObjectRow {
                    id,
                    uuid,
                    tenant_uuid,
                    body: serde_json::from_str(&body)?,
                };
                (raw, serde_json::from_value(document(&row, by_uuid))?)
            }
        };
        kept.insert(entry.0.0, entry);
    }
    for (gone, _) in before.values() {
        note(&gone.2, changes);
    }
    Ok(())
}

impl SnapshotCache {
    /// Brings the cache level with the database and says what changed.
    pub fn load(&mut self, conn: &Connection) -> Result<Changes, StoreError> {
        let mut changes = Changes::default();
        // What changed since the revision the last load read (migration
        // 12's stamps): the tenants to read again, and whether the tenant
        // list itself changed. Everything at the first load.
        let revision = crate::store::revision(conn)?;
        let moved: Option<BTreeSet<String>> = match self.seen_revision {
            Some(seen) => Some(objects::tenant_changes_since(conn, seen)?),
            None => None,
        };
        self.seen_revision = Some(revision);
        let tenants_moved = moved.as_ref().is_none_or(|moved| moved.contains(objects::TENANTS_CHANGED));
        let tenants: Vec<Tenant> = if !tenants_moved {
            Vec::new()
        } else {
            people::tenants(conn)?
                .into_iter()
                .map(|tenant| Tenant {
                    uuid: tenant.uuid,
                    name: tenant.name,
                    slug: tenant.slug,
                })
                .collect()
        };
        if tenants_moved && tenants != self.tenants {
            let key = |tenant: &Tenant| {
                (
                    tenant.uuid.clone(),
                    tenant.name.clone(),
                    tenant.slug.clone(),
                )
            };
            let before: BTreeSet<_> = self.tenants.iter().map(key).collect();
            let after: BTreeSet<_> = tenants.iter().map(key).collect();
            changes.tenants.extend(
                before
                    .symmetric_difference(&after)
                    .map(|(uuid, _, _)| uuid.clone()),
            );
            self.tenants = tenants;
            self.tenants_generation = next_tenants_generation();
        }
        // Only the rows of the tenants changed since are read again (every
        // row at the first load).
        let moved: Option<Vec<String>> = moved.map(|moved| moved.into_iter().filter(|tenant| tenant != objects::TENANTS_CHANGED).collect());
        let only = moved.as_deref();
        if only.is_none_or(|moved| !moved.is_empty()) {
            load_kept(
                conn,
                Kind::Context,
                false,
                &mut self.contexts,
                only,
                &mut changes,
            )?;
            load_kept(
                conn,
                Kind::Extension,
                false,
                &mut self.extensions,
                only,
                &mut changes,
            )?;
            load_kept(
                conn,
                Kind::Trunk,
                false,
                &mut self.trunks,
                only,
                &mut changes,
            )?;
            load_kept(
                conn,
                Kind::EndpointSip,
                true,
                &mut self.endpoints_sip,
                only,
                &mut changes,
            )?;
            load_kept(
                conn,
                Kind::SipTemplate,
                true,
                &mut self.sip_templates,
                only,
                &mut changes,
            )?;
            load_kept(
                conn,
                Kind::Transport,
                true,
                &mut self.transports,
                only,
                &mut changes,
            )?;
            load_kept(
                conn,
                Kind::EndpointIax,
                false,
                &mut self.endpoints_iax,
                only,
                &mut changes,
            )?;
            load_kept(
                conn,
                Kind::EndpointCustom,
                false,
                &mut self.endpoints_custom,
                only,
                &mut changes,
            )?;
            load_kept(
                conn,
                Kind::Outcall,
                false,
                &mut self.outcalls,
                only,
                &mut changes,
            )?;
            load_kept(
                conn,
                Kind::Incall,
                false,
                &mut self.incalls,
                only,
                &mut changes,
            )?;
            load_kept(conn, Kind::User, false, &mut self.users, only, &mut changes)?;
            load_kept(conn, Kind::Line, false, &mut self.lines, only, &mut changes)?;
            load_kept(conn, Kind::Group, false, &mut self.groups, only, &mut changes)?;
        }
        if only.is_none_or(|moved| !moved.is_empty()) {
            let rows = |kind| objects::list(conn, kind, None);
            let (global, system) = (settings(&rows, 1)?, settings(&rows, 2)?);
            if global != self.pjsip_global || system != self.pjsip_system {
                changes.shared = true;
                (self.pjsip_global, self.pjsip_system) = (global, system);
            }
        }
        let sharing: BTreeSet<String> = self
            .trunks
            .values()
            .filter(|(_, trunk)| !trunk.shared_with.is_empty())
            .map(|(_, trunk)| trunk.tenant_uuid.clone())
            .collect();
        if sharing != self.sharing
            || changes
                .tenants
                .iter()
                .any(|tenant| sharing.contains(tenant))
        {
            changes.shared = true;
        }
        self.sharing = sharing;
        Ok(changes)
    }

    /// Every tenant's uuid.
    pub fn tenant_uuids(&self) -> impl Iterator<Item = &str> {
        self.tenants.iter().map(|tenant| tenant.uuid.as_str())
    }

    /// Moves on whenever the tenant list (uuids, names, slugs) changes.
    pub fn tenants_generation(&self) -> u64 {
        self.tenants_generation
    }

    /// Every tenant's slug, by uuid.
    pub fn tenant_slugs(&self) -> BTreeMap<String, String> {
        self.tenants.iter().map(|tenant| (tenant.uuid.clone(), tenant.slug.clone())).collect()
    }

    /// The whole snapshot.
    #[allow(clippy::needless_update)]
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            tenants: self.tenants.clone(),
            contexts: all_of(&self.contexts),
            extensions: all_of(&self.extensions),
            trunks: all_of(&self.trunks),
            endpoints_sip: all_of(&self.endpoints_sip),
            sip_templates: all_of(&self.sip_templates),
            transports: all_of(&self.transports),
            endpoints_iax: all_of(&self.endpoints_iax),
            endpoints_custom: all_of(&self.endpoints_custom),
            outcalls: all_of(&self.outcalls),
            incalls: all_of(&self.incalls),
            users: all_of(&self.users),
            lines: all_of(&self.lines),
            groups: all_of(&self.groups),
            pjsip_global: self.pjsip_global.clone(),
            pjsip_system: self.pjsip_system.clone(),
            ..Snapshot::default()
        }
    }

    /// What no tenant owns: transports and the PJSIP settings.
    #[allow(clippy::needless_update)]
    pub fn shared(&self) -> Snapshot {
        Snapshot {
            transports: all_of(&self.transports),
            pjsip_global: self.pjsip_global.clone(),
            pjsip_system: self.pjsip_system.clone(),
            ..Snapshot::default()
        }
    }

    /// For each tenant of `on`, the snapshot of that tenant alone with what
    /// it uses of others (`fleet::restrict`): one walk over the kept
    /// documents, cloning only those tenants' documents and the sharing
    /// tenants', so rendering a few tenants costs what they hold.
    pub fn per_tenant(&self, on: &BTreeSet<String>) -> BTreeMap<String, Snapshot> {
        if on.is_empty() {
            return BTreeMap::new();
        }
        let mut out: BTreeMap<String, Snapshot> = on
            .iter()
            .map(|tenant| {
                let snapshot = Snapshot {
                    pjsip_global: self.pjsip_global.clone(),
                    pjsip_system: self.pjsip_system.clone(),
                    ..Snapshot::default()
                };
                (tenant.clone(), snapshot)
            })
            .collect();
        // A tenant's row goes to its own snapshot; a sharing tenant's row
        // (and a row without a tenant) to every snapshot, trimmed below.
        fn deal<T: Clone>(
            kept: &Kept<T>,
            out: &mut BTreeMap<String, Snapshot>,
            sharing: &BTreeSet<String>,
            field: fn(&mut Snapshot) -> &mut Vec<T>,
        ) {
            for (raw, object) in kept.values() {
                match raw.2.as_deref() {
                    Some(tenant) if !sharing.contains(tenant) => {
                        if let Some(snapshot) = out.get_mut(tenant) {
                            field(snapshot).push(object.clone());
                        }
                    }
                    _ => out
                        .values_mut()
                        .for_each(|snapshot| field(snapshot).push(object.clone())),
                }
            }
        }
        let sharing = &self.sharing;
        for tenant in &self.tenants {
            if sharing.contains(&tenant.uuid) {
                out.values_mut()
                    .for_each(|snapshot| snapshot.tenants.push(tenant.clone()));
            } else if let Some(snapshot) = out.get_mut(&tenant.uuid) {
                snapshot.tenants.push(tenant.clone());
            }
        }
        deal(&self.contexts, &mut out, sharing, |s| &mut s.contexts);
        deal(&self.extensions, &mut out, sharing, |s| &mut s.extensions);
        deal(&self.trunks, &mut out, sharing, |s| &mut s.trunks);
        deal(&self.endpoints_sip, &mut out, sharing, |s| {
            &mut s.endpoints_sip
        });
        deal(&self.sip_templates, &mut out, sharing, |s| {
            &mut s.sip_templates
        });
        for snapshot in out.values_mut() {
            snapshot.transports = all_of(&self.transports);
        }
        deal(&self.endpoints_iax, &mut out, sharing, |s| {
            &mut s.endpoints_iax
        });
        deal(&self.endpoints_custom, &mut out, sharing, |s| {
            &mut s.endpoints_custom
        });
        deal(&self.outcalls, &mut out, sharing, |s| &mut s.outcalls);
        deal(&self.incalls, &mut out, sharing, |s| &mut s.incalls);
        deal(&self.users, &mut out, sharing, |s| &mut s.users);
        deal(&self.lines, &mut out, sharing, |s| &mut s.lines);
        deal(&self.groups, &mut out, sharing, |s| &mut s.groups);
        for (tenant, snapshot) in out.iter_mut() {
            if !self.sharing.is_empty() {
                *snapshot = restrict(snapshot, &BTreeSet::from([tenant.clone()]));
            }
        }
        out
    }
}

/// `snapshot` with only the objects of the tenants `on`, plus what they
/// need that another tenant owns: the trunks shared with them
/// (`tenancy::trunk_usable_by`) with their endpoint, its templates and the
/// context its calls land in. Transports and the PJSIP settings are
/// everyone's.
pub fn restrict(snapshot: &Snapshot, on: &BTreeSet<String>) -> Snapshot {
    let mine = |tenant: &str| on.contains(tenant);
    let shared: Vec<_> = snapshot
        .trunks
        .iter()
        .filter(|trunk| !mine(&trunk.tenant_uuid) && on.iter().any(|tenant| tenancy::trunk_usable_by(trunk, tenant)))
        .collect();
    let mut sip = BTreeSet::new();
    let mut iax = BTreeSet::new();
    let mut custom = BTreeSet::new();
    let mut contexts = BTreeSet::new();
    let mut owners = BTreeSet::new();
    for trunk in &shared {
        owners.insert(trunk.tenant_uuid.clone());
        contexts.extend(trunk.context.clone());
        match &trunk.endpoint {
            Some(TrunkEndpoint::Sip(uuid)) => {
                sip.insert(uuid.clone());
            }
            Some(TrunkEndpoint::Iax(id)) => {
                iax.insert(*id);
            }
            Some(TrunkEndpoint::Custom(id)) => {
                custom.insert(*id);
            }
            None => {}
        }
    }
    let templates: BTreeSet<String> = snapshot
        .endpoints_sip
        .iter()
        .filter(|endpoint| sip.contains(&endpoint.uuid))
        .flat_map(|endpoint| endpoint.templates.iter().map(|template| template.uuid.clone()))
        .collect();
    let mut out = snapshot.clone();
    out.tenants.retain(|tenant| mine(&tenant.uuid) || owners.contains(&tenant.uuid));
    out.contexts.retain(|o| mine(&o.tenant_uuid) || (owners.contains(&o.tenant_uuid) && contexts.contains(&o.name)));
    out.extensions.retain(|o| mine(&o.tenant_uuid));
    out.trunks.retain(|o| mine(&o.tenant_uuid) || shared.iter().any(|trunk| trunk.id == o.id));
    out.endpoints_sip.retain(|o| mine(&o.tenant_uuid) || sip.contains(&o.uuid));
    out.sip_templates.retain(|o| mine(&o.tenant_uuid) || templates.contains(&o.uuid));
    out.endpoints_iax.retain(|o| mine(&o.tenant_uuid) || iax.contains(&o.id));
    out.endpoints_custom.retain(|o| mine(&o.tenant_uuid) || custom.contains(&o.id));
    out.outcalls.retain(|o| mine(&o.tenant_uuid));
    out.incalls.retain(|o| mine(&o.tenant_uuid));
    out.users.retain(|o| mine(&o.tenant_uuid));
    out.lines.retain(|o| mine(&o.tenant_uuid));
    out.groups.retain(|o| mine(&o.tenant_uuid));
    out
}

#[cfg(test)]
impl SnapshotCache {
    /// A cache holding `snapshot` as if loaded (rows numbered in order,
    /// each with its document's tenant).
    pub fn of_snapshot(snapshot: &Snapshot) -> SnapshotCache {
        fn kept<T: Clone>(items: &[T], tenant: impl Fn(&T) -> Option<String>) -> Kept<T> {
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    (
                        i as i64,
                        ((i as i64, None, tenant(item), String::new()), item.clone()),
                    )
                })
                .collect()
        }
        let cache = SnapshotCache {
            tenants_generation: next_tenants_generation(),
            tenants: snapshot.tenants.clone(),
            contexts: kept(&snapshot.contexts, |o| Some(o.tenant_uuid.clone())),
            extensions: kept(&snapshot.extensions, |o| Some(o.tenant_uuid.clone())),
            trunks: kept(&snapshot.trunks, |o| Some(o.tenant_uuid.clone())),
            endpoints_sip: kept(&snapshot.endpoints_sip, |o| Some(o.tenant_uuid.clone())),
            sip_templates: kept(&snapshot.sip_templates, |o| Some(o.tenant_uuid.clone())),
            transports: kept(&snapshot.transports, |_| None),
            endpoints_iax: kept(&snapshot.endpoints_iax, |o| Some(o.tenant_uuid.clone())),
            endpoints_custom: kept(&snapshot.endpoints_custom, |o| Some(o.tenant_uuid.clone())),
            outcalls: kept(&snapshot.outcalls, |o| Some(o.tenant_uuid.clone())),
            incalls: kept(&snapshot.incalls, |o| Some(o.tenant_uuid.clone())),
            users: kept(&snapshot.users, |o| Some(o.tenant_uuid.clone())),
            lines: kept(&snapshot.lines, |o| Some(o.tenant_uuid.clone())),
            groups: kept(&snapshot.groups, |o| Some(o.tenant_uuid.clone())),
            pjsip_global: snapshot.pjsip_global.clone(),
            pjsip_system: snapshot.pjsip_system.clone(),
            sharing: snapshot
                .trunks
                .iter()
                .filter(|t| !t.shared_with.is_empty())
                .map(|t| t.tenant_uuid.clone())
                .collect(),
            seen_revision: None,
        };
        assert_eq!(&cache.snapshot(), snapshot);
        cache
    }
}

fn all_of<T: Clone>(kept: &Kept<T>) -> Vec<T> {
    kept.values().map(|(_, object)| object.clone()).collect()
}

/// [`load_snapshot`], parsing only what changed since the last load with
/// the same `cache`: the same snapshot.
pub fn load_snapshot_cached(
    conn: &Connection,
    cache: &mut SnapshotCache,
) -> Result<Snapshot, StoreError> {
    cache.load(conn)?;
    Ok(cache.snapshot())
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
        // On the engine the tests run on (`PATCHBAY_TEST_DB`): the stamps
        // of migration 12 are triggers of each engine's own.
        let database = crate::store::testing::TestStore::new();
        let store = database.store.clone();
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
        assert_eq!(
            full, cached,
            "a changed row is parsed again, a new one parsed"
        );
        let changes = store.read(|conn| cache.load(conn)).unwrap();
        assert_eq!(
            changes,
            Changes::default(),
            "nothing changed since the last load"
        );
        store
            .write(|tx| {
                objects::update_body(
                    tx,
                    Kind::Context,
                    3,
                    &json!({"name": "ctx-3", "label": "d", "type": "internal"}),
                )
            })
            .unwrap();
        let changes = store.read(|conn| cache.load(conn)).unwrap();
        assert_eq!(
            changes,
            Changes {
                tenants: ["t1".to_string()].into(),
                shared: false
            },
            "the changed row's tenant"
        );
        assert_eq!(cached.contexts[1].label, "changed");
        store.write(|tx| objects::delete(tx, Kind::Context, 1)).unwrap();
        let (full, cached) = same(&mut cache);
        assert_eq!(full, cached, "a deleted row is gone");
        assert_eq!(cached.contexts.len(), 2);
        // The tenant list is read again only when it changed: a tenant
        // added, then renamed, is named, and the generation moves; a row
        // change leaves the list alone.
        let generation = cache.tenants_generation();
        store.write(|tx| people::insert_tenant(tx, &people::Tenant { uuid: "t2".into(), name: "Two".into(), slug: "two".into(), parent_uuid: None })).unwrap();
        let changes = store.read(|conn| cache.load(conn)).unwrap();
        assert_eq!(changes.tenants, ["t2".to_string()].into());
        assert_ne!(cache.tenants_generation(), generation);
        let generation = cache.tenants_generation();
        store.write(|tx| objects::insert(tx, Kind::Context, &context(4, "e"))).unwrap();
        let changes = store.read(|conn| cache.load(conn)).unwrap();
        assert_eq!((changes.tenants, cache.tenants_generation()), (["t1".to_string()].into(), generation));
        store.write(|tx| tx.execute("UPDATE tenants SET slug = 'deux' WHERE uuid = 't2'", &[]).map(|_| ())).unwrap();
        let changes = store.read(|conn| cache.load(conn)).unwrap();
        assert_eq!(changes.tenants, ["t2".to_string()].into());
        assert_ne!(cache.tenants_generation(), generation);
        assert_eq!(store.read(|conn| cache.load(conn)).unwrap(), Changes::default());
        let (full, cached) = same(&mut cache);
        assert_eq!(full, cached);
    }

    /// A group's row counts for its tenant (migration 11's triggers), so a
    /// change of its members re-renders that tenant alone; the group
    /// members' association follows the document.
    #[test]
    fn a_changed_group_moves_its_tenant_and_its_members_follow() {
        let path = std::env::temp_dir().join(format!("patchbay-snapshot-groups-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let store = Store::open(&path).unwrap();
        let tenant = people::Tenant { uuid: "t1".into(), name: "One".into(), slug: "one".into(), parent_uuid: None };
        let group = |members: serde_json::Value| ObjectRow {
            id: 7,
            uuid: Some("g-7".into()),
            tenant_uuid: Some("t1".into()),
            body: json!({"name": "grp-one-g-7", "label": "sales", "user_members": members}),
        };
        store.write(|tx| {
            people::insert_tenant(tx, &tenant)?;
            objects::insert(tx, Kind::Group, &group(json!([{"user_id": 3, "priority": 0}])))
        })
        .unwrap();
        let mut cache = SnapshotCache::default();
        store.read(|conn| cache.load(conn)).unwrap();
        let body = group(json!([{"user_id": 4, "priority": 0}, {"user_id": 3, "priority": 1}])).body;
        store.write(|tx| objects::update_body(tx, Kind::Group, 7, &body)).unwrap();
        let changes = store.read(|conn| cache.load(conn)).unwrap();
        assert_eq!(changes, Changes { tenants: ["t1".to_string()].into(), shared: false });
        let members: Vec<(i64, i64)> = store
            .read(|conn| conn.query_all("SELECT position, user_id FROM group_members WHERE group_id = 7 ORDER BY position", &[], |row| Ok((row.get(0)?, row.get(1)?))))
            .unwrap();
        assert_eq!(members, vec![(0, 4), (1, 3)]);
        assert_eq!(store.read(|conn| load_snapshot(conn)).unwrap().groups[0].user_members.len(), 2);
        let _ = std::fs::remove_file(&path);
    }

    fn endpoint(uuid: &str, tenant: &str, name: &str) -> serde_json::Value {
        json!({"uuid": uuid, "tenant_uuid": tenant, "name": name, "label": name, "templates": [], "transport": null, "asterisk_id": null})
    }

    /// The master (m) shares trunk 1 with tenant b only; b and c have an
    /// endpoint each.
    fn shared_trunks() -> Snapshot {
        let tenant = |uuid: &str| json!({"uuid": uuid, "name": uuid, "slug": uuid});
        serde_json::from_value(json!({
            "tenants": [tenant("m"), tenant("b"), tenant("c")],
            "trunks": [
                {"id": 1, "tenant_uuid": "m", "context": "from-extern", "endpoint_sip": {"uuid": "e-carrier"}, "shared_with": ["b"]},
                {"id": 2, "tenant_uuid": "m", "context": "from-extern", "endpoint_sip": {"uuid": "e-private"}},
            ],
            "endpoints_sip": [endpoint("e-carrier", "m", "carrier"), endpoint("e-private", "m", "private"), endpoint("e-b", "b", "b-desk"), endpoint("e-c", "c", "c-desk")],
            "contexts": [
                {"id": 1, "uuid": "c1", "tenant_uuid": "m", "name": "from-extern", "label": "x", "type": "incall"},
                {"id": 2, "uuid": "c2", "tenant_uuid": "m", "name": "default", "label": "x", "type": "internal"},
            ],
        }))
        .expect("a snapshot")
    }

    fn names(snapshot: &Snapshot) -> Vec<&str> {
        snapshot.endpoints_sip.iter().map(|e| e.name.as_str()).collect()
    }

    #[test]
    fn a_node_renders_its_tenants_and_the_trunks_shared_with_them() {
        let all = shared_trunks();
        let b = restrict(&all, &BTreeSet::from(["b".to_string()]));
        assert_eq!(names(&b), ["carrier", "b-desk"]);
        assert_eq!(b.trunks.iter().map(|t| t.id.0).collect::<Vec<_>>(), [1]);
        // The shared trunk's landing context comes along, nothing else of the master's.
        assert_eq!(b.contexts.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["from-extern"]);
        let c = restrict(&all, &BTreeSet::from(["c".to_string()]));
        assert_eq!(names(&c), ["c-desk"]);
        assert!(c.trunks.is_empty() && c.contexts.is_empty());
        // The shared trunk stays usable: containment quarantines nothing.
        assert!(tenancy::foreign_references(&b).is_empty(), "{:?}", tenancy::foreign_references(&b));
    }
}
