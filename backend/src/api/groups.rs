//! `/groups`: users rung together (Wazo's ring groups), their members
//! (`PUT /groups/{id}/members/users`) and their extension. A group is
//! addressed by id or uuid; its `name` is generated (`grp-<slug>-<uuid>`),
//! `label` is what people call it.

use super::auth::Caller;
use super::docs::{self, Resource, no_fill, ok_or_400, same_tenant, typed};
use super::error::{ApiError, ApiResult};
use super::extensions::{EXTENSIONS, extension_summary, require_context_type, require_free, require_in_range};
use super::contexts::find_named;
use super::resource::body_object;
use super::specs;
use crate::api::AppState;
use crate::store::{Connection, ObjectRow};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use patchbay_shared::model::{ContextKind, Extension, Group, RangeUse};
use patchbay_shared::validate;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

fn doc(row: &ObjectRow) -> Value {
    docs::document(&GROUPS, row)
}

pub static GROUPS: Resource = Resource {
    spec: specs::GROUP,
    columns: &["id", "uuid", "name", "label", "preprocess_subroutine"],
    default_order: "label",
    // `uuid` and `name` are set by `create` alone (generated); the client's
    // are dropped first, as Wazo ignores them.
    writable: &[
        "uuid", "name", "label", "timeout", "ring_strategy", "caller_id_mode", "caller_id_name", "user_timeout", "retry_delay",
        "music_on_hold", "preprocess_subroutine", "ring_in_use", "mark_answered_elsewhere", "dtmf_record_toggle", "enabled", "max_calls",
    ],
    required: &["label"],
    // Wazo's defaults for a new group (xivo-dao's GroupFeatures and its queue).
    defaults: || {
        json!({
            "timeout": null, "ring_strategy": "all", "caller_id_mode": null, "caller_id_name": null, "user_timeout": 15,
            "retry_delay": 5, "music_on_hold": null, "preprocess_subroutine": null, "ring_in_use": true,
            "mark_answered_elsewhere": false, "dtmf_record_toggle": false, "enabled": true, "max_calls": 0,
            "extension_id": null, "user_members": [],
        })
        .as_object()
        .cloned()
        .unwrap_or_default()
    },
    check: check_group,
    present: present_group,
    before_delete: release_group,
    tenant_scoped: true,
    master_write: false,
    fill: no_fill,
};

/// Every invalid field at once, as marshmallow names them: the fields of
/// the wrong type, then the rules of the others (a wrong-typed field is
/// checked no further: its default stands in for it).
fn check_group(_: &Connection, _: &Caller, row: &ObjectRow) -> ApiResult<()> {
    let document = doc(row);
    match docs::type_checked::<Group>(&document) {
        Ok(group) => ok_or_400(validate::group(&group)),
        Err(mut errors) => {
            let mut cleaned = document.clone();
            let defaults = (GROUPS.defaults)();
            for error in &errors {
                let field = super::error::top_field(&error.field);
                cleaned[field] = defaults.get(field).cloned().unwrap_or(json!("x"));
            }
            if let Ok(group) = serde_json::from_value::<Group>(cleaned) {
                errors.extend(validate::group(&group));
            }
            Err(docs::field_errors(errors))
        }
    }
}

/// Wazo's `GroupSchema` dump: the fields, `extensions`, `members` (`users`
/// in priority order with their uuid and names, `extensions`), `incalls`,
/// `fallbacks`, `schedules`, `call_permissions`.
fn present_group(conn: &Connection, res: &Resource, row: &ObjectRow) -> ApiResult<Value> {
    let mut body = res.spec.present(row);
    if let Value::Object(map) = &mut body {
        map.remove("user_members");
        map.remove("extension_id");
    }
    body["extensions"] = match row.body["extension_id"].as_i64() {
        Some(id) => json!([extension_summary(conn, id)?]),
        None => json!([]),
    };
    let mut users = Vec::new();
    for member in members(row) {
        if let Some(user) = crate::store::users::by_id(conn, member.0)? {
            users.push(json!({
                "priority": member.1, "uuid": user.uuid, "firstname": user.body["firstname"], "lastname": user.body["lastname"],
                "links": specs::USER.links(&user),
            }));
        }
    }
    body["members"] = json!({"users": users, "extensions": []});
    let tenant = row.tenant_uuid.as_deref().unwrap_or_default();
    let mut incalls = Vec::new();
    for incall in crate::store::groups::incalls_ringing(conn, row.id, tenant)? {
        let extensions = match incall.body["extension_id"].as_i64() {
            Some(id) => vec![extension_summary(conn, id)?],
            None => vec![],
        };
        incalls.push(json!({"id": incall.id, "extensions": extensions, "links": specs::INCALL.links(&incall)}));
    }
    body["incalls"] = Value::Array(incalls);
    body["fallbacks"] = json!({"noanswer_destination": null});
    body["schedules"] = json!([]);
    body["call_permissions"] = json!([]);
    Ok(body)
}

