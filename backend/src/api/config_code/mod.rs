//! Configuration as code: `export` writes tenants' interconnection config as
//! a document ([`doc`]); `plan` says what applying a document would change
//! (objects and rendered Asterisk config); `apply` makes it so in one
//! transaction, one change set. The CLI (`patchbay export|plan|apply`) and
//! the API (`/api/patchbay/1.0/export|plan|apply`) share this code.
//!
//! Apply writes the rows the document describes, then checks every written
//! row with the same checks as the REST API (each resource's own check and
//! [`resource::references_resolve`], the tenant-scoped resolver) and the
//! cross-object rules of `patchbay_shared::validate::snapshot`, all inside
//! the transaction: any refusal leaves the database as it was. A plan is an
//! apply that is rolled back.

pub mod api;
pub mod cli;
pub mod doc;
pub mod mapping;
pub mod plan;

use crate::api::auth::Caller;
use crate::api::error::{ApiError, ApiResult};
use crate::api::{docs, endpoints_sip, extensions, groups, incalls, interconnect, lines, outcalls, resource, users};
use crate::store::{Kind, ObjectRow, Store, StoreError, Tenant, objects, people};
use doc::{ConfigDoc, FORMAT_VERSION};
use mapping::{Ids, MANAGED_KINDS, Secrets, Stored};
use plan::{Action, Change};
use crate::store::Connection;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// Every stored row a document can describe or name.
pub fn load_stored(conn: &Connection) -> Result<Stored, StoreError> {
    let mut rows = HashMap::new();
    for kind in MANAGED_KINDS.into_iter().chain([Kind::Transport]) {
        rows.insert(kind, objects::list(conn, kind, None)?);
    }
    Ok(Stored { tenants: people::tenants(conn)?, rows })
}

/// The document for these tenants (uuids), in the server's tenant order.
pub fn export(conn: &Connection, tenants: &[String]) -> Result<ConfigDoc, StoreError> {
    let stored = load_stored(conn)?;
    let docs = stored.tenants.iter().filter(|t| tenants.contains(&t.uuid)).map(|t| mapping::export_tenant(&stored, t).doc).collect();
    Ok(ConfigDoc { patchbay_config: FORMAT_VERSION, tenants: docs })
}

/// What a plan found or an apply did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Every audit line of an apply names this change set in its account.
    pub change_set: String,
    pub applied: bool,
    pub created_tenants: Vec<String>,
    pub changes: Vec<Change>,
    /// File → diff lines (`@@ line N`, `-old`, `+new`), secrets redacted.
    pub config_diff: BTreeMap<String, Vec<String>>,
    /// Secrets kept because their environment variable was not set.
    pub notes: Vec<String>,
}

impl Report {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.created_tenants.is_empty()
    }

    /// The plan as a person reads it.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for slug in &self.created_tenants {
            out.push_str(&format!("+ create tenant {slug}\n"));
        }
        for change in &self.changes {
            let sign = match change.action {
                Action::Create => "+ create",
                Action::Update => "~ update",
                Action::Delete => "- delete",
            };
            out.push_str(&format!("{sign} {} \"{}\" ({})", change.kind, change.name, change.tenant));
            if change.action == Action::Update {
                out.push_str(&format!(": {}", change.fields.join(", ")));
            }
            out.push('\n');
        }
        for note in &self.notes {
            out.push_str(&format!("note: {note}\n"));
        }
        for (file, lines) in &self.config_diff {
            out.push_str(&format!("--- {file}\n+++ {file}\n"));
            for line in lines {
                out.push_str(line);
                out.push('\n');
            }
        }
        let count = |action| self.changes.iter().filter(|c| c.action == action).count();
        out.push_str(&format!(
            "{} to create, {} to update, {} to delete{}\n",
            count(Action::Create) + self.created_tenants.len(),
            count(Action::Update),
            count(Action::Delete),
            if self.is_empty() { ": no changes" } else if self.applied { ": applied" } else { "" },
        ));
        out
    }
}

/// A plan ends the transaction with its report, so nothing is kept.
enum Outcome {
    Refused(ApiError),
    Planned(Box<Report>),
}

impl From<StoreError> for Outcome {
    fn from(error: StoreError) -> Outcome {
        Outcome::Refused(error.into())
    }
}

