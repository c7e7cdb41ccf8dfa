//! A fleet of Asterisk nodes: one sync driver ([`AsteriskLink`]) per node,
//! each rendering only the tenants placed on it and what they share.
//!
//! Placement is data (`store::nodes`): a tenant without a node is on the
//! default node, which `--ami` seeds, so one Asterisk without any node
//! configured behaves as before (its driver renders every tenant). Each
//! driver has its own AMI session, core and state: a node that is down
//! retries on its own and never delays another's pass. Nodes added, changed
//! or removed through the API start and stop their drivers at once
//! ([`Fleet::reconcile`]).
//!
//! Several Patchbays may share the database: every node's driver keeps its
//! AMI session and live events in every instance, but applies (sync and
//! health) only in the instance holding the node's lease
//! ([`crate::lease`]). Each instance polls the revision
//! ([`REVISION_POLL`]) so a change committed by another instance reaches
//! the nodes it applies to, and reads the nodes again now and then, so a
//! node added through another instance gets its driver here too.
//!
//! Moving a tenant ([`Fleet::move_tenant`]): the tenant is placed on the
//! new node and kept on the old one (`moving_from`), so both render it;
//! once the new node's pass has read it back at the move's revision, the
//! old node lets it go. The old node's calls in progress are not touched: a
//! reload does not hang up a channel whose endpoint or context it removes.

use crate::ami::AmiUrl;
use crate::store::leases;
use crate::store::nodes::{self, Node, Placement};
use crate::store::{Store, StoreError};
use crate::sync::AsteriskLink;
use crate::store::Connection;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Makes `url` (`--ami`) the default node: the existing default node takes
/// its address and credentials, or a node named `default` is added.
pub fn seed_default(store: &Store, url: &AmiUrl) -> Result<(), StoreError> {
    store.write(|tx| {
        let mut node = match nodes::default_node(tx)? {
            Some(node) => node,
            None => Node {
                id: 0,
                name: free_name(tx, "default")?,
                host: String::new(),
                port: 0,
                username: String::new(),
                secret: String::new(),
                is_default: true,
                ari: None,
            },
        };
        node.host.clone_from(&url.host);
        node.port = url.port;
        node.username.clone_from(&url.credentials.username);
        node.secret = url.credentials.secret.expose().to_string();
        if node.id == 0 { nodes::insert(tx, &node).map(drop) } else { nodes::update(tx, &node) }
    })
}

fn free_name(conn: &Connection, base: &str) -> Result<String, StoreError> {
    let mut name = base.to_string();
    let mut n = 1;
    while nodes::by_name(conn, &name)?.is_some() {
        n += 1;
        name = format!("{base}-{n}");
    }
    Ok(name)
}

