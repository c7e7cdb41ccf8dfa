//! Extensions, outcalls, incalls, users, lines and their associations.

use super::auth::Caller;
use super::contexts::{CONTEXT, find_named};
use super::docs::{Resource, no_fill, no_hook, ok_or_400, plain_present, same_tenant, summary, taken, typed};
use super::error::{ApiError, ApiResult};
use super::resource::{Spec, body_object};
use crate::api::AppState;
use crate::store::{Kind, ObjectRow, objects};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use patchbay_shared::model::{ContextKind, ContextRanges, Extension, FailoverPolicy, Incall, Line, Outcall, OutcallExtension, RangeUse, TrunkId, User};
use patchbay_shared::tenancy::{Directory, Target};
use patchbay_shared::validate;
use rusqlite::Connection;
use serde_json::{Map, Value, json};

fn doc(res: &Resource, row: &ObjectRow) -> Value {
    super::docs::document(res, row)
}

// ---------- extensions ----------

pub static EXTENSIONS: Resource = Resource {
    spec: Spec { kind: Kind::Extension, noun: "Extension", path: "extensions", rel: "extensions", by_uuid: false },
    columns: &["id", "exten", "context", "type"],
    default_order: "exten",
    writable: &["exten", "context", "enabled"],
    required: &["exten", "context"],
    defaults: || json!({"enabled": true}).as_object().cloned().unwrap_or_default(),
    check: check_extension,
    present: present_extension,
    before_delete: extension_not_owned,
    tenant_scoped: true,
    master_write: false,
    fill: no_fill,
};

fn context_kind(row: &ObjectRow) -> ApiResult<ContextKind> {
    typed(row.body.get("type").unwrap_or(&Value::Null))
}

fn check_extension(conn: &Connection, caller: &Caller, row: &ObjectRow) -> ApiResult<()> {
    let ext: Extension = typed(&doc(&EXTENSIONS, row))?;
    let context = find_named(conn, caller, &ext.context)?
        .ok_or_else(|| ApiError::input("field 'context'", format!("Context was not found ('context': '{}')", ext.context)))?;
    same_tenant("extension", row, "context", &context)?;
    // Wazo's ExtenRegexValidator raises its own text, without the
    // `Input Error` prefix; the other rules keep Patchbay's field messages.
    let (pattern, others): (Vec<_>, Vec<_>) = validate::extension(&ext, context_kind(&context)?)
        .into_iter()
        .partition(|e| e.field == "exten" && e.message.starts_with("String does not match expected pattern"));
    if !pattern.is_empty() {
        return Err(ApiError::BadRequest(vec!["exten: ['String does not match expected pattern.']".into()]));
    }
    ok_or_400(others)?;
    if objects::extension_taken(conn, &ext.exten, &ext.context, row.id)? {
        return Err(ApiError::resource(format!("Extension already exists ('exten': '{}', 'context': '{}')", ext.exten, ext.context)));
    }
    if let Some((owner, _)) = extension_owner(conn, row.id)? {
        // Wazo's edit checks (ContextOnUpdateValidator, ExtensionRangeValidator):
        // an extension in use stays in a context of its owner's type, and a
        // number stays inside the range of that use.
        let (wanted, range) = match owner {
            "outcall" => (ContextKind::Outcall, None),
            "incall" => (ContextKind::Incall, Some(RangeUse::Incall)),
            _ => (ContextKind::Internal, Some(RangeUse::User)),
        };
        let kind = context_kind(&context)?;
        if kind != wanted {
            return Err(ApiError::resource(format!("ContextType '{}' cannot be associated", kind.as_str())));
        }
        if let Some(range) = range {
            require_in_range(&context, &ext, range)?;
        }
    }
    Ok(())
}

/// `Extension '…' is outside of range for context '…'` unless `ext` may
/// serve `use_` in `context` (patterns are not checked, as in Wazo).
fn require_in_range(context: &ObjectRow, ext: &Extension, use_: RangeUse) -> ApiResult<()> {
    let ranges: ContextRanges = serde_json::from_value(context.body.clone()).unwrap_or_default();
    if ranges.allows(use_, &ext.exten) {
        return Ok(());
    }
    Err(ApiError::BadRequest(vec![format!("Input Error - Extension '{}' is outside of range for context '{}'", ext.exten, ext.context)]))
}