impl From<ApiError> for Outcome {
    fn from(error: ApiError) -> Outcome {
        Outcome::Refused(error)
    }
}

/// Plans (`dry_run`) or applies `doc` as `caller`, with secrets from `env`.
pub fn run(store: &Store, caller: &Caller, doc: &ConfigDoc, dry_run: bool, env: &dyn Fn(&str) -> Option<String>) -> ApiResult<Report> {
    match store.write(|tx| run_in(tx, caller, doc, dry_run, env)) {
        Ok(report) => Ok(report),
        Err(Outcome::Planned(report)) => Ok(*report),
        Err(Outcome::Refused(error)) => Err(error),
    }
}

fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn run_in(tx: &Connection, caller: &Caller, doc: &ConfigDoc, dry_run: bool, env: &dyn Fn(&str) -> Option<String>) -> Result<Report, Outcome> {
    let change_set = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    let mut stored = load_stored(tx)?;
    let (tenants, created_tenants) = resolve_tenants(tx, caller, doc, &mut stored)?;
    // A tenant created by this document is the caller's to fill.
    let mut caller = caller.clone();
    for tenant in tenants.iter().filter(|t| created_tenants.contains(&t.slug)) {
        caller.visible.push(tenant.uuid.clone());
    }
    let caller = &caller;
    let before_texts = rendered_texts(tx)?;

    let mut ids = Ids::after(&stored);
    let mut fresh_uuid = new_uuid;
    let secrets = Secrets { env };
    let (mut current, mut desired, mut errors, mut notes) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (tenant_doc, tenant) in doc.tenants.iter().zip(&tenants) {
        let exported = mapping::export_tenant(&stored, tenant);
        current.extend(exported.managed.into_iter().map(|e| (tenant.slug.clone(), e)));
        match mapping::desired_rows(tenant_doc, &tenant.uuid, &stored, &mut ids, &mut fresh_uuid, &secrets) {
            Ok(rows) => {
                desired.extend(rows.entries.into_iter().map(|e| (tenant.slug.clone(), e)));
                notes.extend(rows.notes);
            }
            Err(found) => errors.extend(found),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::BadRequest(errors).into());
    }
    let by_key: HashMap<(Kind, i64), ObjectRow> =
        MANAGED_KINDS.iter().flat_map(|kind| stored.of(*kind).iter().map(move |row| ((*kind, row.id), row.clone()))).collect();
    let changes = plan::diff(&current, &by_key, &desired);

    let mut audit_caller = caller.clone();
    audit_caller.account.username = format!("{} config-as-code:{change_set}", caller.account.username);
    for change in &changes {
        write(tx, &audit_caller, change)?;
    }
    for change in changes.iter().filter(|c| c.action != Action::Delete) {
        if let Some(row) = &change.after {
            check_row(tx, caller, change.kind(), row).map_err(|error| about(change, error))?;
        }
    }
    check_snapshot(tx, &changes)?;
    let config_diff = plan::config_diff(&before_texts, &rendered_texts(tx)?);
    let report = Report { change_set, applied: !dry_run, created_tenants, changes, config_diff, notes };
    if dry_run { Err(Outcome::Planned(Box::new(report))) } else { Ok(report) }
}

