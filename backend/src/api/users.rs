//! `/users`: the people lines ring, their caller IDs and relations.

use super::auth::Caller;
use super::docs::{Resource, ok_or_400, typed};
use super::error::ApiResult;
use crate::api::AppState;
use crate::store::{Kind, ObjectRow, objects};
use axum::extract::{Path, State};
use crate::store::Connection;
use serde_json::{Map, Value, json};
use super::extensions::{extension_summary, group_summary};
use super::specs;
use super::lines::{LINES, present_line};
use patchbay_shared::model::User;
use patchbay_shared::validate;

fn doc(row: &ObjectRow) -> Value {
    super::docs::document(&USERS, row)
}

pub static USERS: Resource = Resource {
    spec: super::specs::USER,
    columns: &["id", "uuid", "firstname", "lastname"],
    default_order: "firstname",
    writable: &["firstname", "lastname", "caller_id", "outgoing_caller_id"],
    required: &["firstname"],
    defaults: || {
        let mut map = Map::new();
        map.insert("uuid".into(), json!(uuid::Uuid::new_v4().to_string()));
        map.insert("lastname".into(), Value::Null);
        map.insert("caller_id".into(), Value::Null);
        map.insert("outgoing_caller_id".into(), Value::Null);
        map
    },
    check: |_, _, row| {
        let user: User = typed(&doc(row))?;
        ok_or_400(validate::user(&user))
    },
    present: present_user,
    before_delete: |conn, caller, row| {
        // Wazo drops a deleted user from its groups.
        for group in crate::store::groups::of_user(conn, row.id, row.tenant_uuid.as_deref().unwrap_or_default())? {
            let mut body = group.body.clone();
            if let Some(members) = body["user_members"].as_array_mut() {
                members.retain(|m| m["user_id"].as_i64() != Some(row.id));
            }
            specs::GROUP.replace(conn, caller, &group, body)?;
        }
        for line in crate::store::lines::of_user(conn, row.id)? {
            let mut body = line.body.clone();
            body["user_id"] = Value::Null;
            LINES.spec.replace(conn, caller, &line, body)?;
        }
        Ok(())
    },
    tenant_scoped: true,
    master_write: false,
    fill: fill_caller_id,
};

/// Wazo's `fill_caller_id`: a user without a caller ID gets its full name,
/// quoted (`"Alice Doe"`; `"Alice"` without a last name).
fn fill_caller_id(user: &mut Map<String, Value>) {
    let unset = user.get("caller_id").is_none_or(|v| v.is_null() || v.as_str() == Some(""));
    if !unset {
        return;
    }
    let Some(firstname) = user.get("firstname").and_then(Value::as_str) else { return };
    let mut fullname = firstname.to_string();
    if let Some(lastname) = user.get("lastname").and_then(Value::as_str).filter(|l| !l.is_empty()) {
        fullname.push(' ');
        fullname.push_str(lastname);
    }
    let caller_id = format!("\"{fullname}\"");
    // A name the caller-ID rules refuse (Wazo would store it anyway) leaves
    // the caller ID unset rather than failing the user's own create.
    if patchbay_shared::callerid::parse(&caller_id).is_ok() && caller_id.chars().count() <= 160 {
        user.insert("caller_id".into(), json!(caller_id));
    }
}

/// A user with Wazo's relations: `lines` (`{id, name, endpoint_sip,
/// endpoint_sccp, endpoint_custom, extensions, links}`) and `incalls` (the
/// incalls that ring it, `{id, extensions, links}`).
fn present_user(conn: &Connection, res: &Resource, row: &ObjectRow) -> ApiResult<Value> {
    let mut body = res.spec.present(row);
    let mut lines = Vec::new();
    for line in &crate::store::lines::of_user(conn, row.id)? {
        let shown = present_line(conn, &LINES, line)?;
        lines.push(json!({
            "id": line.id, "name": shown["name"], "endpoint_sip": shown["endpoint_sip"], "endpoint_sccp": null,
            "endpoint_custom": null, "extensions": shown["extensions"], "links": LINES.spec.links(line),
        }));
    }
    let mut incalls = Vec::new();
    for incall in incalls_of_user(conn, row)? {
        let extensions = match incall.body["extension_id"].as_i64() {
            Some(id) => vec![extension_summary(conn, id)?],
            None => vec![],
        };
        incalls.push(json!({"id": incall.id, "extensions": extensions, "links": specs::INCALL.links(&incall)}));
    }
    let tenant = row.tenant_uuid.as_deref().unwrap_or_default();
    let groups: Vec<Value> = crate::store::groups::of_user(conn, row.id, tenant)?.iter().map(group_summary).collect();
    body["lines"] = Value::Array(lines);
    body["incalls"] = Value::Array(incalls);
    body["groups"] = Value::Array(groups);
    Ok(body)
}

/// The incalls whose destination is this user, by id.
fn incalls_of_user(conn: &Connection, user: &ObjectRow) -> ApiResult<Vec<ObjectRow>> {
    Ok(crate::store::incalls::ringing_user(conn, user.id, user.tenant_uuid.as_deref().unwrap_or_default())?)
}

/// `GET /users/{id}/callerids/outgoing`: the caller IDs the user may
/// present, as Wazo's `UserCallerIDService` lists them: the DIDs of the
/// incalls that ring the user (`associated`, each number once), then
/// `anonymous`. Patchbay has no phone-number resource, so no `main` or
/// `shared` entries.
pub async fn user_outgoing_callerids(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<axum::Json<Value>> {
    state.store.read(|conn| {
        let user = USERS.find(conn, &caller, &id)?;
        let mut items: Vec<Value> = Vec::new();
        for incall in incalls_of_user(conn, &user)? {
            let Some(ext) = incall.body["extension_id"].as_i64().and_then(|id| objects::get(conn, Kind::Extension, id, None).ok().flatten()) else { continue };
            let number = ext.body["exten"].as_str().unwrap_or_default().to_string();
            let same = |other: &Value| other["number"].as_str().is_some_and(|o| o.trim_start_matches('+') == number.trim_start_matches('+'));
            if !items.iter().any(same) {
                items.push(json!({"type": "associated", "number": number}));
            }
        }
        items.push(json!({"type": "anonymous"}));
        Ok(axum::Json(json!({"items": items, "total": items.len()})))
    })
}