/// What an extension is bound to: `outcall`, `incall` or `line`.
pub fn extension_owner(conn: &Connection, ext_id: i64) -> ApiResult<Option<(&'static str, ObjectRow)>> {
    // Index lookups: `outcall_extensions`, `incalls.extension_id`, `lines.extension_id`.
    if let Some(outcall) = objects::outcall_of_extension(conn, ext_id)? {
        return Ok(Some(("outcall", outcall)));
    }
    if let Some(incall) = objects::find_where(conn, Kind::Incall, "extension_id", &json!(ext_id), None)? {
        return Ok(Some(("incall", incall)));
    }
    if let Some(line) = objects::find_where(conn, Kind::Line, "extension_id", &json!(ext_id), None)? {
        return Ok(Some(("line", line)));
    }
    Ok(None)
}

/// Wazo's `Extension is associated with a <type>` with its metadata: the
/// extension's `type`/`typeval` (a line's extension is of type `user`,
/// valued with the line's user id, `0` without one; typeval is a string).
fn associated(ext: &ObjectRow, kind: &str, owner: &ObjectRow) -> ApiError {
    let (kind, typeval) = match kind {
        "line" => ("user", owner.body["user_id"].as_i64().unwrap_or(0)),
        other => (other, owner.id),
    };
    ApiError::resource(format!("Extension is associated with a {kind} ('extension_id': {}, 'associated_id': '{typeval}')", ext.id))
}

fn extension_not_owned(conn: &Connection, _: &Caller, row: &ObjectRow) -> ApiResult<()> {
    match extension_owner(conn, row.id)? {
        Some((kind, owner)) => Err(associated(row, kind, &owner)),
        None => Ok(()),
    }
}

fn present_extension(conn: &Connection, res: &Resource, row: &ObjectRow) -> ApiResult<Value> {
    let mut body = res.spec.present(row);
    let context_type = objects::find_where(conn, Kind::Context, "name", &row.body["context"], None)?.and_then(|c| c.body.get("type").cloned());
    let owner = extension_owner(conn, row.id)?;
    body["type"] = context_type.unwrap_or(Value::Null);
    // Wazo's deprecated inverse of `enabled`, still in its ExtensionSchema.
    body["commented"] = json!(!row.body["enabled"].as_bool().unwrap_or(true));
    // Wazo's ExtensionSchema relations; Patchbay has no groups, queues,
    // conferences or parking lots, so those are always null.
    for key in ["outcall", "incall", "group", "queue", "conference", "parking_lot"] {
        body[key] = Value::Null;
    }
    body["lines"] = json!([]);
    match owner {
        Some(("outcall", o)) => body["outcall"] = json!({"id": o.id, "name": o.body.get("name"), "links": OUTCALLS.spec.links(&o)}),
        Some(("incall", i)) => body["incall"] = summary(&INCALLS.spec, &i),
        Some((_, l)) => body["lines"] = json!([{"id": l.id, "name": present_line(conn, &LINES, &l)?["name"], "links": LINES.spec.links(&l)}]),
        None => {}
    }
    Ok(body)
}

fn extension_summary(conn: &Connection, id: i64) -> ApiResult<Value> {
    Ok(match objects::get(conn, Kind::Extension, id, None)? {
        Some(ext) => json!({"id": id, "exten": ext.body.get("exten"), "context": ext.body.get("context"), "links": EXTENSIONS.spec.links(&ext)}),
        None => json!({"id": id}),
    })
}

// ---------- outcalls ----------

pub static OUTCALLS: Resource = Resource {
    spec: Spec { kind: Kind::Outcall, noun: "Outcall", path: "outcalls", rel: "outcalls", by_uuid: false },
    columns: &["id", "name", "description", "preprocess_subroutine"],
    default_order: "id",
    writable: &["name", "internal_caller_id", "ring_time", "description", "enabled", "preprocess_subroutine", "failover_policy", "emergency"],
    required: &["name"],
    defaults: || {
        json!({"internal_caller_id": false, "ring_time": null, "description": null, "enabled": true,
               "preprocess_subroutine": null, "trunks": [], "extensions": [],
               "failover_policy": FailoverPolicy::default()})
        .as_object()
        .cloned()
        .unwrap_or_default()
    },
    check: check_outcall,
    present: present_outcall,
    before_delete: no_hook,
    tenant_scoped: true,
    master_write: false,
    fill: no_fill,
};

