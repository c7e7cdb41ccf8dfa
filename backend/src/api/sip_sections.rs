//! What SIP endpoints and their templates share: the option sections, the
//! `?view=merged` body (templates folded in) and moving the objects of a
//! deleted transport to its fallback. A leaf, so the generic resource
//! handlers (`docs`) reach them without importing the resource modules.

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::specs;
use crate::store::{Kind, ObjectRow, objects};
use crate::store::Connection;
use serde_json::{Value, json};
use std::collections::HashMap;

pub const SECTIONS: &[&str] = &[
    "aor_section_options",
    "auth_section_options",
    "endpoint_section_options",
    "identify_section_options",
    "registration_section_options",
    "registration_outbound_auth_section_options",
    "outbound_auth_section_options",
];

/// `?view=merged` asked for; any other `view` is Wazo's 400.
pub fn wants_merged_view(params: &HashMap<String, String>) -> ApiResult<bool> {
    match params.get("view").map(String::as_str) {
        None => Ok(false),
        Some("merged") => Ok(true),
        Some(_) => Err(ApiError::field("view", "Must be one of: merged.")),
    }
}

/// The `?view=merged` body: each section with the templates' options folded
/// in, templates first (each with its own templates before it), the object
/// last; a later value of a key replaces an earlier one where the key first
/// appeared, so repeated keys collapse to one (Wazo's merged view, unlike
/// the rendered config).
pub fn merge_templates_into(conn: &Connection, row: &ObjectRow, body: &mut Value) -> ApiResult<()> {
    let mut sections: Vec<Vec<(String, String)>> = vec![Vec::new(); SECTIONS.len()];
    fold_with_templates(conn, &row.body, &mut sections, &mut Vec::new())?;
    for (field, options) in SECTIONS.iter().zip(sections) {
        body[*field] = json!(options);
    }
    Ok(())
}

fn fold_with_templates(conn: &Connection, doc: &Value, into: &mut [Vec<(String, String)>], seen: &mut Vec<String>) -> ApiResult<()> {
    for template in doc["templates"].as_array().cloned().unwrap_or_default() {
        let Some(uuid) = template["uuid"].as_str() else { continue };
        if seen.iter().any(|s| s == uuid) {
            continue; // a cycle cannot be stored, but never loop on one
        }
        seen.push(uuid.to_string());
        if let Some(found) = objects::get_by_uuid(conn, Kind::SipTemplate, uuid, None)? {
            fold_with_templates(conn, &found.body, into, seen)?;
        }
    }
    for (index, field) in SECTIONS.iter().enumerate() {
        let options: Vec<(String, String)> = doc.get(*field).and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default();
        for (key, value) in options {
            match into[index].iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => into[index].push((key, value)),
            }
        }
    }
    Ok(())
}

/// Every SIP endpoint and template on transport `from` moves to `to`.
pub fn move_transport_users(conn: &Connection, caller: &Caller, from: &ObjectRow, to: &ObjectRow) -> ApiResult<()> {
    for spec in [&specs::ENDPOINT_SIP, &specs::SIP_TEMPLATE] {
        for row in objects::list(conn, spec.kind, None)? {
            if row.body["transport"]["uuid"].as_str() == from.uuid.as_deref() {
                let mut body = row.body.clone();
                body["transport"] = json!({"uuid": to.uuid});
                spec.replace(conn, caller, &row, body)?;
            }
        }
    }
    Ok(())
}
