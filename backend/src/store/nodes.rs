//! Asterisk nodes and where each tenant is placed (`crate::fleet`).
//!
//! A tenant whose `node_id` is NULL is on the default node, so tenants
//! created before nodes existed, and new tenants, need no placement. The
//! secret is read only to connect: [`Node`]'s `Debug` and its JSON leave it
//! out, as they leave out the ARI secret ([`Ari`]).

use super::StoreError;
use super::db::{Connection, Row, params};
use serde_json::{Value, json};
use std::collections::BTreeSet;

#[derive(Clone, PartialEq, Eq)]
pub struct Node {
    pub id: i64,
    pub name: String,
    pub host: String,
    pub port: u16,
    pub username: String,
    pub secret: String,
    pub is_default: bool,
    /// ARI access (`crate::ari`): when set, the PJSIP objects of the
    /// node's tenants' trunks live in Asterisk's sorcery memory wizard,
    /// pushed one by one, instead of in their tenant's file.
    pub ari: Option<Ari>,
}

/// A node's ARI access: the base URL (`http://host:8088`, `/ari` is
/// appended), the `ari.conf` user and its password (write-only).
#[derive(Clone, PartialEq, Eq)]
pub struct Ari {
    pub url: String,
    pub username: String,
    pub secret: String,
}

impl std::fmt::Debug for Ari {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ari({} {})", self.username, self.url)
    }
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Node({} {} {}@{}:{} {:?})", self.id, self.name, self.username, self.host, self.port, self.ari)
    }
}

impl Node {
    /// What the API shows: everything but the secret.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id, "name": self.name, "host": self.host, "port": self.port, "username": self.username, "is_default": self.is_default,
            "ari_url": self.ari.as_ref().map(|ari| &ari.url), "ari_username": self.ari.as_ref().map(|ari| &ari.username),
        })
    }

    pub fn ami_url(&self) -> crate::ami::AmiUrl {
        crate::ami::AmiUrl {
            host: self.host.clone(),
            port: self.port,
            credentials: crate::ami::Credentials { username: self.username.clone(), secret: crate::ami::Secret::new(&self.secret) },
        }
    }
}

const COLUMNS: &str = "id, name, host, port, username, secret, is_default, ari_url, ari_username, ari_secret";

fn from_row(row: &Row) -> Result<Node, StoreError> {
    Ok(Node {
        id: row.get(0)?,
        name: row.get(1)?,
        host: row.get(2)?,
        port: row.get(3)?,
        username: row.get(4)?,
        secret: row.get(5)?,
        is_default: row.get(6)?,
        ari: match (row.get::<Option<String>>(7)?, row.get::<Option<String>>(8)?, row.get::<Option<String>>(9)?) {
            (Some(url), Some(username), Some(secret)) => Some(Ari { url, username, secret }),
            _ => None,
        },
    })
}