fn check_outcall(conn: &Connection, _: &Caller, row: &ObjectRow) -> ApiResult<()> {
    let outcall: Outcall = typed(&doc(&OUTCALLS, row))?;
    ok_or_400(validate::outcall(&outcall))?;
    if taken(conn, Kind::Outcall, "name", &json!(outcall.name), row.id)? {
        return Err(ApiError::resource(format!("Outcall already exists ('name': '{}')", outcall.name)));
    }
    Ok(())
}

fn present_outcall(conn: &Connection, res: &Resource, row: &ObjectRow) -> ApiResult<Value> {
    let mut body = res.spec.present(row);
    let mut trunks = Vec::new();
    for trunk in row.body["trunks"].as_array().cloned().unwrap_or_default() {
        if let Some(id) = trunk["id"].as_i64()
            && let Some(t) = objects::get(conn, Kind::Trunk, id, None)?
        {
            if t.tenant_uuid != row.tenant_uuid {
                // Another tenant's trunk shared with this one: its name only.
                trunks.push(super::trunks::shared_summary(conn, &t)?);
                continue;
            }
            let shown = super::trunks::present(conn, &t, row.tenant_uuid.as_ref().map(std::slice::from_ref))?;
            trunks.push(json!({"id": id, "tenant_uuid": t.tenant_uuid, "name": shown["name"], "endpoint_sip": shown["endpoint_sip"],
                               "endpoint_custom": shown["endpoint_custom"], "links": super::trunks::TRUNK.links(&t)}));
        }
    }
    let mut extensions = Vec::new();
    for ext in row.body["extensions"].as_array().cloned().unwrap_or_default() {
        let mut shown = extension_summary(conn, ext["id"].as_i64().unwrap_or(0))?;
        for key in ["strip_digits", "external_prefix", "prefix", "caller_id"] {
            shown[key] = ext.get(key).cloned().unwrap_or(Value::Null);
        }
        extensions.push(shown);
    }
    body["trunks"] = Value::Array(trunks);
    body["extensions"] = Value::Array(extensions);
    // Rows from before the policy existed, and partial policies, read back
    // complete: what the renderer uses.
    let policy: FailoverPolicy = serde_json::from_value(row.body["failover_policy"].clone()).unwrap_or_default();
    body["failover_policy"] = json!(policy);
    body["schedules"] = json!([]);
    body["call_permissions"] = json!([]);
    Ok(body)
}