/// A per-node series of `/metrics`: name, type, help, value.
type Series = (&'static str, &'static str, &'static str, fn(&AsteriskLink) -> u64);

/// How often the committed revision is read, so a change another instance
/// committed is applied by this one's drivers.
pub const REVISION_POLL: Duration = Duration::from_millis(250);
/// How often (in revision polls) the stored nodes are read again.
const NODES_EVERY_POLLS: u32 = 8;

struct Driver {
    node: Node,
    link: AsteriskLink,
    /// The task keeping (or waiting for) the node's lease.
    lease: tokio::task::AbortHandle,
}

/// The running drivers, by node id. Cheap to clone.
#[derive(Clone)]
pub struct Fleet {
    store: Store,
    drivers: Arc<Mutex<BTreeMap<i64, Driver>>>,
    /// This process's id among the Patchbays sharing the database.
    instance: Arc<str>,
    /// The revision poller.
    poller: Arc<Mutex<Option<tokio::task::AbortHandle>>>,
}

impl Fleet {
    /// Starts a driver for every stored node, and the revision poller.
    pub fn start(store: Store) -> Result<Fleet, StoreError> {
        let instance: Arc<str> = uuid::Uuid::new_v4().simple().to_string()[..12].into();
        tracing::info!(%instance, "this Patchbay instance's id (node leases)");
        let fleet = Fleet { store, drivers: Arc::default(), instance, poller: Arc::default() };
        fleet.reconcile()?;
        fleet.resume_moves()?;
        let poller = tokio::spawn(fleet.clone().poll_revisions()).abort_handle();
        *fleet.poller.lock().unwrap_or_else(|p| p.into_inner()) = Some(poller);
        Ok(fleet)
    }

    /// This instance's id (what `applier` says when this instance applies).
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Wakes every driver when the revision moved (a commit of this
    /// instance or of another), and brings the drivers level with the
    /// stored nodes now and then.
    async fn poll_revisions(self) {
        let mut seen = None;
        for polls in 1u32.. {
            tokio::time::sleep(REVISION_POLL).await;
            if polls % NODES_EVERY_POLLS == 0
                && let Err(error) = self.reconcile_quietly()
            {
                tracing::warn!(%error, "reading the nodes");
            }
            match self.store.revision() {
                Ok(revision) if seen != Some(revision) => {
                    if seen.is_some() {
                        self.wake_all();
                    }
                    seen = Some(revision);
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "reading the revision"),
            }
            if let Err(error) = self.follow_appliers() {
                tracing::warn!(%error, "reading the node leases");
            }
        }
    }

    /// Every node this instance does not apply to shows what its holder
    /// last reported.
    fn follow_appliers(&self) -> Result<(), StoreError> {
        let now = crate::lease::now_ms() as i64;
        let rows = self.store.read(leases::list)?;
        let drivers = self.drivers.lock().unwrap_or_else(|p| p.into_inner());
        for lease in rows {
            let Some(driver) = drivers.get(&lease.node_id) else { continue };
            let Some(holder) = lease.holder_at(now) else { continue };
            if holder == &*self.instance || driver.link.applying() {
                continue;
            }
            let Ok(progress) = serde_json::from_str::<crate::lease::Progress>(&lease.progress) else { continue };
            driver.link.update(|status| progress.show_in(status, holder));
        }
        Ok(())
    }

    /// Node id → the instance applying to it now (its lease's holder).
    pub fn appliers(&self) -> Result<BTreeMap<i64, String>, StoreError> {
        let now = crate::lease::now_ms() as i64;
        let rows = self.store.read(leases::list)?;
        Ok(rows.into_iter().filter_map(|lease| Some((lease.node_id, lease.holder_at(now)?.to_string()))).collect())
    }

    /// Gives up every lease this instance holds (a clean stop: another
    /// instance takes over at once).
    pub fn release_all(&self) {
        if let Some(poller) = self.poller.lock().unwrap_or_else(|p| p.into_inner()).take() {
            poller.abort();
        }
        let drivers = std::mem::take(&mut *self.drivers.lock().unwrap_or_else(|p| p.into_inner()));
        for (id, driver) in drivers {
            driver.lease.abort();
            driver.link.stop();
            if let Err(error) = self.store.write(|tx| leases::release(tx, id, &self.instance)) {
                tracing::warn!(%error, node = %driver.node.name, "releasing the node's lease");
            }
        }
    }

    /// Brings the drivers level with the stored nodes: a new node's driver
    /// starts, a removed node's stops, a node whose address or credentials
    /// changed reconnects.
    pub fn reconcile(&self) -> Result<(), StoreError> {
        self.reconcile_quietly()?;
        self.wake_all();
        Ok(())
    }

    /// [`reconcile`](Self::reconcile) without waking anyone.
    fn reconcile_quietly(&self) -> Result<(), StoreError> {
        let stored = self.store.read(nodes::list)?;
        let mut drivers = self.drivers.lock().unwrap_or_else(|p| p.into_inner());
        drivers.retain(|id, driver| {
            let keep = stored.iter().any(|node| node.id == *id && node.ami_url() == driver.node.ami_url());
            if !keep {
                tracing::info!(node = %driver.node.name, "stopping the node's sync driver");
                // Its lease is not released: a changed node's new driver
                // takes it again at once (the holder is this instance), and
                // a removed node's lease row went with the node.
                driver.lease.abort();
                driver.link.stop();
            }
            keep
        });
        for node in stored {
            match drivers.get_mut(&node.id) {
                // A new name or default flag: the same connection.
                Some(driver) => driver.node = node,
                None => {
                    tracing::info!(node = %node.name, host = %node.host, port = node.port, "starting the node's sync driver");
                    let link = AsteriskLink::start_node(node.ami_url(), self.store.clone(), Some(node.id), false);
                    let hold = crate::lease::hold(node.id, self.instance.to_string(), self.store.clone(), link.clone(), crate::lease::Timers::default());
                    let lease = tokio::spawn(hold).abort_handle();
                    drivers.insert(node.id, Driver { node, link, lease });
                }
            }
        }
        drop(drivers);
        Ok(())
    }

    /// Every driver passes soon (a change was committed).
    pub fn wake_all(&self) {
        for driver in self.drivers.lock().unwrap_or_else(|p| p.into_inner()).values() {
            driver.link.request_apply();
        }
    }

    /// Every node's link.
    pub fn links(&self) -> Vec<AsteriskLink> {
        self.drivers.lock().unwrap_or_else(|p| p.into_inner()).values().map(|driver| driver.link.clone()).collect()
    }

    pub fn link(&self, node: i64) -> Option<AsteriskLink> {
        self.drivers.lock().unwrap_or_else(|p| p.into_inner()).get(&node).map(|driver| driver.link.clone())
    }

    /// The default node's link.
    pub fn default_link(&self) -> Option<AsteriskLink> {
        let drivers = self.drivers.lock().unwrap_or_else(|p| p.into_inner());
        drivers.values().find(|driver| driver.node.is_default).map(|driver| driver.link.clone())
    }

    /// The node `tenant` is on and its link.
    pub fn node_of(&self, tenant: &str) -> Result<Option<(Node, AsteriskLink)>, StoreError> {
        let (placement, default) = self.store.read(|conn| Ok::<_, StoreError>((nodes::placement(conn, tenant)?, nodes::default_node(conn)?)))?;
        let Some(id) = nodes::node_of(placement.unwrap_or_default(), default.map(|node| node.id)) else { return Ok(None) };
        let drivers = self.drivers.lock().unwrap_or_else(|p| p.into_inner());
        Ok(drivers.get(&id).map(|driver| (driver.node.clone(), driver.link.clone())))
    }

    /// Each node with its state (connected, in sync, last apply, last
    /// error, AMI actions sent by its sync) and the tenants on it.
    pub fn overview(&self) -> Result<Vec<Value>, StoreError> {
        let (stored, placements) = self.store.read(|conn| Ok::<_, StoreError>((nodes::list(conn)?, nodes::placements(conn)?)))?;
        let appliers = self.appliers()?;
        let default = stored.iter().find(|node| node.is_default).map(|node| node.id);
        let drivers = self.drivers.lock().unwrap_or_else(|p| p.into_inner());
        Ok(stored
            .iter()
            .map(|node| {
                let tenants: Vec<&String> =
                    placements.iter().filter(|(_, p)| nodes::node_of(*p, default) == Some(node.id)).map(|(uuid, _)| uuid).collect();
                let leaving: Vec<&String> = placements.iter().filter(|(_, p)| p.moving_from == Some(node.id)).map(|(uuid, _)| uuid).collect();
                let mut value = node.to_json();
                value["tenants"] = json!(tenants);
                value["tenants_leaving"] = json!(leaving);
                value["status"] = drivers.get(&node.id).map_or(Value::Null, |driver| node_status(&driver.link));
                value["applier"] = json!(appliers.get(&node.id));
                value["applying_here"] = json!(drivers.get(&node.id).is_some_and(|driver| driver.link.applying()));
                value
            })
            .collect())
    }

    /// Per-node series for `/metrics` (node names only: no tenant).
    pub fn metrics_text(&self) -> String {
        let drivers = self.drivers.lock().unwrap_or_else(|p| p.into_inner());
        let mut text = String::new();
        text.push_str(
            "# HELP patchbay_ami_actions AMI actions the sync driver sent to a node, by kind (write: config writes, reloads, live dialplan edits; read: the rest).\n# TYPE patchbay_ami_actions counter\n",
        );
        for driver in drivers.values() {
            let (all, writes) = (driver.link.ami_actions(), driver.link.ami_writes());
            let node = &driver.node.name;
            text.push_str(&format!("patchbay_ami_actions_total{{node=\"{node}\",kind=\"write\"}} {writes}\n"));
            text.push_str(&format!("patchbay_ami_actions_total{{node=\"{node}\",kind=\"read\"}} {}\n", all - writes));
        }
        let series: [Series; 3] = [
            ("node_connected", "gauge", "1 while the node's AMI session is up", |link| u64::from(link.status().connected)),
            ("node_in_sync", "gauge", "1 if the node held its tenants' configuration at the last check", |link| u64::from(link.status().in_sync)),
            ("node_applying", "gauge", "1 while this instance holds the node's lease and applies to it", |link| u64::from(link.applying())),
        ];
        for (name, kind, help, value) in series {
            text.push_str(&format!("# HELP patchbay_{name} {help}.\n# TYPE patchbay_{name} {kind}\n"));
            for driver in drivers.values() {
                text.push_str(&format!("patchbay_{name}{{node=\"{}\"}} {}\n", driver.node.name, value(&driver.link)));
            }
        }
        text
    }

    /// Moves `tenant` to node `to`: placed there and kept on its old node
    /// until `to` has read it back, then removed from the old node. Answers
    /// once `to` holds the tenant (`Ok(true)`), or `Ok(false)` at `timeout`
    /// (the move then completes when `to` catches up).
    pub async fn move_tenant(&self, tenant: &str, to: i64, timeout: Duration) -> Result<bool, StoreError> {
        let moved = self.store.write(|tx| {
            let default = nodes::default_node(tx)?.map(|node| node.id);
            let placement = nodes::placement(tx, tenant)?.unwrap_or_default();
            let from = nodes::node_of(placement, default);
            if from == Some(to) && placement.moving_from.is_none() {
                return Ok(None);
            }
            let moving_from = if from == Some(to) { placement.moving_from } else { from.or(placement.moving_from) };
            nodes::set_placement(tx, tenant, Placement { node_id: Some(to), moving_from })?;
            Ok::<_, StoreError>(Some(crate::store::revision(tx)?))
        })?;
        let Some(revision) = moved else { return Ok(true) };
        self.wake_all();
        let Some(finish) = self.finish_move(tenant, to, revision) else { return Ok(false) };
        match tokio::time::timeout(timeout, finish).await {
            Ok(done) => Ok(done.unwrap_or(false)),
            Err(_) => Ok(false),
        }
    }

    /// Moves left half-way by a stopped server: each finishes once its new
    /// node holds the tenant.
    pub fn resume_moves(&self) -> Result<(), StoreError> {
        let (revision, placements) = self.store.read(|conn| Ok::<_, StoreError>((crate::store::revision(conn)?, nodes::placements(conn)?)))?;
        for (tenant, placement) in placements {
            if let (Some(to), Some(_)) = (placement.node_id, placement.moving_from) {
                self.finish_move(&tenant, to, revision);
            }
        }
        Ok(())
    }

    /// Waits until node `to` holds `tenant` at `revision` (or later), then
    /// releases the old node; `true` when done.
    fn finish_move(&self, tenant: &str, to: i64, revision: crate::sync::core::Revision) -> Option<tokio::task::JoinHandle<bool>> {
        let link = self.link(to)?;
        let (fleet, tenant) = (self.clone(), tenant.to_string());
        Some(tokio::spawn(async move {
            loop {
                let status = link.status();
                if status.connected && status.held.for_tenant(&tenant).is_some_and(|held| held >= revision) {
                    break;
                }
                link.status_when_checked(crate::sync::Viewer::All, revision, Duration::from_secs(5)).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
                // Moved again meanwhile: that move finishes it. Finished
                // by the instance applying to `to` (another Patchbay): done.
                match fleet.store.read(|conn| nodes::placement(conn, &tenant)) {
                    Ok(Some(placement)) if placement.node_id == Some(to) && placement.moving_from.is_none() && !link.applying() => return true,
                    Ok(Some(placement)) if placement.node_id == Some(to) => {}
                    _ => return false,
                }
            }
            let released = fleet.store.write(|tx| {
                let placement = nodes::placement(tx, &tenant)?.unwrap_or_default();
                if placement.node_id == Some(to) {
                    nodes::set_placement(tx, &tenant, Placement { node_id: Some(to), moving_from: None })?;
                }
                Ok::<_, StoreError>(())
            });
            if let Err(error) = released {
                tracing::warn!(%error, "finishing a tenant's move");
                return false;
            }
            fleet.wake_all();
            true
        }))
    }
}

/// What `/nodes` and `/status` say of a node's driver.
pub fn node_status(link: &AsteriskLink) -> Value {
    let status = link.status();
    let live = link.live().snapshot();
    let registered = live.registrations.values().filter(|registration| registration.status == "Registered").count();
    json!({
        "registrations": {"registered": registered, "total": live.registrations.len()},
        "drift": status.differences.len(),
        "connected": status.connected,
        "in_sync": status.in_sync && !status.pending,
        "message": status.message,
        "last_apply": status.last_apply,
        "last_check_at": status.last_check_at,
        "last_error": status.last_error,
        "failed": status.failed.len(),
        "revision_checked": status.revision_checked,
        "ami_actions": link.ami_actions(),
        "ami_writes": link.ami_writes(),
    })
}
