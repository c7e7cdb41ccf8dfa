//! What a fresh database holds, as a fresh Wazo has it after its setup wizard:
//! the master tenant, its contexts `default` (internal, including
//! `to-extern`), `from-extern` (incall) and `to-extern` (outcall), and the
//! `admin` account.

use crate::api::contexts::new_context;
use crate::store::{Account, Kind, ObjectRow, Role, Store, StoreError, Tenant, objects, people};
use rusqlite::Connection;
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
        Ok(generated)
    })
}

fn insert_context(conn: &Connection, tenant_uuid: &str, name: &str, kind: &str) -> Result<ObjectRow, StoreError> {
    let (_, body) = new_context(MASTER_SLUG, name, kind, Some(name));
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