pub fn list(conn: &Connection) -> Result<Vec<Node>, StoreError> {
    conn.query_all(&format!("SELECT {COLUMNS} FROM nodes ORDER BY id"), &[], from_row)
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<Node>, StoreError> {
    conn.query_opt(&format!("SELECT {COLUMNS} FROM nodes WHERE id = ?1"), params![id], from_row)
}

pub fn by_name(conn: &Connection, name: &str) -> Result<Option<Node>, StoreError> {
    conn.query_opt(&format!("SELECT {COLUMNS} FROM nodes WHERE name = ?1"), params![name], from_row)
}

pub fn default_node(conn: &Connection) -> Result<Option<Node>, StoreError> {
    conn.query_opt(&format!("SELECT {COLUMNS} FROM nodes WHERE is_default = 1"), &[], from_row)
}

/// Inserts `node` (its `id` is chosen here) and returns its id. A default
/// node takes the default from the previous one.
pub fn insert(conn: &Connection, node: &Node) -> Result<i64, StoreError> {
    if node.is_default {
        conn.execute("UPDATE nodes SET is_default = 0 WHERE is_default = 1", &[])?;
    }
    conn.query_row(
        "INSERT INTO nodes (name, host, port, username, secret, is_default, ari_url, ari_username, ari_secret) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id",
        params![node.name, node.host, node.port, node.username, node.secret, node.is_default, ari_url(node), ari_username(node), ari_secret(node)],
        |row| row.get(0),
    )
}

pub fn update(conn: &Connection, node: &Node) -> Result<(), StoreError> {
    if node.is_default {
        conn.execute("UPDATE nodes SET is_default = 0 WHERE is_default = 1 AND id <> ?1", params![node.id])?;
    }
    conn.execute(
        "UPDATE nodes SET name = ?2, host = ?3, port = ?4, username = ?5, secret = ?6, is_default = ?7, ari_url = ?8, ari_username = ?9, ari_secret = ?10 WHERE id = ?1",
        params![node.id, node.name, node.host, node.port, node.username, node.secret, node.is_default, ari_url(node), ari_username(node), ari_secret(node)],
    )?;
    Ok(())
}

fn ari_url(node: &Node) -> Option<&str> {
    node.ari.as_ref().map(|ari| ari.url.as_str())
}

fn ari_username(node: &Node) -> Option<&str> {
    node.ari.as_ref().map(|ari| ari.username.as_str())
}

fn ari_secret(node: &Node) -> Option<&str> {
    node.ari.as_ref().map(|ari| ari.secret.as_str())
}

pub fn delete(conn: &Connection, id: i64) -> Result<(), StoreError> {
    conn.execute("DELETE FROM nodes WHERE id = ?1", params![id])?;
    Ok(())
}

/// A tenant's placement: its node (`None`: the default node) and the node
/// it is moving away from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Placement {
    pub node_id: Option<i64>,
    pub moving_from: Option<i64>,
}

pub fn placement(conn: &Connection, tenant: &str) -> Result<Option<Placement>, StoreError> {
    conn.query_opt("SELECT node_id, moving_from FROM tenants WHERE uuid = ?1", params![tenant], |row| {
        Ok(Placement { node_id: row.get(0)?, moving_from: row.get(1)? })
    })
}

pub fn set_placement(conn: &Connection, tenant: &str, placement: Placement) -> Result<(), StoreError> {
    conn.execute("UPDATE tenants SET node_id = ?2, moving_from = ?3 WHERE uuid = ?1", params![tenant, placement.node_id, placement.moving_from])?;
    Ok(())
}

/// Every tenant with its placement, in creation order.
pub fn placements(conn: &Connection) -> Result<Vec<(String, Placement)>, StoreError> {
    conn.query_all("SELECT uuid, node_id, moving_from FROM tenants ORDER BY rowid", &[], |row| {
        Ok((row.get(0)?, Placement { node_id: row.get(1)?, moving_from: row.get(2)? }))
    })
}

/// The node a tenant is on (its own, else the default node's id).
pub fn node_of(placement: Placement, default: Option<i64>) -> Option<i64> {
    placement.node_id.or(default)
}

/// The tenants node `node` renders: those placed on it and those moving
/// away from it. `None`: every tenant (the node is the only one).
pub fn tenants_on(conn: &Connection, node: i64) -> Result<Option<BTreeSet<String>>, StoreError> {
    let default = default_node(conn)?.map(|n| n.id);
    // Every sync pass asks: answered in SQL, with no row copied out, when
    // no tenant is off the node (one node, or every tenant on this one).
    // (Written without NOT: a NULL node_id must count as placed elsewhere
    // when this node is not the default.)
    let placed_elsewhere = if default == Some(node) { "node_id IS NOT NULL AND node_id <> ?1" } else { "(node_id IS NULL OR node_id <> ?1)" };
    let off = conn.query_opt(
        &format!("SELECT 1 FROM tenants WHERE {placed_elsewhere} AND (moving_from IS NULL OR moving_from <> ?1) LIMIT 1"),
        params![node],
        |_| Ok(()),
    )?;
    if off.is_none() {
        return Ok(None);
    }
    let placements = placements(conn)?;
    let on: BTreeSet<String> = placements
        .iter()
        .filter(|(_, placement)| node_of(*placement, default) == Some(node) || placement.moving_from == Some(node))
        .map(|(uuid, _)| uuid.clone())
        .collect();
    Ok(if on.len() == placements.len() { None } else { Some(on) })
}