/// The stored members, `(user id, priority)`, in ringing order.
fn members(row: &ObjectRow) -> Vec<(i64, i64)> {
    let mut members: Vec<(i64, i64)> = row.body["user_members"]
        .as_array()
        .map(|list| list.iter().filter_map(|m| Some((m["user_id"].as_i64()?, m["priority"].as_i64().unwrap_or(0)))).collect())
        .unwrap_or_default();
    members.sort_by_key(|m| m.1);
    members
}

/// Deleting a group frees its extension (it is in the group's document) and
/// sends the incalls that rang it nowhere (Wazo resets their destination to
/// `none`).
fn release_group(conn: &Connection, caller: &Caller, row: &ObjectRow) -> ApiResult<()> {
    for incall in crate::store::groups::incalls_ringing(conn, row.id, row.tenant_uuid.as_deref().unwrap_or_default())? {
        let mut body = incall.body.clone();
        body["destination"] = json!({"type": "none"});
        specs::INCALL.replace(conn, caller, &incall, body)?;
    }
    Ok(())
}

/// Wazo's deprecated `name` (21.04): a body with `name` but no `label`
/// takes it as its label; the name itself is never the client's.
fn name_to_label(input: &mut Map<String, Value>) {
    if let Some(name) = input.remove("name")
        && !input.contains_key("label")
    {
        input.insert("label".into(), name);
    }
    input.remove("uuid");
}

pub async fn list(State(state): State<AppState>, caller: Caller, Query(params): Query<HashMap<String, String>>) -> ApiResult<axum::Json<Value>> {
    docs::list(&GROUPS, state, caller, params).await
}

pub async fn get(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, Query(params): Query<HashMap<String, String>>) -> ApiResult<axum::Json<Value>> {
    docs::get(&GROUPS, state, caller, id, params).await
}

pub async fn delete(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, Query(params): Query<HashMap<String, String>>) -> ApiResult<StatusCode> {
    docs::delete(&GROUPS, state, caller, id, params).await
}

/// `POST /groups`: the generated uuid and name (`grp-<tenant slug>-<uuid>`).
pub async fn create(State(state): State<AppState>, caller: Caller, body: Bytes) -> ApiResult<Response> {
    let mut input = if body.iter().all(u8::is_ascii_whitespace) { Map::new() } else { super::resource::body_required(&body)? };
    name_to_label(&mut input);
    let response = state.store.write(|tx| {
        if input.contains_key("label") {
            let uuid = uuid::Uuid::new_v4().to_string();
            let slug = crate::bootstrap::tenant_slug(tx, &caller.tenant_uuid)?;
            input.insert("name".into(), json!(format!("grp-{slug}-{uuid}")));
            input.insert("uuid".into(), json!(uuid));
        }
        let row = GROUPS.create_in(tx, &caller, &input)?;
        Ok::<_, ApiError>(GROUPS.spec.created(&row, present_group(tx, &GROUPS, &row)?))
    })?;
    state.request_apply();
    Ok(response)
}

