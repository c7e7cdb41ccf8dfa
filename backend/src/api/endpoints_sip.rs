//! `/endpoints/sip`: PJSIP endpoints (the seven section option lists).
//! Legacy chan_sip bodies (seeds 000/001) are translated by `patchbay_shared`.

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::listing::ListQuery;
use super::resource::body_object;
use crate::api::AppState;
use crate::store::{Kind, ObjectRow, objects};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use crate::store::Connection;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

pub use super::specs::ENDPOINT_SIP;
const COLUMNS: &[&str] = &["name", "label", "asterisk_id", "template"];
pub use super::sip_sections::SECTIONS;
fn present(conn: &Connection, row: &ObjectRow) -> ApiResult<Value> {
    let mut body = ENDPOINT_SIP.present(row);
    let trunk = crate::store::trunks::of_sip_endpoint(conn, row.uuid.as_deref().unwrap_or_default())?
        .map(|trunk| json!({"id": trunk.id, "links": super::specs::TRUNK.links(&trunk)}));
    if let Value::Object(map) = &mut body {
        map.remove(LEGACY_KEY);
        map.insert("trunk".into(), trunk.unwrap_or(Value::Null));
        let line = crate::store::lines::of_endpoint(conn, row.uuid.as_deref().unwrap_or(""))?;
        map.insert("line".into(), line.map(|l| super::docs::summary(&super::specs::LINE, &l)).unwrap_or(Value::Null));
    }
    Ok(body)
}

pub const WRITABLE: &[&str] = &[
    "name", "label", "aor_section_options", "auth_section_options", "endpoint_section_options", "identify_section_options",
    "registration_section_options", "registration_outbound_auth_section_options", "outbound_auth_section_options",
    "templates", "transport", "asterisk_id",
];

/// Whether a SIP name (endpoint, template or transport: one namespace) is used by another object.
pub fn sip_name_taken(conn: &Connection, name: &str, except: Option<&str>) -> ApiResult<bool> {
    Ok(objects::sip_name_taken(conn, name, except)?)
}

/// The tenant's SIP template with that label (`global`, `registration_trunk`).
pub fn template_labelled(conn: &Connection, tenant: &str, label: &str) -> ApiResult<Option<ObjectRow>> {
    Ok(objects::find_where(conn, Kind::SipTemplate, "label", &serde_json::json!(label), Some(&[tenant.to_string()]))?)
}

fn random_secret() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    (0..16).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// Where an endpoint made from a legacy chan_sip body keeps that body
/// (merged with later legacy updates): a later legacy `PUT` then changes only
/// the keys it gives. Stored, never shown (it holds the secret).
pub const LEGACY_KEY: &str = "legacy";
const LEGACY_FIELDS: [&str; 6] = ["username", "name", "secret", "type", "host", "options"];

