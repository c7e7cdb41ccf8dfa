//! Confd resources stored as JSON documents in the `objects` table.
//!
//! Every function that touches tenant data takes the tenant(s) it may see;
//! a document of another tenant is simply not found.

use super::StoreError;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

/// The kinds of stored documents. The string is the `objects.kind` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Context,
    Extension,
    Trunk,
    EndpointSip,
    SipTemplate,
    EndpointIax,
    EndpointCustom,
    RegisterSip,
    RegisterIax,
    Transport,
    Outcall,
    Incall,
    User,
    Line,
    Settings,
    /// A Kazoo connectivity (trunkstore) document; what it maps to is stored
    /// as ordinary trunks, endpoints, extensions and incalls.
    KazooConnectivity,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Context => "context",
            Kind::Extension => "extension",
            Kind::Trunk => "trunk",
            Kind::EndpointSip => "endpoint_sip",
            Kind::SipTemplate => "endpoint_sip_template",
            Kind::EndpointIax => "endpoint_iax",
            Kind::EndpointCustom => "endpoint_custom",
            Kind::RegisterSip => "register_sip",
            Kind::RegisterIax => "register_iax",
            Kind::Transport => "sip_transport",
            Kind::Outcall => "outcall",
            Kind::Incall => "incall",
            Kind::User => "user",
            Kind::Line => "line",
            Kind::Settings => "settings",
            Kind::KazooConnectivity => "kazoo_connectivity",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ObjectRow {
    pub id: i64,
    pub uuid: Option<String>,
    pub tenant_uuid: Option<String>,
    pub body: Value,
}

fn row_to_object(row: &rusqlite::Row) -> rusqlite::Result<(i64, Option<String>, Option<String>, String)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn parse(raw: (i64, Option<String>, Option<String>, String)) -> Result<ObjectRow, StoreError> {
    let (id, uuid, tenant_uuid, body) = raw;
    Ok(ObjectRow { id, uuid, tenant_uuid, body: serde_json::from_str(&body)? })
}

/// The next free id of a kind (ids are per kind, as in Wazo).
pub fn next_id(conn: &Connection, kind: Kind) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        "SELECT COALESCE(MAX(id), 0) + 1 FROM objects WHERE kind = ?1",
        params![kind.as_str()],
        |row| row.get(0),
    )?)
}

pub fn insert(conn: &Connection, kind: Kind, row: &ObjectRow) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO objects (kind, id, uuid, tenant_uuid, body) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![kind.as_str(), row.id, row.uuid, row.tenant_uuid, serde_json::to_string(&row.body)?],
    )?;
    Ok(())
}

pub fn update_body(conn: &Connection, kind: Kind, id: i64, body: &Value) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE objects SET body = ?3 WHERE kind = ?1 AND id = ?2",
        params![kind.as_str(), id, serde_json::to_string(body)?],
    )?;
    Ok(())
}

pub fn delete(conn: &Connection, kind: Kind, id: i64) -> Result<(), StoreError> {
    conn.execute("DELETE FROM objects WHERE kind = ?1 AND id = ?2", params![kind.as_str(), id])?;
    Ok(())
}

/// One document by id, only if its tenant is among `visible` (`None` = all).
pub fn get(conn: &Connection, kind: Kind, id: i64, visible: Option<&[String]>) -> Result<Option<ObjectRow>, StoreError> {
    let raw = conn
        .query_row(
            "SELECT id, uuid, tenant_uuid, body FROM objects WHERE kind = ?1 AND id = ?2",
            params![kind.as_str(), id],
            row_to_object,
        )
        .optional()?;
    filter_visible(raw.map(parse).transpose()?, visible)
}

pub fn get_by_uuid(conn: &Connection, kind: Kind, uuid: &str, visible: Option<&[String]>) -> Result<Option<ObjectRow>, StoreError> {
    let raw = conn
        .query_row(
            "SELECT id, uuid, tenant_uuid, body FROM objects WHERE kind = ?1 AND uuid = ?2",
            params![kind.as_str(), uuid],
            row_to_object,
        )
        .optional()?;
    filter_visible(raw.map(parse).transpose()?, visible)
}

fn filter_visible(row: Option<ObjectRow>, visible: Option<&[String]>) -> Result<Option<ObjectRow>, StoreError> {
    Ok(row.filter(|row| match (visible, &row.tenant_uuid) {
        (None, _) => true,
        (Some(tenants), Some(tenant)) => tenants.contains(tenant),
        // Tenant-less documents (transports, global settings) are readable by all.
        (Some(_), None) => true,
    }))
}

/// Every document of a kind whose tenant is among `visible` (`None` = all), by id.
pub fn list(conn: &Connection, kind: Kind, visible: Option<&[String]>) -> Result<Vec<ObjectRow>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT id, uuid, tenant_uuid, body FROM objects WHERE kind = ?1 ORDER BY id")?;
    let rows = stmt.query_map(params![kind.as_str()], row_to_object)?;
    let mut out = Vec::new();
    for raw in rows {
        if let Some(row) = filter_visible(Some(parse(raw?)?), visible)? {
            out.push(row);
        }
    }
    Ok(out)
}
