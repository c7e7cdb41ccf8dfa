//! `/extensions`: numbers in contexts, what owns them (an outcall, an
//! incall or a line), and the checks Wazo makes when one moves.

use super::auth::Caller;
use super::docs::{Resource, no_fill, ok_or_400, same_tenant, summary, typed};
use super::error::{ApiError, ApiResult};
use crate::store::{Kind, ObjectRow, objects};
use crate::store::Connection;
use serde_json::{Value, json};
use super::contexts::find_named;
use super::specs;
use patchbay_shared::model::{ContextKind, ContextRanges, Extension, RangeUse};
use patchbay_shared::validate;

fn doc(row: &ObjectRow) -> Value {
    super::docs::document(&EXTENSIONS, row)
}

pub static EXTENSIONS: Resource = Resource {
    spec: super::specs::EXTENSION,
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
    let ext: Extension = typed(&doc(row))?;
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
    if crate::store::extensions::taken(conn, &ext.exten, &ext.context, row.id)? {
        return Err(ApiError::resource(format!("Extension already exists ('exten': '{}', 'context': '{}')", ext.exten, ext.context)));
    }
    if let Some((owner, _)) = extension_owner(conn, row.id)? {
        // Wazo's edit checks (ContextOnUpdateValidator, ExtensionRangeValidator):
        // an extension in use stays in a context of its owner's type, and a
        // number stays inside the range of that use.
        let (wanted, range) = match owner {
            "outcall" => (ContextKind::Outcall, None),
            "incall" => (ContextKind::Incall, Some(RangeUse::Incall)),
            "group" => (ContextKind::Internal, Some(RangeUse::Group)),
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
pub(super) fn require_in_range(context: &ObjectRow, ext: &Extension, use_: RangeUse) -> ApiResult<()> {
    let ranges: ContextRanges = serde_json::from_value(context.body.clone()).unwrap_or_default();
    if ranges.allows(use_, &ext.exten) {
        return Ok(());
    }
    Err(ApiError::BadRequest(vec![format!("Input Error - Extension '{}' is outside of range for context '{}'", ext.exten, ext.context)]))
}

/// What an extension is bound to: `outcall`, `incall` or `line`.
pub fn extension_owner(conn: &Connection, ext_id: i64) -> ApiResult<Option<(&'static str, ObjectRow)>> {
    Ok(crate::store::extensions::owner(conn, ext_id)?)
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
    // Wazo's ExtensionSchema relations; Patchbay has no queues,
    // conferences or parking lots, so those are always null.
    for key in ["outcall", "incall", "group", "queue", "conference", "parking_lot"] {
        body[key] = Value::Null;
    }
    body["lines"] = json!([]);
    match owner {
        Some(("outcall", o)) => body["outcall"] = json!({"id": o.id, "name": o.body.get("name"), "links": specs::OUTCALL.links(&o)}),
        Some(("incall", i)) => body["incall"] = summary(&specs::INCALL, &i),
        Some(("group", g)) => body["group"] = group_summary(&g),
        Some((_, l)) => body["lines"] = json!([{"id": l.id, "name": crate::store::lines::name(conn, &l)?, "links": specs::LINE.links(&l)}]),
        None => {}
    }
    Ok(body)
}

/// `{id, uuid, name, label, links}` of a group, as an extension or a user
/// shows it.
pub(super) fn group_summary(row: &ObjectRow) -> Value {
    let mut shown = summary(&specs::GROUP, row);
    shown["uuid"] = json!(row.uuid);
    shown["name"] = row.body["name"].clone();
    shown["label"] = row.body["label"].clone();
    shown
}

pub(super) fn extension_summary(conn: &Connection, id: i64) -> ApiResult<Value> {
    Ok(match objects::get(conn, Kind::Extension, id, None)? {
        Some(ext) => json!({"id": id, "exten": ext.body.get("exten"), "context": ext.body.get("context"), "links": EXTENSIONS.spec.links(&ext)}),
        None => json!({"id": id}),
    })
}

pub(super) fn require_context_type(conn: &Connection, ext: &ObjectRow, wanted: ContextKind) -> ApiResult<()> {
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

pub(super) fn require_free(conn: &Connection, ext: &ObjectRow, except: (&str, i64)) -> ApiResult<()> {
    match extension_owner(conn, ext.id)? {
        Some((kind, owner)) if !(kind == except.0 && owner.id == except.1) => Err(associated(ext, kind, &owner)),
        _ => Ok(()),
    }
}