/// A legacy chan_sip body (`username`, `secret`, `type`, `host`, `options`) →
/// PJSIP keys. On create, a missing name and secret are generated. On update
/// (`existing` is the stored endpoint) the body is a partial update, as every
/// Wazo `PUT`: the given legacy keys are merged into the stored legacy body,
/// the options that the previous translation produced are replaced by the new
/// translation's, and everything else (name, credentials, host, registration,
/// options set in PJSIP shape, templates) keeps its value.
fn translate_legacy(conn: &Connection, tenant: &str, input: Map<String, Value>, existing: Option<&Map<String, Value>>) -> ApiResult<Map<String, Value>> {
    use patchbay_shared::api::legacy::{EndpointUse, LegacySipEndpoint, SuggestedTemplate, translate_sip_endpoint};
    let stored = existing.and_then(|e| e.get(LEGACY_KEY)).and_then(Value::as_object).cloned();
    let mut legacy = stored.clone().unwrap_or_default();
    for key in LEGACY_FIELDS {
        if let Some(value) = input.get(key) {
            legacy.insert(key.into(), value.clone());
        }
    }
    match existing {
        None => {
            if !legacy.contains_key("username") && !legacy.contains_key("name") {
                legacy.insert("username".into(), json!(random_name()));
            }
            if !legacy.contains_key("secret") {
                legacy.insert("secret".into(), json!(random_secret()));
            }
        }
        Some(endpoint) => {
            // The section name never changes on update.
            legacy.insert("name".into(), endpoint.get("name").cloned().unwrap_or(Value::Null));
        }
    }
    let host_known = legacy.contains_key("host");
    let parsed: LegacySipEndpoint = super::docs::typed(&Value::Object(legacy.clone()))?;
    let previous = match &stored {
        Some(old) => {
            let old: LegacySipEndpoint = super::docs::typed(&Value::Object(old.clone()))?;
            translate_sip_endpoint(&old, EndpointUse::Trunk).map(|t| t.sections).unwrap_or_default()
        }
        None => patchbay_shared::model::SipSections::default(),
    };
    let translated = translate_sip_endpoint(&parsed, EndpointUse::Trunk).map_err(super::docs::field_errors)?;
    let mut sections = translated.sections;
    if existing.is_some() && !host_known {
        // No host was ever given in legacy form: do not invent `dynamic`'s
        // aor settings over the endpoint's real contact.
        use patchbay_shared::model::SipSectionKind;
        sections.get_mut(SipSectionKind::Aor).retain(|(k, _)| k != "max_contacts" && k != "remove_existing");
    }
    let mut out = Map::new();
    for kind in patchbay_shared::model::SipSectionKind::ALL {
        let field = kind.field_name();
        let current: Vec<(String, String)> = existing
            .and_then(|e| e.get(field))
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
        let replaced = previous.get(kind);
        let mut merged: Vec<(String, String)> = current.into_iter().filter(|pair| !replaced.contains(pair)).collect();
        for (key, value) in sections.get(kind) {
            match merged.iter_mut().find(|(k, _)| k == key) {
                Some(slot) => slot.1 = value.clone(),
                None => merged.push((key.clone(), value.clone())),
            }
        }
        out.insert(field.into(), json!(merged));
    }
    out.insert(LEGACY_KEY.into(), Value::Object(legacy));
    if existing.is_none() {
        out.insert("name".into(), json!(translated.name));
        out.insert("label".into(), json!(translated.label));
        let label = match translated.suggested_template {
            SuggestedTemplate::Global => "global",
            SuggestedTemplate::RegistrationTrunk => "registration_trunk",
        };
        if let Some(template) = template_labelled(conn, tenant, label)? {
            out.insert("templates".into(), json!([{"uuid": template.uuid}]));
        }
    }
    Ok(out)
}

fn is_legacy(input: &Map<String, Value>) -> bool {
    ["username", "secret", "host", "type", "options"].iter().any(|key| input.contains_key(*key))
        && !SECTIONS.iter().any(|key| input.contains_key(*key))
}

/// Checks a SIP endpoint or template document with the shared rules, then its references.
pub fn check_sip(conn: &Connection, caller: &Caller, row: &ObjectRow) -> ApiResult<()> {
    let mut doc = crate::snapshot::document(row, true);
    if doc["uuid"].is_null() {
        doc["uuid"] = json!("00000000-0000-0000-0000-000000000000");
    }
    let endpoint: patchbay_shared::model::EndpointSip = super::docs::typed(&doc)?;
    super::docs::ok_or_400(patchbay_shared::validate::endpoint_sip(&endpoint))?;
    if sip_name_taken(conn, &endpoint.name, row.uuid.as_deref())? {
        return Err(ApiError::resource(format!("EndpointSIP already exists ('name': '{}')", endpoint.name)));
    }
    for template in &endpoint.templates {
        let found = objects::get_by_uuid(conn, Kind::SipTemplate, &template.uuid, Some(&caller.visible))?
            .filter(|t| t.tenant_uuid == row.tenant_uuid && t.uuid != row.uuid);
        if found.is_none() {
            return Err(ApiError::input("field 'templates'", format!("endpoint_sip was not found ('uuid': '{}')", template.uuid)));
        }
    }
    if let Some(transport) = &endpoint.transport
        && objects::get_by_uuid(conn, Kind::Transport, &transport.uuid, None)?.is_none()
    {
        return Err(ApiError::input("field 'transport'", format!("SIPTransport was not found ('uuid': '{}')", transport.uuid)));
    }
    Ok(())
}

fn validate_and_merge(conn: &Connection, caller: &Caller, input: Map<String, Value>, endpoint: &mut Map<String, Value>, row: &ObjectRow) -> ApiResult<()> {
    let tenant = row.tenant_uuid.clone().unwrap_or_default();
    let updating = !row.body.is_null();
    let input = if is_legacy(&input) { translate_legacy(conn, &tenant, input, updating.then_some(&*endpoint))? } else { input };
    for (key, value) in input {
        if WRITABLE.contains(&key.as_str()) || key == LEGACY_KEY {
            endpoint.insert(key, value);
        }
    }
    let candidate = ObjectRow { body: Value::Object(endpoint.clone()), ..row.clone() };
    check_sip(conn, caller, &candidate)
}