/// The stored tenant of each document tenant (by slug), among those the
/// caller may change; a master admin acting as itself creates missing ones.
fn resolve_tenants(tx: &Connection, caller: &Caller, doc: &ConfigDoc, stored: &mut Stored) -> Result<(Vec<Tenant>, Vec<String>), Outcome> {
    let (mut tenants, mut created, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    let may_create = caller.is_master() && caller.tenant_uuid == caller.account.tenant_uuid;
    for (i, tenant_doc) in doc.tenants.iter().enumerate() {
        let slug = &tenant_doc.slug;
        if doc.tenants[..i].iter().any(|t| &t.slug == slug) {
            errors.push(format!("Input Error - tenants[{i}].slug: tenant '{slug}' is described twice"));
            continue;
        }
        match stored.tenant_by_slug(slug) {
            Some(found) if caller.visible.contains(&found.uuid) => tenants.push(found.clone()),
            None if may_create => {
                let master = people::master_tenant(tx)?.map(|t| t.uuid);
                let tenant = Tenant { uuid: new_uuid(), name: tenant_doc.name.clone(), slug: slug.clone(), parent_uuid: master };
                let model = patchbay_shared::model::Tenant { uuid: tenant.uuid.clone(), name: tenant.name.clone(), slug: tenant.slug.clone() };
                let invalid = patchbay_shared::validate::tenant(&model);
                if !invalid.is_empty() {
                    errors.extend(invalid.into_iter().map(|e| format!("Input Error - tenants[{i}].{}: {}", e.field, e.message)));
                    continue;
                }
                people::insert_tenant(tx, &tenant)?;
                stored.tenants.push(tenant.clone());
                created.push(slug.clone());
                tenants.push(tenant);
            }
            // Another tenant's and a missing one read the same.
            _ => errors.push(format!("Input Error - tenants[{i}].slug: Tenant was not found ('slug': '{slug}')")),
        }
    }
    if errors.is_empty() { Ok((tenants, created)) } else { Err(ApiError::BadRequest(errors).into()) }
}

fn by_uuid(kind: Kind) -> bool {
    matches!(kind, Kind::EndpointSip | Kind::SipTemplate | Kind::Transport)
}

/// One change written, with its audit line (the one writer, which never
/// records a secret).
fn write(tx: &Connection, caller: &Caller, change: &Change) -> Result<(), Outcome> {
    let kind = change.kind();
    let row = change.after.as_ref().or(change.before.as_ref()).ok_or_else(|| ApiError::Internal("a change without a row".into()))?;
    let object_id = match (&row.uuid, by_uuid(kind)) {
        (Some(uuid), true) => uuid.clone(),
        _ => row.id.to_string(),
    };
    let before = change.before.as_ref().map(|r| &r.body);
    let after = change.after.as_ref().map(|r| &r.body);
    match change.action {
        Action::Delete => objects::delete(tx, kind, row.id)?,
        Action::Create => objects::insert(tx, kind, row)?,
        Action::Update => objects::update_body(tx, kind, row.id, &row.body)?,
    }
    let action = match change.action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Delete => "delete",
    };
    resource::write_audit(tx, caller, row.tenant_uuid.as_deref(), action, kind, &object_id, before, after)?;
    Ok(())
}

/// The API's own checks of a written row: its resource's check (shape,
/// field rules, uniqueness) and tenant-scoped reference resolution.
fn check_row(tx: &Connection, caller: &Caller, kind: Kind, row: &ObjectRow) -> ApiResult<()> {
    use patchbay_shared::{model, validate};
    resource::references_resolve(tx, kind, row, by_uuid(kind))?;
    match kind {
        Kind::Context => {
            let mut document = crate::snapshot::document(row, false);
            if let Some(uuid) = document.as_object_mut().and_then(|m| m.remove("context_uuid")) {
                document["uuid"] = uuid;
            }
            let context: model::Context = docs::typed(&document)?;
            docs::ok_or_400(validate::context(&context))?;
            if docs::taken(tx, Kind::Context, "name", &row.body["name"], row.id)? {
                return Err(ApiError::resource(format!("Context already exists ('name': '{}')", context.name)));
            }
            Ok(())
        }
        Kind::SipTemplate | Kind::EndpointSip => endpoints_sip::check_sip(tx, caller, row),
        Kind::Trunk => {
            let trunk: model::Trunk = docs::typed(&crate::snapshot::document(row, false))?;
            docs::ok_or_400(validate::trunk(&trunk))?;
            let description = &row.body["description"];
            if !(description.is_null() || description.as_str().is_some_and(|text| text.len() <= 2048 && !text.contains(['\n', '\r']))) {
                return Err(ApiError::input("description", "must be a single line of at most 2048 characters, or null"));
            }
            Ok(())
        }
        Kind::Extension => (extensions::EXTENSIONS.check)(tx, caller, row),
        Kind::Outcall => (outcalls::OUTCALLS.check)(tx, caller, row),
        Kind::Incall => (incalls::INCALLS.check)(tx, caller, row),
        Kind::User => (users::USERS.check)(tx, caller, row),
        Kind::Line => (lines::LINES.check)(tx, caller, row),
        Kind::Group => (groups::GROUPS.check)(tx, caller, row),
        Kind::EndpointIax => (interconnect::IAX.check)(tx, caller, row),
        Kind::EndpointCustom => (interconnect::CUSTOM.check)(tx, caller, row),
        Kind::RegisterSip => (interconnect::REGISTERS_SIP.check)(tx, caller, row),
        Kind::RegisterIax => (interconnect::REGISTERS_IAX.check)(tx, caller, row),
        Kind::Transport | Kind::Settings | Kind::KazooConnectivity => Ok(()),
    }
}