/// `PUT /groups/{id}`: a partial update (`name` and `uuid` stay).
pub async fn update(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, body: Bytes) -> ApiResult<StatusCode> {
    let mut input = body_object(&body)?;
    name_to_label(&mut input);
    state.store.write(|tx| GROUPS.update_in(tx, &caller, &id, &input))?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /groups/{id}/members/users` `{"users": [{"uuid": …, "priority": n}]}`:
/// replaces the member users (a priority defaults to the user's place in
/// the list). Wazo's rules: each user visible to the caller (400 `field
/// 'users': User was not found`), in the group's tenant, with a line; no
/// user twice; no two users sharing a line.
pub async fn members_users_put(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, body: Bytes) -> ApiResult<StatusCode> {
    let input = body_object(&body)?;
    state.store.write(|tx| {
        // The group first (404), then the body (400), as Wazo reads them.
        let group = GROUPS.find(tx, &caller, &id)?;
        let entries = member_entries(&input)?;
        let mut users = Vec::new();
        for (uuid, priority) in &entries {
            let user = crate::store::objects::get_by_uuid(tx, specs::USER.kind, uuid, Some(&caller.visible))?
                .ok_or_else(|| ApiError::input("field 'users'", format!("User was not found ('uuid': '{uuid}')")))?;
            users.push((user, *priority));
        }
        for (user, _) in &users {
            same_tenant("group", &group, "user", user)?;
        }
        let mut first_lines = Vec::new();
        for (user, _) in &users {
            let lines = crate::store::lines::of_user(tx, user.id)?;
            let Some(line) = lines.iter().min_by_key(|l| l.id) else {
                return Err(ApiError::resource(format!("User must be associated with a Line ('user_uuid': '{}')", user.uuid.as_deref().unwrap_or_default())));
            };
            first_lines.push(line.id);
        }
        if users.iter().enumerate().any(|(i, (u, _))| users[..i].iter().any(|(v, _)| v.id == u.id)) {
            return Err(ApiError::resource("Operation not permitted. Cannot associate same user more than once"));
        }
        if let Some(line) = first_lines.iter().enumerate().find(|(i, l)| first_lines[..*i].contains(l)).map(|(_, l)| l) {
            return Err(ApiError::resource(format!("Operation not permitted. Cannot associate different users with the same line ('line_id': {line})")));
        }
        let mut stored: Vec<(i64, i64)> = users.iter().map(|(u, p)| (u.id, *p)).collect();
        stored.sort_by_key(|m| m.1);
        let mut body = group.body.clone();
        body["user_members"] = stored.iter().map(|(user_id, priority)| json!({"user_id": user_id, "priority": priority})).collect();
        GROUPS.spec.replace(tx, &caller, &group, body)
    })?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

/// The `users` list of a members PUT, as Wazo's `GroupUsersSchema` reads
/// it: each `{uuid (string, required), priority (integer >= 0, default its
/// index)}`; every bad entry named at once.
fn member_entries(input: &Map<String, Value>) -> ApiResult<Vec<(String, i64)>> {
    let users = match input.get("users") {
        None => return Err(ApiError::BadRequest(vec![ApiError::schema("users", &["Missing data for required field.".into()])])),
        Some(Value::Array(users)) => users,
        Some(_) => return Err(ApiError::BadRequest(vec![ApiError::schema("users", &["Invalid type.".into()])])),
    };
    let mut errors = Vec::new();
    let mut entries = Vec::new();
    for (i, entry) in users.iter().enumerate() {
        let Value::Object(entry) = entry else {
            errors.push(validate::FieldError::new(format!("users[{i}]._schema"), "Invalid input type."));
            continue;
        };
        let uuid = match entry.get("uuid") {
            Some(Value::String(uuid)) => Some(uuid.clone()),
            None => {
                errors.push(validate::FieldError::new(format!("users[{i}].uuid"), "Missing data for required field."));
                None
            }
            Some(Value::Null) => {
                errors.push(validate::FieldError::new(format!("users[{i}].uuid"), "Field may not be null."));
                None
            }
            Some(_) => {
                errors.push(validate::FieldError::new(format!("users[{i}].uuid"), "Not a valid string."));
                None
            }
        };
        let priority = match entry.get("priority") {
            None => Some(i as i64),
            Some(value) => match value.as_i64() {
                Some(p) if p >= 0 => Some(p),
                Some(_) => {
                    errors.push(validate::FieldError::new(format!("users[{i}].priority"), "Must be greater than or equal to 0."));
                    None
                }
                None => {
                    let message = if value.is_null() { "Field may not be null." } else { "Not a valid integer." };
                    errors.push(validate::FieldError::new(format!("users[{i}].priority"), message));
                    None
                }
            },
        };
        if let (Some(uuid), Some(priority)) = (uuid, priority) {
            entries.push((uuid, priority));
        }
    }
    if errors.is_empty() { Ok(entries) } else { Err(docs::field_errors(errors)) }
}

/// `PUT /groups/{id}/extensions/{extension_id}`: one extension per group,
/// free, in an internal context and inside its `group_ranges`.
pub async fn group_extension_put(State(state): State<AppState>, caller: Caller, Path((id, ext_id)): Path<(String, String)>) -> ApiResult<StatusCode> {
    state.store.write(|tx| {
        let group = GROUPS.find(tx, &caller, &id)?;
        let ext = EXTENSIONS.find(tx, &caller, &ext_id)?;
        same_tenant("group", &group, "extension", &ext)?;
        match group.body["extension_id"].as_i64() {
            Some(current) if current == ext.id => return Ok(()),
            Some(current) => {
                return Err(ApiError::resource(format!("Group is associated with a Extension ('group_id': {}, 'extension_id': {current})", group.id)));
            }
            None => {}
        }
        if let Some(("group", other)) = crate::store::extensions::owner(tx, ext.id)?.as_ref().map(|(kind, row)| (*kind, row)) {
            return Err(ApiError::resource(format!("Group is associated with a Extension ('group_id': {}, 'extension_id': {})", other.id, ext.id)));
        }
        require_free(tx, &ext, ("group", group.id))?;
        require_context_type(tx, &ext, ContextKind::Internal)?;
        let extension: Extension = typed(&docs::document(&EXTENSIONS, &ext))?;
        if let Some(context) = find_named(tx, &caller, &extension.context)? {
            require_in_range(&context, &extension, RangeUse::Group)?;
        }
        let mut body = group.body.clone();
        body["extension_id"] = json!(ext.id);
        GROUPS.spec.replace(tx, &caller, &group, body)
    })?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /groups/{id}/extensions/{extension_id}`: 404 `GroupExtension
/// was not found` when they are not associated, as Wazo.
pub async fn group_extension_delete(State(state): State<AppState>, caller: Caller, Path((id, ext_id)): Path<(String, String)>) -> ApiResult<StatusCode> {
    state.store.write(|tx| {
        let group = GROUPS.find(tx, &caller, &id)?;
        let ext = EXTENSIONS.find(tx, &caller, &ext_id)?;
        if group.body["extension_id"].as_i64() != Some(ext.id) {
            return Err(ApiError::NotFound(format!("Resource Not Found - GroupExtension was not found ('group_id': {}, 'extension_id': {})", group.id, ext.id)));
        }
        let mut body = group.body.clone();
        body["extension_id"] = Value::Null;
        GROUPS.spec.replace(tx, &caller, &group, body)
    })?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}
