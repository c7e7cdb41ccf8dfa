//! What a fresh database holds, as a fresh Wazo has it after its setup wizard:
//! the master tenant, its contexts `default` (internal, including
//! `to-extern`), `from-extern` (incall) and `to-extern` (outcall), and the
//! `admin` account.

use crate::store::contexts::{RANGE_FIELDS, new_context, open_ranges};
use crate::store::{Account, Kind, ObjectRow, Role, Store, StoreError, Tenant, objects, people};
use crate::store::Connection;
use serde_json::json;

pub const MASTER_SLUG: &str = "master";

/// Seeds an empty database. Returns the generated admin password when one
/// had to be made up (no `PATCHBAY_ADMIN_PASSWORD`), so it can be shown once.
pub fn seed_if_empty(store: &Store, admin_password: Option<&str>) -> Result<Option<String>, StoreError> {
    store.write(|tx| {
        if people::master_tenant(tx)?.is_some() {
            return Ok(None);
        }
        let master = Tenant { uuid: uuid::Uuid::new_v4().to_string(), name: "master".into(), slug: MASTER_SLUG.into(), parent_uuid: None };
        people::insert_tenant(tx, &master)?;
        let generated = admin_password.is_none().then(generate_password);
        let password = admin_password.map(str::to_string).or(generated.clone()).unwrap_or_default();
        let admin = Account { uuid: uuid::Uuid::new_v4().to_string(), tenant_uuid: master.uuid.clone(), username: "admin".into(), role: Role::MasterAdmin };
        people::insert_account(tx, &admin, &password)?;

        let to_extern = insert_context(tx, &master.uuid, "to-extern", "outcall")?;
        insert_context(tx, &master.uuid, "from-extern", "incall")?;
        let default = insert_context(tx, &master.uuid, "default", "internal")?;
        let mut body = default.body.clone();
        body["contexts"] = json!([{"id": to_extern.id}]);
        objects::update_body(tx, Kind::Context, default.id, &body)?;
        seed_tenant(tx, &master.uuid, MASTER_SLUG, true)?;
        Ok(generated)
    })
}

/// A seeded context takes any number in each of its ranges.
fn with_open_ranges(mut body: serde_json::Value) -> serde_json::Value {
    for field in RANGE_FIELDS {
        body[field] = open_ranges();
    }
    body
}

fn insert_context(conn: &Connection, tenant_uuid: &str, name: &str, kind: &str) -> Result<ObjectRow, StoreError> {
    let (_, body) = new_context(MASTER_SLUG, name, kind, Some(name));
    let body = with_open_ranges(body);
    let row = ObjectRow { id: objects::next_id(conn, Kind::Context)?, uuid: None, tenant_uuid: Some(tenant_uuid.to_string()), body };
    objects::insert(conn, Kind::Context, &row)?;
    Ok(row)
}

/// A tenant's SIP templates (`global`, `registration_trunk`, as Wazo ships
/// them) and, for a new sub-tenant, its internal/incall/outcall contexts;
/// the master tenant also gets the shared `transport-udp`.
pub fn seed_tenant(conn: &Connection, tenant_uuid: &str, slug: &str, master: bool) -> Result<(), StoreError> {
    if master {
        let transport = ObjectRow {
            id: objects::next_id(conn, Kind::Transport)?,
            uuid: Some(uuid::Uuid::new_v4().to_string()),
            tenant_uuid: None,
            body: json!({"name": "transport-udp", "options": [["protocol", "udp"], ["bind", "0.0.0.0:5060"]]}),
        };
        objects::insert(conn, Kind::Transport, &transport)?;
    } else {
        let outcall = insert_generated_context(conn, tenant_uuid, slug, "Outcalls", "outcall")?;
        insert_generated_context(conn, tenant_uuid, slug, "Incalls", "incall")?;
        let internal = insert_generated_context(conn, tenant_uuid, slug, "Internal", "internal")?;
        let mut body = internal.body.clone();
        body["contexts"] = json!([{"id": outcall.id}]);
        objects::update_body(conn, Kind::Context, internal.id, &body)?;
    }
    let short = |label: &str| format!("{slug}-{label}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let global = json!({
        "name": short("global"), "label": "global", "templates": [], "transport": null, "asterisk_id": null,
        "aor_section_options": [["maximum_expiration", "3600"], ["default_expiration", "120"], ["minimum_expiration", "60"]],
        "auth_section_options": [],
        "endpoint_section_options": [["allow", "!all,ulaw,alaw"], ["direct_media", "no"], ["rtp_symmetric", "yes"], ["rewrite_contact", "yes"], ["force_rport", "yes"]],
        "identify_section_options": [], "registration_section_options": [],
        "registration_outbound_auth_section_options": [], "outbound_auth_section_options": [],
    });
    let global_uuid = uuid::Uuid::new_v4().to_string();
    let row = ObjectRow { id: objects::next_id(conn, Kind::SipTemplate)?, uuid: Some(global_uuid.clone()), tenant_uuid: Some(tenant_uuid.to_string()), body: global };
    objects::insert(conn, Kind::SipTemplate, &row)?;
    let registration = json!({
        "name": short("registration_trunk"), "label": "registration_trunk", "templates": [{"uuid": global_uuid}], "transport": null, "asterisk_id": null,
        "aor_section_options": [["qualify_frequency", "60"], ["maximum_expiration", "3600"]],
        "auth_section_options": [],
        "endpoint_section_options": [["send_rpid", "yes"]],
        "identify_section_options": [],
        "registration_section_options": [["auth_rejection_permanent", "no"], ["retry_interval", "20"], ["forbidden_retry_interval", "30"], ["fatal_retry_interval", "30"], ["max_retries", "10000"]],
        "registration_outbound_auth_section_options": [], "outbound_auth_section_options": [],
    });
    let row = ObjectRow { id: objects::next_id(conn, Kind::SipTemplate)?, uuid: Some(uuid::Uuid::new_v4().to_string()), tenant_uuid: Some(tenant_uuid.to_string()), body: registration };
    objects::insert(conn, Kind::SipTemplate, &row)?;
    Ok(())
}

fn insert_generated_context(conn: &Connection, tenant_uuid: &str, slug: &str, label: &str, kind: &str) -> Result<ObjectRow, StoreError> {
    let (_, body) = new_context(slug, label, kind, None);
    let body = with_open_ranges(body);
    let row = ObjectRow { id: objects::next_id(conn, Kind::Context)?, uuid: None, tenant_uuid: Some(tenant_uuid.to_string()), body };
    objects::insert(conn, Kind::Context, &row)?;
    Ok(row)
}

fn generate_password() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..20].to_string()
}

/// The slug of a tenant, used in generated context names.
pub fn tenant_slug(conn: &Connection, tenant_uuid: &str) -> Result<String, StoreError> {
    Ok(people::tenants(conn)?
        .into_iter()
        .find(|tenant| tenant.uuid == tenant_uuid)
        .map(|tenant| tenant.slug)
        .unwrap_or_else(|| MASTER_SLUG.to_string()))
}