/// An error of one object's check, saying which object.
fn about(change: &Change, error: ApiError) -> ApiError {
    match error {
        ApiError::BadRequest(messages) => ApiError::BadRequest(
            messages.into_iter().map(|m| format!("{m} (tenant {}, {} '{}')", change.tenant, change.kind, change.name)).collect(),
        ),
        other => other,
    }
}

/// The rules that span objects (an extension bound once and in a context of
/// the right type, references in one tenant...) on the objects written.
fn check_snapshot(tx: &Connection, changes: &[Change]) -> Result<(), Outcome> {
    use patchbay_shared::model::{ObjectKind, ObjectRef};
    let object_ref = |kind: Kind, row: &ObjectRow| {
        let kind = match kind {
            Kind::Context => ObjectKind::Context,
            Kind::Extension => ObjectKind::Extension,
            Kind::Trunk => ObjectKind::Trunk,
            Kind::EndpointSip => ObjectKind::EndpointSip,
            Kind::SipTemplate => ObjectKind::SipTemplate,
            Kind::EndpointIax => ObjectKind::EndpointIax,
            Kind::EndpointCustom => ObjectKind::EndpointCustom,
            Kind::Outcall => ObjectKind::Outcall,
            Kind::Incall => ObjectKind::Incall,
            Kind::User => ObjectKind::User,
            Kind::Line => ObjectKind::Line,
            Kind::Group => ObjectKind::Group,
            _ => return None,
        };
        let id = if matches!(kind, ObjectKind::EndpointSip | ObjectKind::SipTemplate) { row.uuid.clone().unwrap_or_default() } else { row.id.to_string() };
        Some(ObjectRef { kind, id })
    };
    let written: HashMap<ObjectRef, &Change> = changes
        .iter()
        .filter(|c| c.action != Action::Delete)
        .filter_map(|c| c.after.as_ref().and_then(|row| object_ref(c.kind(), row)).map(|r| (r, c)))
        .collect();
    if written.is_empty() {
        return Ok(());
    }
    let snapshot = crate::snapshot::load_snapshot(tx)?;
    let errors: Vec<String> = patchbay_shared::validate::snapshot(&snapshot)
        .into_iter()
        .filter_map(|e| {
            written
                .get(&e.object)
                .map(|c| format!("Input Error - {}: {} (tenant {}, {} '{}')", e.error.field, e.error.message, c.tenant, c.kind, c.name))
        })
        .collect();
    if errors.is_empty() { Ok(()) } else { Err(ApiError::BadRequest(errors).into()) }
}

/// The configuration the rows render to, secrets redacted (a plan is shown
/// to people and CI logs).
/// The Asterisk files as Patchbay renders them from `conn`, secrets redacted.
pub(crate) fn rendered_texts(conn: &Connection) -> Result<BTreeMap<String, String>, StoreError> {
    let snapshot = crate::snapshot::load_snapshot(conn)?;
    let texts = crate::sync::preview_texts(&patchbay_shared::render::render(&snapshot));
    Ok(texts
        .into_iter()
        .map(|(name, text)| {
            let mut value = Value::String(text);
            crate::secrets::redact(&mut value);
            (name, value.as_str().unwrap_or_default().to_string())
        })
        .collect())
}

/// Reads the environment of this process (the CLI's, or the server's for the API).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// For the CLI and tests: a master admin acting as itself, named `account`.
pub fn master_caller(conn: &Connection, account: &str) -> Result<Caller, StoreError> {
    let tenants = people::tenants(conn)?;
    let master = tenants.iter().find(|t| t.parent_uuid.is_none()).map(|t| t.uuid.clone()).unwrap_or_default();
    Ok(Caller {
        account: crate::store::Account {
            uuid: String::new(),
            tenant_uuid: master.clone(),
            username: account.to_string(),
            role: crate::store::Role::MasterAdmin,
        },
        tenant_uuid: master,
        visible: tenants.into_iter().map(|t| t.uuid).collect(),
        change_set: crate::api::auth::new_change_set(),
    })
}

#[cfg(test)]
mod tests;
