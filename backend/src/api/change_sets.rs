//! Change sets and rollback: a way back from a bad change.
//!
//! Every audit line carries the change set of the request that wrote it
//! (`Caller::change_set`), so the writes of one request (a route deleted,
//! a trunk and its endpoint changed) are one change set. A rollback
//! re-applies the before-images of a change set (or of it and every later
//! one) in one transaction, newest first, through the same reference checks
//! as any write, and is itself recorded as a new change set. It is refused,
//! whole, when an object changed since (its state is not the change set's
//! after-image: a later change would be overwritten), when a before-image
//! holds a secret (the audit keeps none), or when the result would leave a
//! reference dangling.

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::resource::{references_resolve, write_audit};
use crate::api::AppState;
use crate::store::{Kind, ObjectRow, StoreError, objects};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use crate::store::Connection;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/change-sets", get(list))
        .route("/change-sets/{id}/diff", get(config_diff))
        .route("/change-sets/{id}/rollback", post(rollback))
}

const KINDS: &[Kind] = &[
    Kind::Context,
    Kind::Extension,
    Kind::Trunk,
    Kind::EndpointSip,
    Kind::SipTemplate,
    Kind::EndpointIax,
    Kind::EndpointCustom,
    Kind::RegisterSip,
    Kind::RegisterIax,
    Kind::Transport,
    Kind::Outcall,
    Kind::Incall,
    Kind::User,
    Kind::Line,
    Kind::Group,
    Kind::Settings,
];

fn kind_of(name: &str) -> Option<Kind> {
    KINDS.iter().copied().find(|k| k.as_str() == name)
}

/// Kinds whose audit lines name the object by uuid.
fn by_uuid(kind: Kind) -> bool {
    matches!(kind, Kind::EndpointSip | Kind::Transport)
}

/// Actions a rollback undoes: the writes of objects (not run-time
/// operations such as a drain, which leave the configuration alone).
/// How a conflict's message starts (answered with 409).
const CONFLICT: &str = "Conflict - ";

const UNDOABLE: &[&str] = &["create", "update", "delete", "rollback", crate::health::AUDIT_POLICY, crate::health::AUDIT_POLICY_ROLLBACK];

struct Line {
    id: i64,
    at: i64,
    account: String,
    tenant: Option<String>,
    action: String,
    kind: String,
    object_id: String,
    before: Option<Value>,
    after: Option<Value>,
    change_set: i64,
}

impl Line {
    fn json(&self) -> Value {
        json!({"audit_id": self.id, "action": self.action, "kind": self.kind, "object_id": self.object_id, "before": self.before, "after": self.after})
    }
}

/// The audit lines with a change set, oldest first; `visible` says whether
/// the caller may see a line's tenant.
fn lines(conn: &Connection, from_change_set: i64) -> Result<Vec<Line>, StoreError> {
    let parse = |text: Option<String>| text.and_then(|t| serde_json::from_str::<Value>(&t).ok());
    conn.query_all("SELECT id, at, account, tenant_uuid, action, kind, object_id, before, after, change_set FROM audit WHERE change_set >= ?1 ORDER BY id", crate::store::params![from_change_set], |r| {
        Ok(Line {
            id: r.get(0)?,
            at: r.get(1)?,
            account: r.get(2)?,
            tenant: r.get(3)?,
            action: r.get(4)?,
            kind: r.get(5)?,
            object_id: r.get(6)?,
            before: parse(r.get(7)?),
            after: parse(r.get(8)?),
            change_set: r.get(9)?,
        })
    })
}

fn visible(caller: &Caller, tenant: Option<&str>) -> bool {
    match tenant {
        Some(t) => caller.visible.iter().any(|v| v == t),
        None => caller.is_master() && caller.tenant_uuid == caller.account.tenant_uuid,
    }
}