/// `PUT /outcalls/{id}/trunks` `{"trunks": [{"id": 5}, ...]}`: ordered, replaces.
pub async fn outcall_trunks(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, body: Bytes) -> ApiResult<StatusCode> {
    let input = body_object(&body)?;
    state.store.write(|tx| {
        let outcall = OUTCALLS.find(tx, &caller, &id)?;
        let list = input.get("trunks").and_then(Value::as_array).ok_or_else(|| ApiError::field("trunks", "Missing data for required field: a list of {\"id\": <trunk id>}"))?;
        let mut ids: Vec<i64> = Vec::new();
        for (index, item) in list.iter().enumerate() {
            let trunk_id = item.get("id").and_then(Value::as_i64).ok_or_else(|| ApiError::field(&format!("trunks[{index}].id"), "Not a valid integer."))?;
            // The outcall's own trunks and those shared with its tenant (`tenancy::trunk_usable_by`).
            let usable = outcall.tenant_uuid.as_deref().is_some_and(|tenant| {
                crate::store::directory::StoreDirectory::new(tx).resolves(tenant, &Target::Trunk(TrunkId(trunk_id as u64)))
            });
            if !usable {
                let trunk = objects::get(tx, Kind::Trunk, trunk_id, Some(&caller.visible))?
                    .ok_or_else(|| ApiError::input("field 'trunks'", format!("Trunk was not found ('id': {trunk_id})")))?;
                same_tenant("outcall", &outcall, "trunk", &trunk)?;
            }
            if ids.contains(&trunk_id) {
                return Err(ApiError::resource("Operation not permitted. Cannot associate same trunk more than once"));
            }
            ids.push(trunk_id);
        }
        let mut body = outcall.body.clone();
        body["trunks"] = json!(ids.iter().map(|id| json!({"id": id})).collect::<Vec<_>>());
        OUTCALLS.spec.replace(tx, &caller, &outcall, body)
    })?;
    state.asterisk.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

fn require_context_type(conn: &Connection, ext: &ObjectRow, wanted: ContextKind) -> ApiResult<()> {
    let context = objects::find_where(conn, Kind::Context, "name", &ext.body["context"], None)?;
    let kind = match &context {
        Some(c) => context_kind(c)?,
        None => return Err(ApiError::resource("Extension context was not found")),
    };
    if kind != wanted {
        return Err(ApiError::resource(format!(
            "ContextType '{}' cannot be associated ('id': {}, 'context': '{}')",
            context.as_ref().and_then(|c| c.body["type"].as_str()).unwrap_or(""),
            ext.id,
            ext.body["context"].as_str().unwrap_or("")
        )));
    }
    Ok(())
}

fn require_free(conn: &Connection, ext: &ObjectRow, except: (&str, i64)) -> ApiResult<()> {
    match extension_owner(conn, ext.id)? {
        Some((kind, owner)) if !(kind == except.0 && owner.id == except.1) => Err(associated(ext, kind, &owner)),
        _ => Ok(()),
    }
}

/// `outcall_extension_put`'s work inside a transaction (also used by the CSV import).
pub fn outcall_extension_in(tx: &Connection, caller: &Caller, id: &str, ext_id: &str, input: &Map<String, Value>) -> ApiResult<()> {
    let outcall = OUTCALLS.find(tx, caller, id)?;
    let ext = EXTENSIONS.find(tx, caller, ext_id)?;
    same_tenant("outcall", &outcall, "extension", &ext)?;
    require_context_type(tx, &ext, ContextKind::Outcall)?;
    require_free(tx, &ext, ("outcall", outcall.id))?;
    let mut list = outcall.body["extensions"].as_array().cloned().unwrap_or_default();
    let position = list.iter().position(|e| e["id"].as_i64() == Some(ext.id));
    let mut entry = match position {
        Some(index) => list[index].as_object().cloned().unwrap_or_default(),
        None => json!({"id": ext.id, "strip_digits": null, "external_prefix": null, "prefix": null, "caller_id": null})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    };
    for key in ["strip_digits", "external_prefix", "prefix", "caller_id"] {
        if let Some(value) = input.get(key) {
            if key == "strip_digits" && value.is_null() {
                return Err(ApiError::field("strip_digits", "Field may not be null."));
            }
            entry.insert(key.into(), value.clone());
        }
    }
    let entry = Value::Object(entry);
    let typed_entry: OutcallExtension = typed(&entry)?;
    ok_or_400(validate::outcall_extension(&typed_entry))?;
    match position {
        Some(index) => list[index] = entry,
        None => list.push(entry),
    }
    let mut body = outcall.body.clone();
    body["extensions"] = Value::Array(list);
    OUTCALLS.spec.replace(tx, caller, &outcall, body)
}

pub async fn outcall_extension_put(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, ext_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let input = body_object(&body)?;
    state.store.write(|tx| outcall_extension_in(tx, &caller, &id, &ext_id, &input))?;
    state.asterisk.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

pub async fn outcall_extension_delete(State(state): State<AppState>, caller: Caller, Path((id, ext_id)): Path<(String, String)>) -> ApiResult<StatusCode> {
    state.store.write(|tx| {
        let outcall = OUTCALLS.find(tx, &caller, &id)?;
        let ext = EXTENSIONS.find(tx, &caller, &ext_id)?;
        let mut body = outcall.body.clone();
        let list = outcall.body["extensions"].as_array().cloned().unwrap_or_default();
        let kept: Vec<Value> = list.iter().filter(|e| e["id"].as_i64() != Some(ext.id)).cloned().collect();
        if kept.len() != list.len() {
            body["extensions"] = Value::Array(kept);
            OUTCALLS.spec.replace(tx, &caller, &outcall, body)?;
        }
        Ok::<_, ApiError>(())
    })?;
    state.asterisk.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

// ---------- incalls ----------

pub static INCALLS: Resource = Resource {
    spec: Spec { kind: Kind::Incall, noun: "Incall", path: "incalls", rel: "incalls", by_uuid: false },
    columns: &["id", "exten", "description", "user_id"],
    default_order: "id",
    writable: &["destination", "caller_id_mode", "caller_id_name", "description"],
    required: &["destination"],
    defaults: || {
        json!({"caller_id_mode": null, "caller_id_name": null, "description": null, "extension_id": null})
            .as_object()
            .cloned()
            .unwrap_or_default()
    },
    check: check_incall,
    present: present_incall,
    before_delete: no_hook,
    tenant_scoped: true,
    master_write: false,
    fill: no_fill,
};

fn check_incall(conn: &Connection, caller: &Caller, row: &ObjectRow) -> ApiResult<()> {
    let incall: Incall = typed(&doc(&INCALLS, row))?;
    ok_or_400(validate::incall(&incall))?;
    if let patchbay_shared::model::Destination::User { user_id, .. } = &incall.destination {
        let user = objects::get(conn, Kind::User, user_id.0 as i64, Some(&caller.visible))?
            .ok_or_else(|| ApiError::input("field 'destination'", format!("User was not found ('user_id': {})", user_id.0)))?;
        same_tenant("incall", row, "user", &user)?;
    }
    Ok(())
}

fn present_incall(conn: &Connection, res: &Resource, row: &ObjectRow) -> ApiResult<Value> {
    let mut body = res.spec.present(row);
    let extensions = match row.body["extension_id"].as_i64() {
        Some(id) => vec![extension_summary(conn, id)?],
        None => vec![],
    };
    if let Some(user_id) = row.body["destination"]["user_id"].as_i64()
        && let Some(user) = objects::get(conn, Kind::User, user_id, None)?
    {
        body["destination"]["user_firstname"] = user.body["firstname"].clone();
        body["destination"]["user_lastname"] = user.body["lastname"].clone();
    }
    // busy/congestion hang-ups always show their timeout, as Wazo dumps it.
    if body["destination"]["type"] == "hangup" && matches!(body["destination"]["cause"].as_str(), Some("busy" | "congestion")) {
        let timeout = body["destination"].get("timeout").cloned().unwrap_or(Value::Null);
        body["destination"]["timeout"] = timeout;
    }
    if body["destination"]["type"] == "hangup" && body["destination"].get("cause").is_none() {
        body["destination"]["cause"] = json!("normal");
    }
    body["exten"] = extensions.first().map(|e| e["exten"].clone()).unwrap_or(Value::Null);
    body["user_id"] = row.body["destination"]["user_id"].clone();
    body["extensions"] = Value::Array(extensions);
    body["schedules"] = json!([]);
    Ok(body)
}

/// `incall_extension_put`'s work inside a transaction (also used by the CSV import).
pub fn incall_extension_in(tx: &Connection, caller: &Caller, id: &str, ext_id: &str) -> ApiResult<()> {
    let incall = INCALLS.find(tx, caller, id)?;
    let ext = EXTENSIONS.find(tx, caller, ext_id)?;
    same_tenant("incall", &incall, "extension", &ext)?;
    match incall.body["extension_id"].as_i64() {
        Some(current) if current == ext.id => return Ok(()),
        Some(current) => {
            return Err(ApiError::resource(format!("Incall is associated with a Extension ('incall_id': {}, 'extension_id': {current})", incall.id)));
        }
        None => {}
    }
    require_context_type(tx, &ext, ContextKind::Incall)?;
    require_free(tx, &ext, ("incall", incall.id))?;
    let mut body = incall.body.clone();
    body["extension_id"] = json!(ext.id);
    INCALLS.spec.replace(tx, caller, &incall, body)
}

pub async fn incall_extension_put(State(state): State<AppState>, caller: Caller, Path((id, ext_id)): Path<(String, String)>) -> ApiResult<StatusCode> {
    state.store.write(|tx| incall_extension_in(tx, &caller, &id, &ext_id))?;
    state.asterisk.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

pub async fn incall_extension_delete(State(state): State<AppState>, caller: Caller, Path((id, ext_id)): Path<(String, String)>) -> ApiResult<StatusCode> {
    state.store.write(|tx| {
        let incall = INCALLS.find(tx, &caller, &id)?;
        let ext = EXTENSIONS.find(tx, &caller, &ext_id)?;
        if incall.body["extension_id"].as_i64() == Some(ext.id) {
            let mut body = incall.body.clone();
            body["extension_id"] = Value::Null;
            INCALLS.spec.replace(tx, &caller, &incall, body)?;
        }
        Ok::<_, ApiError>(())
    })?;
    state.asterisk.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

// ---------- users and lines ----------

pub static USERS: Resource = Resource {
    spec: Spec { kind: Kind::User, noun: "User", path: "users", rel: "users", by_uuid: false },
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
        let user: User = typed(&doc(&USERS, row))?;
        ok_or_400(validate::user(&user))
    },
    present: present_user,
    before_delete: |conn, caller, row| {
        for line in objects::list_where(conn, Kind::Line, "user_id", &json!(row.id), None)? {
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
    for line in &objects::list_where(conn, Kind::Line, "user_id", &json!(row.id), None)? {
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
        incalls.push(json!({"id": incall.id, "extensions": extensions, "links": INCALLS.spec.links(&incall)}));
    }
    body["lines"] = Value::Array(lines);
    body["incalls"] = Value::Array(incalls);
    Ok(body)
}

/// The incalls whose destination is this user, by id.
fn incalls_of_user(conn: &Connection, user: &ObjectRow) -> ApiResult<Vec<ObjectRow>> {
    let tenant = [user.tenant_uuid.clone().unwrap_or_default()];
    Ok(objects::list_where(conn, Kind::Incall, "destination.user_id", &json!(user.id), Some(&tenant))?
        .into_iter()
        .filter(|incall| incall.body["destination"]["type"] == "user" && incall.body["destination"]["user_id"].as_i64() == Some(user.id))
        .collect())
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

pub static LINES: Resource = Resource {
    spec: Spec { kind: Kind::Line, noun: "Line", path: "lines", rel: "lines", by_uuid: false },
    columns: &["id"],
    default_order: "id",
    writable: &[],
    required: &[],
    defaults: || json!({"user_id": null, "endpoint_sip": null, "extension_id": null}).as_object().cloned().unwrap_or_default(),
    check: |_, _, row| {
        let line: Line = typed(&doc(&LINES, row))?;
        ok_or_400(validate::line(&line))
    },
    present: present_line,
    before_delete: no_hook,
    tenant_scoped: true,
    master_write: false,
    fill: no_fill,
};

fn present_line(conn: &Connection, res: &Resource, row: &ObjectRow) -> ApiResult<Value> {
    let mut body = res.spec.present(row);
    // A line is named after its endpoint, as in Wazo.
    let endpoint = match row.body["endpoint_sip"]["uuid"].as_str() {
        Some(uuid) => objects::get_by_uuid(conn, Kind::EndpointSip, uuid, None)?,
        None => None,
    };
    body["name"] = endpoint.as_ref().map(|e| e.body["name"].clone()).unwrap_or(Value::Null);
    body["endpoint_sip"] = match &endpoint {
        Some(e) => json!({"uuid": e.uuid, "label": e.body["label"], "name": e.body["name"], "links": super::endpoints_sip::ENDPOINT_SIP.links(e)}),
        None => Value::Null,
    };
    body["extensions"] = match row.body["extension_id"].as_i64() {
        Some(id) => json!([extension_summary(conn, id)?]),
        None => json!([]),
    };
    body["users"] = match row.body["user_id"].as_i64().and_then(|id| objects::get(conn, Kind::User, id, None).ok().flatten()) {
        Some(user) => json!([{"id": user.id, "uuid": user.uuid, "firstname": user.body["firstname"], "links": USERS.spec.links(&user)}]),
        None => json!([]),
    };
    let _ = plain_present;
    Ok(body)
}

pub fn line_of_endpoint(conn: &Connection, uuid: &str) -> ApiResult<Option<ObjectRow>> {
    Ok(objects::find_where(conn, Kind::Line, "endpoint_sip.uuid", &json!(uuid), None)?)
}

pub async fn line_endpoint_put(State(state): State<AppState>, caller: Caller, Path((id, uuid)): Path<(String, String)>) -> ApiResult<StatusCode> {
    state.store.write(|tx| {
        let line = LINES.find(tx, &caller, &id)?;
        let endpoint = super::endpoints_sip::ENDPOINT_SIP.find(tx, &caller, &uuid)?;
        same_tenant("line", &line, "endpoint", &endpoint)?;
        if line.body["endpoint_sip"]["uuid"].as_str() == Some(uuid.as_str()) {
            return Ok(());
        }
        if !line.body["endpoint_sip"].is_null() {
            return Err(ApiError::resource(format!("Line is associated with a Endpoint ('line_id': {})", line.id)));
        }
        if line_of_endpoint(tx, &uuid)?.is_some() || super::trunks::trunk_of_sip(tx, &uuid)?.is_some() {
            return Err(ApiError::resource(format!("Endpoint is associated with a Line or Trunk ('endpoint_id': '{uuid}')")));
        }
        let mut body = line.body.clone();
        body["endpoint_sip"] = json!({"uuid": uuid});
        LINES.spec.replace(tx, &caller, &line, body)
    })?;
    state.asterisk.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

pub async fn line_endpoint_delete(State(state): State<AppState>, caller: Caller, Path((id, uuid)): Path<(String, String)>) -> ApiResult<StatusCode> {
    state.store.write(|tx| {
        let line = LINES.find(tx, &caller, &id)?;
        super::endpoints_sip::ENDPOINT_SIP.find(tx, &caller, &uuid)?;
        if line.body["endpoint_sip"]["uuid"].as_str() == Some(uuid.as_str()) {
            let mut body = line.body.clone();
            body["endpoint_sip"] = Value::Null;
            LINES.spec.replace(tx, &caller, &line, body)?;
        }
        Ok::<_, ApiError>(())
    })?;
    state.asterisk.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

/// `line_extension_put`'s work inside a transaction (also used by the CSV import).
pub fn line_extension_in(tx: &Connection, caller: &Caller, id: &str, ext_id: &str) -> ApiResult<()> {
    let line = LINES.find(tx, caller, id)?;
    let ext = EXTENSIONS.find(tx, caller, ext_id)?;
    same_tenant("line", &line, "extension", &ext)?;
    if line.body["extension_id"].as_i64() == Some(ext.id) {
        return Ok(());
    }
    require_context_type(tx, &ext, ContextKind::Internal)?;
    require_free(tx, &ext, ("line", line.id))?;
    let extension: Extension = typed(&doc(&EXTENSIONS, &ext))?;
    if let Some(context) = find_named(tx, caller, &extension.context)? {
        require_in_range(&context, &extension, RangeUse::User)?;
    }
    let mut body = line.body.clone();
    body["extension_id"] = json!(ext.id);
    LINES.spec.replace(tx, caller, &line, body)
}

pub async fn line_extension_put(State(state): State<AppState>, caller: Caller, Path((id, ext_id)): Path<(String, String)>) -> ApiResult<StatusCode> {
    state.store.write(|tx| line_extension_in(tx, &caller, &id, &ext_id))?;
    state.asterisk.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

pub async fn line_extension_delete(State(state): State<AppState>, caller: Caller, Path((id, ext_id)): Path<(String, String)>) -> ApiResult<StatusCode> {
    state.store.write(|tx| {
        let line = LINES.find(tx, &caller, &id)?;
        let ext = EXTENSIONS.find(tx, &caller, &ext_id)?;
        if line.body["extension_id"].as_i64() == Some(ext.id) {
            let mut body = line.body.clone();
            body["extension_id"] = Value::Null;
            LINES.spec.replace(tx, &caller, &line, body)?;
        }
        Ok::<_, ApiError>(())
    })?;
    state.asterisk.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

/// `user_line_put`'s work inside a transaction (also used by the CSV import).
pub fn user_line_in(tx: &Connection, caller: &Caller, id: &str, line_id: &str) -> ApiResult<()> {
    let user = USERS.find(tx, caller, id)?;
    let line = LINES.find(tx, caller, line_id)?;
    same_tenant("user", &user, "line", &line)?;
    match line.body["user_id"].as_i64() {
        Some(current) if current == user.id => return Ok(()),
        Some(current) => return Err(ApiError::resource(format!("Line is associated with a User ('line_id': {}, 'user_id': {current})", line.id))),
        None => {}
    }
    let mut body = line.body.clone();
    body["user_id"] = json!(user.id);
    LINES.spec.replace(tx, caller, &line, body)
}

pub async fn user_line_put(State(state): State<AppState>, caller: Caller, Path((id, line_id)): Path<(String, String)>) -> ApiResult<StatusCode> {
    state.store.write(|tx| user_line_in(tx, &caller, &id, &line_id))?;
    state.asterisk.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

pub async fn user_line_delete(State(state): State<AppState>, caller: Caller, Path((id, line_id)): Path<(String, String)>) -> ApiResult<StatusCode> {
    state.store.write(|tx| {
        let user = USERS.find(tx, &caller, &id)?;
        let line = LINES.find(tx, &caller, &line_id)?;
        if line.body["user_id"].as_i64() == Some(user.id) {
            let mut body = line.body.clone();
            body["user_id"] = Value::Null;
            LINES.spec.replace(tx, &caller, &line, body)?;
        }
        Ok::<_, ApiError>(())
    })?;
    state.asterisk.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

#[allow(dead_code)]
fn context_spec() -> &'static Spec {
    &CONTEXT
}
