//! The tenant-scoped lookups behind `patchbay_shared::tenancy`: whether a
//! referenced object exists *in a given tenant*. Every query names the
//! tenant, so another tenant's object and a missing one answer the same
//! (a trunk its owner shares with the tenant resolves, as
//! `tenancy::trunk_usable_by` says).

use super::Kind;
use patchbay_shared::model::Trunk;
use patchbay_shared::tenancy::{Directory, GENERATED_AUTH_PREFIXES, Target, trunk_usable_by};
use super::db::{Connection, Value, params};

/// Resolves references against the stored documents.
pub struct StoreDirectory<'c> {
    conn: &'c Connection,
}

impl<'c> StoreDirectory<'c> {
    pub fn new(conn: &'c Connection) -> StoreDirectory<'c> {
        StoreDirectory { conn }
    }

    fn by_id(&self, kind: Kind, tenant: &str, id: u64) -> bool {
        self.exists(&format!("SELECT 1 FROM {} WHERE tenant_uuid = ?1 AND id = ?2", kind.table()), params![tenant, id as i64])
    }

    fn by_uuid(&self, kind: Kind, tenant: &str, uuid: &str) -> bool {
        self.exists(&format!("SELECT 1 FROM {} WHERE tenant_uuid = ?1 AND uuid = ?2", kind.table()), params![tenant, uuid])
    }

    fn by_name(&self, kind: Kind, tenant: &str, name: &str) -> bool {
        self.exists(&format!("SELECT 1 FROM {} WHERE tenant_uuid = ?1 AND {} = ?2", kind.table(), kind.column_sql("name")), params![tenant, name])
    }

    /// A trunk of `tenant`, or one shared with it: the rule is
    /// `tenancy::trunk_usable_by`, applied to the stored document.
    fn trunk_usable(&self, tenant: &str, id: u64) -> bool {
        let Ok(Some(row)) = super::objects::get(self.conn, Kind::Trunk, id as i64, None) else { return false };
        serde_json::from_value::<Trunk>(super::objects::document(&row, false)).is_ok_and(|trunk| trunk_usable_by(&trunk, tenant))
    }

    /// A failed query resolves nothing: the write is refused, never let through.
    fn exists(&self, sql: &str, params: &[Value]) -> bool {
        self.conn.exists(sql, params).unwrap_or(false)
    }
}

impl Directory for StoreDirectory<'_> {
    fn resolves(&self, tenant: &str, target: &Target) -> bool {
        match target {
            Target::Context(name) => self.by_name(Kind::Context, tenant, name),
            Target::ContextId(id) => self.by_id(Kind::Context, tenant, id.0),
            Target::Extension(id) => self.by_id(Kind::Extension, tenant, id.0),
            Target::Trunk(id) => self.trunk_usable(tenant, id.0),
            Target::User(id) => self.by_id(Kind::User, tenant, id.0),
            Target::Group(id) => self.by_id(Kind::Group, tenant, id.0),
            Target::EndpointSip(uuid) => self.by_uuid(Kind::EndpointSip, tenant, uuid),
            Target::SipTemplate(uuid) => self.by_uuid(Kind::SipTemplate, tenant, uuid),
            Target::EndpointIax(id) => self.by_id(Kind::EndpointIax, tenant, id.0),
            Target::EndpointCustom(id) => self.by_id(Kind::EndpointCustom, tenant, id.0),
            Target::SipSection(name) => {
                self.by_name(Kind::EndpointSip, tenant, name)
                    || GENERATED_AUTH_PREFIXES
                        .iter()
                        .filter_map(|prefix| name.strip_prefix(prefix))
                        .any(|endpoint| self.by_name(Kind::EndpointSip, tenant, endpoint))
            }
        }
    }
}
