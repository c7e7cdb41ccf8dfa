//! Node leases (`crate::lease`): which Patchbay instance applies to each
//! node. One row per node, `holder` ('' when released) and `expires_at_ms`
//! (Unix milliseconds, the holder's clock when it asked, plus the TTL).
//!
//! Taking and renewing are the same compare-and-set, one conditional
//! `UPDATE`: the row changes only if the caller holds it already or it has
//! expired, so of two instances asking at once exactly one sees a changed
//! row. Plain SQL over integers and text (no triggers, nothing SQLite's
//! own), so it ports to PostgreSQL as it is.

use super::StoreError;
use super::db::{Connection, params};

/// A lease row as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub node_id: i64,
    /// The instance holding it; empty when released.
    pub holder: String,
    pub expires_at_ms: i64,
    /// What the holder last verified of the node (`lease::Progress` as
    /// JSON; empty: nothing yet).
    pub progress: String,
}

impl Lease {
    /// The holder at `now_ms` (`None`: released or expired).
    pub fn holder_at(&self, now_ms: i64) -> Option<&str> {
        (!self.holder.is_empty() && self.expires_at_ms >= now_ms).then_some(self.holder.as_str())
    }
}

/// Takes or renews node `node`'s lease for `holder` until `now_ms + ttl_ms`
/// if `holder` holds it already or it has expired (a missing row is
/// created free first), with the holder's `progress`. `true`: `holder`
/// holds it now.
pub fn take(conn: &Connection, node: i64, holder: &str, now_ms: i64, ttl_ms: i64, progress: &str) -> Result<bool, StoreError> {
    let cas = |conn: &Connection| {
        conn.execute(
            "UPDATE node_leases SET holder = ?2, expires_at_ms = ?3, progress = ?5 WHERE node_id = ?1 AND (holder = ?2 OR expires_at_ms < ?4)",
            params![node, holder, now_ms + ttl_ms, now_ms, progress],
        )
    };
    if cas(conn)? == 1 {
        return Ok(true);
    }
    // No row yet (or held by another): make sure it exists, then ask again.
    let created = conn.execute(
        "INSERT INTO node_leases (node_id, holder, expires_at_ms) SELECT id, '', 0 FROM nodes WHERE id = ?1 ON CONFLICT (node_id) DO NOTHING",
        params![node],
    )?;
    Ok(created == 1 && cas(conn)? == 1)
}

/// Gives node `node`'s lease up if `holder` holds it (a clean stop), so
/// another instance takes it at once.
pub fn release(conn: &Connection, node: i64, holder: &str) -> Result<(), StoreError> {
    conn.execute("UPDATE node_leases SET holder = '', expires_at_ms = 0 WHERE node_id = ?1 AND holder = ?2", params![node, holder])?;
    Ok(())
}

/// Every lease row, by node id.
pub fn list(conn: &Connection) -> Result<Vec<Lease>, StoreError> {
    conn.query_all("SELECT node_id, holder, expires_at_ms, progress FROM node_leases ORDER BY node_id", &[], |row| {
        Ok(Lease { node_id: row.get(0)?, holder: row.get(1)?, expires_at_ms: row.get(2)?, progress: row.get(3)? })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_until_expiry_or_release() {
        let store = crate::store::testing::TestStore::new();
        let node = store
            .write(|tx| {
                crate::store::nodes::insert(tx, &crate::store::nodes::Node {
                    id: 0,
                    name: "n".into(),
                    host: "127.0.0.1".into(),
                    port: 5038,
                    username: "u".into(),
                    secret: "s".into(),
                    is_default: true,
                    ari: None,
                })
            })
            .unwrap();
        let take = |who: &str, now: i64| store.write(|tx| take(tx, node, who, now, 5_000, who)).unwrap();
        assert!(take("a", 1_000), "a free node (no row yet)");
        assert!(!take("b", 2_000), "held by a");
        assert!(take("a", 2_000), "renewed");
        assert!(!take("b", 7_000), "a's renewal runs to 7000");
        assert!(take("b", 7_001), "expired: b takes it");
        assert!(!take("a", 7_002), "a lost it");
        let lease = &store.read(list).unwrap()[0];
        assert_eq!(lease.holder_at(7_002), Some("b"));
        assert_eq!(lease.progress, "b", "the holder's progress comes with its renewal");
        store.write(|tx| release(tx, node, "a")).unwrap();
        assert!(!take("a", 7_003), "only the holder releases");
        store.write(|tx| release(tx, node, "b")).unwrap();
        assert_eq!(store.read(list).unwrap()[0].holder_at(7_003), None);
        assert!(take("a", 7_004), "released: taken at once");
        assert!(!take("c", 7_004), "held by a");
        assert!(!store.write(|tx| super::take(tx, node + 1, "c", 7_004, 5_000, "")).unwrap(), "no such node");
        store.write(|tx| crate::store::nodes::delete(tx, node)).unwrap();
        assert!(store.read(list).unwrap().is_empty(), "a node's lease goes with it");
    }
}