/// `GET /api/patchbay/1.0/change-sets?limit=`: newest first, each with its
/// account, time and every object's before and after (secrets masked).
async fn list(State(state): State<AppState>, caller: Caller, Query(params): Query<HashMap<String, String>>) -> ApiResult<Json<Value>> {
    let limit: usize = params.get("limit").and_then(|l| l.parse().ok()).unwrap_or(50);
    let all = state.store.read(|conn| lines(conn, i64::MIN))?;
    let mut sets: BTreeMap<i64, Vec<&Line>> = BTreeMap::new();
    for line in all.iter().filter(|l| visible(&caller, l.tenant.as_deref())) {
        sets.entry(line.change_set).or_default().push(line);
    }
    let items: Vec<Value> = sets
        .iter()
        .rev()
        .take(limit)
        .map(|(id, lines)| {
            json!({"id": id, "at": lines[0].at, "account": lines[0].account,
                   "changes": lines.iter().map(|l| l.json()).collect::<Vec<_>>()})
        })
        .collect();
    Ok(Json(json!({"items": items, "total": sets.len()})))
}

/// An object's document with every secret replaced by one marker, so that
/// a stored document and an audit image (which say `(changed)`) compare.
fn comparable(doc: &Value) -> Value {
    crate::secrets::for_audit(Some(doc), None).0.unwrap_or(Value::Null)
}

fn find(conn: &Connection, caller: &Caller, kind: Kind, object_id: &str) -> Result<Option<ObjectRow>, StoreError> {
    let seen = Some(caller.visible.as_slice());
    if by_uuid(kind) {
        objects::get_by_uuid(conn, kind, object_id, seen)
    } else {
        match object_id.parse::<i64>() {
            Ok(id) => objects::get(conn, kind, id, seen),
            Err(_) => Ok(None),
        }
    }
}

/// Each reference that does not resolve among the objects of `tenants`, as
/// "kind id: error".
fn unresolved(conn: &Connection, tenants: &[String]) -> Result<BTreeSet<String>, StoreError> {
    let mut broken = BTreeSet::new();
    for kind in KINDS {
        for row in objects::list(conn, *kind, Some(tenants))? {
            if let Err(ApiError::BadRequest(errors)) = references_resolve(conn, *kind, &row, by_uuid(*kind)) {
                broken.extend(errors.into_iter().map(|e| format!("{} {}: {e}", kind.as_str().replace('_', " "), row.id)));
            }
        }
    }
    Ok(broken)
}

/// `POST /api/patchbay/1.0/change-sets/{id}/rollback` (`{"and_later":
/// true}` for that change set and every later one): 200 with the new change
/// set and what it restored, or 409 with each conflict, or 400 with the
/// references the result would break.
async fn rollback(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Option<Json<Value>>) -> ApiResult<Response> {
    let and_later = body.as_ref().and_then(|b| b.get("and_later")).and_then(Value::as_bool).unwrap_or(false);
    let restored = state.store.write(|tx| roll_back(tx, &caller, id, and_later));
    let restored = match restored {
        Ok(restored) => restored,
        // Changed since: a conflict, not a bad request.
        Err(ApiError::BadRequest(errors)) if errors.iter().all(|e| e.starts_with(CONFLICT)) => {
            return Ok((StatusCode::CONFLICT, Json(json!(errors))).into_response());
        }
        Err(error) => return Err(error),
    };
    state.request_apply();
    // A health threshold restored takes effect now, on whichever node
    // probes the trunk.
    state.asterisk.live().health_settings().notify_one();
    for link in state.fleet.as_ref().map(|fleet| fleet.links()).unwrap_or_default() {
        link.live().health_settings().notify_one();
    }
    Ok(Json(json!({"change_set": caller.change_set, "rolled_back": id, "and_later": and_later, "restored": restored})).into_response())
}

/// `GET …/change-sets/{id}/diff`: the lines of Asterisk's config this
/// change set changed, per file (`-` without it, `+` with it): the config
/// rendered now against the config rendered with the change set rolled
/// back, in a transaction that is then dropped. Answers 409 like the
/// rollback when later changes overlap it (there is then no config
/// "without it" to show).
async fn config_diff(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>) -> ApiResult<Response> {
    match diff_of(&state.store, &caller, id) {
        Ok(diff) => Ok(Json(json!({"change_set": id, "config_diff": diff})).into_response()),
        Err(ApiError::BadRequest(errors)) if errors.iter().all(|e| e.starts_with(CONFLICT)) => {
            Ok((StatusCode::CONFLICT, Json(json!(errors))).into_response())
        }
        Err(error) => Err(error),
    }
}