fn defaults() -> Map<String, Value> {
    let mut endpoint = Map::new();
    endpoint.insert("name".into(), json!(random_name()));
    endpoint.insert("label".into(), Value::Null);
    for section in SECTIONS {
        endpoint.insert((*section).into(), json!([]));
    }
    endpoint.insert("templates".into(), json!([]));
    endpoint.insert("transport".into(), Value::Null);
    endpoint.insert("asterisk_id".into(), Value::Null);
    endpoint
}

/// 8 random `[a-z0-9]` characters, as Wazo names SIP endpoints, templates
/// and IAX endpoints created without one (xivo-dao's `generate_hash`).
pub fn random_name() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..8).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

pub async fn list(State(state): State<AppState>, caller: Caller, Query(params): Query<HashMap<String, String>>) -> ApiResult<Json<Value>> {
    let query = ListQuery::parse(&params, COLUMNS)?;
    state.store.read(|conn| {
        let rows = ENDPOINT_SIP.list_visible(conn, &caller, query.recurse)?;
        let items = rows.iter().map(|row| present(conn, row)).collect::<ApiResult<Vec<_>>>()?;
        Ok(Json(query.apply(items, COLUMNS, "label")))
    })
}

pub async fn get(State(state): State<AppState>, caller: Caller, Path(uuid): Path<String>, Query(params): Query<HashMap<String, String>>) -> ApiResult<Json<Value>> {
    let merged = wants_merged_view(&params)?;
    state.store.read(|conn| {
        let row = ENDPOINT_SIP.find(conn, &caller, &uuid)?;
        let mut body = present(conn, &row)?;
        if merged {
            merge_templates_into(conn, &row, &mut body)?;
        }
        Ok(Json(body))
    })
}

pub use super::sip_sections::{merge_templates_into, wants_merged_view};

pub async fn create(State(state): State<AppState>, caller: Caller, body: Bytes) -> ApiResult<Response> {
    let input = super::resource::body_required(&body)?;
    let response = state.store.write(|tx| {
        let mut endpoint = defaults();
        let draft = ObjectRow { id: 0, uuid: None, tenant_uuid: Some(caller.tenant_uuid.clone()), body: Value::Null };
        validate_and_merge(tx, &caller, input, &mut endpoint, &draft)?;
        let row = ENDPOINT_SIP.insert(tx, &caller, Value::Object(endpoint), true)?;
        Ok::<_, ApiError>(ENDPOINT_SIP.created(&row, present(tx, &row)?))
    })?;
    state.request_apply();
    Ok(response)
}

pub async fn update(State(state): State<AppState>, caller: Caller, Path(uuid): Path<String>, body: Bytes) -> ApiResult<StatusCode> {
    let input = body_object(&body)?;
    state.store.write(|tx| {
        let before = ENDPOINT_SIP.find(tx, &caller, &uuid)?;
        let mut endpoint = before.body.as_object().cloned().unwrap_or_default();
        validate_and_merge(tx, &caller, input, &mut endpoint, &before)?;
        ENDPOINT_SIP.replace(tx, &caller, &before, Value::Object(endpoint))
    })?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

/// Deleting an endpoint leaves its trunk with `endpoint_sip: null`.
pub async fn delete(State(state): State<AppState>, caller: Caller, Path(uuid): Path<String>) -> ApiResult<StatusCode> {
    state.store.write(|tx| {
        let before = ENDPOINT_SIP.find(tx, &caller, &uuid)?;
        for trunk in objects::list(tx, Kind::Trunk, None)? {
            if crate::store::trunks::sip_uuid(&trunk.body) == before.uuid.as_deref() {
                let mut body = trunk.body.clone();
                body["endpoint_sip"] = Value::Null;
                super::specs::TRUNK.replace(tx, &caller, &trunk, body)?;
            }
        }
        if let Some(line) = crate::store::lines::of_endpoint(tx, &uuid)? {
            let mut body = line.body.clone();
            body["endpoint_sip"] = Value::Null;
            super::specs::LINE.replace(tx, &caller, &line, body)?;
        }
        ENDPOINT_SIP.remove(tx, &caller, &before)
    })?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}
