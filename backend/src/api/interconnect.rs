//! SIP templates, transports, IAX and custom endpoints, legacy SIP registers
//! and general settings, and the trunk associations that go with them.

use super::auth::Caller;
use super::docs::{Resource, no_fill, no_hook, ok_or_400, plain_present, same_tenant, summary, taken, typed};
use super::error::{ApiError, ApiResult};
use super::resource::{Spec, body_object};
use super::specs::TRUNK;
use crate::api::AppState;
use crate::store::{Kind, ObjectRow, objects};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use patchbay_shared::api::legacy::{LegacySipGeneral, LegacySipRegister, apply_register, translate_sip_general};
use patchbay_shared::model::{EndpointCustom, EndpointIax, PjsipSectionSettings, RegisterIax, SipSections, Transport};
use patchbay_shared::validate;
use crate::store::Connection;
use serde_json::{Map, Value, json};

fn object(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

pub static SIP_TEMPLATES: Resource = Resource {
    spec: super::specs::SIP_TEMPLATE,
    columns: &["name", "label", "asterisk_id", "template"],
    default_order: "label",
    writable: super::endpoints_sip::WRITABLE,
    required: &[],
    defaults: template_defaults,
    check: super::endpoints_sip::check_sip,
    present: plain_present,
    before_delete: |conn, _, row| {
        let used = objects::list(conn, Kind::EndpointSip, None)?
            .iter()
            .chain(objects::list(conn, Kind::SipTemplate, None)?.iter())
            .any(|e| e.body["templates"].as_array().is_some_and(|t| t.iter().any(|t| t["uuid"].as_str() == row.uuid.as_deref())));
        if used { Err(ApiError::resource("EndpointSIPTemplate is associated with a EndpointSIP")) } else { Ok(()) }
    },
    tenant_scoped: true,
    master_write: false,
    fill: no_fill,
};

pub fn template_defaults() -> Map<String, Value> {
    let mut map = object(json!({"label": null, "templates": [], "transport": null, "asterisk_id": null}));
    map.insert("name".into(), json!(super::endpoints_sip::random_name()));
    for section in super::endpoints_sip::SECTIONS {
        map.insert((*section).into(), json!([]));
    }
    map
}

pub static TRANSPORTS: Resource = Resource {
    spec: Spec { kind: Kind::Transport, noun: "SIPTransport", path: "sip/transports", rel: "sip_transports", by_uuid: true },
    columns: &["uuid", "name"],
    default_order: "name",
    writable: &["name", "options"],
    required: &["name"],
    defaults: || object(json!({"options": []})),
    check: |conn, _, row| {
        let transport: Transport = typed(&crate::snapshot::document(row, true))?;
        ok_or_400(validate::transport(&transport))?;
        if super::endpoints_sip::sip_name_taken(conn, &transport.name, row.uuid.as_deref())? {
            return Err(ApiError::resource(format!("SIPTransport already exists ('name': '{}')", transport.name)));
        }
        Ok(())
    },
    present: |_, res, row| {
        let mut body = res.spec.present(row);
        if let Value::Object(map) = &mut body {
            map.remove("tenant_uuid");
        }
        Ok(body)
    },
    before_delete: |conn, _, row| {
        let used = objects::list(conn, Kind::EndpointSip, None)?
            .iter()
            .chain(objects::list(conn, Kind::SipTemplate, None)?.iter())
            .any(|e| e.body["transport"]["uuid"].as_str() == row.uuid.as_deref());
        if used { Err(ApiError::resource("Transport is associated with a EndpointSIP")) } else { Ok(()) }
    },
    tenant_scoped: false,
    master_write: true,
    fill: no_fill,
};

pub use super::sip_sections::move_transport_users;

pub static IAX: Resource = Resource {
    spec: super::specs::ENDPOINT_IAX,
    columns: &["id", "name", "type", "host"],
    default_order: "name",
    writable: &["name", "type", "host", "options"],
    required: &[],
    defaults: || {
        let mut map = object(json!({"type": "friend", "host": "dynamic", "options": []}));
        map.insert("name".into(), json!(super::endpoints_sip::random_name()));
        map
    },
    check: |conn, _, row| {
        let iax: EndpointIax = typed(&crate::snapshot::document(row, false))?;
        ok_or_400(validate::endpoint_iax(&iax))?;
        if taken(conn, Kind::EndpointIax, "name", &json!(iax.name), row.id)? {
            return Err(ApiError::resource(format!("IAXEndpoint already exists ('name': '{}')", iax.name)));
        }
        Ok(())
    },
    present: |conn, res, row| present_with_trunk(conn, res, row, "endpoint_iax"),
    before_delete: |conn, caller, row| detach_from_trunks(conn, caller, row, "endpoint_iax"),
    tenant_scoped: true,
    master_write: false,
    fill: no_fill,
};

pub static CUSTOM: Resource = Resource {
    spec: super::specs::ENDPOINT_CUSTOM,
    columns: &["id", "interface", "context"],
    default_order: "interface",
    writable: &["interface", "interface_suffix", "enabled"],
    required: &["interface"],
    defaults: || object(json!({"interface_suffix": null, "enabled": true})),
    check: |conn, _, row| {
        let custom: EndpointCustom = typed(&crate::snapshot::document(row, false))?;
        ok_or_400(validate::endpoint_custom(&custom))?;
        if taken(conn, Kind::EndpointCustom, "interface", &json!(custom.interface), row.id)? {
            return Err(ApiError::resource(format!("CustomEndpoint already exists ('interface': '{}')", custom.interface)));
        }
        Ok(())
    },
    present: |conn, res, row| {
        // Lines have SIP endpoints only here: a custom endpoint's `line` is always null.
        let mut body = present_with_trunk(conn, res, row, "endpoint_custom")?;
        body["line"] = Value::Null;
        Ok(body)
    },
    before_delete: |conn, caller, row| detach_from_trunks(conn, caller, row, "endpoint_custom"),
    tenant_scoped: true,
    master_write: false,
    fill: no_fill,
};

pub static REGISTERS_SIP: Resource = Resource {
    spec: super::specs::REGISTER_SIP,
    columns: &["id", "remote_host", "auth_username"],
    default_order: "id",
    writable: &["auth_username", "auth_password", "transport", "remote_host", "remote_port", "sip_username", "callback_extension", "expiration", "enabled"],
    required: &["remote_host"],
    defaults: || object(json!({"enabled": true})),
    check: |_, _, row| {
        // Not in the translated register (PJSIP has no disabled registration), so typed here.
        if !row.body["enabled"].is_boolean() {
            return Err(ApiError::field("enabled", "Not a valid boolean."));
        }
        let register: LegacySipRegister = typed(&row.body)?;
        ok_or_400(register_text(&register))?;
        let mut scratch = SipSections::default();
        apply_register(&register, &mut scratch).map_err(super::docs::field_errors)
    },
    present: plain_present,
    before_delete: |conn, caller, row| {
        for trunk in objects::list(conn, Kind::Trunk, None)? {
            if trunk.body["register_sip"]["id"].as_i64() == Some(row.id) {
                let mut body = trunk.body.clone();
                body["register_sip"] = Value::Null;
                TRUNK.replace(conn, caller, &trunk, body)?;
            }
        }
        Ok(())
    },
    tenant_scoped: true,
    master_write: false,
    fill: no_fill,
};

/// `/registers/iax`: Wazo's IAX registrations, attached to a trunk with
/// `PUT /trunks/{id}/registers/iax/{id}`. Tenant-scoped here (Wazo keeps them
/// global), so a tenant sees and attaches only its own.
pub static REGISTERS_IAX: Resource = Resource {
    spec: super::specs::REGISTER_IAX,
    columns: &["id", "remote_host", "auth_username"],
    default_order: "id",
    writable: &["auth_username", "auth_password", "remote_host", "remote_port", "callback_extension", "callback_context", "enabled"],
    required: &["remote_host"],
    defaults: || {
        object(json!({"auth_username": null, "auth_password": null, "remote_port": null, "callback_extension": null, "callback_context": null, "enabled": true}))
    },
    check: |conn, caller, row| {
        let register: RegisterIax = typed(&row.body)?;
        ok_or_400(validate::register_iax(&register))?;
        // The callback context is a name Asterisk resolves: it must be one of
        // the register's own tenant (Patchbay's rule; Wazo does not check it).
        if let Some(context) = register.callback_context.as_deref().filter(|c| !c.is_empty()) {
            let found = super::contexts::find_named(conn, caller, context)?.filter(|c| c.tenant_uuid == row.tenant_uuid);
            if found.is_none() {
                return Err(ApiError::input("field 'callback_context'", format!("Context was not found ('callback_context': '{context}')")));
            }
        }
        Ok(())
    },
    present: |conn, res, row| present_with_trunk(conn, res, row, "register_iax"),
    before_delete: |conn, caller, row| detach_from_trunks(conn, caller, row, "register_iax"),
    tenant_scoped: true,
    master_write: false,
    fill: no_fill,
};

/// `PUT /trunks/{id}/registers/iax/{register_id}`: Wazo's
/// `TrunkRegisterIAXAssociationValidator` (one register per trunk, one trunk
/// per register, not on a SIP or custom trunk); the same pair again is a no-op.
pub async fn trunk_register_iax_put(State(state): State<AppState>, caller: Caller, Path((id, reg_id)): Path<(String, String)>) -> ApiResult<StatusCode> {
    state.store.write(|tx| {
        let trunk = TRUNK.find(tx, &caller, &id)?;
        let register = REGISTERS_IAX.find(tx, &caller, &reg_id)?;
        same_tenant("trunk", &trunk, "register_iax", &register)?;
        if trunk.body["register_iax"]["id"].as_i64() == Some(register.id) {
            return Ok(());
        }
        if let Some(current) = trunk.body["register_iax"]["id"].as_i64() {
            return Err(ApiError::resource(format!("Trunk is associated with a IAXRegister ('trunk_id': {}, 'register_iax_id': {current})", trunk.id)));
        }
        if let Some(owner) = objects::list(tx, Kind::Trunk, None)?.into_iter().find(|t| t.body["register_iax"]["id"].as_i64() == Some(register.id)) {
            return Err(ApiError::resource(format!("Trunk is associated with a IAXRegister ('trunk_id': {}, 'register_iax_id': {})", owner.id, register.id)));
        }
        for (key, protocol) in [("endpoint_sip", "sip"), ("endpoint_custom", "custom")] {
            if !trunk.body[key].is_null() {
                return Err(ApiError::resource(format!("Trunk is associated with a Endpoint ('trunk_id': {}, 'protocol': '{protocol}')", trunk.id)));
            }
        }
        let mut body = trunk.body.clone();
        body["register_iax"] = json!({"id": register.id});
        TRUNK.replace(tx, &caller, &trunk, body)
    })?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

pub async fn trunk_register_iax_delete(State(state): State<AppState>, caller: Caller, Path((id, reg_id)): Path<(String, String)>) -> ApiResult<StatusCode> {
    state.store.write(|tx| dissociate(tx, &caller, &id, &REGISTERS_IAX, "register_iax", &reg_id))?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

/// The register's credentials become PJSIP option values (`client_uri`,
/// `username`, `password`): each is checked under its own name, with the rule
/// of option values (no control characters, no `${` / `$[`, at most 80
/// characters) and, for user names and the contact user, none of `[ ] { } $` either.
fn register_text(register: &LegacySipRegister) -> Vec<patchbay_shared::validate::FieldError> {
    use patchbay_shared::validate::FieldError;
    let fields = [
        ("auth_username", register.auth_username.as_deref(), true),
        ("sip_username", register.sip_username.as_deref(), true),
        ("callback_extension", register.callback_extension.as_deref(), true),
        ("auth_password", register.auth_password.as_deref(), false),
    ];
    let mut errors = Vec::new();
    for (field, value, user) in fields {
        let Some(value) = value else { continue };
        if value.is_empty() || value.chars().count() > 80 {
            errors.push(FieldError::new(field, "1 to 80 characters"));
        } else if value.chars().any(char::is_control) || value.contains("${") || value.contains("$[") || value.trim() != value {
            errors.push(FieldError::new(field, "no control characters, `${`, `$[` or leading/trailing blanks"));
        } else if user && value.chars().any(|c| "[]{}$ :/~@;,".contains(c)) {
            errors.push(FieldError::new(field, "no blanks or any of `[ ] { } $ : / ~ @ ; ,`"));
        }
    }
    errors
}

fn present_with_trunk(conn: &Connection, res: &Resource, row: &ObjectRow, key: &str) -> ApiResult<Value> {
    let mut body = res.spec.present(row);
    let trunk = objects::list(conn, Kind::Trunk, None)?.into_iter().find(|t| t.body[key]["id"].as_i64() == Some(row.id));
    body["trunk"] = trunk.map(|t| summary(&TRUNK, &t)).unwrap_or(Value::Null);
    Ok(body)
}

fn detach_from_trunks(conn: &Connection, caller: &Caller, row: &ObjectRow, key: &str) -> ApiResult<()> {
    for trunk in objects::list(conn, Kind::Trunk, None)? {
        if trunk.body[key]["id"].as_i64() == Some(row.id) {
            let mut body = trunk.body.clone();
            body[key] = Value::Null;
            TRUNK.replace(conn, caller, &trunk, body)?;
        }
    }
    Ok(())
}

/// Trunk deletion cascade: its IAX/custom endpoint goes, outcalls forget it.
pub fn trunk_deleted(conn: &Connection, caller: &Caller, trunk: &ObjectRow) -> ApiResult<()> {
    for (key, res) in [("endpoint_iax", &IAX), ("endpoint_custom", &CUSTOM), ("register_iax", &REGISTERS_IAX)] {
        if let Some(id) = trunk.body[key]["id"].as_i64()
            && let Some(endpoint) = objects::get(conn, res.spec.kind, id, None)?
        {
            res.spec.remove(conn, caller, &endpoint)?;
        }
    }
    remove_from_outcalls(conn, caller, trunk.id, |_| true)
}

/// Takes trunk `trunk_id` out of the failover list of every outcall that
/// `concerned` accepts.
pub fn remove_from_outcalls(conn: &Connection, caller: &Caller, trunk_id: i64, concerned: impl Fn(&ObjectRow) -> bool) -> ApiResult<()> {
    for outcall in objects::list(conn, Kind::Outcall, None)?.into_iter().filter(|o| concerned(o)) {
        let list = outcall.body["trunks"].as_array().cloned().unwrap_or_default();
        let kept: Vec<Value> = list.iter().filter(|t| t["id"].as_i64() != Some(trunk_id)).cloned().collect();
        if kept.len() != list.len() {
            let mut body = outcall.body.clone();
            body["trunks"] = Value::Array(kept);
            super::specs::OUTCALL.replace(conn, caller, &outcall, body)?;
        }
    }
    Ok(())
}

fn trunk_has_endpoint(trunk: &ObjectRow) -> bool {
    ["endpoint_sip", "endpoint_iax", "endpoint_custom"].iter().any(|key| !trunk.body[*key].is_null())
}

/// `PUT /trunks/{id}/endpoints/{iax|custom}/{endpoint_id}`.
fn associate(tx: &Connection, caller: &Caller, id: &str, res: &Resource, key: &str, endpoint_id: &str) -> ApiResult<()> {
    let trunk = TRUNK.find(tx, caller, id)?;
    let endpoint = res.find(tx, caller, endpoint_id)?;
    same_tenant("trunk", &trunk, "endpoint", &endpoint)?;
    if trunk.body[key]["id"].as_i64() == Some(endpoint.id) {
        return Ok(());
    }
    if trunk_has_endpoint(&trunk) {
        return Err(ApiError::resource(format!("Trunk is associated with a Endpoint ('trunk_id': {})", trunk.id)));
    }
    if key == "endpoint_custom" && trunk.body["shared_with"].as_array().is_some_and(|l| !l.is_empty()) {
        return Err(ApiError::resource(format!("Trunk is shared with other tenants: a custom endpoint cannot be shared ('trunk_id': {})", trunk.id)));
    }
    if key == "endpoint_custom" && !trunk.body["register_sip"].is_null() {
        return Err(ApiError::resource(format!("Trunk is associated with a RegisterSIP ('trunk_id': {})", trunk.id)));
    }
    if key == "endpoint_custom" && !trunk.body["register_iax"].is_null() {
        return Err(ApiError::resource(format!("Trunk is associated with a IAXRegister ('trunk_id': {})", trunk.id)));
    }
    if let Some(owner) = objects::list(tx, Kind::Trunk, None)?.into_iter().find(|t| t.body[key]["id"].as_i64() == Some(endpoint.id)) {
        return Err(ApiError::resource(format!("Trunk is associated with a Endpoint ('trunk_id': {}, 'endpoint_id': {})", owner.id, endpoint.id)));
    }
    let mut body = trunk.body.clone();
    body[key] = json!({"id": endpoint.id});
    TRUNK.replace(tx, caller, &trunk, body)
}

fn dissociate(tx: &Connection, caller: &Caller, id: &str, res: &Resource, key: &str, endpoint_id: &str) -> ApiResult<()> {
    let trunk = TRUNK.find(tx, caller, id)?;
    let endpoint = res.find(tx, caller, endpoint_id)?;
    if trunk.body[key]["id"].as_i64() == Some(endpoint.id) {
        let mut body = trunk.body.clone();
        body[key] = Value::Null;
        TRUNK.replace(tx, caller, &trunk, body)?;
    }
    Ok(())
}

pub async fn trunk_iax_put(State(state): State<AppState>, caller: Caller, Path((id, e)): Path<(String, String)>) -> ApiResult<StatusCode> {
    state.store.write(|tx| associate(tx, &caller, &id, &IAX, "endpoint_iax", &e))?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}
pub async fn trunk_iax_delete(State(state): State<AppState>, caller: Caller, Path((id, e)): Path<(String, String)>) -> ApiResult<StatusCode> {
    state.store.write(|tx| dissociate(tx, &caller, &id, &IAX, "endpoint_iax", &e))?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}
pub async fn trunk_custom_put(State(state): State<AppState>, caller: Caller, Path((id, e)): Path<(String, String)>) -> ApiResult<StatusCode> {
    state.store.write(|tx| associate(tx, &caller, &id, &CUSTOM, "endpoint_custom", &e))?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}
pub async fn trunk_custom_delete(State(state): State<AppState>, caller: Caller, Path((id, e)): Path<(String, String)>) -> ApiResult<StatusCode> {
    state.store.write(|tx| dissociate(tx, &caller, &id, &CUSTOM, "endpoint_custom", &e))?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /trunks/{id}/registers/sip/{reg_id}`: writes the registration into the trunk's SIP endpoint.
pub async fn trunk_register_put(State(state): State<AppState>, caller: Caller, Path((id, reg_id)): Path<(String, String)>) -> ApiResult<StatusCode> {
    state.store.write(|tx| {
        let trunk = TRUNK.find(tx, &caller, &id)?;
        let register = REGISTERS_SIP.find(tx, &caller, &reg_id)?;
        same_tenant("trunk", &trunk, "register", &register)?;
        if trunk.body["register_sip"]["id"].as_i64() == Some(register.id) {
            return Ok(());
        }
        if !trunk.body["register_sip"].is_null() {
            return Err(ApiError::resource(format!("Trunk is associated with a RegisterSIP ('trunk_id': {})", trunk.id)));
        }
        if let Some(owner) = objects::list(tx, Kind::Trunk, None)?.into_iter().find(|t| t.body["register_sip"]["id"].as_i64() == Some(register.id)) {
            return Err(ApiError::resource(format!("RegisterSIP is associated with a Trunk ('trunk_id': {})", owner.id)));
        }
        if !trunk.body["endpoint_iax"].is_null() || !trunk.body["endpoint_custom"].is_null() {
            return Err(ApiError::resource(format!("Trunk is associated with a Endpoint ('trunk_id': {})", trunk.id)));
        }
        let uuid = crate::store::trunks::sip_uuid(&trunk.body)
            .ok_or_else(|| ApiError::resource(format!("Trunk has no SIP endpoint to register with ('trunk_id': {})", trunk.id)))?
            .to_string();
        let endpoint = objects::get_by_uuid(tx, Kind::EndpointSip, &uuid, None)?
            .ok_or_else(|| ApiError::resource("Trunk SIP endpoint was not found"))?;
        let legacy: LegacySipRegister = typed(&register.body)?;
        let mut sections: SipSections = typed(&endpoint.body)?;
        apply_register(&legacy, &mut sections).map_err(super::docs::field_errors)?;
        let mut body = endpoint.body.clone();
        if let (Value::Object(map), Ok(Value::Object(new))) = (&mut body, serde_json::to_value(&sections)) {
            map.extend(new);
            let tenant = endpoint.tenant_uuid.clone().unwrap_or_default();
            if let Some(template) = super::endpoints_sip::template_labelled(tx, &tenant, "registration_trunk")? {
                map.insert("templates".into(), json!([{"uuid": template.uuid}]));
            }
        }
        super::endpoints_sip::ENDPOINT_SIP.replace(tx, &caller, &endpoint, body)?;
        let mut trunk_body = trunk.body.clone();
        trunk_body["register_sip"] = json!({"id": register.id});
        TRUNK.replace(tx, &caller, &trunk, trunk_body)
    })?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

pub async fn trunk_register_delete(State(state): State<AppState>, caller: Caller, Path((id, reg_id)): Path<(String, String)>) -> ApiResult<StatusCode> {
    state.store.write(|tx| {
        let trunk = TRUNK.find(tx, &caller, &id)?;
        let register = REGISTERS_SIP.find(tx, &caller, &reg_id)?;
        if trunk.body["register_sip"]["id"].as_i64() == Some(register.id) {
            if let Some(uuid) = crate::store::trunks::sip_uuid(&trunk.body)
                && let Some(endpoint) = objects::get_by_uuid(tx, Kind::EndpointSip, uuid, None)?
            {
                let mut body = endpoint.body.clone();
                body["registration_section_options"] = json!([]);
                body["registration_outbound_auth_section_options"] = json!([]);
                super::endpoints_sip::ENDPOINT_SIP.replace(tx, &caller, &endpoint, body)?;
            }
            let mut body = trunk.body.clone();
            body["register_sip"] = Value::Null;
            TRUNK.replace(tx, &caller, &trunk, body)?;
        }
        Ok::<_, ApiError>(())
    })?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

// ---------- global settings ----------

const SETTINGS: Spec = Spec { kind: Kind::Settings, noun: "Settings", path: "asterisk", rel: "settings", by_uuid: false };
pub const GLOBAL_ID: i64 = 1;
pub const SYSTEM_ID: i64 = 2;

fn settings(conn: &Connection, id: i64) -> ApiResult<(Option<ObjectRow>, Value)> {
    let row = objects::get(conn, Kind::Settings, id, None)?;
    let body = row.as_ref().map(|r| r.body.clone()).unwrap_or_else(|| json!({"options": {}}));
    Ok((row, body))
}

fn write_settings(conn: &Connection, caller: &Caller, id: i64, body: Value) -> ApiResult<()> {
    match objects::get(conn, Kind::Settings, id, None)? {
        Some(before) => SETTINGS.replace(conn, caller, &before, body),
        None => {
            let row = ObjectRow { id, uuid: None, tenant_uuid: None, body };
            objects::insert(conn, Kind::Settings, &row)?;
            Ok(())
        }
    }
}

async fn get_settings(state: AppState, caller: Caller, id: i64) -> ApiResult<Json<Value>> {
    caller.require_master()?;
    state.store.read(|conn| Ok(Json(settings(conn, id)?.1)))
}

async fn put_settings(state: AppState, caller: Caller, id: i64, body: Bytes) -> ApiResult<StatusCode> {
    caller.require_master()?;
    let input = Value::Object(body_object(&body)?);
    let parsed: PjsipSectionSettings = typed(&input)?;
    ok_or_400(if id == GLOBAL_ID { validate::pjsip_global(&parsed) } else { validate::pjsip_system(&parsed) })?;
    state.store.write(|tx| write_settings(tx, &caller, id, json!({"options": parsed.options})))?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

pub async fn global_get(State(s): State<AppState>, c: Caller) -> ApiResult<Json<Value>> {
    get_settings(s, c, GLOBAL_ID).await
}
pub async fn global_put(State(s): State<AppState>, c: Caller, b: Bytes) -> ApiResult<StatusCode> {
    put_settings(s, c, GLOBAL_ID, b).await
}
pub async fn system_get(State(s): State<AppState>, c: Caller) -> ApiResult<Json<Value>> {
    get_settings(s, c, SYSTEM_ID).await
}
pub async fn system_put(State(s): State<AppState>, c: Caller, b: Bytes) -> ApiResult<StatusCode> {
    put_settings(s, c, SYSTEM_ID, b).await
}

/// Legacy `PUT /asterisk/sip/general`: global options to `[global]`, endpoint
/// options (codecs) to the acting tenant's `global` template.
pub async fn sip_general_put(State(state): State<AppState>, caller: Caller, body: Bytes) -> ApiResult<StatusCode> {
    let input = Value::Object(body_object(&body)?);
    let legacy: LegacySipGeneral = typed(&input)?;
    let translated = translate_sip_general(&legacy).map_err(super::docs::field_errors)?;
    state.store.write(|tx| {
        if !translated.global.is_empty() {
            caller.require_master()?;
            let (_, mut current) = settings(tx, GLOBAL_ID)?;
            for (key, value) in &translated.global {
                current["options"][key] = json!(value);
            }
            let parsed: PjsipSectionSettings = typed(&current)?;
            ok_or_400(validate::pjsip_global(&parsed))?;
            write_settings(tx, &caller, GLOBAL_ID, current)?;
        }
        let template = super::endpoints_sip::template_labelled(tx, &caller.tenant_uuid, "global")?
            .ok_or_else(|| ApiError::resource("the tenant has no `global` SIP template"))?;
        let mut body = template.body.clone();
        for (section, options) in [("endpoint_section_options", &translated.template_endpoint_options), ("aor_section_options", &translated.template_aor_options)] {
            let mut list = body[section].as_array().cloned().unwrap_or_default();
            for (key, value) in options {
                list.retain(|pair| pair[0].as_str() != Some(key.as_str()));
                list.push(json!([key, value]));
            }
            body[section] = Value::Array(list);
        }
        let candidate = ObjectRow { body: body.clone(), ..template.clone() };
        super::endpoints_sip::check_sip(tx, &caller, &candidate)?;
        SIP_TEMPLATES.spec.replace(tx, &caller, &template, body)
    })?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

pub async fn sip_general_get(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    state.store.read(|conn| {
        let template = super::endpoints_sip::template_labelled(conn, &caller.tenant_uuid, "global")?;
        let options: Vec<Value> = template.map(|t| t.body["endpoint_section_options"].as_array().cloned().unwrap_or_default()).unwrap_or_default();
        Ok(Json(json!({"options": {}, "ordered_options": options})))
    })
}

#[allow(dead_code)]
fn unused() -> fn(&Connection, &Caller, &ObjectRow) -> ApiResult<()> {
    no_hook
}