/// What change set `id` changed in the rendered config (see [`config_diff`]).
pub fn diff_of(store: &crate::store::Store, caller: &Caller, id: i64) -> ApiResult<BTreeMap<String, Vec<String>>> {
    store.rehearse(|tx| {
        let with = crate::api::config_code::rendered_texts(tx)?;
        roll_back(tx, caller, id, false)?;
        let without = crate::api::config_code::rendered_texts(tx)?;
        Ok(crate::api::config_code::plan::config_diff(&without, &with))
    })
}

/// The rollback of change set `id` (and the later ones with `and_later`)
/// in `tx`, as `caller` (whose change set records it); answers what was
/// restored. Any error leaves `tx` to be dropped: nothing changes.
pub fn roll_back(tx: &Connection, caller: &Caller, id: i64, and_later: bool) -> ApiResult<Vec<Value>> {
        let all = lines(tx, id)?;
        let chosen: Vec<&Line> = all.iter().filter(|l| if and_later { l.change_set >= id } else { l.change_set == id }).collect();
        if chosen.is_empty() || chosen.iter().any(|l| !visible(caller, l.tenant.as_deref())) {
            return Err(ApiError::not_found_key("Change set", "id", &id.to_string()));
        }
        let touched: Vec<String> = chosen.iter().filter_map(|l| l.tenant.clone()).collect::<BTreeSet<_>>().into_iter().collect();
        let broken_before = unresolved(tx, &touched)?;
        let mut conflicts = Vec::new();
        let mut restored = Vec::new();
        let mut tenants = BTreeSet::new();
        for line in chosen.iter().rev().filter(|l| UNDOABLE.contains(&l.action.as_str())) {
            let Some(kind) = kind_of(&line.kind) else { continue };
            let what = format!("{} {}", line.kind.replace('_', " "), line.object_id);
            // A trunk's health thresholds: kept apart from its document.
            if [crate::health::AUDIT_POLICY, crate::health::AUDIT_POLICY_ROLLBACK].contains(&line.action.as_str()) {
                match crate::health::roll_back_policy(tx, line.before.as_ref(), line.after.as_ref())? {
                    Ok((now, restored_policy)) => {
                        write_audit(tx, caller, line.tenant.as_deref(), crate::health::AUDIT_POLICY_ROLLBACK, kind, &line.object_id, Some(&now), Some(&restored_policy))?;
                        restored.push(json!({"kind": line.kind, "object_id": line.object_id, "restored": restored_policy}));
                    }
                    Err(conflict) => conflicts.push(format!("{what}: {conflict}")),
                }
                continue;
            }
            let current = find(tx, caller, kind, &line.object_id)?;
            let now = current.as_ref().map(|row| comparable(&row.body));
            if now != line.after.as_ref().map(comparable) {
                conflicts.push(format!("{what} changed after this change set: roll back the later change sets first (and_later)"));
                continue;
            }
            if let Some(before) = &line.before
                && comparable(before) != *before
            {
                conflicts.push(format!("{what}: its earlier version holds a secret, which the audit does not keep; set it again by hand"));
                continue;
            }
            tenants.extend(line.tenant.clone());
            match (&line.before, current) {
                // It was created: remove it.
                (None, Some(row)) => {
                    objects::delete(tx, kind, row.id)?;
                    write_audit(tx, caller, row.tenant_uuid.as_deref(), "rollback", kind, &line.object_id, Some(&row.body), None)?;
                }
                // It was deleted: put it back under its id (or uuid).
                (Some(before), None) => {
                    let (id, uuid) = if by_uuid(kind) { (objects::next_id(tx, kind)?, Some(line.object_id.clone())) } else { (line.object_id.parse().unwrap_or(0), None) };
                    if objects::get(tx, kind, id, None)?.is_some() {
                        conflicts.push(format!("{what}: its id is taken by a newer object"));
                        continue;
                    }
                    let row = ObjectRow { id, uuid, tenant_uuid: line.tenant.clone(), body: before.clone() };
                    objects::insert(tx, kind, &row)?;
                    write_audit(tx, caller, line.tenant.as_deref(), "rollback", kind, &line.object_id, None, Some(before))?;
                }
                (Some(before), Some(row)) => {
                    objects::update_body(tx, kind, row.id, before)?;
                    write_audit(tx, caller, row.tenant_uuid.as_deref(), "rollback", kind, &line.object_id, Some(&row.body), Some(before))?;
                }
                (None, None) => continue,
            }
            restored.push(json!({"kind": line.kind, "object_id": line.object_id, "restored": line.before}));
        }
        if !conflicts.is_empty() {
            return Err(ApiError::BadRequest(conflicts.into_iter().map(|c| format!("{CONFLICT}{c}")).collect()));
        }
        // Every object of the tenants touched still resolves its references
        // (or was already broken before).
        let tenants: Vec<String> = tenants.into_iter().collect();
        let broken: Vec<String> = unresolved(tx, &tenants)?.difference(&broken_before).cloned().collect();
        if !broken.is_empty() {
            return Err(ApiError::BadRequest(broken.into_iter().map(|b| format!("the rollback would break a reference: {b}")).collect()));
        }
        Ok(restored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::config_code::master_caller;
    use crate::api::resource::Spec;
    use crate::store::{Store, Tenant, people};

    const MASTER: &str = "11111111-1111-1111-1111-111111111111";

    fn spec(kind: Kind, noun: &'static str, path: &'static str) -> Spec {
        Spec { kind, noun, path, rel: path, by_uuid: false }
    }

    /// A store with the master tenant and a caller acting in a new change
    /// set each time it is asked for.
    fn store() -> crate::store::testing::TestStore {
        let store = crate::store::testing::TestStore::new();
        store
            .write(|tx| people::insert_tenant(tx, &Tenant { uuid: MASTER.into(), name: "master".into(), slug: "master".into(), parent_uuid: None }))
            .unwrap();
        store
    }

    fn caller(store: &Store) -> Caller {
        store.read(|c| master_caller(c, "admin")).unwrap()
    }

    fn body(store: &Store, kind: Kind, id: i64) -> Option<Value> {
        store.read(|c| objects::get(c, kind, id, None)).unwrap().map(|r| r.body)
    }

    #[test]
    fn a_change_sets_config_diff_shows_its_own_lines_and_changes_nothing() {
        let store = store();
        let contexts = spec(Kind::Context, "Context", "contexts");
        let first = caller(&store);
        store.write(|tx| contexts.insert(tx, &first, json!({"name": "alpha", "label": "A", "type": "internal", "contexts": [], "enabled": true}), true)).unwrap();
        let second = caller(&store);
        store.write(|tx| contexts.insert(tx, &second, json!({"name": "beta", "label": "B", "type": "internal", "contexts": [], "enabled": true}), true)).unwrap();
        let revision = store.revision().unwrap();

        let viewer = caller(&store);
        let diff = diff_of(&store, &viewer, first.change_set).unwrap();
        let lines: Vec<&String> = diff.values().flatten().collect();
        assert!(lines.iter().any(|l| l.starts_with('+') && l.contains("alpha")), "{diff:?}");
        assert!(!lines.iter().any(|l| l.contains("beta")), "{diff:?}");
        assert!(lines.iter().all(|l| l.starts_with('+') || l.starts_with("@@")), "a creation only adds: {diff:?}");
        // A rehearsal: nothing was rolled back, nothing audited.
        assert_eq!(store.revision().unwrap(), revision);
        assert!(body(&store, Kind::Context, 1).is_some());
        let audited: i64 = store.read(|c| c.query_row("SELECT COUNT(*) FROM audit WHERE change_set = ?1", crate::store::params![viewer.change_set], |r| r.get(0))).unwrap();
        assert_eq!(audited, 0);
    }

    #[test]
    fn rolling_back_the_middle_of_three_change_sets_keeps_the_others_and_is_its_own_change_set() {
        let store = store();
        let contexts = spec(Kind::Context, "Context", "contexts");
        let a = json!({"name": "alpha", "label": "A", "type": "internal", "contexts": [], "enabled": true});
        let b = json!({"name": "beta", "label": "B", "type": "internal", "contexts": [], "enabled": true});
        // 1: alpha created; 2: alpha relabelled and beta created; 3: beta relabelled.
        let first = caller(&store);
        store.write(|tx| contexts.insert(tx, &first, a.clone(), true)).unwrap();
        let relabel = |tx: &Connection, who: &Caller, id: &str, base: &Value, label: &str| -> ApiResult<()> {
            let row = contexts.find(tx, who, id)?;
            let mut relabelled = base.clone();
            relabelled["label"] = json!(label);
            contexts.replace(tx, who, &row, relabelled)
        };
        let second = caller(&store);
        store.write(|tx| relabel(tx, &second, "1", &a, "A2").and_then(|_| contexts.insert(tx, &second, b.clone(), true).map(|_| ()))).unwrap();
        let third = caller(&store);
        store.write(|tx| relabel(tx, &third, "2", &b, "B3")).unwrap();

        // The middle one touches beta, which the third changed: a conflict,
        // and nothing moves.
        let undo = caller(&store);
        let refused = store.write(|tx| roll_back(tx, &undo, second.change_set, false)).unwrap_err();
        assert!(matches!(&refused, ApiError::BadRequest(e) if e.iter().all(|m| m.starts_with(CONFLICT)) && e[0].contains("context 2")), "{refused:?}");
        assert_eq!(body(&store, Kind::Context, 1).unwrap()["label"], "A2");

        // With the later ones: both undone, newest first; the first stays.
        let restored = store.write(|tx| roll_back(tx, &undo, second.change_set, true)).unwrap();
        assert_eq!(restored.len(), 3, "{restored:?}");
        assert_eq!(body(&store, Kind::Context, 1).unwrap()["label"], "A");
        assert!(body(&store, Kind::Context, 2).is_none(), "beta's creation undone");
        let own: i64 = store.read(|c| c.query_row("SELECT COUNT(*) FROM audit WHERE change_set = ?1 AND action = 'rollback'", crate::store::params![undo.change_set], |r| r.get(0))).unwrap();
        assert_eq!(own, 3, "the rollback is a change set of its own");
        // Undoing the rollback brings beta back as the third left it.
        let again = caller(&store);
        store.write(|tx| roll_back(tx, &again, undo.change_set, false)).unwrap();
        assert_eq!(body(&store, Kind::Context, 2).unwrap()["label"], "B3");
        assert_eq!(body(&store, Kind::Context, 1).unwrap()["label"], "A2");
    }

    #[test]
    fn a_rollback_that_would_leave_a_reference_dangling_is_refused() {
        let store = store();
        let contexts = spec(Kind::Context, "Context", "contexts");
        let making = caller(&store);
        store.write(|tx| contexts.insert(tx, &making, json!({"name": "inner", "label": "inner", "type": "internal", "contexts": [], "enabled": true}), true)).unwrap();
        let including = caller(&store);
        store
            .write(|tx| contexts.insert(tx, &including, json!({"name": "outer", "label": "outer", "type": "internal", "contexts": [{"id": 1}], "enabled": true}), true))
            .unwrap();
        let undo = caller(&store);
        let refused = store.write(|tx| roll_back(tx, &undo, making.change_set, false)).unwrap_err();
        assert!(matches!(&refused, ApiError::BadRequest(e) if e[0].contains("would break a reference")), "{refused:?}");
        assert!(body(&store, Kind::Context, 1).is_some(), "nothing changed");
        let missing = store.write(|tx| roll_back(tx, &undo, 42, false)).unwrap_err();
        assert!(matches!(missing, ApiError::NotFound(_)));
    }
}
